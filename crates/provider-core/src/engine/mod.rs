//! The engine: spec → desired graph → observe → plan → apply → destroy.
//!
//! ```no_run
//! # async fn run() -> provider_core::Result<()> {
//! use std::sync::Arc;
//! use provider_core::engine::Engine;
//! use provider_core::sim::SimBuilder;
//! use provider_core::spec::HubClusterSpec;
//! use provider_core::state::LocalStateStore;
//!
//! let spec = HubClusterSpec::load("hub.yaml".as_ref()).expect("valid spec");
//! let engine = Engine::new(Arc::new(SimBuilder::new().build()), Arc::new(LocalStateStore::new(".hubforge/state")));
//! let report = engine.apply(&spec).await?.into_result()?;
//! println!("{} actions in {:?}", report.done.len(), report.elapsed);
//! # Ok(()) }
//! ```

mod apply;
mod graph;
mod journal;
mod keys;
mod lock;
mod observe;
mod plan;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

pub use apply::ApplyReport;
pub use graph::{Desired, DesiredGraph, DesiredNode, NodeId};
pub use lock::HubLock;
pub use observe::{Observed, observe};
pub use plan::{
    Action, Blocker, FieldDiff, Foreign, Mark, Plan, PlanLine, PlanOptions, Replacement, Step,
    Target, Unchanged, foreign_resources, plan,
};

use crate::error::{Error, ErrorKind, Result};
use crate::events::{Event, EventSink, ignore_events};
use crate::names::NameScope;
use crate::operation::{Backoff, Cancellation};
use crate::provider::*;
use crate::ratelimit::RateLimitLayer;
use crate::retry::{RetryLayer, RetryPolicy};
use crate::spec::HubClusterSpec;
use crate::state::{HubState, LockInfo, StateStore};
use crate::validate::ValidSpec;

/// Knobs of an engine.
#[derive(Clone)]
pub struct EngineOptions {
    /// Reads in flight at once while observing.
    pub read_concurrency: usize,
    /// Longest any one action may take (a real EKS upgrade takes ~30 min).
    pub action_deadline: Duration,
    /// Lease of the state lock; renewed while the run lives.
    pub lease: Duration,
    /// Where events go.
    pub events: EventSink,
    /// Stops the run: no new actions start, running waits end.
    pub cancel: Cancellation,
}

impl Default for EngineOptions {
    fn default() -> EngineOptions {
        EngineOptions {
            read_concurrency: 8,
            action_deadline: Duration::from_secs(90 * 60),
            lease: Duration::from_secs(10 * 60),
            events: ignore_events(),
            cancel: Cancellation::new(),
        }
    }
}

/// Plans and applies hub specs on one provider, keeping state in one store.
#[derive(Clone)]
pub struct Engine {
    provider: Arc<dyn Provider>,
    /// The provider behind its cloud's request budgets (shared by every
    /// engine on the provider); actions go through it with a retry layer
    /// of their own.
    limited: Arc<dyn Provider>,
    /// The limited provider behind the retry layer, for reads.
    reader: Arc<dyn Provider>,
    state: Arc<dyn StateStore>,
    options: EngineOptions,
}

/// What a leak check found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LeakCheck {
    /// Everything still tagged as the hub's, as `kind name` lines; empty
    /// when nothing the hub owned is left.
    pub leaks: Vec<String>,
    /// Resources where the hub's would be that are not the hub's; hubforge
    /// left them alone.
    pub left_alone: Vec<Foreign>,
}

/// What a hub gives the layers above it (Helm values, kubectl, CI).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outputs {
    /// Logical hub name.
    pub hub: String,
    /// Provider.
    pub provider: String,
    /// Physical cluster name.
    pub cluster: String,
    /// API server URL.
    pub endpoint: Option<String>,
    /// Kubeconfig whose user runs the cloud's exec plugin.
    pub kubeconfig: Option<String>,
    /// Bucket URLs by logical name.
    pub buckets: BTreeMap<String, String>,
    /// Service-account annotations and pod labels by logical identity name.
    pub identities: BTreeMap<String, IdentityOutput>,
    /// Node selectors by logical pool name: [`POOL_LABEL`], which stays
    /// the same when a pool is replaced blue/green.
    pub node_selectors: BTreeMap<String, BTreeMap<String, String>>,
    /// The cloud's own label on each pool's nodes today, by logical pool
    /// name (`eks.amazonaws.com/nodegroup: dask-b`); it changes when a
    /// pool is replaced, so select on `node_selectors` instead.
    pub cloud_node_labels: BTreeMap<String, BTreeMap<String, String>>,
}

/// What a Kubernetes service account and its pods need to use an identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentityOutput {
    /// `namespace/name` of the service account.
    pub service_account: String,
    /// The annotations to put on the service account.
    pub annotations: BTreeMap<String, String>,
    /// The labels to put on pods that run as it (empty where the cloud
    /// needs none).
    pub pod_labels: BTreeMap<String, String>,
}

impl Engine {
    /// An engine with default options.
    pub fn new(provider: Arc<dyn Provider>, state: Arc<dyn StateStore>) -> Engine {
        let poll = provider.capabilities().poll_interval;
        let policy = RetryPolicy {
            max_attempts: Some(10),
            backoff: Backoff::new(poll, poll * 16, 2.0),
        };
        let limited: Arc<dyn Provider> = Arc::new(RateLimitLayer::shared(provider.clone()));
        let reader: Arc<dyn Provider> = Arc::new(RetryLayer::new(limited.clone(), policy));
        Engine {
            provider,
            limited,
            reader,
            state,
            options: EngineOptions::default(),
        }
    }

    /// Replaces the options.
    pub fn with_options(mut self, options: EngineOptions) -> Engine {
        self.options = options;
        self
    }

    /// Sends events to `sink`.
    pub fn with_events(mut self, sink: EventSink) -> Engine {
        self.options.events = sink;
        self
    }

    /// The provider.
    pub fn provider(&self) -> &Arc<dyn Provider> {
        &self.provider
    }

    /// The state store.
    pub fn state(&self) -> &Arc<dyn StateStore> {
        &self.state
    }

    /// The desired graph of `spec` on this provider; a spec that does not
    /// validate is refused before any cloud call.
    pub async fn graph(&self, spec: &HubClusterSpec) -> Result<DesiredGraph> {
        let valid = ValidSpec::check(spec).map_err(|problems| {
            let first = &problems[0];
            Error::new(
                ErrorKind::InvalidSpec {
                    path: first.path.clone(),
                    reason: first.message.clone(),
                },
                self.provider.name(),
                format!(
                    "the spec has {} problem(s); `hubforge validate` lists them all",
                    problems.len()
                ),
            )
        })?;
        let scope = NameScope::known(self.reader.account_scope().await?);
        DesiredGraph::build(&valid, self.provider.as_ref(), &scope)
    }

    /// What apply would do; changes nothing and takes no lock.
    pub async fn plan(&self, spec: &HubClusterSpec) -> Result<Plan> {
        self.plan_with(spec, false, false).await
    }

    /// What destroy would do.
    pub async fn plan_destroy(&self, spec: &HubClusterSpec, delete_data: bool) -> Result<Plan> {
        self.plan_with(spec, true, delete_data).await
    }

    async fn plan_with(
        &self,
        spec: &HubClusterSpec,
        destroy: bool,
        delete_data: bool,
    ) -> Result<Plan> {
        let graph = self.graph(spec).await?;
        let observed = observe(&self.reader, &graph, self.options.read_concurrency).await?;
        let options = PlanOptions {
            capabilities: self.provider.capabilities(),
            provider: self.provider.name().to_string(),
            destroy,
            delete_data,
        };
        let plan = plan(&graph, &observed, &options);
        (self.options.events)(&Event::Planned {
            actions: plan.actions.len(),
        });
        Ok(plan)
    }

    /// Takes the hub's state lock for `operation`, or fails naming who
    /// holds it. A lock whose holder is gone is taken over with a warning.
    /// The lease is renewed while the lock is held; if it cannot be kept,
    /// the run under it stops starting actions (see [`HubLock`]).
    pub async fn lock(&self, hub: &str, operation: &str) -> Result<HubLock> {
        let info = LockInfo::for_this_process(operation, self.options.lease);
        if let Some(stale) = self.state.lock(hub, &info).await? {
            (self.options.events)(&Event::Warning {
                message: format!("took over a stale lock of hub {hub}: {stale}"),
            });
        }
        Ok(HubLock::hold(
            hub,
            info,
            self.state.clone(),
            self.options.lease,
            self.options.cancel.child(),
            self.options.events.clone(),
        ))
    }

    /// Releases `lock` after a run whose result is `outcome`. A failure to
    /// release never hides the run's result: it is reported as a warning
    /// naming the command that clears the lock, and the result is returned.
    pub async fn release<T, E>(
        &self,
        lock: HubLock,
        outcome: std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let (hub, id) = (lock.hub().to_string(), lock.info().id.clone());
        if let Err(error) = lock.release().await {
            (self.options.events)(&Event::Warning {
                message: format!(
                    "could not release the lock of hub {hub} ({error}); once no run holds it, clear it with `hubforge state unlock {id}`"
                ),
            });
        }
        outcome
    }

    /// Runs `plan` under `lock`, journalling each finished action.
    pub async fn execute(&self, lock: &HubLock, plan: &Plan) -> Result<ApplyReport> {
        if lock.hub() != plan.hub {
            return Err(Error::new(
                ErrorKind::Conflict,
                "hubforge",
                format!(
                    "the lock is for hub {}, the plan for {}",
                    lock.hub(),
                    plan.hub
                ),
            ));
        }
        if let Some(blocker) = plan.blocked.first() {
            return Err(Error::new(
                ErrorKind::InvalidSpec {
                    path: blocker.node.to_string(),
                    reason: blocker.reason.clone(),
                },
                self.provider.name(),
                format!(
                    "the plan has {} change(s) that need a person; first: {}: {}",
                    plan.blocked.len(),
                    blocker.node,
                    blocker.reason
                ),
            ));
        }
        let state = self
            .state
            .read(&plan.hub)
            .await?
            .unwrap_or_else(|| HubState::new(&plan.hub, self.provider.name()));
        let journal = Arc::new(apply::Journal::new(self.state.clone(), state));
        journal.record_unchanged(&plan.unchanged).await?;
        let options = apply::ExecOptions {
            hub: plan.hub.clone(),
            deadline: self.options.action_deadline,
            poll: self.provider.capabilities().poll_interval,
            // Ctrl-C, or a lease that could not be kept.
            cancel: lock.stop_signal(),
            events: self.options.events.clone(),
        };
        let mut report = apply::execute(self.limited.clone(), plan, journal, options).await;
        report.lock_lost = lock.lost();
        Ok(report)
    }

    /// Locks, plans and applies `spec`; the lock is released whatever happens.
    pub async fn apply(&self, spec: &HubClusterSpec) -> Result<ApplyReport> {
        let lock = self.lock(&spec.name, "apply").await?;
        let outcome = async { self.execute(&lock, &self.plan(spec).await?).await }.await;
        self.release(lock, outcome).await
    }

    /// Locks, plans and runs the hub's destruction, then checks for leaks.
    pub async fn destroy(
        &self,
        spec: &HubClusterSpec,
        delete_data: bool,
    ) -> Result<(ApplyReport, LeakCheck)> {
        let lock = self.lock(&spec.name, "destroy").await?;
        let outcome = async {
            let report = self
                .execute(&lock, &self.plan_destroy(spec, delete_data).await?)
                .await?;
            let check = self.leak_check(spec).await?;
            if check.leaks.is_empty() && report.succeeded() {
                self.state.remove(&spec.name).await?;
            }
            Ok((report, check))
        }
        .await;
        self.release(lock, outcome).await
    }

    /// Everything still tagged as the hub's, and what stands where the
    /// hub's resources would but is not the hub's (left alone).
    pub async fn leak_check(&self, spec: &HubClusterSpec) -> Result<LeakCheck> {
        let graph = self.graph(spec).await?;
        let observed = observe(&self.reader, &graph, self.options.read_concurrency).await?;
        let hub = graph.hub.as_str();
        let p = &self.reader;
        let mut leaks = Vec::new();
        for cluster in p.list_clusters(hub).await? {
            for pool in p
                .list_node_pools(&cluster.config.name)
                .await
                .unwrap_or_default()
                .into_iter()
                .filter(|pool| owned_by(&pool.config.tags, hub))
            {
                leaks.push(format!(
                    "node pool {} (cluster {})",
                    pool.config.name, cluster.config.name
                ));
            }
            leaks.push(format!("cluster {}", cluster.config.name));
        }
        leaks.extend(
            p.list_buckets(hub)
                .await?
                .into_iter()
                .map(|b| format!("bucket {}", b.config.name)),
        );
        leaks.extend(
            p.list_identities(hub)
                .await?
                .into_iter()
                .map(|i| format!("identity {}", i.config.name)),
        );
        leaks.extend(
            p.list_support(hub)
                .await?
                .into_iter()
                .map(|s| format!("{} {}", s.config.kind.as_str(), s.config.name)),
        );
        Ok(LeakCheck {
            leaks,
            left_alone: foreign_resources(&graph, &observed),
        })
    }

    /// The hub's outputs, read fresh from the cloud.
    pub async fn outputs(&self, spec: &HubClusterSpec) -> Result<Outputs> {
        let graph = self.graph(spec).await?;
        let observed = observe(&self.reader, &graph, self.options.read_concurrency).await?;
        let p = &self.reader;
        let mut outputs = Outputs {
            hub: graph.hub.clone(),
            provider: p.name().to_string(),
            cluster: graph.cluster.clone(),
            endpoint: observed.cluster.as_ref().and_then(|c| c.endpoint.clone()),
            kubeconfig: observed
                .cluster
                .as_ref()
                .filter(|c| c.endpoint.is_some())
                .map(|c| p.kubeconfig(c)),
            buckets: BTreeMap::new(),
            identities: BTreeMap::new(),
            node_selectors: BTreeMap::new(),
            cloud_node_labels: BTreeMap::new(),
        };
        for node in &graph.nodes {
            match (&node.id, &node.desired) {
                (NodeId::Bucket(logical), Desired::Bucket(c)) => {
                    if let Some(bucket) = observed.buckets.get(&c.name) {
                        outputs.buckets.insert(logical.clone(), bucket.url.clone());
                    }
                }
                (NodeId::Binding(logical), Desired::Binding { identity, binding }) => {
                    if let Some(state) = observed.identities.get(identity) {
                        let WorkloadIdentity {
                            annotations,
                            pod_labels,
                        } = p.workload_identity(state);
                        let account = format!(
                            "{}/{}",
                            binding.service_account.namespace, binding.service_account.name
                        );
                        outputs.identities.insert(
                            logical.clone(),
                            IdentityOutput {
                                service_account: account,
                                annotations,
                                pod_labels,
                            },
                        );
                    }
                }
                (NodeId::NodePool(logical), Desired::NodePool(_)) => {
                    let tag = node.id.tag();
                    if let Some(pool) = observed.pools.iter().find(|s| {
                        owned_by(&s.config.tags, &graph.hub)
                            && s.config.tags.get(TAG_RESOURCE) == tag.as_ref()
                            && s.status.is_ready()
                    }) {
                        outputs.node_selectors.insert(
                            logical.clone(),
                            BTreeMap::from([(POOL_LABEL.to_string(), logical.clone())]),
                        );
                        let (key, value) = p.cloud_node_label(&pool.config.name);
                        outputs
                            .cloud_node_labels
                            .insert(logical.clone(), BTreeMap::from([(key, value)]));
                    }
                }
                _ => {}
            }
        }
        Ok(outputs)
    }
}

#[cfg(test)]
mod tests;
