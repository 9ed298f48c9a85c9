//! Kubernetes upgrades: the control plane one minor version at a time,
//! the hub's pools brought to each version before the next step. EKS
//! refuses a control-plane upgrade until every node group matches the
//! current version; GKE and AKS allow some skew, so the order is safe on
//! every cloud.

use super::*;

/// Plans the upgrade of `found` through `versions` (each minor version,
/// the target last); `tags` are tag changes that ride along with the first
/// step. Returns the last control-plane step, or `None` if it blocked.
pub(super) fn plan_upgrade(
    b: &mut Builder<'_>,
    id: &NodeId,
    desired: &ClusterConfig,
    found: &ClusterState,
    versions: &[String],
    tags: Vec<FieldDiff>,
    after: Vec<usize>,
) -> Option<usize> {
    let (graph, observed) = (b.graph, b.observed);
    let hub = graph.hub.as_str();
    let skew = crate::facts::pool_version_skew(graph.cloud);
    let current = found.config.kubernetes_version.clone();
    // A pool that is not the hub's cannot be upgraded by hubforge; if the
    // cloud's skew rule would refuse a step because of it, a person decides.
    let mut path = vec![current.clone()];
    path.extend(versions.iter().cloned());
    for pool in observed
        .pools
        .iter()
        .filter(|p| !owned_by(&p.config.tags, hub) && p.status.failure().is_none())
    {
        let lagging = path.windows(2).any(|step| {
            let nodes = minor(&pool.config.kubernetes_version);
            if skew == 0 {
                nodes != minor(&step[0])
            } else {
                nodes
                    .zip(minor(&step[1]))
                    .is_some_and(|(v, to)| v + skew < to)
            }
        });
        if lagging {
            b.block(id, format!(
                "node pool `{}` runs Kubernetes {} and is not this hub's ({}); the cloud will not upgrade the control plane to {} past it, and hubforge does not change it: upgrade or remove it, then apply again",
                pool.config.name, pool.config.kubernetes_version, describe_tags(&pool.config.tags), desired.kubernetes_version
            ));
            return None;
        }
    }
    // The hub's pools that go through the upgrade: live and not failed (a
    // failed pool is replaced; it has no nodes to upgrade).
    let pools: Vec<&NodePoolState> = observed
        .pools
        .iter()
        .filter(|p| owned_by(&p.config.tags, hub))
        .filter(|p| p.status != ResourceStatus::Deleting && p.status.failure().is_none())
        .collect();
    let mut last: BTreeMap<String, usize> = BTreeMap::new();
    for pool in &pools {
        let node = pool_node(pool);
        let target = Target::NodePool {
            cluster: graph.cluster.clone(),
            name: pool.config.name.clone(),
        };
        if let Some(wait) = b.await_transition(
            &node,
            &pool.config.name,
            &pool.status,
            target,
            after.clone(),
        ) {
            last.insert(pool.config.name.clone(), wait);
        }
    }
    let mut versions_now: BTreeMap<String, String> = pools
        .iter()
        .map(|p| (p.config.name.clone(), p.config.kubernetes_version.clone()))
        .collect();
    // Each stage brings lagging pools to the control plane's version; stage
    // 0 runs before the first step, for pools an earlier run left behind.
    let mut previous_step: Option<usize> = None;
    for (stage, version) in path.iter().enumerate() {
        let step = if stage == 0 {
            None
        } else {
            let mut deps = after.clone();
            deps.extend(previous_step);
            deps.extend(last.values().copied());
            let mut diffs = Vec::new();
            value_diff("kubernetes_version", &path[stage - 1], version, &mut diffs);
            let config = ClusterConfig {
                kubernetes_version: version.clone(),
                ..desired.clone()
            };
            if stage == 1 {
                diffs.extend(tags.iter().cloned());
            }
            let action = b.push(
                id,
                Change::Update,
                &desired.name,
                Step::UpdateCluster {
                    config,
                    versions: vec![version.clone()],
                },
                deps,
            );
            b.actions[action].diffs = diffs;
            b.actions[action].note = Some(format!(
                "control plane, step {stage} of {}: its pools follow before the next step",
                path.len() - 1
            ));
            previous_step = Some(action);
            Some(action)
        };
        for pool in &pools {
            let name = &pool.config.name;
            if minor(&versions_now[name]) >= minor(version) {
                continue;
            }
            let mut deps = after.clone();
            deps.extend(step);
            deps.extend(last.get(name).copied());
            let config = NodePoolConfig {
                kubernetes_version: version.clone(),
                ..pool.config.clone()
            };
            let node = pool_node(pool);
            let action = b.push(
                &node,
                Change::Update,
                name,
                Step::UpdatePool {
                    cluster: graph.cluster.clone(),
                    config,
                },
                deps,
            );
            b.actions[action].diffs = vec![FieldDiff {
                field: "kubernetes_version".into(),
                before: versions_now[name].clone(),
                after: version.clone(),
            }];
            b.actions[action].note = Some(format!("follows the control plane to {version}"));
            last.insert(name.clone(), action);
            versions_now.insert(name.clone(), version.clone());
        }
    }
    for (name, action) in last {
        let version = versions_now[&name].clone();
        b.upgraded_pools.insert(name, (action, version));
    }
    previous_step
}

/// The spec node a pool's tag names, or the pool itself.
fn pool_node(pool: &NodePoolState) -> NodeId {
    pool.config
        .tags
        .get(TAG_RESOURCE)
        .and_then(|t| NodeId::from_tag(t))
        .unwrap_or_else(|| NodeId::NodePool(pool.config.name.clone()))
}
