//! Converging node pools: in place where the cloud allows, blue/green
//! under the twin name otherwise. A pool is the hub's only if its tags say
//! so; a pool that failed is never up to date; a pool that is not the
//! hub's is never changed, deleted or reused — it blocks, named.

use super::*;

/// A pool to drain and remove once what replaces it is up. Retirements are
/// planned after every pool, so they can wait for the system pool too.
pub(super) struct Retirement {
    pub node: NodeId,
    pub pool: String,
    /// Actions that must finish first (its replacement).
    pub after: Vec<usize>,
    pub note: String,
    /// It runs system pods: it goes only once the spec's system pool is up.
    pub system: bool,
}

pub(super) fn converge_pool(
    b: &mut Builder<'_>,
    id: &NodeId,
    desired: &NodePoolConfig,
    deps: Vec<usize>,
) {
    let (graph, observed, options) = (b.graph, b.observed, b.options);
    let (hub, cluster) = (graph.hub.as_str(), graph.cluster.clone());
    // This spec pool's cloud pools: by their tags, so a blue/green twin
    // and an interrupted replacement are found without any state.
    let candidates: Vec<&NodePoolState> = observed
        .pools
        .iter()
        .filter(|p| owned(&p.config.tags, hub, id))
        .collect();
    let keep = candidates
        .iter()
        .copied()
        .filter(|p| is_usable(p))
        .filter(|p| fixed_pool_fields(desired, &p.config, &options.capabilities).is_empty())
        .min_by_key(|p| (p.config.name != desired.name, p.config.name.clone()));
    let target = |name: &str| Target::NodePool {
        cluster: cluster.clone(),
        name: name.to_string(),
    };
    let system = desired.role == PoolRole::System;

    let ready_action = if let Some(keep) = keep {
        let mut after = deps.clone();
        let mut current = keep.config.clone();
        // A cluster upgrade in this plan already waited for the pool and
        // took its version along; otherwise wait for what runs on it.
        if let Some((action, version)) = b.upgraded_pools.get(&keep.config.name) {
            after.push(*action);
            current.kubernetes_version = version.clone();
        } else {
            after.extend(b.await_transition(
                id,
                &keep.config.name,
                &keep.status,
                target(&keep.config.name),
                deps.clone(),
            ));
        }
        let config = NodePoolConfig {
            name: keep.config.name.clone(),
            ..desired.clone()
        };
        let diffs = mutable_pool_fields(&config, &current);
        if diffs.is_empty() {
            (after.len() > deps.len()).then(|| *after.last().expect("not empty"))
        } else {
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
        match replace_pool(b, id, desired, &candidates, deps) {
            Some(action) => Some(action),
            None => return,
        }
    };
    // Every other live pool of this spec pool is retired once the kept or new one is ready.
    let kept_name = ready_action
        .map(|a| b.actions[a].physical.clone())
        .or(keep.map(|k| k.config.name.clone()));
    for old in candidates.iter().copied().filter(|p| is_live(p)) {
        let name = old.config.name.clone();
        let already = b.retirements.iter().any(|r| r.pool == name)
            || b.actions
                .iter()
                .any(|a| matches!(&a.step, Step::DeletePool { name: n, .. } if *n == name));
        if Some(&name) == kept_name.as_ref() || already {
            continue;
        }
        let note = match old.status.failure() {
            Some(reason) => {
                format!("retired: it failed ({reason}); removed once its replacement is up")
            }
            None => "retired: drained and removed once its replacement is up".to_string(),
        };
        b.retirements.push(Retirement {
            node: id.clone(),
            pool: name,
            after: ready_action.into_iter().collect(),
            note,
            system: system || old.config.role == PoolRole::System,
        });
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

/// No pool of this spec pool can stay: creates one under a free name —
/// blue/green next to a pool that still runs — or blocks when the name it
/// needs is held by a pool that is not this one's. Returns the create.
fn replace_pool(
    b: &mut Builder<'_>,
    id: &NodeId,
    desired: &NodePoolConfig,
    candidates: &[&NodePoolState],
    deps: Vec<usize>,
) -> Option<usize> {
    let (graph, observed, options) = (b.graph, b.observed, b.options);
    let (hub, cluster) = (graph.hub.as_str(), graph.cluster.clone());
    let holder = |name: &str| observed.pools.iter().find(|p| p.config.name == name);
    let ours = |pool: &NodePoolState| owned(&pool.config.tags, hub, id);
    let twin = names::alternate_pool_name(graph.cloud, &desired.name);
    let in_the_way = |pool: &NodePoolState, purpose: &str| {
        format!(
            "node pool `{}` in cluster {cluster} is not this hub's pool {} ({}); {purpose}: hubforge will not take it over or delete it — delete or rename it, or rename the pool in the spec, then apply again",
            pool.config.name,
            id_name(id),
            describe_tags(&pool.config.tags)
        )
    };
    let mut create_deps = deps.clone();
    let name = match (holder(&desired.name), holder(&twin)) {
        (None, _) => desired.name.clone(),
        (Some(base), _) if !ours(base) => {
            b.block(id, in_the_way(base, "it holds the pool's name"));
            return None;
        }
        (Some(_), None) => twin.clone(),
        (Some(_), Some(other)) if !ours(other) => {
            b.block(
                id,
                in_the_way(other, "the blue/green replacement needs its name"),
            );
            return None;
        }
        (Some(_), Some(_)) => {
            // Both names hold this pool's old versions (a replacement was
            // interrupted and the spec changed again): retire the twin
            // first, then reuse its name; the other keeps running.
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
            twin.clone()
        }
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
        create_deps,
    );
    if let Some(old) = candidates
        .iter()
        .copied()
        .filter(|p| is_live(p))
        .find(|p| p.config.name != name)
    {
        let mut diffs = Vec::new();
        if let Some(reason) = old.status.failure() {
            diffs.push(FieldDiff {
                field: "status".into(),
                before: format!("failed: {reason}"),
                after: "ready".into(),
            });
        }
        diffs.extend(fixed_pool_fields(
            desired,
            &old.config,
            &options.capabilities,
        ));
        b.actions[action].replaces = Some(Replacement {
            old: old.config.name.clone(),
            forced_by: diffs.first().map(|d| d.field.clone()).unwrap_or_default(),
        });
        b.actions[action].note = Some(match old.status.failure() {
            Some(reason) => format!(
                "replaces {}, which the cloud reports failed: {reason}",
                old.config.name
            ),
            None => format!(
                "blue/green: {name} comes up first, then {} is drained and removed",
                old.config.name
            ),
        });
        b.actions[action].diffs = diffs;
    }
    Some(action)
}

/// Plans the pool retirements collected while converging: each after its
/// replacement, and a system pool only once the spec's system pool is up,
/// so the cluster is never left without one.
pub(super) fn plan_retirements(b: &mut Builder<'_>) {
    let system_ready: Vec<usize> = b
        .graph
        .nodes
        .iter()
        .filter(|n| matches!(&n.desired, Desired::NodePool(p) if p.role == PoolRole::System))
        .filter_map(|n| b.ready.get(&n.id).copied())
        .collect();
    let cluster = b.graph.cluster.clone();
    for retirement in std::mem::take(&mut b.retirements) {
        let mut after = retirement.after;
        if retirement.system {
            after.extend(&system_ready);
        }
        let action = b.push(
            &retirement.node,
            Change::Delete,
            &retirement.pool,
            Step::DeletePool {
                cluster: cluster.clone(),
                name: retirement.pool.clone(),
            },
            after,
        );
        b.actions[action].note = Some(retirement.note);
    }
}

pub(super) fn is_live(pool: &NodePoolState) -> bool {
    pool.status != ResourceStatus::Deleting
}

/// Live and not failed: a pool that can stay.
fn is_usable(pool: &NodePoolState) -> bool {
    is_live(pool) && pool.status.failure().is_none()
}
