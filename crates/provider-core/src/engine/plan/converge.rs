//! Converging a hub: supporting resources, the cluster, buckets,
//! identities and bindings.

use std::collections::BTreeMap;

use super::*;

pub(super) fn plan_converge(b: &mut Builder<'_>) {
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

pub(super) fn id_name(id: &NodeId) -> String {
    match id {
        NodeId::NodePool(n) | NodeId::Bucket(n) | NodeId::Identity(n) | NodeId::Binding(n) => {
            n.clone()
        }
        _ => String::new(),
    }
}

/// What the planner needs to know of an observed resource.
pub(super) trait ObservedResource {
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
pub(super) struct Simple<'a, S> {
    physical: &'a str,
    region: &'a str,
    target: Target,
    create: Step,
    found: Option<&'a S>,
}

/// Supporting resources, buckets and identities: create if missing, wait if
/// busy, update in place if tags or settings differ.
pub(super) fn converge_simple<S: ObservedResource>(
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
pub(super) fn converge_cluster(
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
