//! Removing what the spec no longer wants, and destroying a hub.

use std::collections::{BTreeMap, BTreeSet};

use super::*;

/// Deletes what the hub owns but the spec no longer wants.
pub(super) fn plan_removals(b: &mut Builder<'_>) {
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

pub(super) fn plan_destroy(b: &mut Builder<'_>) {
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
pub(super) fn node_of(tags: &BTreeMap<String, String>, fallback: NodeId) -> NodeId {
    tags.get(TAG_RESOURCE)
        .and_then(|t| NodeId::from_tag(t))
        .unwrap_or(fallback)
}

pub(super) fn destroy_one(
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
