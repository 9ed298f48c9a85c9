//! The plan: a pure function of what the spec wants and what exists.
//!
//! Every change is an [`Action`] with the field-level diff, the reason for
//! any replacement, and the actions it waits for. Node pools that cannot
//! change in place are replaced blue/green (the new pool up under the twin
//! name, then the old one drained and removed) — never the cluster.
//! Anything that would lose data or replace the cluster is *blocked*: the
//! plan says so and apply refuses to start.

use std::collections::BTreeMap;

use serde::Serialize;

use super::graph::{Desired, DesiredGraph, NodeId};
use super::observe::Observed;
use crate::events::Change;
use crate::names;
use crate::provider::*;

/// What the executor sends to the cloud.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Create a supporting resource.
    CreateSupport(SupportConfig),
    /// Retag a supporting resource.
    UpdateSupport(SupportConfig),
    /// Delete a supporting resource.
    DeleteSupport {
        /// Kind.
        kind: SupportKind,
        /// Physical name.
        name: String,
    },
    /// Create the cluster, with pools where the cloud allows.
    CreateCluster {
        /// The cluster.
        config: ClusterConfig,
        /// Pools created in the same operation.
        initial_pools: Vec<NodePoolConfig>,
    },
    /// Upgrade (one minor version at a time, through `versions`) and retag.
    UpdateCluster {
        /// The cluster as it should end.
        config: ClusterConfig,
        /// Each minor version to pass through, the target last; empty for tags only.
        versions: Vec<String>,
    },
    /// Delete the cluster.
    DeleteCluster {
        /// Physical name.
        name: String,
    },
    /// Create a pool.
    CreatePool {
        /// Physical cluster name.
        cluster: String,
        /// The pool.
        config: NodePoolConfig,
    },
    /// Change a pool in place.
    UpdatePool {
        /// Physical cluster name.
        cluster: String,
        /// The pool as it should be.
        config: NodePoolConfig,
    },
    /// Delete a pool.
    DeletePool {
        /// Physical cluster name.
        cluster: String,
        /// Physical pool name.
        name: String,
    },
    /// Create a bucket.
    CreateBucket(BucketConfig),
    /// Change a bucket in place.
    UpdateBucket(BucketConfig),
    /// Delete a bucket.
    DeleteBucket {
        /// Physical name.
        name: String,
        /// Delete its objects too.
        delete_data: bool,
    },
    /// Create an identity.
    CreateIdentity(IdentityConfig),
    /// Retag an identity.
    UpdateIdentity(IdentityConfig),
    /// Delete an identity.
    DeleteIdentity {
        /// Physical name.
        name: String,
    },
    /// Set an identity's binding.
    Bind {
        /// Physical identity name.
        identity: String,
        /// The binding.
        binding: IdentityBinding,
    },
    /// Wait for an operation already running on a resource.
    Await {
        /// What to watch.
        target: Target,
        /// Wait until it is gone rather than ready.
        gone: bool,
    },
}

/// A resource to watch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// A supporting resource.
    Support {
        /// Kind.
        support: SupportKind,
        /// Physical name.
        name: String,
    },
    /// The cluster.
    Cluster {
        /// Physical name.
        name: String,
    },
    /// A pool.
    NodePool {
        /// Physical cluster name.
        cluster: String,
        /// Physical pool name.
        name: String,
    },
    /// A bucket.
    Bucket {
        /// Physical name.
        name: String,
    },
    /// An identity.
    Identity {
        /// Physical name.
        name: String,
    },
}

/// One changed field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldDiff {
    /// Field name (`max`, `labels`, `kubernetes_version`).
    pub field: String,
    /// Current value.
    pub before: String,
    /// Value after apply.
    pub after: String,
}

/// One change to one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    /// Index in the plan.
    pub id: usize,
    /// The spec resource.
    pub node: NodeId,
    /// What happens to it.
    pub change: Change,
    /// Physical name.
    pub physical: String,
    /// What the executor sends.
    pub step: Step,
    /// Field-level diff (updates, replacements).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diffs: Vec<FieldDiff>,
    /// For a blue/green replacement: the pool this one replaces, and the
    /// field that forces it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaces: Option<Replacement>,
    /// Why, in words (upgrade path, blue/green order, drift).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Actions that must finish first.
    pub depends_on: Vec<usize>,
}

/// What a replacing action replaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Replacement {
    /// Physical name of the resource being replaced.
    pub old: String,
    /// The field whose change forces replacement.
    pub forced_by: String,
}

/// A resource that already matches the spec; apply records it in state
/// (a crashed run may have created it without recording it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unchanged {
    /// The spec resource.
    pub node: NodeId,
    /// Its physical name.
    pub physical: String,
}

/// A change hubforge will not make by itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blocker {
    /// The spec resource.
    pub node: NodeId,
    /// Why, and what to do.
    pub reason: String,
}

/// Everything apply (or destroy) would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Logical hub name.
    pub hub: String,
    /// Provider name.
    pub provider: String,
    /// Whether this plan destroys the hub.
    pub destroy: bool,
    /// Actions, in an order that respects `depends_on`.
    pub actions: Vec<Action>,
    /// Resources that already match the spec.
    pub unchanged: Vec<Unchanged>,
    /// Changes that need a person; apply refuses while any is present.
    pub blocked: Vec<Blocker>,
    /// Resources where the hub's would be that are not the hub's; hubforge
    /// leaves them alone (a destroy plan lists them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub left_alone: Vec<Foreign>,
}

/// A resource that is not the hub's, found where the hub's would be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Foreign {
    /// What it is (`cluster`, `node pool`, `bucket`).
    pub kind: String,
    /// Its physical name.
    pub name: String,
    /// The cluster it sits in, for node pools.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub within: Option<String>,
    /// Its tags, which say it is not the hub's.
    pub tags: BTreeMap<String, String>,
}

impl Plan {
    /// The length of the plan's longest dependency chain if each action
    /// took `cost`: the wall time a perfect executor would need.
    /// Benchmarks compare real applies with it.
    pub fn critical_path(
        &self,
        cost: impl Fn(&Action) -> std::time::Duration,
    ) -> std::time::Duration {
        // Actions come in dependency order, so one pass finds each finish time.
        let mut finish = vec![std::time::Duration::ZERO; self.actions.len()];
        for action in &self.actions {
            let start = action
                .depends_on
                .iter()
                .map(|d| finish[*d])
                .max()
                .unwrap_or_default();
            finish[action.id] = start + cost(action);
        }
        finish.into_iter().max().unwrap_or_default()
    }
}

impl std::fmt::Display for Foreign {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.name)?;
        if let Some(cluster) = &self.within {
            write!(f, " in cluster {cluster}")?;
        }
        write!(f, " ({})", describe_tags(&self.tags))
    }
}

/// Inputs of planning besides desired and observed.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// The provider's capabilities.
    pub capabilities: Capabilities,
    /// Provider name, for the plan's header.
    pub provider: String,
    /// Plan the hub's destruction instead of its convergence.
    pub destroy: bool,
    /// Buckets that hold data may be deleted.
    pub delete_data: bool,
}

mod converge;
mod destroy;
mod diff;
mod pool;
mod render;
mod upgrade;

#[cfg(test)]
mod tests;

use converge::*;
pub use destroy::foreign_resources;
use destroy::*;
use diff::*;
use pool::*;
pub use render::{Mark, PlanLine};
use upgrade::*;

/// Plans the convergence (or, with `options.destroy`, the destruction) of
/// the hub in `graph`, given what `observed` found.
pub fn plan(graph: &DesiredGraph, observed: &Observed, options: &PlanOptions) -> Plan {
    let mut b = Builder {
        graph,
        observed,
        options,
        actions: Vec::new(),
        unchanged: Vec::new(),
        blocked: Vec::new(),
        left_alone: Vec::new(),
        ready: BTreeMap::new(),
        retirements: Vec::new(),
        upgraded_pools: BTreeMap::new(),
    };
    if options.destroy {
        plan_destroy(&mut b);
    } else {
        plan_converge(&mut b);
    }
    // The executor does not need it, but plans read top to bottom.
    debug_assert!(
        b.actions
            .iter()
            .all(|a| a.depends_on.iter().all(|d| *d < a.id)),
        "an action depends on a later one"
    );
    Plan {
        hub: graph.hub.clone(),
        provider: options.provider.clone(),
        destroy: options.destroy,
        actions: b.actions,
        unchanged: b.unchanged,
        blocked: b.blocked,
        left_alone: b.left_alone,
    }
}

struct Builder<'a> {
    graph: &'a DesiredGraph,
    observed: &'a Observed,
    options: &'a PlanOptions,
    actions: Vec<Action>,
    unchanged: Vec<Unchanged>,
    blocked: Vec<Blocker>,
    left_alone: Vec<Foreign>,
    /// The action after which a node is ready for its dependents.
    ready: BTreeMap<NodeId, usize>,
    /// Pools to remove once their replacements are up, planned last.
    retirements: Vec<Retirement>,
    /// Pools a cluster upgrade in this plan takes along: the last action on
    /// each, and the version it leaves the pool at.
    upgraded_pools: BTreeMap<String, (usize, String)>,
}

impl Builder<'_> {
    fn push(
        &mut self,
        node: &NodeId,
        change: Change,
        physical: &str,
        step: Step,
        depends_on: Vec<usize>,
    ) -> usize {
        let id = self.actions.len();
        self.actions.push(Action {
            id,
            node: node.clone(),
            change,
            physical: physical.to_string(),
            step,
            diffs: Vec::new(),
            replaces: None,
            note: None,
            depends_on: dedup(depends_on),
        });
        id
    }

    fn deps(&self, nodes: &[NodeId]) -> Vec<usize> {
        nodes
            .iter()
            .filter_map(|n| self.ready.get(n).copied())
            .collect()
    }

    fn keep(&mut self, node: &NodeId, physical: &str) {
        self.unchanged.push(Unchanged {
            node: node.clone(),
            physical: physical.to_string(),
        });
    }

    fn block(&mut self, node: &NodeId, reason: String) {
        self.blocked.push(Blocker {
            node: node.clone(),
            reason,
        });
    }

    /// Handles a resource in a transitional state; returns the action that
    /// waits for it, if any. `Deleting` waits for it to go.
    fn await_transition(
        &mut self,
        node: &NodeId,
        physical: &str,
        status: &ResourceStatus,
        target: Target,
        deps: Vec<usize>,
    ) -> Option<usize> {
        let gone = match status {
            ResourceStatus::Creating | ResourceStatus::Updating => false,
            ResourceStatus::Deleting => true,
            _ => return None,
        };
        let id = self.push(
            node,
            Change::Wait,
            physical,
            Step::Await { target, gone },
            deps,
        );
        self.actions[id].note = Some(if gone {
            "a deletion is still running".into()
        } else {
            "an operation is still running".into()
        });
        Some(id)
    }
}

fn dedup(mut ids: Vec<usize>) -> Vec<usize> {
    ids.sort_unstable();
    ids.dedup();
    ids
}
