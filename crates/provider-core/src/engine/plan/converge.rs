//! Converging a hub: supporting resources, the cluster, buckets,
//! identities and bindings.

use std::collections::BTreeMap;

use super::*;

/// The cluster's OIDC issuer, as bindings and an OIDC provider must name it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Issuer {
    /// The cluster stays: its issuer is known now.
    Known(String),
    /// The cluster is made in this plan (or still being made): a new
    /// issuer, known once it exists. The executor reads it then.
    AfterCreate,
}

/// What a plan shows for an issuer not known yet.
const NEW_ISSUER: &str = "(the new cluster's, known once it exists)";

fn cluster_issuer(b: &Builder<'_>) -> Issuer {
    let created = b
        .ready
        .get(&NodeId::Cluster)
        .is_some_and(|a| matches!(b.actions[*a].step, Step::CreateCluster { .. }));
    match b
        .observed
        .cluster
        .as_ref()
        .and_then(|c| c.oidc_issuer.clone())
    {
        Some(issuer) if !created => Issuer::Known(issuer),
        _ => Issuer::AfterCreate,
    }
}

pub(super) fn plan_converge(b: &mut Builder<'_>) {
    let (graph, observed) = (b.graph, b.observed);
    let mut batched_pools = false;
    for node in &graph.nodes {
        let deps = b.deps(&node.depends_on);
        let id = &node.id;
        if let Some(answer) = observed.unreadable.get(id) {
            b.block(id, format!(
                "the name `{}` is taken by something hubforge may not read ({answer}); it may belong to another account (bucket names are global): rename it in the spec",
                node.desired.physical()
            ));
            continue;
        }
        match &node.desired {
            Desired::Support(desired) => converge_support(b, id, desired, deps),
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
                converge_binding(b, id, identity, binding, deps);
            }
        }
    }
    plan_pool_removals(b);
    plan_retirements(b);
    plan_removals(b);
}

/// A supporting resource; an OIDC provider follows the cluster's issuer.
fn converge_support(b: &mut Builder<'_>, id: &NodeId, desired: &SupportConfig, deps: Vec<usize>) {
    let mut desired = desired.clone();
    let issuer = (desired.kind == SupportKind::OidcProvider).then(|| cluster_issuer(b));
    if let Some(Issuer::Known(url)) = &issuer {
        desired
            .properties
            .insert(ISSUER_PROPERTY.to_string(), url.clone());
    }
    let simple = Simple {
        physical: &desired.name,
        region: &desired.region,
        target: Target::Support {
            support: desired.kind,
            name: desired.name.clone(),
        },
        create: Step::CreateSupport(desired.clone()),
        found: b.observed.support.get(&desired.kind),
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
        if issuer == Some(Issuer::AfterCreate)
            && let Some(old) = s.config.properties.get(ISSUER_PROPERTY)
        {
            diffs.push(FieldDiff {
                field: ISSUER_PROPERTY.into(),
                before: old.clone(),
                after: NEW_ISSUER.into(),
            });
        }
        (diffs, Step::UpdateSupport(desired.clone()))
    });
}

/// Who may assume an identity, for this cluster's issuer, and what it may
/// reach. A cluster made again has a new issuer: every binding follows.
fn converge_binding(
    b: &mut Builder<'_>,
    id: &NodeId,
    identity: &str,
    binding: &IdentityBinding,
    deps: Vec<usize>,
) {
    let current = b
        .observed
        .identities
        .get(identity)
        .and_then(|i| i.binding.as_ref());
    let issuer = cluster_issuer(b);
    let desired = IdentityBinding {
        issuer: match &issuer {
            Issuer::Known(url) => url.clone(),
            Issuer::AfterCreate => String::new(),
        },
        ..binding.clone()
    };
    let identity_changes = b.ready.contains_key(&NodeId::Identity(id_name(id)));
    if current == Some(&desired) && issuer != Issuer::AfterCreate && !identity_changes {
        b.keep(id, identity);
        return;
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
            identity: identity.to_string(),
            binding: desired.clone(),
        },
        deps,
    );
    if let Some(current) = current {
        let mut diffs = Vec::new();
        let account = |b: &IdentityBinding| {
            format!("{}/{}", b.service_account.namespace, b.service_account.name)
        };
        value_diff(
            "service_account",
            &account(current),
            &account(&desired),
            &mut diffs,
        );
        let wanted_issuer = match &issuer {
            Issuer::Known(url) => url.as_str(),
            Issuer::AfterCreate => NEW_ISSUER,
        };
        value_diff(
            "issuer",
            &current.issuer.as_str(),
            &wanted_issuer,
            &mut diffs,
        );
        let render = |grants: &BTreeMap<String, crate::spec::BucketAccess>| {
            grants
                .iter()
                .map(|(bucket, access)| format!("{bucket}:{access:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if current.grants != desired.grants {
            diffs.push(FieldDiff {
                field: "grants".into(),
                before: render(&current.grants),
                after: render(&desired.grants),
            });
        }
        b.actions[action].diffs = diffs;
    }
    b.ready.insert(id.clone(), action);
}

pub(super) fn id_name(id: &NodeId) -> String {
    match id {
        NodeId::NodePool(n) | NodeId::Bucket(n) | NodeId::Identity(n) | NodeId::Binding(n) => {
            n.clone()
        }
        _ => String::new(),
    }
}

/// A status as a plan shows it.
fn status_word(status: &ResourceStatus) -> String {
    match status {
        ResourceStatus::Failed(reason) => format!("failed: {reason}"),
        ResourceStatus::Incomplete(missing) => format!("incomplete: {missing}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// What the planner needs to know of an observed resource.
pub(super) trait ObservedResource {
    fn tags(&self) -> &BTreeMap<String, String>;
    /// Empty where the cloud has no region for it (identities).
    fn region(&self) -> &str;
    fn status(&self) -> &ResourceStatus;
}

/// Implements [`ObservedResource`] for states whose config has tags, and a
/// region where `$region` says so.
macro_rules! observed_resource {
    ($($state:ty => |$s:ident| $region:expr;)*) => {$(
        impl ObservedResource for $state {
            fn tags(&self) -> &BTreeMap<String, String> {
                &self.config.tags
            }
            fn region(&self) -> &str {
                let $s = self;
                $region
            }
            fn status(&self) -> &ResourceStatus {
                &self.status
            }
        }
    )*};
}

observed_resource! {
    SupportState => |s| &s.config.region;
    BucketState => |s| &s.config.region;
    IdentityState => |_s| "";
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
    if !owned(state.tags(), &hub, id) {
        b.block(id, format!("`{physical}` exists but is not this hub's ({}); hubforge will not take over, change or delete a resource it did not create — rename it in the spec or delete it", describe_tags(state.tags())));
        return;
    }
    let region = state.region();
    if !region.is_empty() && region != desired_region {
        b.block(id, format!("`{physical}` is in {region}, the spec says {desired_region}; a region cannot change in place"));
        return;
    }
    // Creates are ensures: running one again finishes a half-made resource
    // and repairs a failed one.
    let unfinished = match state.status() {
        ResourceStatus::Failed(reason) => {
            Some(format!("repair: the cloud reports it failed: {reason}"))
        }
        ResourceStatus::Incomplete(missing) => Some(format!("finish its create: {missing}")),
        _ => None,
    };
    if let Some(note) = unfinished {
        let action = b.push(id, Change::Update, physical, create, deps);
        b.actions[action].diffs = vec![FieldDiff {
            field: "status".into(),
            before: status_word(state.status()),
            after: "ready".into(),
        }];
        b.actions[action].note = Some(note);
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
        b.block(id, format!("cluster `{}` exists but is not this hub's ({}); hubforge will not take it over, change or delete it — rename the hub or delete that cluster, then apply again", desired.name, describe_tags(&found.config.tags)));
        return false;
    }
    if found.config.region != desired.region {
        b.block(id, format!("the cluster is in {}, the spec says {}; moving a hub cluster replaces it, which hubforge does not do in place: destroy it and apply again", found.config.region, desired.region));
        return false;
    }
    if let ResourceStatus::Failed(reason) = &found.status {
        b.block(id, format!("the cloud reports the cluster failed ({reason}); hubforge does not replace a cluster by itself: fix or delete it (`hubforge destroy`), then apply again"));
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
    let mut tags = Vec::new();
    tag_diff("tags", &found.config.tags, &desired.tags, &mut tags);
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
    let mut after = deps;
    after.extend(waited);
    if !versions.is_empty() {
        if let Some(last) = plan_upgrade(b, id, desired, found, &versions, tags, after) {
            b.ready.insert(id.clone(), last);
        }
        return false;
    }
    if tags.is_empty() {
        match waited {
            Some(w) => {
                b.ready.insert(id.clone(), w);
            }
            None => b.keep(id, &desired.name),
        }
        return false;
    }
    let action = b.push(
        id,
        Change::Update,
        &desired.name,
        Step::UpdateCluster {
            config: desired.clone(),
            versions: Vec::new(),
        },
        after,
    );
    b.actions[action].diffs = tags;
    b.ready.insert(id.clone(), action);
    false
}
