//! Reading what exists.
//!
//! Lists by ownership tags first (one call per resource class finds
//! everything this hub owns, including what a crashed run created and never
//! recorded), then a direct read only for desired resources the lists did
//! not show. A hub with nothing to change costs one read per resource class,
//! never more than one per resource.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::Semaphore;

use super::graph::{Desired, DesiredGraph, NodeId};
use crate::error::{ErrorKind, Result};
use crate::provider::*;

/// What the cloud holds for a hub.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// Supporting resources the graph wants, by kind.
    pub support: BTreeMap<SupportKind, SupportState>,
    /// Other supporting resources listed for the hub: an old one of a kind
    /// the graph names otherwise, one of a kind it no longer needs, or what
    /// the cloud made around the hub's cluster.
    pub other_support: Vec<SupportState>,
    /// The hub's cluster.
    pub cluster: Option<ClusterState>,
    /// Other clusters tagged as this hub's (a renamed hub leaves one).
    pub stray_clusters: Vec<ClusterState>,
    /// Every pool of the hub's cluster.
    pub pools: Vec<NodePoolState>,
    /// Buckets, by physical name.
    pub buckets: BTreeMap<String, BucketState>,
    /// Identities, by physical name.
    pub identities: BTreeMap<String, IdentityState>,
    /// Resources the spec wants whose name is taken by something hubforge
    /// may not read (a bucket name held by another account: bucket names
    /// are global), with the cloud's answer.
    pub unreadable: BTreeMap<NodeId, String>,
    /// Read calls made.
    pub reads: usize,
}

/// Observes everything `graph` wants and everything tagged for its hub,
/// with at most `concurrency` reads in flight.
pub async fn observe(
    provider: &Arc<dyn Provider>,
    graph: &DesiredGraph,
    concurrency: usize,
) -> Result<Observed> {
    let hub = graph.hub.as_str();
    let limit = Arc::new(Semaphore::new(concurrency.max(1)));
    let permit = || {
        let limit = limit.clone();
        async move {
            limit
                .acquire_owned()
                .await
                .expect("semaphore is never closed")
        }
    };

    let (support, clusters, buckets, identities) = tokio::join!(
        async {
            let _p = permit().await;
            provider.list_support(hub).await
        },
        async {
            let _p = permit().await;
            provider.list_clusters(hub).await
        },
        async {
            let _p = permit().await;
            provider.list_buckets(hub).await
        },
        async {
            let _p = permit().await;
            provider.list_identities(hub).await
        },
    );
    let mut observed = Observed {
        reads: 4,
        ..Observed::default()
    };
    let wanted_support: BTreeMap<SupportKind, &str> = graph
        .nodes
        .iter()
        .filter_map(|n| match &n.desired {
            Desired::Support(c) => Some((c.kind, c.name.as_str())),
            _ => None,
        })
        .collect();
    for state in support? {
        if wanted_support.get(&state.config.kind) == Some(&state.config.name.as_str()) {
            observed.support.insert(state.config.kind, state);
        } else {
            observed.other_support.push(state);
        }
    }
    for state in clusters? {
        if state.config.name == graph.cluster {
            observed.cluster = Some(state);
        } else {
            observed.stray_clusters.push(state);
        }
    }
    observed.buckets = buckets?
        .into_iter()
        .map(|b| (b.config.name.clone(), b))
        .collect();
    observed.identities = identities?
        .into_iter()
        .map(|i| (i.config.name.clone(), i))
        .collect();

    // Desired resources the ownership lists did not show: they may exist
    // untagged, or the listing may lag behind. Read each once.
    let mut reads = tokio::task::JoinSet::new();
    for node in &graph.nodes {
        let missing = match (&node.id, &node.desired) {
            (NodeId::Support(kind), _) => !observed.support.contains_key(kind),
            (NodeId::Cluster, _) => observed.cluster.is_none(),
            (NodeId::Bucket(_), Desired::Bucket(c)) => !observed.buckets.contains_key(&c.name),
            (NodeId::Identity(_), Desired::Identity(c)) => {
                !observed.identities.contains_key(&c.name)
            }
            _ => false,
        };
        if !missing {
            continue;
        }
        let (provider, desired, permit) = (provider.clone(), node.desired.clone(), permit());
        let id = node.id.clone();
        reads.spawn(async move {
            let _p = permit.await;
            let found = async {
                Ok::<_, crate::Error>(match &desired {
                    Desired::Support(c) => {
                        Found::Support(provider.get_support(c.kind, &c.name).await?)
                    }
                    Desired::Cluster(c) => Found::Cluster(provider.get_cluster(&c.name).await?),
                    Desired::Bucket(c) => Found::Bucket(provider.get_bucket(&c.name).await?),
                    Desired::Identity(c) => Found::Identity(provider.get_identity(&c.name).await?),
                    Desired::NodePool(_) | Desired::Binding { .. } => {
                        unreachable!("not read one by one")
                    }
                })
            }
            .await;
            match found {
                Err(error) if error.kind() == &ErrorKind::PermissionDenied => {
                    Ok(Found::Unreadable(id, error.to_string()))
                }
                found => found,
            }
        });
    }
    while let Some(joined) = reads.join_next().await {
        observed.reads += 1;
        match joined.expect("a read task panicked")? {
            Found::Support(Some(s)) => {
                observed.support.insert(s.config.kind, s);
            }
            Found::Cluster(found) => observed.cluster = found.or(observed.cluster.take()),
            Found::Bucket(Some(b)) => {
                observed.buckets.insert(b.config.name.clone(), b);
            }
            Found::Identity(Some(i)) => {
                observed.identities.insert(i.config.name.clone(), i);
            }
            Found::Unreadable(id, answer) => {
                observed.unreadable.insert(id, answer);
            }
            _ => {}
        }
    }
    if let Some(cluster) = &observed.cluster
        && cluster.status != ResourceStatus::Deleting
    {
        let _p = permit().await;
        observed.pools = provider.list_node_pools(&cluster.config.name).await?;
        observed.reads += 1;
    }
    Ok(observed)
}

enum Found {
    Unreadable(NodeId, String),
    Support(Option<SupportState>),
    Cluster(Option<ClusterState>),
    Bucket(Option<BucketState>),
    Identity(Option<IdentityState>),
}
