//! The plan: a pure function of what the spec wants and what exists.
//!
//! Every change is an [`Action`] with the field-level diff, the reason for
//! any replacement, and the actions it waits for. Node pools that cannot
//! change in place are replaced blue/green (the new pool up under the twin
//! name, then the old one drained and removed) — never the cluster.
//! Anything that would lose data or replace the cluster is *blocked*: the
//! plan says so and apply refuses to start.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

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

impl Plan {
    /// Whether applying would change anything.
    pub fn has_changes(&self) -> bool {
        !self.actions.is_empty()
    }

    /// (create, update, replace, delete) counts as a person reads them: a
    /// blue/green replacement counts once, as a replacement.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let replaced: BTreeSet<&str> = self
            .actions
            .iter()
            .filter_map(|a| a.replaces.as_ref().map(|r| r.old.as_str()))
            .collect();
        let mut counts = (0, 0, 0, 0);
        for action in &self.actions {
            match action.change {
                Change::Create if action.replaces.is_some() => counts.2 += 1,
                Change::Create => counts.0 += 1,
                Change::Update => counts.1 += 1,
                Change::Delete
                    if matches!(action.step, Step::DeletePool { .. })
                        && replaced.contains(action.physical.as_str()) => {}
                Change::Delete => counts.3 += 1,
                Change::Wait => {}
            }
        }
        counts
    }

    /// The plan as a person reads it, like `terraform plan`: `+` create,
    /// `~` update, `-/+` replace, `-` delete, `…` wait, with ANSI colours
    /// when `color`.
    pub fn render(&self, color: bool) -> String {
        let paint = |code: &str, text: &str| {
            if color {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_string()
            }
        };
        let mut out = String::new();
        if !self.has_changes() && self.blocked.is_empty() {
            let _ = writeln!(
                out,
                "No changes. Hub `{}` ({}) matches its spec: {} resources up to date.",
                self.hub,
                self.provider,
                self.unchanged.len()
            );
            return out;
        }
        let verb = if self.destroy { "destroy" } else { "converge" };
        let _ = writeln!(
            out,
            "hubforge will {verb} hub `{}` on {} with these actions:\n",
            self.hub, self.provider
        );
        for action in &self.actions {
            let (symbol, code) = match (action.change, &action.replaces) {
                (Change::Create, Some(_)) => ("-/+", "33"),
                (Change::Create, None) => ("+", "32"),
                (Change::Update, _) => ("~", "33"),
                (Change::Delete, _) => ("-", "31"),
                (Change::Wait, _) => ("…", "36"),
            };
            let name = match &action.replaces {
                Some(r) => format!("{} → {}", r.old, action.physical),
                None => action.physical.clone(),
            };
            let _ = writeln!(
                out,
                "  {} {:<28} {}",
                paint(code, &format!("{symbol:>3}")),
                action.node.to_string(),
                name
            );
            if let Some(replacement) = &action.replaces {
                let _ = writeln!(out, "        {} forces replacement", replacement.forced_by);
            }
            for diff in &action.diffs {
                let _ = writeln!(
                    out,
                    "        {}: {} → {}",
                    diff.field, diff.before, diff.after
                );
            }
            if let Some(note) = &action.note {
                let _ = writeln!(out, "        ({note})");
            }
        }
        for blocker in &self.blocked {
            let _ = writeln!(
                out,
                "  {} {:<28} {}",
                paint("1;31", "  !"),
                blocker.node.to_string(),
                blocker.reason
            );
        }
        let (create, update, replace, delete) = self.counts();
        let _ = writeln!(
            out,
            "\nPlan: {create} to create, {update} to update, {replace} to replace, {delete} to destroy."
        );
        if !self.blocked.is_empty() {
            let _ = writeln!(
                out,
                "{} change(s) need a person (marked !); apply refuses until they are resolved.",
                self.blocked.len()
            );
        }
        out
    }
}

struct Builder<'a> {
    graph: &'a DesiredGraph,
    observed: &'a Observed,
    options: &'a PlanOptions,
    actions: Vec<Action>,
    unchanged: Vec<Unchanged>,
    blocked: Vec<Blocker>,
    /// The action after which a node is ready for its dependents.
    ready: BTreeMap<NodeId, usize>,
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

fn tag_diff(
    field: &str,
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
    out: &mut Vec<FieldDiff>,
) {
    if before != after {
        out.push(FieldDiff {
            field: field.into(),
            before: render_map(before),
            after: render_map(after),
        });
    }
}

fn value_diff<T: PartialEq + std::fmt::Debug>(
    field: &str,
    before: &T,
    after: &T,
    out: &mut Vec<FieldDiff>,
) {
    if before != after {
        out.push(FieldDiff {
            field: field.into(),
            before: render_value(before),
            after: render_value(after),
        });
    }
}

fn render_value<T: std::fmt::Debug>(value: &T) -> String {
    let text = format!("{value:?}");
    text.strip_prefix("Some(")
        .and_then(|t| t.strip_suffix(')'))
        .map(str::to_string)
        .unwrap_or(text)
        .trim_matches('"')
        .to_string()
}

fn render_map(map: &BTreeMap<String, String>) -> String {
    let items: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", items.join(", "))
}

fn owned(tags: &BTreeMap<String, String>, hub: &str, node: &NodeId) -> bool {
    owned_by(tags, hub) && tags.get(TAG_RESOURCE) == node.tag().as_ref()
}

fn minor(version: &str) -> Option<u32> {
    version.split_once('.').and_then(|(_, m)| m.parse().ok())
}

/// The fields of a pool that cannot change in place on this provider.
fn fixed_pool_fields(
    desired: &NodePoolConfig,
    observed: &NodePoolConfig,
    capabilities: &Capabilities,
) -> Vec<FieldDiff> {
    let mut diffs = Vec::new();
    value_diff(
        "instance_type",
        &observed.instance_type,
        &desired.instance_type,
        &mut diffs,
    );
    value_diff(
        "accelerator",
        &observed.accelerator,
        &desired.accelerator,
        &mut diffs,
    );
    value_diff("spot", &observed.spot, &desired.spot, &mut diffs);
    // No disk size in the spec means "the cloud's default", whatever it is.
    if desired.disk_gib.is_some() {
        value_diff(
            "disk_gib",
            &observed.disk_gib,
            &desired.disk_gib,
            &mut diffs,
        );
    }
    if !capabilities.pool_labels_in_place {
        tag_diff("labels", &observed.labels, &desired.labels, &mut diffs);
        value_diff("taints", &observed.taints, &desired.taints, &mut diffs);
    }
    diffs
}

fn mutable_pool_fields(desired: &NodePoolConfig, observed: &NodePoolConfig) -> Vec<FieldDiff> {
    let mut diffs = Vec::new();
    value_diff("min", &observed.min, &desired.min, &mut diffs);
    value_diff("max", &observed.max, &desired.max, &mut diffs);
    tag_diff("labels", &observed.labels, &desired.labels, &mut diffs);
    let render = |taints: &[crate::validate::Taint]| {
        taints
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if observed.taints != desired.taints {
        diffs.push(FieldDiff {
            field: "taints".into(),
            before: render(&observed.taints),
            after: render(&desired.taints),
        });
    }
    tag_diff("tags", &observed.tags, &desired.tags, &mut diffs);
    diffs
}

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
        ready: BTreeMap::new(),
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
    }
}

fn plan_converge(b: &mut Builder<'_>) {
    let (graph, observed) = (b.graph, b.observed);
    let mut batched_pools = false;
    for node in &graph.nodes {
        let deps = b.deps(&node.depends_on);
        let id = &node.id;
        match &node.desired {
            Desired::Support(desired) => {
                let simple = Simple {
                    physical: &desired.name,
                    region: &desired.region,
                    target: Target::Support {
                        support: desired.kind,
                        name: desired.name.clone(),
                    },
                    create: Step::CreateSupport(desired.clone()),
                    found: observed.support.get(&desired.kind),
                };
                converge_simple(b, id, deps, simple, |s| {
                    let mut diffs = Vec::new();
                    tag_diff("tags", &s.config.tags, &desired.tags, &mut diffs);
                    // Only what the cloud reports back can be compared.
                    for (key, observed) in &s.config.properties {
                        if let Some(wanted) = desired.properties.get(key) {
                            value_diff(key, observed, wanted, &mut diffs);
                        }
                    }
                    (diffs, Step::UpdateSupport(desired.clone()))
                });
            }
            Desired::Cluster(desired) => {
                batched_pools = converge_cluster(b, id, desired, deps);
            }
            Desired::NodePool(desired) => {
                if batched_pools {
                    let cluster_action = b.ready[&NodeId::Cluster];
                    b.ready.insert(id.clone(), cluster_action);
                } else {
                    converge_pool(b, id, desired, deps);
                }
            }
            Desired::Bucket(desired) => {
                let simple = Simple {
                    physical: &desired.name,
                    region: &desired.region,
                    target: Target::Bucket {
                        name: desired.name.clone(),
                    },
                    create: Step::CreateBucket(desired.clone()),
                    found: observed.buckets.get(&desired.name),
                };
                converge_simple(b, id, deps, simple, |s| {
                    let mut diffs = Vec::new();
                    value_diff(
                        "versioning",
                        &s.config.versioning,
                        &desired.versioning,
                        &mut diffs,
                    );
                    value_diff(
                        "delete_after_days",
                        &s.config.delete_after_days,
                        &desired.delete_after_days,
                        &mut diffs,
                    );
                    tag_diff("tags", &s.config.tags, &desired.tags, &mut diffs);
                    (diffs, Step::UpdateBucket(desired.clone()))
                });
            }
            Desired::Identity(desired) => {
                let simple = Simple {
                    physical: &desired.name,
                    region: "",
                    target: Target::Identity {
                        name: desired.name.clone(),
                    },
                    create: Step::CreateIdentity(desired.clone()),
                    found: observed.identities.get(&desired.name),
                };
                converge_simple(b, id, deps, simple, |s| {
                    let mut diffs = Vec::new();
                    tag_diff("tags", &s.config.tags, &desired.tags, &mut diffs);
                    (diffs, Step::UpdateIdentity(desired.clone()))
                });
            }
            Desired::Binding { identity, binding } => {
                let current = observed
                    .identities
                    .get(identity)
                    .and_then(|i| i.binding.as_ref());
                let identity_changes = b.ready.contains_key(&NodeId::Identity(id_name(id)));
                if current == Some(binding) && !identity_changes {
                    b.keep(id, identity);
                    continue;
                }
                let action = b.push(
                    id,
                    if current.is_some() {
                        Change::Update
                    } else {
                        Change::Create
                    },
                    identity,
                    Step::Bind {
                        identity: identity.clone(),
                        binding: binding.clone(),
                    },
                    deps,
                );
                if let Some(current) = current {
                    let mut diffs = Vec::new();
                    value_diff(
                        "service_account",
                        &format!(
                            "{}/{}",
                            current.service_account.namespace, current.service_account.name
                        ),
                        &format!(
                            "{}/{}",
                            binding.service_account.namespace, binding.service_account.name
                        ),
                        &mut diffs,
                    );
                    let render = |grants: &BTreeMap<String, crate::spec::BucketAccess>| {
                        grants
                            .iter()
                            .map(|(bucket, access)| format!("{bucket}:{access:?}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    if current.grants != binding.grants {
                        diffs.push(FieldDiff {
                            field: "grants".into(),
                            before: render(&current.grants),
                            after: render(&binding.grants),
                        });
                    }
                    b.actions[action].diffs = diffs;
                }
                b.ready.insert(id.clone(), action);
            }
        }
    }
    plan_removals(b);
}

fn id_name(id: &NodeId) -> String {
    match id {
        NodeId::NodePool(n) | NodeId::Bucket(n) | NodeId::Identity(n) | NodeId::Binding(n) => {
            n.clone()
        }
        _ => String::new(),
    }
}

/// What the planner needs to know of an observed resource.
trait ObservedResource {
    fn tags(&self) -> &BTreeMap<String, String>;
    /// Empty where the cloud has no region for it (identities).
    fn region(&self) -> &str;
    fn status(&self) -> &ResourceStatus;
}

impl ObservedResource for SupportState {
    fn tags(&self) -> &BTreeMap<String, String> {
        &self.config.tags
    }
    fn region(&self) -> &str {
        &self.config.region
    }
    fn status(&self) -> &ResourceStatus {
        &self.status
    }
}

impl ObservedResource for BucketState {
    fn tags(&self) -> &BTreeMap<String, String> {
        &self.config.tags
    }
    fn region(&self) -> &str {
        &self.config.region
    }
    fn status(&self) -> &ResourceStatus {
        &self.status
    }
}

impl ObservedResource for IdentityState {
    fn tags(&self) -> &BTreeMap<String, String> {
        &self.config.tags
    }
    fn region(&self) -> &str {
        ""
    }
    fn status(&self) -> &ResourceStatus {
        &self.status
    }
}

/// A supporting resource, bucket or identity, desired and observed.
struct Simple<'a, S> {
    physical: &'a str,
    region: &'a str,
    target: Target,
    create: Step,
    found: Option<&'a S>,
}

/// Supporting resources, buckets and identities: create if missing, wait if
/// busy, update in place if tags or settings differ.
fn converge_simple<S: ObservedResource>(
    b: &mut Builder<'_>,
    id: &NodeId,
    deps: Vec<usize>,
    simple: Simple<'_, S>,
    diff: impl FnOnce(&S) -> (Vec<FieldDiff>, Step),
) {
    let Simple {
        physical,
        region: desired_region,
        target,
        create,
        found,
    } = simple;
    let hub = b.graph.hub.clone();
    let Some(state) = found else {
        let action = b.push(id, Change::Create, physical, create, deps);
        b.ready.insert(id.clone(), action);
        return;
    };
    if !owned_by(state.tags(), &hub) {
        b.block(id, format!("`{physical}` exists but is not tagged as hub {hub}'s; hubforge will not take over a resource it did not create — rename it in the spec or delete it"));
        return;
    }
    let region = state.region();
    if !region.is_empty() && region != desired_region {
        b.block(id, format!("`{physical}` is in {region}, the spec says {desired_region}; a region cannot change in place"));
        return;
    }
    if let ResourceStatus::Failed(reason) = state.status() {
        // Creates are idempotent ensures: running one again completes the resource.
        let action = b.push(id, Change::Create, physical, create, deps);
        b.actions[action].note = Some(format!("repair: {reason}"));
        b.ready.insert(id.clone(), action);
        return;
    }
    let waited = b.await_transition(id, physical, state.status(), target, deps.clone());
    if let Some(wait) =
        waited.filter(|w| matches!(b.actions[*w].step, Step::Await { gone: true, .. }))
    {
        let action = b.push(id, Change::Create, physical, create, vec![wait]);
        b.ready.insert(id.clone(), action);
        return;
    }
    let (diffs, step) = diff(state);
    if diffs.is_empty() {
        match waited {
            Some(w) => {
                b.ready.insert(id.clone(), w);
            }
            None => b.keep(id, physical),
        }
        return;
    }
    let mut after = deps;
    after.extend(waited);
    let action = b.push(id, Change::Update, physical, step, after);
    b.actions[action].diffs = diffs;
    b.ready.insert(id.clone(), action);
}

/// Returns whether the pools ride along in the cluster create.
fn converge_cluster(
    b: &mut Builder<'_>,
    id: &NodeId,
    desired: &ClusterConfig,
    deps: Vec<usize>,
) -> bool {
    let (graph, options) = (b.graph, b.options);
    let hub = graph.hub.as_str();
    let Some(found) = &b.observed.cluster else {
        let batch = options.capabilities.pools_in_cluster_create;
        let mut deps = deps;
        let initial_pools: Vec<NodePoolConfig> = if batch {
            graph
                .nodes
                .iter()
                .filter_map(|n| match &n.desired {
                    Desired::NodePool(pool) => {
                        deps.extend(b.deps(&n.depends_on));
                        Some(pool.clone())
                    }
                    _ => None,
                })
                .collect()
        } else {
            Vec::new()
        };
        let count = initial_pools.len();
        let action = b.push(
            id,
            Change::Create,
            &desired.name,
            Step::CreateCluster {
                config: desired.clone(),
                initial_pools,
            },
            deps,
        );
        if count > 0 {
            b.actions[action].note = Some(format!(
                "with its {count} node pools in the same cloud operation"
            ));
        }
        b.ready.insert(id.clone(), action);
        return batch;
    };
    if !owned(&found.config.tags, hub, id) {
        b.block(id, format!("cluster `{}` exists but is not tagged as hub {hub}'s; hubforge will not take it over", desired.name));
        return false;
    }
    if found.config.region != desired.region {
        b.block(id, format!("the cluster is in {}, the spec says {}; moving a hub cluster replaces it, which hubforge does not do in place: destroy it and apply again", found.config.region, desired.region));
        return false;
    }
    if let ResourceStatus::Failed(reason) = &found.status {
        b.block(id, format!("the cloud reports the cluster failed ({reason}); fix or delete it, then apply again"));
        return false;
    }
    let waited = b.await_transition(
        id,
        &desired.name,
        &found.status,
        Target::Cluster {
            name: desired.name.clone(),
        },
        deps.clone(),
    );
    let mut diffs = Vec::new();
    value_diff(
        "kubernetes_version",
        &found.config.kubernetes_version,
        &desired.kubernetes_version,
        &mut diffs,
    );
    tag_diff("tags", &found.config.tags, &desired.tags, &mut diffs);
    let versions = match (
        minor(&found.config.kubernetes_version),
        minor(&desired.kubernetes_version),
    ) {
        (Some(from), Some(to)) if to > from => (from + 1..=to).map(|m| format!("1.{m}")).collect(),
        (Some(from), Some(to)) if to < from => {
            b.block(id, format!("the cluster runs {}, the spec says {}; Kubernetes clusters cannot be downgraded", found.config.kubernetes_version, desired.kubernetes_version));
            return false;
        }
        _ => Vec::new(),
    };
    if !versions.is_empty() && !options.capabilities.cluster_version_upgrade {
        b.block(id, format!("the cluster runs {}, the spec says {}; this provider cannot upgrade a cluster in place", found.config.kubernetes_version, desired.kubernetes_version));
        return false;
    }
    if diffs.is_empty() {
        match waited {
            Some(w) => {
                b.ready.insert(id.clone(), w);
            }
            None => b.keep(id, &desired.name),
        }
        return false;
    }
    let mut after = deps;
    after.extend(waited);
    let note = (versions.len() > 1).then(|| {
        format!(
            "in place, one minor version at a time: {}",
            versions.join(" → ")
        )
    });
    let note = note.or_else(|| (!versions.is_empty()).then(|| "in place".to_string()));
    let action = b.push(
        id,
        Change::Update,
        &desired.name,
        Step::UpdateCluster {
            config: desired.clone(),
            versions,
        },
        after,
    );
    b.actions[action].diffs = diffs;
    b.actions[action].note = note;
    b.ready.insert(id.clone(), action);
    false
}

fn converge_pool(b: &mut Builder<'_>, id: &NodeId, desired: &NodePoolConfig, deps: Vec<usize>) {
    let (graph, observed, options) = (b.graph, b.observed, b.options);
    let cluster = graph.cluster.clone();
    let tag = id.tag();
    let candidates: Vec<&NodePoolState> = observed
        .pools
        .iter()
        .filter(|p| p.config.tags.get(TAG_RESOURCE) == tag.as_ref())
        .collect();
    let keep = candidates
        .iter()
        .copied()
        .filter(|p| is_live(p))
        .filter(|p| fixed_pool_fields(desired, &p.config, &options.capabilities).is_empty())
        .min_by_key(|p| (p.config.name != desired.name, p.config.name.clone()));
    let target = |name: &str| Target::NodePool {
        cluster: cluster.clone(),
        name: name.to_string(),
    };

    let ready_action = if let Some(keep) = keep {
        let waited = b.await_transition(
            id,
            &keep.config.name,
            &keep.status,
            target(&keep.config.name),
            deps.clone(),
        );
        let config = NodePoolConfig {
            name: keep.config.name.clone(),
            ..desired.clone()
        };
        let diffs = mutable_pool_fields(&config, &keep.config);
        if diffs.is_empty() {
            waited
        } else {
            let mut after = deps.clone();
            after.extend(waited);
            let physical = config.name.clone();
            let action = b.push(
                id,
                Change::Update,
                &physical,
                Step::UpdatePool {
                    cluster: cluster.clone(),
                    config,
                },
                after,
            );
            let drift = diffs
                .iter()
                .map(|d| d.field.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            b.actions[action].diffs = diffs;
            b.actions[action].note = Some(format!("in place: {drift}"));
            Some(action)
        }
    } else {
        // Nothing usable: create under a free name, blue/green if an old pool runs.
        let taken = |name: &str| observed.pools.iter().any(|p| p.config.name == name);
        let twin = names::alternate_pool_name(graph.cloud, &desired.name);
        let mut create_deps = deps.clone();
        let name = if !taken(&desired.name) {
            desired.name.clone()
        } else if !taken(&twin) {
            twin
        } else {
            // Both names hold old pools (a replacement was interrupted and
            // the spec changed again): retire the twin first, then reuse it.
            let retire = b.push(
                id,
                Change::Delete,
                &twin,
                Step::DeletePool {
                    cluster: cluster.clone(),
                    name: twin.clone(),
                },
                deps.clone(),
            );
            b.actions[retire].note = Some("frees the name for the new pool".into());
            create_deps.push(retire);
            twin
        };
        let config = NodePoolConfig {
            name: name.clone(),
            ..desired.clone()
        };
        let action = b.push(
            id,
            Change::Create,
            &name,
            Step::CreatePool {
                cluster: cluster.clone(),
                config,
            },
            create_deps.clone(),
        );
        if let Some(old) = candidates
            .iter()
            .copied()
            .filter(|p| is_live(p))
            .find(|p| p.config.name != name)
        {
            let diffs = fixed_pool_fields(desired, &old.config, &options.capabilities);
            b.actions[action].replaces = Some(Replacement {
                old: old.config.name.clone(),
                forced_by: diffs.first().map(|d| d.field.clone()).unwrap_or_default(),
            });
            b.actions[action].note = Some(format!(
                "blue/green: {name} comes up first, then {} is drained and removed",
                old.config.name
            ));
            b.actions[action].diffs = diffs;
        }
        Some(action)
    };
    // Every other live pool of this spec pool is retired once the kept or new one is ready.
    let kept_name = ready_action
        .map(|a| b.actions[a].physical.clone())
        .or(keep.map(|k| k.config.name.clone()));
    let retiring: Vec<String> = candidates
        .iter()
        .copied()
        .filter(|p| is_live(p))
        .map(|p| p.config.name.clone())
        .filter(|n| {
            Some(n) != kept_name.as_ref()
                && !b
                    .actions
                    .iter()
                    .any(|a| matches!(&a.step, Step::DeletePool { name, .. } if name == n))
        })
        .collect();
    for old in retiring {
        let action = b.push(
            id,
            Change::Delete,
            &old,
            Step::DeletePool {
                cluster: cluster.clone(),
                name: old.clone(),
            },
            ready_action.into_iter().collect(),
        );
        b.actions[action].note =
            Some("retired: drained and removed once its replacement is up".into());
    }
    match ready_action {
        Some(action) => {
            b.ready.insert(id.clone(), action);
        }
        None => b.keep(
            id,
            &kept_name.clone().unwrap_or_else(|| desired.name.clone()),
        ),
    }
}

fn is_live(pool: &NodePoolState) -> bool {
    pool.status != ResourceStatus::Deleting
}

/// Deletes what the hub owns but the spec no longer wants.
fn plan_removals(b: &mut Builder<'_>) {
    let (graph, observed) = (b.graph, b.observed);
    let wanted: BTreeSet<NodeId> = graph.nodes.iter().map(|n| n.id.clone()).collect();
    let cluster = graph.cluster.clone();
    let owned_node = |tags: &BTreeMap<String, String>| -> Option<NodeId> {
        owned_by(tags, &graph.hub)
            .then(|| tags.get(TAG_RESOURCE).and_then(|t| NodeId::from_tag(t)))
            .flatten()
    };
    let pool_actions: Vec<usize> = b
        .actions
        .iter()
        .filter(|a| matches!(a.node, NodeId::NodePool(_)) && a.change != Change::Delete)
        .map(|a| a.id)
        .collect();
    for pool in &observed.pools {
        if let Some(node) = owned_node(&pool.config.tags)
            && !wanted.contains(&node)
            && pool.status != ResourceStatus::Deleting
        {
            let action = b.push(
                &node,
                Change::Delete,
                &pool.config.name,
                Step::DeletePool {
                    cluster: cluster.clone(),
                    name: pool.config.name.clone(),
                },
                pool_actions.clone(),
            );
            b.actions[action].note = Some("no longer in the spec".into());
        }
    }
    let binds: Vec<usize> = b
        .actions
        .iter()
        .filter(|a| matches!(a.step, Step::Bind { .. }))
        .map(|a| a.id)
        .collect();
    let mut removed_buckets = Vec::new();
    for bucket in observed.buckets.values() {
        if let Some(node) = owned_node(&bucket.config.tags)
            && !wanted.contains(&node)
            && bucket.status != ResourceStatus::Deleting
        {
            if !bucket.empty && !b.options.delete_data {
                b.block(&node, format!("bucket `{}` is no longer in the spec but holds data; hubforge deletes data only with --delete-data", bucket.config.name));
                continue;
            }
            let action = b.push(
                &node,
                Change::Delete,
                &bucket.config.name,
                Step::DeleteBucket {
                    name: bucket.config.name.clone(),
                    delete_data: b.options.delete_data,
                },
                binds.clone(),
            );
            b.actions[action].note = Some("no longer in the spec".into());
            removed_buckets.push(action);
        }
    }
    for identity in observed.identities.values() {
        if let Some(node) = owned_node(&identity.config.tags)
            && !wanted.contains(&node)
            && identity.status != ResourceStatus::Deleting
        {
            let action = b.push(
                &node,
                Change::Delete,
                &identity.config.name,
                Step::DeleteIdentity {
                    name: identity.config.name.clone(),
                },
                Vec::new(),
            );
            b.actions[action].note = Some("no longer in the spec".into());
        }
    }
    let all_so_far: Vec<usize> = (0..b.actions.len()).collect();
    for support in observed.support.values() {
        if let Some(node) = owned_node(&support.config.tags)
            && !wanted.contains(&node)
            && support.status != ResourceStatus::Deleting
        {
            let action = b.push(
                &node,
                Change::Delete,
                &support.config.name,
                Step::DeleteSupport {
                    kind: support.config.kind,
                    name: support.config.name.clone(),
                },
                all_so_far.clone(),
            );
            b.actions[action].note = Some("no longer needed".into());
        }
    }
}

fn plan_destroy(b: &mut Builder<'_>) {
    let (graph, observed) = (b.graph, b.observed);
    let hub = graph.hub.clone();
    let mut identity_deletes = Vec::new();
    for identity in observed
        .identities
        .values()
        .filter(|i| owned_by(&i.config.tags, &hub))
    {
        let node = node_of(
            &identity.config.tags,
            NodeId::Identity(identity.config.name.clone()),
        );
        identity_deletes.push(destroy_one(
            b,
            &node,
            &identity.config.name,
            &identity.status,
            Target::Identity {
                name: identity.config.name.clone(),
            },
            Step::DeleteIdentity {
                name: identity.config.name.clone(),
            },
            Vec::new(),
        ));
    }
    let mut pool_deletes = Vec::new();
    for pool in &observed.pools {
        let node = node_of(
            &pool.config.tags,
            NodeId::NodePool(pool.config.name.clone()),
        );
        let target = Target::NodePool {
            cluster: graph.cluster.clone(),
            name: pool.config.name.clone(),
        };
        pool_deletes.push(destroy_one(
            b,
            &node,
            &pool.config.name,
            &pool.status,
            target,
            Step::DeletePool {
                cluster: graph.cluster.clone(),
                name: pool.config.name.clone(),
            },
            Vec::new(),
        ));
    }
    let mut cluster_delete = Vec::new();
    if let Some(cluster) = observed
        .cluster
        .as_ref()
        .filter(|c| owned_by(&c.config.tags, &hub))
    {
        cluster_delete.push(destroy_one(
            b,
            &NodeId::Cluster,
            &cluster.config.name,
            &cluster.status,
            Target::Cluster {
                name: cluster.config.name.clone(),
            },
            Step::DeleteCluster {
                name: cluster.config.name.clone(),
            },
            pool_deletes.clone(),
        ));
    }
    let mut bucket_deletes = Vec::new();
    for bucket in observed
        .buckets
        .values()
        .filter(|x| owned_by(&x.config.tags, &hub))
    {
        let node = node_of(
            &bucket.config.tags,
            NodeId::Bucket(bucket.config.name.clone()),
        );
        if !bucket.empty && !b.options.delete_data && bucket.status != ResourceStatus::Deleting {
            b.block(
                &node,
                format!(
                    "bucket `{}` holds data; destroy deletes data only with --delete-data",
                    bucket.config.name
                ),
            );
            continue;
        }
        let step = Step::DeleteBucket {
            name: bucket.config.name.clone(),
            delete_data: b.options.delete_data,
        };
        bucket_deletes.push(destroy_one(
            b,
            &node,
            &bucket.config.name,
            &bucket.status,
            Target::Bucket {
                name: bucket.config.name.clone(),
            },
            step,
            identity_deletes.clone(),
        ));
    }
    // Supporting resources last, in reverse of the order they were needed.
    let users: Vec<usize> = identity_deletes
        .iter()
        .chain(&pool_deletes)
        .chain(&cluster_delete)
        .chain(&bucket_deletes)
        .copied()
        .collect();
    let mut support_deletes: BTreeMap<SupportKind, usize> = BTreeMap::new();
    let order: Vec<SupportKind> = graph
        .nodes
        .iter()
        .filter_map(|n| match n.id {
            NodeId::Support(k) => Some(k),
            _ => None,
        })
        .collect();
    let mut supports: Vec<&SupportState> = observed
        .support
        .values()
        .filter(|s| owned_by(&s.config.tags, &hub))
        .collect();
    supports.sort_by_key(|s| {
        std::cmp::Reverse(
            order
                .iter()
                .position(|k| *k == s.config.kind)
                .unwrap_or(usize::MAX),
        )
    });
    for support in supports {
        let kind = support.config.kind;
        // A supporting resource goes after every one that was created after it.
        let mut deps = users.clone();
        for node in &graph.nodes {
            if let NodeId::Support(later) = node.id
                && node.depends_on.contains(&NodeId::Support(kind))
            {
                deps.extend(support_deletes.get(&later));
            }
        }
        let target = Target::Support {
            support: kind,
            name: support.config.name.clone(),
        };
        let action = destroy_one(
            b,
            &NodeId::Support(kind),
            &support.config.name,
            &support.status,
            target,
            Step::DeleteSupport {
                kind,
                name: support.config.name.clone(),
            },
            deps,
        );
        support_deletes.insert(kind, action);
    }
}

/// The spec node a cloud resource's tag names, or `fallback`.
fn node_of(tags: &BTreeMap<String, String>, fallback: NodeId) -> NodeId {
    tags.get(TAG_RESOURCE)
        .and_then(|t| NodeId::from_tag(t))
        .unwrap_or(fallback)
}

fn destroy_one(
    b: &mut Builder<'_>,
    node: &NodeId,
    physical: &str,
    status: &ResourceStatus,
    target: Target,
    step: Step,
    deps: Vec<usize>,
) -> usize {
    if *status == ResourceStatus::Deleting {
        return b.push(
            node,
            Change::Wait,
            physical,
            Step::Await { target, gone: true },
            deps,
        );
    }
    b.push(node, Change::Delete, physical, step, deps)
}
