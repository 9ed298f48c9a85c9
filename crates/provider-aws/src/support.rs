//! What an EKS hub needs around it: a VPC (unless the spec names subnets),
//! the cluster role, the node role, and — once the cluster exists — its OIDC
//! issuer registered in IAM for IRSA. All tagged as the hub's.

use std::collections::BTreeMap;

use async_trait::async_trait;
use provider_core::error::ResultExt;
use provider_core::facts::{self, PRIVATE_NODES_PROPERTY};
use provider_core::id::NodeId;
use provider_core::names::{self, NameScope};
use provider_core::operation::Operation;
use provider_core::provider::*;
use provider_core::tags::{self, Tags};
use provider_core::{Cloud, ErrorKind, Result};

use crate::error::{AwsResult, every, local};
use crate::fresh::Principal;
use crate::identity::iam_tags;
use crate::policy;
use crate::{AwsProvider, Steps, arn, same_or_refuse};

/// The policies AWS manages that each supporting role needs, by name
/// (their ARNs name the partition).
const CLUSTER_POLICIES: &[&str] = &["AmazonEKSClusterPolicy"];
const NODE_POLICIES: &[&str] = &[
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
];

/// Who assumes a supporting role, and the ARNs of the managed policies
/// it needs.
fn role_needs(kind: SupportKind, partition: &str) -> (&'static str, Vec<String>) {
    let (service, names) = match kind {
        SupportKind::NodeRole => (arn::ec2_service(partition), NODE_POLICIES),
        _ => (arn::EKS_SERVICE, CLUSTER_POLICIES),
    };
    let policies = names
        .iter()
        .map(|name| arn::managed_policy(partition, name))
        .collect();
    (service, policies)
}

impl AwsProvider {
    /// The roles `hub` owns, with their tags: of those named `<hub>-…`
    /// (every role of a hub is), the ones tagged as its.
    pub(crate) async fn owned_roles(&self, hub: &str) -> Result<Vec<(String, Tags)>> {
        let roles = every!(self.inner.clients.iam.list_roles(), "iam").await?;
        let prefix = format!("{hub}-");
        let named: Vec<String> = roles
            .iter()
            .map(|r| r.role_name().to_string())
            .filter(|n| n.starts_with(&prefix))
            .collect();
        tags::owned(hub, named, |name| async move {
            let tags = self.role_tags(&name).await?;
            Ok(Some((name, tags)))
        })
        .await
    }

    /// Ensures a supporting role: made with its trust and tags in one
    /// call (step 1), then each managed policy attached (a step each). A
    /// role of this hub resource that an earlier run made is finished.
    async fn ensure_role(&self, config: &SupportConfig) -> Result<()> {
        let name = config.name.as_str();
        let (service, policies) = role_needs(config.kind, self.inner.partition);
        let steps = Steps::of(&self.inner, config.kind.as_str(), name);
        let iam = &self.inner.clients.iam;
        let created = iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(policy::trust_service(service))
            .description("hubforge supporting role")
            .set_tags(Some(iam_tags(&config.tags)))
            .send()
            .await
            .or_aws_create(name);
        let attached = match created {
            Ok(_) => {
                self.inner.fresh.made(Principal::Role(name));
                steps.done(1, "create, tagged")?;
                Vec::new()
            }
            Err(error) if error.kind() == &ErrorKind::AlreadyExists => {
                same_or_refuse("role", name, &self.role_tags(name).await?, &config.tags)?;
                self.attached_policies(name).await?
            }
            Err(error) => return Err(error),
        };
        for (step, policy) in policies.iter().enumerate() {
            if !attached.contains(policy) {
                iam.attach_role_policy()
                    .role_name(name)
                    .policy_arn(policy)
                    .send()
                    .await
                    .or_aws(name)?;
            }
            steps.done(step + 2, &format!("attach {policy}"))?;
        }
        Ok(())
    }

    /// The ARNs of the managed policies attached to a role.
    async fn attached_policies(&self, role: &str) -> Result<Vec<String>> {
        let iam = &self.inner.clients.iam;
        let attached = every!(iam.list_attached_role_policies().role_name(role), role).await?;
        Ok(attached
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_string))
            .collect())
    }

    async fn read_role_support(
        &self,
        kind: SupportKind,
        name: &str,
    ) -> Result<Option<SupportState>> {
        let iam = &self.inner.clients.iam;
        let role = iam.get_role().role_name(name).send().await.or_aws(name);
        if role.optional()?.is_none() {
            return Ok(None);
        }
        let attached = self.attached_policies(name).await?;
        let (_, policies) = role_needs(kind, self.inner.partition);
        let missing: Vec<&str> = policies
            .iter()
            .filter(|p| !attached.contains(p))
            .filter_map(|p| p.rsplit('/').next())
            .collect();
        Ok(Some(SupportState {
            config: SupportConfig {
                kind,
                name: name.into(),
                region: self.inner.region.clone(),
                tags: self.role_tags(name).await?,
                properties: BTreeMap::new(),
            },
            status: match missing.as_slice() {
                [] => ResourceStatus::Ready,
                missing => ResourceStatus::Incomplete(format!(
                    "the managed policies {} are not attached",
                    missing.join(", ")
                )),
            },
        }))
    }

    /// Refuses to delete what a live cluster of the hub still needs, as AWS
    /// itself would for a VPC with network interfaces in it; names the
    /// hub's cluster otherwise.
    async fn refuse_while_cluster_exists(
        &self,
        config_name: &str,
        kind: SupportKind,
    ) -> Result<String> {
        let hub = names::support_hub(Cloud::Aws, config_name);
        let cluster = names::cluster(Cloud::Aws, hub).unwrap_or_else(|e| e.physical);
        let in_use = match kind {
            SupportKind::NodeRole => match self.describe_cluster(&cluster).await? {
                Some(_) => !self.nodegroup_names(&cluster).await?.is_empty(),
                None => false,
            },
            _ => self.describe_cluster(&cluster).await?.is_some(),
        };
        if in_use {
            return Err(local(
                ErrorKind::Conflict,
                config_name,
                format!("the EKS cluster {cluster} still uses it"),
            ));
        }
        Ok(cluster)
    }

    /// What the hub's cluster made on its own and left once it is gone,
    /// where no network of the hub's shows it. With the spec's own subnets
    /// its load balancers (for `LoadBalancer` Services), their security
    /// groups and interfaces sit in a VPC hubforge did not make, and carry
    /// no hubforge tag: hubforge does not delete them, it names them, so the
    /// leak check does (delete the Services before destroying, or these by
    /// hand). The control-plane log group goes with the cluster's deletion
    /// and is named here only if that failed. In the hub's own VPC all of
    /// it is deleted with the network, which is listed while it is there.
    async fn left_by_cluster(&self, hub: &str) -> Result<Option<SupportState>> {
        if cfg!(feature = "vpc") && self.inner.subnets.is_empty() {
            return Ok(None);
        }
        let cluster = names::cluster(Cloud::Aws, hub).unwrap_or_else(|e| e.physical);
        if self.describe_cluster(&cluster).await?.is_some() {
            return Ok(None);
        }
        let mut left = Vec::new();
        #[cfg(feature = "vpc")]
        left.extend(self.cluster_leftovers(&cluster, None).await?.describe());
        left.extend(
            self.log_group(&cluster)
                .await?
                .map(|group| format!("log group {group}")),
        );
        if left.is_empty() {
            return Ok(None);
        }
        Ok(Some(SupportState {
            config: SupportConfig {
                kind: SupportKind::Network,
                name: format!("left by cluster {cluster}: {}", left.join(", ")),
                region: self.inner.region.clone(),
                // The cluster's tag, not hubforge's: the engine leaves it alone.
                tags: BTreeMap::from([(
                    format!("kubernetes.io/cluster/{cluster}"),
                    "owned".to_string(),
                )]),
                properties: BTreeMap::new(),
            },
            status: ResourceStatus::Ready,
        }))
    }
}

#[async_trait]
impl SupportOps for AwsProvider {
    /// The AWS shape every implementation shares
    /// ([`facts::support_shapes`]); the VPC only without the spec's own
    /// subnets, and private when the builder says.
    fn supporting_resources(&self, hub: &HubOutline) -> Vec<SupportRequirement> {
        let own_subnets = !cfg!(feature = "vpc") || !self.inner.subnets.is_empty();
        let mut needs =
            facts::supporting_resources(Cloud::Aws, hub, own_subnets, &NameScope::unknown());
        for need in &mut needs {
            if need.config.kind == SupportKind::Network {
                need.config.properties.insert(
                    PRIVATE_NODES_PROPERTY.to_string(),
                    self.inner.private_nodes.to_string(),
                );
            }
        }
        needs
    }

    async fn create_support(&self, config: &SupportConfig) -> Result<Operation> {
        let name = config.name.as_str();
        match config.kind {
            SupportKind::ClusterRole | SupportKind::NodeRole => self.ensure_role(config).await?,
            SupportKind::OidcProvider => self.ensure_oidc_provider(config).await?,
            SupportKind::Network => {
                #[cfg(feature = "vpc")]
                self.ensure_network(config).await?;
            }
            SupportKind::ResourceGroup | SupportKind::StorageAccount => {
                return Err(local(
                    ErrorKind::Unsupported {
                        operation: format!("create {}", config.kind.as_str()),
                    },
                    name,
                    "AWS has no such resource",
                ));
            }
        }
        Ok(Operation::completed(
            format!("create-{}-{name}", config.kind.as_str()),
            format!("support/{name}"),
        ))
    }

    async fn get_support(&self, kind: SupportKind, name: &str) -> Result<Option<SupportState>> {
        match kind {
            SupportKind::ClusterRole | SupportKind::NodeRole => {
                self.read_role_support(kind, name).await
            }
            SupportKind::OidcProvider => self.read_oidc_provider(name).await,
            #[cfg(feature = "vpc")]
            SupportKind::Network => self.read_network(name).await,
            _ => Ok(None),
        }
    }

    async fn update_support(&self, config: &SupportConfig) -> Result<Operation> {
        let name = config.name.as_str();
        match config.kind {
            SupportKind::ClusterRole | SupportKind::NodeRole => {
                self.retag_role(name, &config.tags).await?
            }
            // A new issuer gets its own provider; the old one goes.
            SupportKind::OidcProvider => self.ensure_oidc_provider(config).await?,
            #[cfg(feature = "vpc")]
            SupportKind::Network => self.update_network(config).await?,
            _ => {}
        }
        Ok(Operation::completed(
            format!("update-{}-{name}", config.kind.as_str()),
            format!("support/{name}"),
        ))
    }

    async fn delete_support(&self, kind: SupportKind, name: &str) -> Result<Operation> {
        match kind {
            SupportKind::ClusterRole | SupportKind::NodeRole => {
                if self.read_role_support(kind, name).await?.is_none() {
                    return Err(local(ErrorKind::NotFound, name, "no such role"));
                }
                self.refuse_while_cluster_exists(name, kind).await?;
                self.delete_role(name).await?;
            }
            SupportKind::OidcProvider => self.delete_oidc_providers(name).await?,
            #[cfg(feature = "vpc")]
            SupportKind::Network => {
                let cluster = self.refuse_while_cluster_exists(name, kind).await?;
                return self.delete_network(name, &cluster).await;
            }
            _ => return Err(local(ErrorKind::NotFound, name, "AWS has no such resource")),
        }
        Ok(Operation::completed(
            format!("delete-{}-{name}", kind.as_str()),
            format!("support/{name}"),
        ))
    }

    async fn list_support(&self, hub: &str) -> Result<Vec<SupportState>> {
        let mut owned = Vec::new();
        for (role, tags) in self.owned_roles(hub).await? {
            let kind = match NodeId::of_tags(&tags) {
                Some(NodeId::Support(
                    kind @ (SupportKind::ClusterRole | SupportKind::NodeRole),
                )) => kind,
                _ => continue,
            };
            owned.extend(self.read_role_support(kind, &role).await?);
        }
        owned.extend(self.owned_oidc_providers(hub).await?);
        #[cfg(feature = "vpc")]
        owned.extend(self.owned_networks(hub).await?);
        owned.extend(self.left_by_cluster(hub).await?);
        Ok(owned)
    }
}
