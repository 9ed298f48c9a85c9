//! Conformance suite for hubforge providers.
//!
//! Written once against `&dyn Provider` and run against the sim and every
//! real provider. Each case asserts outcomes a user relies on (a created
//! cluster has the version asked for, a pool's labels are there, an identity
//! is bound to exactly the buckets granted). [`Capabilities`] decide which
//! cases apply: an emulator whose operations finish at once skips the
//! progress case, a provider without in-cluster pool creation is checked to
//! refuse it instead.
//!
//! Use [`conformance_suite!`] to get one `#[tokio::test]` per case.
//! State stores have theirs in [`state`] ([`state_store_suite!`], [`object_store_suite!`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use provider_core::catalog;
use provider_core::engine::{Action, Step};
use provider_core::interrupt::Interrupter;
use provider_core::names::{self, NameScope};
use provider_core::operation::{Backoff, Operation, Progress, Waiter};
use provider_core::provider::*;
use provider_core::sim::LatencyModel;
use provider_core::spec::{BucketAccess, MachineSpec, ServiceAccountRef};
use provider_core::validate::parse_taint;
use provider_core::{Cloud, ErrorKind};

pub mod state;

/// A provider under test, with the [`Interrupter`] its builder was given
/// (so a case can stop its multi-step creates half-way).
pub struct Subject {
    /// The provider under test.
    pub provider: Arc<dyn Provider>,
    /// The interrupter wired into it.
    pub interrupter: Interrupter,
}

impl From<Arc<dyn Provider>> for Subject {
    /// A provider with no interrupter wired in: the interrupted-create
    /// case fails on it, saying so.
    fn from(provider: Arc<dyn Provider>) -> Subject {
        Subject {
            provider,
            interrupter: Interrupter::new(),
        }
    }
}

/// Everything a case needs: the provider under test and a hub name no
/// other case uses, so cases can run side by side on one account.
pub struct Harness {
    /// The provider under test.
    pub provider: Arc<dyn Provider>,
    /// Stops the provider's multi-step creates half-way.
    pub interrupter: Interrupter,
    /// Logical hub name for this case.
    pub hub: String,
    scope: NameScope,
}

static NEXT_HUB: AtomicU32 = AtomicU32::new(0);

impl Harness {
    /// A harness with a fresh hub name starting with `prefix`.
    pub async fn new(subject: impl Into<Subject>, prefix: &str) -> Harness {
        let Subject {
            provider,
            interrupter,
        } = subject.into();
        let hub = format!(
            "{prefix}{}-{}",
            std::process::id() % 10_000,
            NEXT_HUB.fetch_add(1, Ordering::Relaxed)
        );
        let scope = NameScope::known(provider.account_scope().await.expect("account scope"));
        Harness {
            provider,
            interrupter,
            hub,
            scope,
        }
    }

    fn cloud(&self) -> Cloud {
        self.provider.naming_cloud()
    }

    /// Waits for an operation with short, seeded backoff.
    pub async fn wait(&self, operation: Operation) -> Vec<Progress> {
        let mut seen = Vec::new();
        waiter()
            .wait(&operation, |p| seen.push(p.clone()))
            .await
            .unwrap_or_else(|e| panic!("waiting for {}: {e}", operation.resource()));
        seen
    }

    /// Sends a request until it no longer fails with a temporary error (a
    /// busy cluster, IAM that has not caught up), as the engine does; at
    /// most twenty tries.
    pub async fn eventually<T, F, Fut>(&self, mut request: F) -> provider_core::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = provider_core::Result<T>>,
    {
        let backoff =
            Backoff::new(Duration::from_millis(5), Duration::from_millis(200), 2.0).with_seed(7);
        let mut attempt = 0;
        loop {
            match request().await {
                Err(error) if error.is_temporary() && attempt < 20 => {
                    tokio::time::sleep(backoff.delay(attempt)).await;
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    /// The cluster config for this hub.
    pub fn cluster(&self) -> ClusterConfig {
        ClusterConfig {
            name: names::cluster(self.cloud(), &self.hub).expect("cluster name"),
            region: "us-west-2".into(),
            kubernetes_version: "1.30".into(),
            tags: self.tags(),
        }
    }

    /// A node pool named `logical`, with a resolved instance type, labels and a taint.
    pub fn pool(&self, logical: &str) -> NodePoolConfig {
        let machine = MachineSpec {
            cpu: 4,
            memory_gib: 16,
            gpu: None,
        };
        let resolved = catalog::resolve_machine(self.cloud(), &machine).expect("catalog");
        NodePoolConfig {
            name: names::node_pool(self.cloud(), logical).expect("pool name"),
            role: PoolRole::User,
            kubernetes_version: "1.30".into(),
            instance_type: resolved.name,
            accelerator: None,
            min: 0,
            max: 5,
            spot: true,
            disk_gib: Some(100),
            labels: BTreeMap::from([("hub.jupyter.org/node-purpose".into(), "user".into())]),
            taints: vec![parse_taint("hub.jupyter.org_dedicated=user:NoSchedule").expect("taint")],
            tags: self.tags(),
        }
    }

    /// A bucket named `logical`.
    pub fn bucket(&self, logical: &str) -> BucketConfig {
        BucketConfig {
            name: names::bucket(self.cloud(), &self.hub, logical, &self.scope)
                .expect("bucket name"),
            region: "us-west-2".into(),
            versioning: true,
            delete_after_days: Some(7),
            tags: self.tags(),
        }
    }

    /// An identity named `logical`.
    pub fn identity(&self, logical: &str) -> IdentityConfig {
        IdentityConfig {
            name: names::identity(self.cloud(), &self.hub, logical).expect("identity name"),
            tags: self.tags(),
        }
    }

    fn tags(&self) -> BTreeMap<String, String> {
        let mut tags = ownership_tags(&self.hub);
        tags.insert("suite".into(), "conformance".into());
        tags
    }

    /// Creates this hub's cluster and waits until it is ready.
    pub async fn ready_cluster(&self) -> ClusterConfig {
        let cluster = self.cluster();
        self.wait(
            self.provider
                .create_cluster(&cluster, &[])
                .await
                .expect("create cluster"),
        )
        .await;
        cluster
    }

    /// Deletes the cluster and its pools, waiting for each.
    pub async fn remove_cluster(&self, cluster: &str) {
        for pool in self
            .provider
            .list_node_pools(cluster)
            .await
            .expect("list pools")
        {
            self.wait(
                self.provider
                    .delete_node_pool(cluster, &pool.config.name)
                    .await
                    .expect("delete pool"),
            )
            .await;
        }
        self.wait(
            self.provider
                .delete_cluster(cluster)
                .await
                .expect("delete cluster"),
        )
        .await;
    }
}

fn waiter() -> Waiter {
    Waiter::new(
        Backoff::new(Duration::from_millis(10), Duration::from_millis(200), 2.0).with_seed(11),
        Duration::from_secs(120),
    )
}

/// A cluster is created with what was asked, carries its ownership tags,
/// is listed for its hub only, and is gone after delete.
pub async fn cluster_lifecycle(h: Harness) {
    let p = &h.provider;
    let cluster = h.ready_cluster().await;
    let state = p
        .get_cluster(&cluster.name)
        .await
        .unwrap()
        .expect("cluster exists after create");
    assert_eq!(state.status, ResourceStatus::Ready);
    assert_eq!(state.config.kubernetes_version, "1.30");
    assert!(
        owned_by(&state.config.tags, &h.hub),
        "ownership tags: {:?}",
        state.config.tags
    );
    assert_eq!(
        state.config.tags.get("suite").map(String::as_str),
        Some("conformance")
    );
    assert!(
        state.endpoint.is_some() && state.oidc_issuer.is_some(),
        "a ready cluster has an endpoint and an OIDC issuer"
    );
    let listed: Vec<String> = p
        .list_clusters(&h.hub)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.config.name)
        .collect();
    assert_eq!(listed, vec![cluster.name.clone()]);
    assert!(
        p.list_clusters("some-other-hub")
            .await
            .unwrap()
            .iter()
            .all(|c| c.config.name != cluster.name)
    );
    h.remove_cluster(&cluster.name).await;
    assert!(p.get_cluster(&cluster.name).await.unwrap().is_none());
    assert!(p.list_clusters(&h.hub).await.unwrap().is_empty());
}

/// Creating what exists is an ensure: the hub's own resource is finished
/// and returned, never copied; a resource by that name that is another
/// hub's is refused with `AlreadyExists` and left as it is.
pub async fn duplicates_are_ensured_and_foreign_names_refused(h: Harness) {
    let p = &h.provider;
    let cluster = h.ready_cluster().await;
    h.wait(p.create_cluster(&cluster, &[]).await.unwrap()).await;
    assert_eq!(p.list_clusters(&h.hub).await.unwrap().len(), 1);

    let bucket = h.bucket("dup");
    h.wait(p.create_bucket(&bucket).await.unwrap()).await;
    h.wait(p.create_bucket(&bucket).await.unwrap()).await;
    let identity = h.identity("dup");
    h.wait(p.create_identity(&identity).await.unwrap()).await;
    h.wait(p.create_identity(&identity).await.unwrap()).await;
    assert_eq!(p.list_buckets(&h.hub).await.unwrap().len(), 1);
    assert_eq!(p.list_identities(&h.hub).await.unwrap().len(), 1);

    // The same names, claimed for another hub: refused, and nothing changes.
    let foreign = |tags: &BTreeMap<String, String>| {
        let mut tags = tags.clone();
        tags.insert(TAG_CLUSTER.into(), format!("{}-other", h.hub));
        tags
    };
    let refused = p
        .create_cluster(
            &ClusterConfig {
                tags: foreign(&cluster.tags),
                ..cluster.clone()
            },
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), &ErrorKind::AlreadyExists, "{refused}");
    let refused = p
        .create_bucket(&BucketConfig {
            tags: foreign(&bucket.tags),
            ..bucket.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), &ErrorKind::AlreadyExists, "{refused}");
    let refused = p
        .create_identity(&IdentityConfig {
            tags: foreign(&identity.tags),
            ..identity.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), &ErrorKind::AlreadyExists, "{refused}");
    let kept = p.get_bucket(&bucket.name).await.unwrap().unwrap();
    assert!(
        owned_by(&kept.config.tags, &h.hub),
        "{:?}",
        kept.config.tags
    );

    h.wait(
        p.delete_bucket(&bucket.name, BucketDeletion::RefuseIfNotEmpty)
            .await
            .unwrap(),
    )
    .await;
    h.wait(p.delete_identity(&identity.name).await.unwrap())
        .await;
    h.remove_cluster(&cluster.name).await;
}

/// A create stopped after its first cloud call (a 5xx, Ctrl-C or a killed
/// process between two calls) leaves a resource that lists as the hub's and
/// reads as incomplete; creating it again finishes it. Held for a bucket
/// and the node role, which are several calls on every cloud.
pub async fn interrupted_creates_are_finished(h: Harness) {
    let p = &h.provider;
    let bucket = h.bucket("halfway");
    h.interrupter.arm("bucket", 1);
    let stopped = p.create_bucket(&bucket).await.err();
    assert!(
        !h.interrupter.is_armed(),
        "the provider never reported a create step to its interrupter: wire the harness's interrupter through the provider's builder"
    );
    let stopped = stopped.expect("the interrupted create reports an error");
    assert!(stopped.is_temporary(), "{stopped}");
    assert!(
        p.list_buckets(&h.hub)
            .await
            .unwrap()
            .iter()
            .any(|b| b.config.name == bucket.name),
        "after its first call the bucket is already recognisable as the hub's"
    );
    let half = p.get_bucket(&bucket.name).await.unwrap().unwrap();
    assert!(
        matches!(half.status, ResourceStatus::Incomplete(_)),
        "a half-made bucket reads as incomplete, not {:?}",
        half.status
    );
    h.wait(p.create_bucket(&bucket).await.unwrap()).await;
    let done = p.get_bucket(&bucket.name).await.unwrap().unwrap();
    assert_eq!(done.status, ResourceStatus::Ready);
    assert_eq!(
        (done.config.versioning, done.config.delete_after_days),
        (bucket.versioning, bucket.delete_after_days)
    );
    assert_eq!(done.config.tags, bucket.tags);
    h.wait(
        p.delete_bucket(&bucket.name, BucketDeletion::RefuseIfNotEmpty)
            .await
            .unwrap(),
    )
    .await;

    let outline = HubOutline {
        hub: h.hub.clone(),
        region: "us-west-2".into(),
        cluster: h.cluster().name,
        has_buckets: false,
        tags: BTreeMap::new(),
    };
    let needs = p.supporting_resources(&outline);
    let role = needs
        .iter()
        .find(|n| n.config.kind == SupportKind::NodeRole)
        .expect("every cloud has a node role or service account");
    let mut made = Vec::new();
    for need in needs.iter().filter(|n| role.after.contains(&n.config.kind)) {
        h.wait(p.create_support(&need.config).await.unwrap()).await;
        made.push(need);
    }
    h.interrupter.arm(SupportKind::NodeRole.as_str(), 1);
    let stopped = p.create_support(&role.config).await.err();
    assert!(
        !h.interrupter.is_armed(),
        "the node role's create reported no step"
    );
    assert!(stopped.expect("interrupted").is_temporary());
    let half = p
        .get_support(SupportKind::NodeRole, &role.config.name)
        .await
        .unwrap()
        .expect("the half-made role exists");
    assert!(
        owned_by(&half.config.tags, &h.hub),
        "{:?}",
        half.config.tags
    );
    assert!(
        matches!(half.status, ResourceStatus::Incomplete(_)),
        "a role without its policies reads as incomplete, not {:?}",
        half.status
    );
    h.wait(p.create_support(&role.config).await.unwrap()).await;
    let done = p
        .get_support(SupportKind::NodeRole, &role.config.name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.status, ResourceStatus::Ready);
    made.push(role);
    for need in made.iter().rev() {
        h.wait(
            p.delete_support(need.config.kind, &need.config.name)
                .await
                .unwrap(),
        )
        .await;
    }
}

/// Reading what does not exist is `None`; changing it is `NotFound`.
pub async fn missing_resources(h: Harness) {
    let p = &h.provider;
    let cluster = h.cluster();
    assert!(p.get_cluster(&cluster.name).await.unwrap().is_none());
    assert_eq!(
        p.delete_cluster(&cluster.name).await.unwrap_err().kind(),
        &ErrorKind::NotFound
    );
    assert_eq!(
        p.update_cluster(&cluster).await.unwrap_err().kind(),
        &ErrorKind::NotFound
    );
    assert_eq!(
        p.create_node_pool(&cluster.name, &h.pool("core"))
            .await
            .unwrap_err()
            .kind(),
        &ErrorKind::NotFound
    );
    let bucket = h.bucket("nothing");
    assert!(p.get_bucket(&bucket.name).await.unwrap().is_none());
    assert_eq!(
        p.delete_bucket(&bucket.name, BucketDeletion::RefuseIfNotEmpty)
            .await
            .unwrap_err()
            .kind(),
        &ErrorKind::NotFound
    );
    let identity = h.identity("nobody");
    assert!(p.get_identity(&identity.name).await.unwrap().is_none());
    assert_eq!(
        p.delete_identity(&identity.name).await.unwrap_err().kind(),
        &ErrorKind::NotFound
    );
}

/// A pool has the instance type, scaling, labels, taints and capacity type
/// asked for; scaling changes in place; its machine type does not.
pub async fn node_pool_lifecycle(h: Harness) {
    let p = &h.provider;
    let cluster = h.ready_cluster().await;
    let pool = h.pool("user-small");
    h.wait(p.create_node_pool(&cluster.name, &pool).await.unwrap())
        .await;
    let observed = p
        .get_node_pool(&cluster.name, &pool.name)
        .await
        .unwrap()
        .expect("pool exists after create");
    assert_eq!(observed.status, ResourceStatus::Ready);
    assert_eq!(observed.config.instance_type, pool.instance_type);
    assert_eq!(
        (
            observed.config.min,
            observed.config.max,
            observed.config.spot
        ),
        (0, 5, true)
    );
    assert_eq!(observed.config.labels, pool.labels);
    assert_eq!(observed.config.taints, pool.taints);

    let mut scaled = pool.clone();
    scaled.max = 20;
    if p.capabilities().pool_labels_in_place {
        scaled.labels.insert("team".into(), "climate".into());
    }
    h.wait(p.update_node_pool(&cluster.name, &scaled).await.unwrap())
        .await;
    let observed = p
        .get_node_pool(&cluster.name, &pool.name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(observed.config.max, 20);
    assert_eq!(observed.config.labels, scaled.labels);

    let mut bigger = scaled.clone();
    bigger.instance_type = catalog::resolve_machine(
        h.cloud(),
        &MachineSpec {
            cpu: 16,
            memory_gib: 64,
            gpu: None,
        },
    )
    .unwrap()
    .name;
    let refused = p
        .update_node_pool(&cluster.name, &bigger)
        .await
        .unwrap_err();
    assert!(
        matches!(refused.kind(), ErrorKind::Unsupported { .. }),
        "a machine-type change must be refused in place: {refused}"
    );

    let listed: Vec<String> = p
        .list_node_pools(&cluster.name)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.config.name)
        .collect();
    assert_eq!(listed, vec![pool.name.clone()]);
    h.wait(p.delete_node_pool(&cluster.name, &pool.name).await.unwrap())
        .await;
    assert!(
        p.get_node_pool(&cluster.name, &pool.name)
            .await
            .unwrap()
            .is_none()
    );
    h.remove_cluster(&cluster.name).await;
}

/// Where the cloud allows it, pools are created inside the cluster-create
/// operation (one GKE/AKS operation, not several serialized ones);
/// elsewhere asking for it is refused rather than silently dropped.
pub async fn pools_with_the_cluster(h: Harness) {
    let p = &h.provider;
    let cluster = h.cluster();
    let pools = [h.pool("core"), h.pool("user")];
    if p.capabilities().pools_in_cluster_create {
        h.wait(p.create_cluster(&cluster, &pools).await.unwrap())
            .await;
        let listed = p.list_node_pools(&cluster.name).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed.iter().all(|s| s.status == ResourceStatus::Ready));
        h.remove_cluster(&cluster.name).await;
    } else {
        let refused = p.create_cluster(&cluster, &pools).await.unwrap_err();
        assert!(
            matches!(refused.kind(), ErrorKind::Unsupported { .. }),
            "{refused}"
        );
        assert!(
            p.get_cluster(&cluster.name).await.unwrap().is_none(),
            "a refused create leaves nothing behind"
        );
    }
}

/// On clouds that run one operation per cluster, a second one is refused
/// with a temporary `Conflict` while the first runs.
pub async fn one_operation_per_cluster(h: Harness) {
    let p = &h.provider;
    let caps = p.capabilities();
    if !(caps.one_operation_per_cluster && caps.operations_take_time) {
        return;
    }
    let cluster = h.ready_cluster().await;
    let first = p
        .create_node_pool(&cluster.name, &h.pool("core"))
        .await
        .unwrap();
    let second = p
        .create_node_pool(&cluster.name, &h.pool("user"))
        .await
        .unwrap_err();
    assert_eq!(second.kind(), &ErrorKind::Conflict, "{second}");
    assert!(second.is_temporary());
    h.wait(first).await;
    h.wait(
        p.create_node_pool(&cluster.name, &h.pool("user"))
            .await
            .unwrap(),
    )
    .await;
    h.remove_cluster(&cluster.name).await;
}

/// Operations that take time say so while they run.
pub async fn operations_report_progress(h: Harness) {
    let p = &h.provider;
    if !p.capabilities().operations_take_time {
        return;
    }
    let cluster = h.cluster();
    let operation = p.create_cluster(&cluster, &[]).await.unwrap();
    assert_eq!(
        p.get_cluster(&cluster.name).await.unwrap().unwrap().status,
        ResourceStatus::Creating
    );
    let progress = h.wait(operation).await;
    assert!(
        !progress.is_empty(),
        "a cluster create that takes time reports progress"
    );
    assert!(progress.iter().all(|p| !p.status.is_empty()));
    h.remove_cluster(&cluster.name).await;
}

/// The Kubernetes version upgrades in place.
pub async fn cluster_version_upgrade(h: Harness) {
    let p = &h.provider;
    if !p.capabilities().cluster_version_upgrade {
        return;
    }
    let mut cluster = h.ready_cluster().await;
    cluster.kubernetes_version = "1.31".into();
    h.wait(p.update_cluster(&cluster).await.unwrap()).await;
    let state = p.get_cluster(&cluster.name).await.unwrap().unwrap();
    assert_eq!(
        (state.config.kubernetes_version.as_str(), state.status),
        ("1.31", ResourceStatus::Ready)
    );
    h.remove_cluster(&cluster.name).await;
}

/// A bucket keeps its versioning and lifecycle; both change in place.
pub async fn bucket_lifecycle(h: Harness) {
    let p = &h.provider;
    let bucket = h.bucket("scratch");
    h.wait(p.create_bucket(&bucket).await.unwrap()).await;
    let state = p
        .get_bucket(&bucket.name)
        .await
        .unwrap()
        .expect("bucket exists after create");
    assert_eq!(
        (state.config.versioning, state.config.delete_after_days),
        (true, Some(7))
    );
    assert!(state.empty);
    assert!(
        state
            .url
            .contains(bucket.name.split('/').next_back().unwrap()),
        "{}",
        state.url
    );
    let changed = BucketConfig {
        versioning: false,
        delete_after_days: Some(30),
        ..bucket.clone()
    };
    h.wait(p.update_bucket(&changed).await.unwrap()).await;
    let state = p.get_bucket(&bucket.name).await.unwrap().unwrap();
    assert_eq!(
        (state.config.versioning, state.config.delete_after_days),
        (false, Some(30))
    );
    assert_eq!(p.list_buckets(&h.hub).await.unwrap().len(), 1);
    h.wait(
        p.delete_bucket(&bucket.name, BucketDeletion::RefuseIfNotEmpty)
            .await
            .unwrap(),
    )
    .await;
    assert!(p.get_bucket(&bucket.name).await.unwrap().is_none());
}

/// An identity is bound to one service account and exactly the buckets
/// granted; a grant of a bucket that does not exist is refused.
pub async fn identity_binding(h: Harness) {
    let p = &h.provider;
    let cluster = h.ready_cluster().await;
    let (scratch, persistent) = (h.bucket("scratch"), h.bucket("persistent"));
    h.wait(p.create_bucket(&scratch).await.unwrap()).await;
    h.wait(p.create_bucket(&persistent).await.unwrap()).await;
    let identity = h.identity("users");
    h.wait(p.create_identity(&identity).await.unwrap()).await;
    let unbound = p
        .get_identity(&identity.name)
        .await
        .unwrap()
        .expect("identity exists after create");
    assert!(unbound.binding.is_none() && !unbound.principal.is_empty());

    let issuer = p
        .get_cluster(&cluster.name)
        .await
        .unwrap()
        .and_then(|c| c.oidc_issuer)
        .expect("a ready cluster has an OIDC issuer");
    let binding = IdentityBinding {
        cluster: cluster.name.clone(),
        issuer,
        service_account: ServiceAccountRef {
            namespace: "prod".into(),
            name: "user-sa".into(),
        },
        grants: BTreeMap::from([
            (scratch.name.clone(), BucketAccess::ReadWrite),
            (persistent.name.clone(), BucketAccess::ReadOnly),
        ]),
    };
    // A new identity propagates through the cloud's IAM before it can be
    // trusted; the engine retries meanwhile, and so does this case.
    h.wait(
        h.eventually(|| p.bind_identity(&identity.name, &binding))
            .await
            .unwrap(),
    )
    .await;
    let bound = p.get_identity(&identity.name).await.unwrap().unwrap();
    assert_eq!(bound.binding.as_ref(), Some(&binding));

    let mut wrong = binding.clone();
    wrong
        .grants
        .insert(h.bucket("missing").name, BucketAccess::ReadOnly);
    assert_eq!(
        p.bind_identity(&identity.name, &wrong)
            .await
            .unwrap_err()
            .kind(),
        &ErrorKind::NotFound
    );

    let mut retagged = identity.clone();
    retagged.tags.insert("team".into(), "climate".into());
    h.wait(p.update_identity(&retagged).await.unwrap()).await;
    let after = p.get_identity(&identity.name).await.unwrap().unwrap();
    assert_eq!(after.config.tags, retagged.tags);
    assert_eq!(
        after.binding.as_ref(),
        Some(&binding),
        "retagging keeps the binding"
    );

    h.wait(p.delete_identity(&identity.name).await.unwrap())
        .await;
    assert!(p.get_identity(&identity.name).await.unwrap().is_none());
    for bucket in [scratch, persistent] {
        h.wait(
            p.delete_bucket(&bucket.name, BucketDeletion::RefuseIfNotEmpty)
                .await
                .unwrap(),
        )
        .await;
    }
    h.remove_cluster(&cluster.name).await;
}

/// The supporting resources a provider asks for can be created in their
/// order, are tagged and listed for the hub, retagged in place, and refuse
/// deletion while the cluster uses them; they go in reverse order.
pub async fn supporting_resources(h: Harness) {
    let p = &h.provider;
    let cluster_name = h.cluster().name;
    let tags = BTreeMap::from([("suite".to_string(), "conformance".to_string())]);
    let outline = HubOutline {
        hub: h.hub.clone(),
        region: "us-west-2".into(),
        cluster: cluster_name,
        has_buckets: true,
        tags,
    };
    let needs = p.supporting_resources(&outline);
    assert!(
        needs.iter().all(|n| owned_by(&n.config.tags, &h.hub)),
        "supporting resources carry the ownership tags"
    );
    let (before, after): (Vec<&SupportRequirement>, Vec<&SupportRequirement>) =
        needs.iter().partition(|n| !n.after_cluster);
    let mut created: Vec<SupportKind> = Vec::new();
    for need in &before {
        assert!(
            need.after.iter().all(|k| created.contains(k)),
            "{:?} is listed before what it needs",
            need.config.kind
        );
        h.wait(p.create_support(&need.config).await.unwrap()).await;
        created.push(need.config.kind);
    }
    if let Some(first) = before.first() {
        let mut retagged = first.config.clone();
        retagged.tags.insert("team".into(), "climate".into());
        h.wait(p.update_support(&retagged).await.unwrap()).await;
        let observed = p
            .get_support(first.config.kind, &first.config.name)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(observed.config.tags, retagged.tags);
    }
    // What needs the cluster is refused until the cluster exists.
    if let Some(need) = after.first() {
        let refused = p.create_support(&need.config).await.unwrap_err();
        assert!(
            refused.is_temporary() || refused.kind() == &ErrorKind::NotFound,
            "{refused}"
        );
    }
    let cluster = h.ready_cluster().await;
    for need in &after {
        h.wait(p.create_support(&need.config).await.unwrap()).await;
    }
    let listed = p.list_support(&h.hub).await.unwrap();
    assert_eq!(listed.len(), needs.len());
    assert!(listed.iter().all(|s| s.status == ResourceStatus::Ready));
    // While a cluster depends on them, what the cluster needs cannot go.
    if let Some(need) = before
        .iter()
        .find(|n| n.needed_by.contains(&ResourceClass::Cluster))
    {
        let refused = p
            .delete_support(need.config.kind, &need.config.name)
            .await
            .unwrap_err();
        assert_eq!(refused.kind(), &ErrorKind::Conflict, "{refused}");
    }
    for need in after.iter().rev() {
        h.wait(
            p.delete_support(need.config.kind, &need.config.name)
                .await
                .unwrap(),
        )
        .await;
    }
    h.remove_cluster(&cluster.name).await;
    for need in before.iter().rev() {
        h.wait(
            p.delete_support(need.config.kind, &need.config.name)
                .await
                .unwrap(),
        )
        .await;
        assert!(
            p.get_support(need.config.kind, &need.config.name)
                .await
                .unwrap()
                .is_none()
        );
    }
}

/// How long the sim takes for `action` under `model` at `time_scale`: with
/// [`provider_core::engine::Plan::critical_path`], the wall time a perfect
/// executor needs for a plan on the sim.
pub fn sim_latency(model: &LatencyModel, action: &Action, time_scale: f64) -> Duration {
    let latency = match &action.step {
        Step::CreateSupport(_) => model.support_create,
        Step::DeleteSupport { .. } => model.support_delete,
        Step::CreateCluster { initial_pools, .. } if initial_pools.is_empty() => {
            model.cluster_create
        }
        Step::CreateCluster { .. } => model.cluster_create + model.pool_create / 2,
        Step::UpdateCluster { versions, .. } => model.cluster_update * versions.len() as u32,
        Step::DeleteCluster { .. } => model.cluster_delete,
        Step::CreatePool { .. } => model.pool_create,
        Step::UpdatePool { .. } => model.pool_update,
        Step::DeletePool { .. } => model.pool_delete,
        Step::CreateBucket(_) => model.bucket_create,
        Step::DeleteBucket { .. } => model.bucket_delete,
        Step::CreateIdentity(_) => model.identity_create,
        Step::DeleteIdentity { .. } => model.identity_delete,
        Step::Bind { .. } => model.identity_bind,
        Step::UpdateSupport(_)
        | Step::UpdateBucket(_)
        | Step::UpdateIdentity(_)
        | Step::Await { .. } => Duration::ZERO,
    };
    latency.mul_f64(time_scale)
}

/// Generates one `#[tokio::test]` per conformance case. `$provider` is an
/// expression giving an `Arc<dyn Provider>` or a [`Subject`], evaluated
/// once per case.
#[macro_export]
macro_rules! conformance_suite {
    ($provider:expr) => {
        $crate::conformance_suite!(@cases $provider;
            cluster_lifecycle, duplicates_are_ensured_and_foreign_names_refused, missing_resources,
            node_pool_lifecycle, pools_with_the_cluster, one_operation_per_cluster,
            operations_report_progress, cluster_version_upgrade, bucket_lifecycle,
            identity_binding, supporting_resources, interrupted_creates_are_finished);
    };
    (@cases $provider:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let harness = $crate::Harness::new($provider, "cf").await;
                $crate::$case(harness).await;
            }
        )*
    };
}

/// The cases that hold whatever the provider's capabilities, for runs that
/// add a layer (faults + retries) around a provider.
pub async fn lifecycle_cases(provider: Arc<dyn Provider>) {
    cluster_lifecycle(Harness::new(provider.clone(), "lf").await).await;
    node_pool_lifecycle(Harness::new(provider.clone(), "lf").await).await;
    bucket_lifecycle(Harness::new(provider.clone(), "lf").await).await;
    identity_binding(Harness::new(provider, "lf").await).await;
}
