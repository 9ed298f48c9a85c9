//! The traits every cloud implements, and the plain data they exchange.
//!
//! All traits are object-safe and used as `Arc<dyn Provider>`. They have
//! required methods only: a wrapper (such as the retry layer) cannot forget
//! to forward a default method, because there are none. Mutations return an
//! [`Operation`] that the caller waits on; reads return the observed state
//! in the same shape as the desired config, so a planner can diff them.
//!
//! Names given to these traits are *physical* names ([`crate::names`]).

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::operation::Operation;
use crate::spec::{BucketAccess, ServiceAccountRef};
use crate::validate::Taint;

/// Tag naming the hub a resource belongs to.
pub const TAG_CLUSTER: &str = "hubforge-cluster";
/// Tag marking a resource as created and owned by hubforge.
pub const TAG_MANAGED: &str = "hubforge-managed";
/// Tag naming which spec resource a cloud resource is (`nodepool--core`),
/// so resources can be matched to the spec without any state. The value
/// uses only characters every cloud accepts in tag and label values.
pub const TAG_RESOURCE: &str = "hubforge-resource";

/// The ownership tags for resources of `hub`; providers put them on every
/// resource they create, and list resources by them.
pub fn ownership_tags(hub: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (TAG_CLUSTER.to_string(), hub.to_string()),
        (TAG_MANAGED.to_string(), "true".to_string()),
    ])
}

/// The ownership tags plus the resource tag and the spec's own tags.
pub fn resource_tags(
    hub: &str,
    resource: &str,
    extra: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut tags = extra.clone();
    tags.extend(ownership_tags(hub));
    tags.insert(TAG_RESOURCE.to_string(), resource.to_string());
    tags
}

/// Whether `tags` mark a resource as owned by hubforge for `hub`.
pub fn owned_by(tags: &BTreeMap<String, String>, hub: &str) -> bool {
    tags.get(TAG_MANAGED).map(String::as_str) == Some("true")
        && tags.get(TAG_CLUSTER).map(String::as_str) == Some(hub)
}

/// Whether a resource found in the cloud (`existing` tags) is the very hub
/// resource `desired` tags describe: the same hub, and the same spec
/// resource. Only then may a create finish it, or the engine adopt it.
pub fn same_resource(
    existing: &BTreeMap<String, String>,
    desired: &BTreeMap<String, String>,
) -> bool {
    desired
        .get(TAG_CLUSTER)
        .is_some_and(|hub| owned_by(existing, hub))
        && existing.get(TAG_RESOURCE) == desired.get(TAG_RESOURCE)
}

/// What a create does with a resource it found under its name: goes on
/// when it is the very hub resource `desired` tags describe (and finishes
/// it), refuses with `AlreadyExists` otherwise, leaving it as it is. `what`
/// names the kind (`bucket`) for the message.
pub fn claim_existing(
    provider: &str,
    what: &str,
    name: &str,
    existing: &BTreeMap<String, String>,
    desired: &BTreeMap<String, String>,
) -> Result<()> {
    if same_resource(existing, desired) {
        return Ok(());
    }
    Err(crate::Error::new(
        crate::ErrorKind::AlreadyExists,
        provider,
        format!(
            "{what} `{name}` exists and is not this hub's ({}); hubforge leaves it alone: rename it in the spec or delete it",
            describe_tags(existing)
        ),
    )
    .with_resource(name))
}

/// `key=value, …` of a resource's tags, for messages about resources
/// hubforge will not touch.
pub fn describe_tags(tags: &BTreeMap<String, String>) -> String {
    if tags.is_empty() {
        return "no tags".into();
    }
    let items: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    items.join(", ")
}

/// The Kubernetes node label hubforge puts on every pool's nodes, valued
/// with the pool's logical name. It is the selector hubforge hands to the
/// layer above: unlike the cloud's own pool label, it does not change when
/// a pool is replaced blue/green under its twin name.
pub const POOL_LABEL: &str = "hubforge.io/pool";

/// Lifecycle of a cloud resource as the cloud reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceStatus {
    /// Being created.
    Creating,
    /// Usable.
    Ready,
    /// Being changed.
    Updating,
    /// Being deleted.
    Deleting,
    /// The cloud gave up on it, or it broke later (EKS `CREATE_FAILED`,
    /// `DEGRADED`); the text is the cloud's reason. Never up to date.
    Failed(String),
    /// It exists and is the hub's, but steps of its creation are not done
    /// (a create interrupted between two cloud calls); the text says which.
    /// Running its create again — an ensure — finishes it.
    Incomplete(String),
}

impl ResourceStatus {
    /// Whether the resource is usable as it is.
    pub fn is_ready(&self) -> bool {
        *self == ResourceStatus::Ready
    }

    /// The cloud's reason, if the resource is failed or degraded.
    pub fn failure(&self) -> Option<&str> {
        match self {
            ResourceStatus::Failed(reason) => Some(reason),
            _ => None,
        }
    }
}

/// Desired Kubernetes cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterConfig {
    /// Physical cluster name.
    pub name: String,
    /// Cloud region.
    pub region: String,
    /// Kubernetes minor version (`1.31`).
    pub kubernetes_version: String,
    /// Tags, including the ownership tags.
    pub tags: BTreeMap<String, String>,
}

/// Observed Kubernetes cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterState {
    /// What the cloud reports, in the shape of the desired config.
    pub config: ClusterConfig,
    /// Lifecycle state.
    pub status: ResourceStatus,
    /// API server URL, once known.
    pub endpoint: Option<String>,
    /// OIDC issuer URL for workload identity, once known.
    pub oidc_issuer: Option<String>,
    /// The API server's CA certificate, base64 PEM (public, not a secret).
    pub ca_data: Option<String>,
}

/// A GPU attached to a machine separately from its type (GCP's N1 + T4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accelerator {
    /// Cloud accelerator type (`nvidia-tesla-t4`).
    pub kind: String,
    /// Per node.
    pub count: u32,
}

/// What a pool is for. AKS needs a system pool at all times (it runs the
/// cluster's own pods); the other clouds do not distinguish, and hubforge
/// keeps the rule everywhere so a spec moves between clouds unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolRole {
    /// Runs the cluster's system pods (the spec's first non-spot pool that
    /// keeps at least one node: `core` in the reference hub).
    System,
    /// Runs users' work.
    #[default]
    User,
}

/// Desired node pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodePoolConfig {
    /// Physical pool name.
    pub name: String,
    /// System or user pool; reported back only where the cloud knows
    /// ([`Capabilities::system_pools`]), [`PoolRole::User`] elsewhere.
    #[serde(default)]
    pub role: PoolRole,
    /// Kubernetes minor version of the pool's nodes (`1.31`). It may lag
    /// the control plane within the cloud's skew rule, never lead it.
    pub kubernetes_version: String,
    /// Resolved instance type.
    pub instance_type: String,
    /// Separately attached GPUs, if any.
    pub accelerator: Option<Accelerator>,
    /// Fewest nodes.
    pub min: u32,
    /// Most nodes.
    pub max: u32,
    /// Spot / preemptible capacity.
    pub spot: bool,
    /// Boot disk in GiB; `None` for the cloud's default.
    pub disk_gib: Option<u32>,
    /// Kubernetes node labels.
    pub labels: BTreeMap<String, String>,
    /// Kubernetes node taints.
    pub taints: Vec<Taint>,
    /// Cloud tags, including the ownership tags.
    pub tags: BTreeMap<String, String>,
}

/// Observed node pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodePoolState {
    /// What the cloud reports, in the shape of the desired config.
    pub config: NodePoolConfig,
    /// Lifecycle state.
    pub status: ResourceStatus,
}

/// Desired bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketConfig {
    /// Physical bucket name.
    pub name: String,
    /// Region.
    pub region: String,
    /// Keep object versions.
    pub versioning: bool,
    /// Expire objects after this many days.
    pub delete_after_days: Option<u32>,
    /// Tags, including the ownership tags.
    pub tags: BTreeMap<String, String>,
}

/// Observed bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketState {
    /// What the cloud reports, in the shape of the desired config.
    pub config: BucketConfig,
    /// Lifecycle state.
    pub status: ResourceStatus,
    /// URL programs use to reach it (`s3://…`, `gs://…`, `az://…`).
    pub url: String,
    /// Whether it holds no objects, so destroy knows whether data would go.
    pub empty: bool,
}

/// What to do with objects when deleting a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketDeletion {
    /// Fail with [`crate::ErrorKind::Conflict`] if the bucket holds objects.
    RefuseIfNotEmpty,
    /// Delete every object, then the bucket.
    DeleteObjects,
}

/// Desired cloud part of a workload identity (IAM role, GCP service
/// account, Azure managed identity).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityConfig {
    /// Physical identity name.
    pub name: String,
    /// Tags, including the ownership tags.
    pub tags: BTreeMap<String, String>,
}

/// Who may assume an identity and what it may reach: made after the cluster
/// (its OIDC issuer) and the buckets exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityBinding {
    /// Physical cluster name whose service account assumes the identity.
    pub cluster: String,
    /// The cluster's OIDC issuer URL the trust is for. A recreated cluster
    /// has a new issuer, so a binding made for the old one is made again.
    /// Empty in a plan made before the cluster exists: the engine reads the
    /// issuer from the cluster before it binds.
    #[serde(default)]
    pub issuer: String,
    /// The Kubernetes service account.
    pub service_account: ServiceAccountRef,
    /// Physical bucket names and the access to each; nothing else is granted.
    pub grants: BTreeMap<String, BucketAccess>,
}

/// Observed workload identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityState {
    /// What the cloud reports, in the shape of the desired config.
    pub config: IdentityConfig,
    /// Lifecycle state.
    pub status: ResourceStatus,
    /// The cloud principal (role ARN, service-account email, client id).
    pub principal: String,
    /// The current binding, if any.
    pub binding: Option<IdentityBinding>,
}

/// What a provider can and cannot do; the engine plans around it and the
/// conformance suite decides which tests apply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Capabilities {
    /// Only one mutating operation may run per cluster at a time (GKE, AKS);
    /// a second one gets [`crate::ErrorKind::Conflict`].
    pub one_operation_per_cluster: bool,
    /// Node pools can be created within the cluster-create operation.
    pub pools_in_cluster_create: bool,
    /// Operations take time and report progress (false for emulators that
    /// finish everything at once).
    pub operations_take_time: bool,
    /// The cluster's Kubernetes version can be upgraded in place.
    pub cluster_version_upgrade: bool,
    /// A pool's labels and taints can change in place (otherwise the pool
    /// is replaced blue/green).
    pub pool_labels_in_place: bool,
    /// Deleting the cluster deletes its pools in the same operation (GKE,
    /// AKS), so destroy does not delete them one by one first; EKS refuses
    /// to delete a cluster that still has node groups.
    pub cluster_delete_removes_pools: bool,
    /// The cloud knows system and user pools (AKS) and reports
    /// [`NodePoolConfig::role`] back.
    pub system_pools: bool,
    /// How often it is sensible to poll this provider's operations (seconds
    /// on a real cloud, milliseconds on a fast sim).
    pub poll_interval: std::time::Duration,
    /// The cloud's published request budgets; requests wait for them
    /// instead of being throttled.
    pub rate_limits: crate::ratelimit::RateLimits,
}

impl Default for Capabilities {
    /// What may be assumed of a cloud that says nothing: operations take
    /// time and run side by side, pools are made after the cluster,
    /// nothing changes in place beyond scaling, no budgets. A provider
    /// states what it can do on top, so a new field breaks no provider.
    fn default() -> Capabilities {
        Capabilities {
            one_operation_per_cluster: false,
            pools_in_cluster_create: false,
            operations_take_time: true,
            cluster_version_upgrade: false,
            pool_labels_in_place: false,
            cluster_delete_removes_pools: false,
            system_pools: false,
            poll_interval: std::time::Duration::from_secs(10),
            rate_limits: crate::ratelimit::RateLimits::default(),
        }
    }
}

/// Supporting resources a cloud needs around the hub's own ones: networks,
/// roles, resource groups, storage accounts. They are planned, shown,
/// tagged, destroyed and leak-checked like everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupportKind {
    /// Azure resource group holding the hub.
    ResourceGroup,
    /// VPC / virtual network and subnets.
    Network,
    /// Role the control plane assumes (EKS).
    ClusterRole,
    /// Role or service account the nodes run as.
    NodeRole,
    /// Azure storage account holding the hub's blob containers.
    StorageAccount,
    /// The cluster's OIDC issuer registered with the cloud's IAM, so
    /// Kubernetes service accounts can assume identities (EKS IRSA). Its
    /// properties are `cluster` (physical name) and `issuer` (the URL,
    /// filled in by the engine from the cluster: a recreated cluster has a
    /// new issuer, and the provider must follow it).
    OidcProvider,
}

/// The property of an [`SupportKind::OidcProvider`] naming its issuer URL.
pub const ISSUER_PROPERTY: &str = "issuer";

impl SupportKind {
    /// Every kind, in creation order.
    pub const ALL: [SupportKind; 6] = [
        SupportKind::ResourceGroup,
        SupportKind::Network,
        SupportKind::ClusterRole,
        SupportKind::NodeRole,
        SupportKind::StorageAccount,
        SupportKind::OidcProvider,
    ];

    /// Snake-case name, as in plans and tags.
    pub fn as_str(self) -> &'static str {
        match self {
            SupportKind::ResourceGroup => "resource_group",
            SupportKind::Network => "network",
            SupportKind::ClusterRole => "cluster_role",
            SupportKind::NodeRole => "node_role",
            SupportKind::StorageAccount => "storage_account",
            SupportKind::OidcProvider => "oidc_provider",
        }
    }
}

/// The hub's own resource classes, for saying what needs a supporting resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceClass {
    /// The cluster.
    Cluster,
    /// Node pools.
    NodePool,
    /// Buckets.
    Bucket,
    /// Identities.
    Identity,
    /// Identity bindings (trust and grants).
    Binding,
}

/// Desired supporting resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportConfig {
    /// What it is.
    pub kind: SupportKind,
    /// Physical name.
    pub name: String,
    /// Region.
    pub region: String,
    /// Tags, including the ownership tags.
    pub tags: BTreeMap<String, String>,
    /// Provider-specific settings (a VPC's CIDR, the cluster an OIDC
    /// provider belongs to); compared like any field.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
}

/// A supporting resource a provider needs for a hub, and where it sits in
/// the dependency graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportRequirement {
    /// The resource.
    pub config: SupportConfig,
    /// Hub resources that can only be created once it exists.
    pub needed_by: Vec<ResourceClass>,
    /// Supporting resources that must exist first.
    pub after: Vec<SupportKind>,
    /// It can only be made once the cluster exists (an OIDC provider needs
    /// the cluster's issuer URL).
    pub after_cluster: bool,
}

/// Observed supporting resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportState {
    /// What the cloud reports, in the shape of the desired config.
    pub config: SupportConfig,
    /// Lifecycle state.
    pub status: ResourceStatus,
}

/// What a hub needs besides itself, for [`SupportOps::supporting_resources`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubOutline {
    /// Logical hub name.
    pub hub: String,
    /// Region, in the provider's naming.
    pub region: String,
    /// Physical cluster name.
    pub cluster: String,
    /// Whether the hub has buckets.
    pub has_buckets: bool,
    /// Tags from the spec, to put on supporting resources too.
    pub tags: BTreeMap<String, String>,
}

/// Supporting resources.
///
/// Every `create_*` in these traits is an *ensure*. It creates the resource,
/// tagged in its first cloud call wherever the API allows, so that even an
/// interrupted create leaves something recognisable as the hub's. If a
/// resource by that name exists and [`same_resource`] says it is this very
/// hub resource, the create finishes whatever an earlier attempt left
/// undone (configuration steps, attached policies, routes) and returns an
/// operation that ends when it is ready. A resource by that name that is
/// not the hub's is `AlreadyExists` and is not touched. Reads report a
/// resource whose creation steps are not all done as
/// [`ResourceStatus::Incomplete`].
#[async_trait]
pub trait SupportOps: Send + Sync {
    /// What this provider needs around a hub (no I/O: a pure answer).
    fn supporting_resources(&self, hub: &HubOutline) -> Vec<SupportRequirement>;
    /// Ensures a supporting resource (see the trait's note on ensures).
    async fn create_support(&self, config: &SupportConfig) -> Result<Operation>;
    /// Reads a supporting resource; `None` if it does not exist.
    async fn get_support(&self, kind: SupportKind, name: &str) -> Result<Option<SupportState>>;
    /// Changes a supporting resource's tags in place.
    async fn update_support(&self, config: &SupportConfig) -> Result<Operation>;
    /// Starts deleting a supporting resource; `Conflict` while something
    /// still uses it.
    async fn delete_support(&self, kind: SupportKind, name: &str) -> Result<Operation>;
    /// Every supporting resource tagged as owned by hubforge for `hub`.
    async fn list_support(&self, hub: &str) -> Result<Vec<SupportState>>;
}

/// Kubernetes clusters.
#[async_trait]
pub trait ClusterOps: Send + Sync {
    /// Ensures a cluster (see [`SupportOps`] on ensures): `AlreadyExists`
    /// only if one by that name is not the hub's. `initial_pools` are
    /// created in the same operation where
    /// [`Capabilities::pools_in_cluster_create`] (one GKE or AKS operation
    /// instead of five serialized ones); elsewhere they must be empty, or
    /// the call fails with `Unsupported`.
    async fn create_cluster(
        &self,
        config: &ClusterConfig,
        initial_pools: &[NodePoolConfig],
    ) -> Result<Operation>;
    /// Reads a cluster; `None` if it does not exist.
    async fn get_cluster(&self, name: &str) -> Result<Option<ClusterState>>;
    /// Starts changing a cluster in place (version, tags).
    async fn update_cluster(&self, config: &ClusterConfig) -> Result<Operation>;
    /// Starts deleting a cluster and everything in it.
    async fn delete_cluster(&self, name: &str) -> Result<Operation>;
    /// Every cluster tagged as owned by hubforge for `hub`.
    async fn list_clusters(&self, hub: &str) -> Result<Vec<ClusterState>>;
}

/// Node pools of a cluster.
#[async_trait]
pub trait NodePoolOps: Send + Sync {
    /// Ensures a pool in `cluster` (see [`SupportOps`] on ensures).
    async fn create_node_pool(&self, cluster: &str, config: &NodePoolConfig) -> Result<Operation>;
    /// Reads a pool; `None` if it does not exist.
    async fn get_node_pool(&self, cluster: &str, name: &str) -> Result<Option<NodePoolState>>;
    /// Starts changing a pool in place (scaling, its Kubernetes version;
    /// labels and taints where [`Capabilities::pool_labels_in_place`]).
    /// Other changes are `Unsupported`: the engine replaces the pool instead.
    async fn update_node_pool(&self, cluster: &str, config: &NodePoolConfig) -> Result<Operation>;
    /// Starts deleting a pool.
    async fn delete_node_pool(&self, cluster: &str, name: &str) -> Result<Operation>;
    /// Every pool of `cluster`.
    async fn list_node_pools(&self, cluster: &str) -> Result<Vec<NodePoolState>>;
}

/// Object-storage buckets.
#[async_trait]
pub trait BucketOps: Send + Sync {
    /// Ensures a bucket with encryption on and public access blocked (see
    /// [`SupportOps`] on ensures).
    async fn create_bucket(&self, config: &BucketConfig) -> Result<Operation>;
    /// Reads a bucket; `None` if it does not exist.
    async fn get_bucket(&self, name: &str) -> Result<Option<BucketState>>;
    /// Changes versioning, lifecycle and tags.
    async fn update_bucket(&self, config: &BucketConfig) -> Result<Operation>;
    /// Deletes a bucket, refusing to lose data unless told to.
    async fn delete_bucket(&self, name: &str, deletion: BucketDeletion) -> Result<Operation>;
    /// Every bucket tagged as owned by hubforge for `hub`.
    async fn list_buckets(&self, hub: &str) -> Result<Vec<BucketState>>;
}

/// Workload identities.
#[async_trait]
pub trait IdentityOps: Send + Sync {
    /// Ensures the cloud identity, with no access yet (see [`SupportOps`]
    /// on ensures).
    async fn create_identity(&self, config: &IdentityConfig) -> Result<Operation>;
    /// Reads an identity and its binding; `None` if it does not exist.
    async fn get_identity(&self, name: &str) -> Result<Option<IdentityState>>;
    /// Changes the identity's tags.
    async fn update_identity(&self, config: &IdentityConfig) -> Result<Operation>;
    /// Sets (replaces) who may assume the identity and what it may reach.
    async fn bind_identity(&self, name: &str, binding: &IdentityBinding) -> Result<Operation>;
    /// Deletes the identity and its binding.
    async fn delete_identity(&self, name: &str) -> Result<Operation>;
    /// Every identity tagged as owned by hubforge for `hub`.
    async fn list_identities(&self, hub: &str) -> Result<Vec<IdentityState>>;
}

/// What a Kubernetes service account and its pods need to use a workload
/// identity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WorkloadIdentity {
    /// Annotations on the service account.
    pub annotations: BTreeMap<String, String>,
    /// Labels on the pods that run as it (Azure's webhook selects on one).
    pub pod_labels: BTreeMap<String, String>,
}

/// A change the engine is about to send, for [`Provider::serialization_keys`].
#[derive(Debug, Clone, Copy)]
pub enum Mutation<'a> {
    /// Create, upgrade, retag or delete a cluster.
    Cluster {
        /// Physical name.
        name: &'a str,
    },
    /// Create, change or delete a pool.
    NodePool {
        /// Physical cluster name.
        cluster: &'a str,
        /// Physical pool name.
        name: &'a str,
    },
    /// Create, change or delete a bucket.
    Bucket {
        /// Physical name.
        name: &'a str,
    },
    /// Create, retag or delete an identity.
    Identity {
        /// Physical name.
        name: &'a str,
    },
    /// Set an identity's binding (it grants access on buckets).
    Binding {
        /// Physical identity name.
        identity: &'a str,
        /// The binding.
        binding: &'a IdentityBinding,
    },
    /// Create, retag or delete a supporting resource.
    Support {
        /// Kind.
        kind: SupportKind,
        /// Physical name.
        name: &'a str,
    },
}

/// The key of one cluster's one-operation-at-a-time rule (GKE, AKS).
pub fn cluster_key(cluster: &str) -> String {
    format!("cluster/{cluster}")
}

/// A cloud: all four kinds of operations, plus who it is and what it can do.
#[async_trait]
pub trait Provider: ClusterOps + NodePoolOps + BucketOps + IdentityOps + SupportOps {
    /// `sim`, `aws`, `gcp` or `azure`.
    fn name(&self) -> &str;
    /// What this provider can do.
    fn capabilities(&self) -> Capabilities;
    /// The cloud whose naming rules and machine catalog apply (the sim
    /// answers with the cloud it imitates).
    fn naming_cloud(&self) -> crate::spec::Cloud;
    /// The account-level scope that makes global names unique (AWS account
    /// id, GCP project, Azure subscription): see [`crate::names::NameScope`].
    async fn account_scope(&self) -> Result<String>;
    /// What a Kubernetes service account and its pods need to use this
    /// identity (`eks.amazonaws.com/role-arn: arn:…`; on Azure also the
    /// pod label `azure.workload.identity/use: "true"`).
    fn workload_identity(&self, identity: &IdentityState) -> WorkloadIdentity;
    /// The cloud's own node label for a pool, valued with its physical
    /// name (`cloud.google.com/gke-nodepool: core`). It changes when a
    /// pool is replaced blue/green; [`POOL_LABEL`] does not.
    fn cloud_node_label(&self, pool: &str) -> (String, String);
    /// The keys of the cloud's one-at-a-time rules that `mutation` falls
    /// under: the engine never runs two mutations that share a key at once
    /// (one operation per cluster on GKE and AKS; one lifecycle policy per
    /// Azure storage account; one IAM policy per GCS bucket).
    fn serialization_keys(&self, mutation: &Mutation<'_>) -> Vec<String>;
    /// A kubeconfig for the cluster, whose user authenticates through the
    /// cloud's exec plugin; it holds no credential.
    fn kubeconfig(&self, cluster: &ClusterState) -> String;
}
