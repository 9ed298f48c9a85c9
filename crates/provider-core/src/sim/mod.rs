//! The simulated cloud: `provider: sim`, the embedded default.
//!
//! It behaves like a cloud, not like a map: operations take time (a latency
//! model per imitated cloud, scaled by a time-scale knob so tests run in
//! milliseconds and a demo in seconds) and report progress; GKE- and
//! AKS-style clusters accept one operation at a time; quotas and naming
//! limits are enforced; seeded faults (throttling, 5xx, timeouts) can be
//! injected into any share of calls. Persisted to a directory, it is one
//! cloud that separate `hubforge` invocations all see.

//!
//! The files are those of every provider: `builder`, `cluster`,
//! `node_pool`, `bucket`, `identity`, `support`, plus the sim's own
//! `world` (resources and their phases), `latency` and `faults`.

mod bucket;
mod builder;
mod cluster;
mod faults;
mod identity;
mod latency;
mod node_pool;
mod support;
mod tamper;
mod world;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rand::rngs::StdRng;

use crate::catalog;
use crate::error::{Error, ErrorKind, Result};
use crate::id::NodeId;
use crate::interrupt::Interrupter;
use crate::names::{self, NameKind};
use crate::operation::{Operation, OperationStatus, PollOperation, Progress};
use crate::provider::*;
use crate::spec::Cloud;
use faults::Failures;
use world::{Phase, PhaseKind, SimBucket, SimCluster, SimIdentity, Store, World};

pub use crate::names::SIM_ACCOUNT;
pub use builder::{Quotas, SimBuilder};
pub use faults::{Consistency, FaultPlan};
pub use latency::LatencyModel;

const PROVIDER: &str = "sim";

/// The simulated cloud. Cheap to clone; clones share one world.
#[derive(Clone)]
pub struct SimCloud {
    inner: Arc<SimInner>,
}

struct SimInner {
    store: Store,
    cloud: Cloud,
    one_operation_per_cluster: bool,
    latency: LatencyModel,
    time_scale: f64,
    faults: Mutex<Option<(FaultPlan, StdRng)>>,
    failures: Failures,
    interrupter: Interrupter,
    consistency: Consistency,
    /// The budgets the sim enforces, and states.
    rate_limits: crate::ratelimit::RateLimits,
    budget: crate::ratelimit::RateLimit,
    throttled: std::sync::atomic::AtomicU64,
    quotas: Quotas,
    calls: Mutex<BTreeMap<String, u64>>,
    injected: std::sync::atomic::AtomicU64,
}

fn error(kind: ErrorKind, resource: impl Into<String>, message: impl Into<String>) -> Error {
    Error::new(kind, PROVIDER, message).with_resource(resource)
}

/// What a create finds under its name: nothing (`false`), or the very hub
/// resource it describes (`true`), which the create then finishes. Anything
/// else by that name is refused and left alone. `what` is (singular,
/// plural), `per` the quota's scope.
fn claim<V>(
    existing: &BTreeMap<String, V>,
    tags_of: impl Fn(&V) -> &BTreeMap<String, String>,
    desired: &BTreeMap<String, String>,
    name: &str,
    (what, plural): (&str, &str),
    (quota, per): (usize, &str),
) -> Result<bool> {
    if let Some(found) = existing.get(name) {
        claim_existing(PROVIDER, what, name, tags_of(found), desired)?;
        return Ok(true);
    }
    if existing.len() >= quota {
        return Err(error(
            ErrorKind::QuotaExceeded,
            name,
            format!("the quota allows {quota} {plural} per {per}"),
        ));
    }
    Ok(false)
}

impl SimInner {
    fn scaled(&self, latency: Duration) -> Duration {
        latency.mul_f64(self.time_scale)
    }

    fn ms(&self, latency: Duration) -> u64 {
        self.scaled(latency).as_millis() as u64
    }

    fn check_name(&self, kind: NameKind, name: &str) -> Result<()> {
        names::check_physical(self.cloud, kind, name).map_err(|reason| {
            error(
                ErrorKind::InvalidSpec {
                    path: format!("{kind:?}").to_lowercase(),
                    reason: reason.clone(),
                },
                name,
                reason,
            )
        })
    }

    fn check_pool(&self, config: &NodePoolConfig) -> Result<()> {
        self.check_name(NameKind::NodePool, &config.name)?;
        catalog::check_instance_type_syntax(self.cloud, &config.instance_type).map_err(
            |reason| {
                error(
                    ErrorKind::InvalidSpec {
                        path: "instance_type".into(),
                        reason: reason.clone(),
                    },
                    &config.name,
                    reason,
                )
            },
        )?;
        if config.min > config.max {
            return Err(error(
                ErrorKind::InvalidSpec {
                    path: "max".into(),
                    reason: "below min".into(),
                },
                &config.name,
                "max is below min",
            ));
        }
        Ok(())
    }

    /// The cloud's own word for a phase, as its API reports it.
    fn status_word(&self, kind: PhaseKind) -> &'static str {
        match (self.cloud, kind) {
            (Cloud::Aws, PhaseKind::Creating) => "CREATING",
            (Cloud::Aws, PhaseKind::Updating) => "UPDATING",
            (Cloud::Aws, PhaseKind::Deleting) => "DELETING",
            (Cloud::Gcp, PhaseKind::Creating) => "PROVISIONING",
            (Cloud::Gcp, PhaseKind::Updating) => "RECONCILING",
            (Cloud::Gcp, PhaseKind::Deleting) => "STOPPING",
            (Cloud::Azure, PhaseKind::Creating) => "Creating",
            (Cloud::Azure, PhaseKind::Updating) => "Updating",
            (Cloud::Azure, PhaseKind::Deleting) => "Deleting",
            (_, PhaseKind::Ready) => "DONE",
            (Cloud::Aws, PhaseKind::Failed) => "CREATE_FAILED",
            (Cloud::Gcp, PhaseKind::Failed) => "ERROR",
            (Cloud::Azure, PhaseKind::Failed) => "Failed",
        }
    }

    /// When a resource created `now` starts to show in listings by tag.
    fn listed_from(&self, now: u64) -> u64 {
        self.until(now, self.consistency.list_lag)
    }

    /// When an operation of `latency` started `now` ends.
    fn until(&self, now: u64, latency: Duration) -> u64 {
        now + self.ms(latency)
    }

    /// Puts `resource` into `kind` until `until_ms` and returns the operation.
    fn begin(
        self: &Arc<Self>,
        world: &mut World,
        now: u64,
        resource: String,
        kind: PhaseKind,
        until_ms: u64,
    ) -> (Phase, Operation) {
        self.begin_with(world, now, resource, kind, until_ms, None)
    }

    /// [`SimInner::begin`] for an operation that ends failed with `failure`.
    fn begin_with(
        self: &Arc<Self>,
        world: &mut World,
        now: u64,
        resource: String,
        kind: PhaseKind,
        until_ms: u64,
        failure: Option<String>,
    ) -> (Phase, Operation) {
        let phase = Phase {
            kind,
            until_ms,
            failure,
            degrade_at_ms: None,
        };
        let operation = self.watch(world, now, resource, &phase);
        (phase, operation)
    }

    /// An operation that ends when `phase` does: what a create of a
    /// resource that exists already answers with.
    fn watch(
        self: &Arc<Self>,
        world: &mut World,
        now: u64,
        resource: String,
        phase: &Phase,
    ) -> Operation {
        let id = world.start_operation(resource.clone(), self.status_word(phase.kind), now, phase);
        let poller = SimPoll {
            sim: self.clone(),
            id: id.clone(),
        };
        Operation::pending(id, resource, Box::new(poller))
    }

    /// The phase a new resource tagged `tags` starts in: creating for
    /// `latency`, and failing or degrading later where the sim was asked to.
    fn creating(&self, tags: &BTreeMap<String, String>, now: u64, latency: Duration) -> Phase {
        let until_ms = self.until(now, latency);
        Phase {
            kind: PhaseKind::Creating,
            until_ms,
            failure: self.failures.failure(self.cloud, tags),
            degrade_at_ms: self
                .failures
                .degrades(tags)
                .then(|| until_ms + self.ms(latency).max(1)),
        }
    }

    /// Runs the steps of a multi-step create that are still to do, each as
    /// its own cloud call that the seeded faults and the interrupter may
    /// stop, as a lost connection or a killed process would between two
    /// real calls. `pending` reads what is left; `apply` does one step.
    /// Step numbers count from the create's first call, which is step 1.
    fn finish_steps(
        &self,
        kind: &str,
        name: &str,
        total: usize,
        pending: impl Fn(&World) -> Option<Vec<String>>,
        apply: impl Fn(&mut World, u64, &str) -> Result<()>,
    ) -> Result<()> {
        loop {
            let left = self
                .store
                .with_world(|world, _| Ok(pending(world).unwrap_or_default()))?;
            let Some(step) = left.first().cloned() else {
                return Ok(());
            };
            let answer = self.step(&format!("{kind}/{step}"))?;
            answer.deliver(self.store.with_world(|world, now| apply(world, now, &step)))?;
            let number = total - left.len() + 2;
            self.interrupter
                .step_done(PROVIDER, kind, name, number, &step)?;
        }
    }

    fn busy_conflict(&self, cluster: &SimCluster, action: &str) -> Result<()> {
        let blocked = if self.one_operation_per_cluster {
            cluster.busy()
        } else {
            cluster.phase.busy()
        };
        if blocked {
            return Err(error(
                ErrorKind::Conflict,
                format!("cluster/{}", cluster.config.name),
                format!(
                    "cannot {action}: an operation is already running on cluster {}",
                    cluster.config.name
                ),
            ));
        }
        Ok(())
    }

    fn url(&self, bucket: &str) -> String {
        match self.cloud {
            Cloud::Aws => format!("s3://{bucket}"),
            Cloud::Gcp => format!("gs://{bucket}"),
            Cloud::Azure => match bucket.split_once('/') {
                Some((account, container)) => {
                    format!("https://{account}.blob.core.windows.net/{container}")
                }
                None => format!("az://{bucket}"),
            },
        }
    }

    fn cluster_state(&self, cluster: &SimCluster) -> ClusterState {
        ClusterState {
            config: cluster.config.clone(),
            status: cluster.phase.status(),
            endpoint: (cluster.phase.kind != PhaseKind::Creating).then(|| cluster.endpoint.clone()),
            oidc_issuer: (cluster.phase.kind != PhaseKind::Creating)
                .then(|| cluster.oidc_issuer.clone()),
            ca_data: None,
        }
    }

    fn bucket_state(&self, bucket: &SimBucket) -> BucketState {
        BucketState {
            config: bucket.config.clone(),
            status: with_pending(bucket.phase.status(), &bucket.pending),
            url: self.url(&bucket.config.name),
            empty: bucket.objects.is_empty(),
        }
    }

    fn identity_state(&self, identity: &SimIdentity) -> IdentityState {
        IdentityState {
            config: identity.config.clone(),
            status: identity.phase.status(),
            principal: format!("sim:{}:identity/{}", self.cloud.key(), identity.config.name),
            binding: identity.binding.clone(),
        }
    }
}

/// A resource with create steps still to do reads as incomplete, unless
/// something more pressing is going on (it is being deleted, or failed).
fn with_pending(status: ResourceStatus, pending: &[String]) -> ResourceStatus {
    match status {
        ResourceStatus::Ready | ResourceStatus::Creating if !pending.is_empty() => {
            ResourceStatus::Incomplete(format!("not done yet: {}", pending.join(", ")))
        }
        status => status,
    }
}

/// Polls one sim operation.
struct SimPoll {
    sim: Arc<SimInner>,
    id: String,
}

#[async_trait]
impl PollOperation for SimPoll {
    async fn poll(&self) -> Result<OperationStatus> {
        self.sim.read("poll_operation")?;
        self.sim.store.with_world(|world, now| {
            let Some(op) = world.operations.get(&self.id) else {
                return Err(error(ErrorKind::NotFound, &self.id, "no such operation"));
            };
            if now >= op.until_ms {
                return Ok(match &op.failure {
                    None => OperationStatus::Succeeded,
                    Some(reason) => OperationStatus::Failed(error(
                        ErrorKind::Permanent,
                        op.resource.clone(),
                        reason.clone(),
                    )),
                });
            }
            let total = (op.until_ms - op.started_ms).max(1);
            let percent = ((now.saturating_sub(op.started_ms)) * 100 / total).min(99) as u8;
            Ok(OperationStatus::Running(Progress {
                status: op.status_word.clone(),
                percent: Some(percent),
                retry_after: None,
            }))
        })
    }
}

impl SimCloud {
    /// An in-memory sim with default settings.
    pub fn in_memory() -> SimCloud {
        SimBuilder::new().build()
    }

    /// How many times each API call was made through this handle.
    pub fn api_calls(&self) -> BTreeMap<String, u64> {
        self.inner.calls.lock().expect("sim call counter").clone()
    }

    /// How many calls the sim throttled because they came faster than its
    /// request budgets allow.
    pub fn throttled(&self) -> u64 {
        self.inner
            .throttled
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many calls failed by the fault plan so far.
    pub fn injected_faults(&self) -> u64 {
        self.inner
            .injected
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[async_trait]
impl Provider for SimCloud {
    fn name(&self) -> &str {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        let sim = &self.inner;
        Capabilities {
            one_operation_per_cluster: sim.one_operation_per_cluster,
            pools_in_cluster_create: sim.cloud != Cloud::Aws,
            operations_take_time: sim.time_scale > 0.0,
            cluster_version_upgrade: true,
            pool_labels_in_place: true,
            cluster_delete_removes_pools: sim.cloud != Cloud::Aws,
            system_pools: sim.cloud == Cloud::Azure,
            rate_limits: sim.rate_limits,
            // A tenth of the shortest operation, but no busier than every 5 ms.
            poll_interval: sim
                .scaled(Duration::from_secs(1))
                .max(Duration::from_millis(5)),
        }
    }

    fn naming_cloud(&self) -> Cloud {
        self.inner.cloud
    }

    /// The imitated cloud's annotation and labels, so outputs look like the real ones.
    fn workload_identity(&self, identity: &IdentityState) -> WorkloadIdentity {
        crate::facts::workload_identity(self.inner.cloud, &identity.principal)
    }

    fn cloud_node_label(&self, pool: &str) -> (String, String) {
        (
            crate::facts::node_pool_label(self.inner.cloud).to_string(),
            pool.to_string(),
        )
    }

    /// GKE and AKS run one operation per cluster; Azure also writes one
    /// lifecycle policy per storage account, which every container of the
    /// hub shares.
    fn serialization_keys(&self, mutation: &Mutation<'_>) -> Vec<String> {
        let sim = &self.inner;
        match mutation {
            Mutation::Cluster { name } if sim.one_operation_per_cluster => vec![cluster_key(name)],
            Mutation::NodePool { cluster, .. } if sim.one_operation_per_cluster => {
                vec![cluster_key(cluster)]
            }
            Mutation::Bucket { name } if sim.cloud == Cloud::Azure => name
                .split_once('/')
                .map(|(account, _)| vec![format!("storage-account/{account}/lifecycle")])
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// A kubeconfig shaped like the imitated cloud's. There is no API
    /// server behind a sim endpoint, so its user has no credentials at all.
    fn kubeconfig(&self, cluster: &ClusterState) -> String {
        let name = &cluster.config.name;
        let server = cluster.endpoint.clone().unwrap_or_default();
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    server: {server}\ncontexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\ncurrent-context: {name}\nusers:\n- name: {name}\n  user: {{}}\n"
        )
    }

    async fn account_scope(&self) -> Result<String> {
        self.inner.read("account_scope")?;
        Ok(SIM_ACCOUNT.to_string())
    }
}

#[cfg(test)]
mod tests;
