//! Converging node pools: in place where the cloud allows, blue/green
//! under the twin name otherwise.

use super::*;

pub(super) fn converge_pool(
    b: &mut Builder<'_>,
    id: &NodeId,
    desired: &NodePoolConfig,
    deps: Vec<usize>,
) {
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

pub(super) fn is_live(pool: &NodePoolState) -> bool {
    pool.status != ResourceStatus::Deleting
}
