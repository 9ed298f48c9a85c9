//! Removing what the spec no longer wants, and destroying a hub.

use std::collections::{BTreeMap, BTreeSet};

use super::pool::Retirement;
use super::*;

/// Deletes what the hub owns but the spec no longer wants.
pub(super) fn plan_pool_removals(b: &mut Builder<'_>) {
    let (graph, observed) = (b.graph, b.observed);
    let wanted: BTreeSet<NodeId> = graph.nodes.iter().map(|n| n.id.clone()).collect();
    let pool_actions: Vec<usize> = b
        .actions
        .iter()
        .filter(|a| matches!(a.node, NodeId::NodePool(_)) && a.change != Change::Delete)
        .map(|a| a.id)
        .collect();
    for pool in &observed.pools {
        if let Some(node) = owned_node(&pool.config.tags, &graph.hub)
            && !wanted.contains(&node)
            && pool.status != ResourceStatus::Deleting
        {
            b.retirements.push(Retirement {
                node,
                pool: pool.config.name.clone(),
                after: pool_actions.clone(),
                note: "no longer in the spec".into(),
                system: pool.config.role == PoolRole::System,
            });
        }
    }
}

/// The spec node a resource's tags name, if they say it is `hub`'s.
fn owned_node(tags: &BTreeMap<String, String>, hub: &str) -> Option<NodeId> {
    owned_by(tags, hub)
        .then(|| tags.get(TAG_RESOURCE).and_then(|t| NodeId::from_tag(t)))
        .flatten()
}

/// Deletes the buckets, identities and supporting resources the hub owns
/// but the spec no longer wants (pools go through the retirements).
pub(super) fn plan_removals(b: &mut Builder<'_>) {
    let (graph, observed) = (b.graph, b.observed);
    let wanted: BTreeSet<NodeId> = graph.nodes.iter().map(|n| n.id.clone()).collect();
    let owned_node = |tags: &BTreeMap<String, String>| owned_node(tags, &graph.hub);
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
    for support in observed.support.values().chain(&observed.other_support) {
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
    let (graph, observed, options) = (b.graph, b.observed, b.options);
    let hub = graph.hub.clone();
    b.left_alone = foreign_resources(graph, observed);
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
    let cluster = observed
        .cluster
        .as_ref()
        .filter(|c| owned(&c.config.tags, &hub, &NodeId::Cluster));
    let foreign_pools: Vec<&NodePoolState> = observed
        .pools
        .iter()
        .filter(|p| !owned_by(&p.config.tags, &hub))
        .collect();
    // GKE and AKS delete a cluster's pools with it, in one operation: no
    // need to delete them one by one first (each a serialised operation).
    let with_the_cluster = cluster.is_some() && options.capabilities.cluster_delete_removes_pools;
    let mut pool_deletes = Vec::new();
    for pool in observed
        .pools
        .iter()
        .filter(|p| owned_by(&p.config.tags, &hub) && !with_the_cluster)
    {
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
    if let Some(cluster) = cluster {
        if let Some(pool) = foreign_pools.first() {
            b.block(
                &NodeId::Cluster,
                format!(
                    "cluster `{}` holds node pool `{}`, which is not this hub's ({}); deleting the cluster would delete it too: delete or move that pool first, then destroy again",
                    cluster.config.name,
                    pool.config.name,
                    describe_tags(&pool.config.tags)
                ),
            );
        } else {
            let action = destroy_one(
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
            );
            if with_the_cluster && !observed.pools.is_empty() {
                b.actions[action].note = Some(format!(
                    "with its {} node pools, in the same cloud operation",
                    observed.pools.len()
                ));
            }
            cluster_delete.push(action);
        }
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
        if !bucket.empty && !options.delete_data && bucket.status != ResourceStatus::Deleting {
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
            delete_data: options.delete_data,
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
        .chain(&observed.other_support)
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
            &node_of(&support.config.tags, NodeId::Support(kind)),
            &support.config.name,
            &support.status,
            target,
            Step::DeleteSupport {
                kind,
                name: support.config.name.clone(),
            },
            deps,
        );
        support_deletes.entry(kind).or_insert(action);
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

/// What sits where the hub's resources would, but is not the hub's: a
/// cluster by the hub's name, pools in the hub's cluster, buckets,
/// identities and supporting resources by the names the spec gives. They
/// are never changed or deleted; plans and leak checks name them.
pub fn foreign_resources(graph: &DesiredGraph, observed: &Observed) -> Vec<Foreign> {
    let hub = graph.hub.as_str();
    let mut found = Vec::new();
    let mut note =
        |kind: &str, name: &str, within: Option<&str>, tags: &BTreeMap<String, String>| {
            if !owned_by(tags, hub) {
                found.push(Foreign {
                    kind: kind.into(),
                    name: name.into(),
                    within: within.map(str::to_string),
                    tags: tags.clone(),
                });
            }
        };
    if let Some(cluster) = &observed.cluster {
        note("cluster", &cluster.config.name, None, &cluster.config.tags);
    }
    for pool in &observed.pools {
        note(
            "node pool",
            &pool.config.name,
            Some(&graph.cluster),
            &pool.config.tags,
        );
    }
    for bucket in observed.buckets.values() {
        note("bucket", &bucket.config.name, None, &bucket.config.tags);
    }
    for identity in observed.identities.values() {
        note(
            "identity",
            &identity.config.name,
            None,
            &identity.config.tags,
        );
    }
    for support in observed.support.values().chain(&observed.other_support) {
        note(
            support.config.kind.as_str(),
            &support.config.name,
            None,
            &support.config.tags,
        );
    }
    found
}
