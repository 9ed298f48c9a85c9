//! A spec as a graph of cloud resources with their dependencies.

use std::collections::BTreeMap;

use crate::catalog;
use crate::error::{Error, ErrorKind, Result};
pub use crate::id::NodeId;
use crate::names::{self, NameScope};
use crate::provider::*;
use crate::spec::{Cloud, ProviderKind};
use crate::validate::{ValidSpec, parse_taint};

/// What a node should be in the cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Desired {
    /// A supporting resource.
    Support(SupportConfig),
    /// The cluster.
    Cluster(ClusterConfig),
    /// A node pool; `config.name` is the pool's base physical name.
    NodePool(NodePoolConfig),
    /// A bucket.
    Bucket(BucketConfig),
    /// An identity's cloud part.
    Identity(IdentityConfig),
    /// An identity's binding.
    Binding {
        /// Physical identity name.
        identity: String,
        /// The binding.
        binding: IdentityBinding,
    },
}

impl Desired {
    /// The physical name.
    pub fn physical(&self) -> &str {
        match self {
            Desired::Support(c) => &c.name,
            Desired::Cluster(c) => &c.name,
            Desired::NodePool(c) => &c.name,
            Desired::Bucket(c) => &c.name,
            Desired::Identity(c) => &c.name,
            Desired::Binding { identity, .. } => identity,
        }
    }
}

/// A node and what it waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredNode {
    /// Which resource.
    pub id: NodeId,
    /// What it should be.
    pub desired: Desired,
    /// Nodes that must exist first.
    pub depends_on: Vec<NodeId>,
}

/// Everything a spec asks for, in dependency order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredGraph {
    /// Logical hub name.
    pub hub: String,
    /// Physical cluster name.
    pub cluster: String,
    /// The cloud whose names and catalog were used.
    pub cloud: Cloud,
    /// Nodes; every node comes after the nodes it depends on.
    pub nodes: Vec<DesiredNode>,
}

impl DesiredGraph {
    /// Builds the graph of a validated `spec` for `provider`; `scope` is
    /// the provider's account scope (for global names).
    pub fn build(
        spec: &ValidSpec,
        provider: &dyn Provider,
        scope: &NameScope,
    ) -> Result<DesiredGraph> {
        let spec = spec.spec();
        let cloud = provider.naming_cloud();
        let hub = spec.name.as_str();
        let invalid = |path: &str, reason: String| {
            Error::new(
                ErrorKind::InvalidSpec {
                    path: path.into(),
                    reason: reason.clone(),
                },
                provider.name(),
                reason,
            )
        };
        let region = match spec.provider {
            ProviderKind::Sim => spec.region.clone(),
            _ => catalog::resolve_region(cloud, &spec.region)
                .map_err(|r| invalid("region", r))?
                .name()
                .to_string(),
        };
        let name = |result: std::result::Result<String, names::NameError>, path: &str| {
            result.map_err(|e| invalid(path, e.reason))
        };
        let tags = |id: &NodeId| resource_tags(hub, &id.tag().expect("tagged node"), &spec.tags);

        let cluster = name(names::cluster(cloud, hub), "name")?;
        let outline = HubOutline {
            hub: hub.into(),
            region: region.clone(),
            cluster: cluster.clone(),
            has_buckets: !spec.buckets.is_empty(),
            tags: spec.tags.clone(),
        };
        let support = provider.supporting_resources(&outline);
        let needs = |class: ResourceClass| -> Vec<NodeId> {
            support
                .iter()
                .filter(|s| s.needed_by.contains(&class))
                .map(|s| NodeId::Support(s.config.kind))
                .collect()
        };

        let support_node = |requirement: &SupportRequirement| {
            let mut depends_on: Vec<NodeId> = requirement
                .after
                .iter()
                .copied()
                .map(NodeId::Support)
                .collect();
            if requirement.after_cluster {
                depends_on.push(NodeId::Cluster);
            }
            DesiredNode {
                id: NodeId::Support(requirement.config.kind),
                desired: Desired::Support(requirement.config.clone()),
                depends_on,
            }
        };
        let mut nodes: Vec<DesiredNode> = support
            .iter()
            .filter(|s| !s.after_cluster)
            .map(support_node)
            .collect();
        nodes.push(DesiredNode {
            id: NodeId::Cluster,
            desired: Desired::Cluster(ClusterConfig {
                name: cluster.clone(),
                region: region.clone(),
                kubernetes_version: spec.kubernetes_version.clone(),
                tags: tags(&NodeId::Cluster),
            }),
            depends_on: needs(ResourceClass::Cluster),
        });
        nodes.extend(support.iter().filter(|s| s.after_cluster).map(support_node));
        // The first pool that always keeps an on-demand node runs the
        // cluster's system pods (validation guarantees there is one).
        let system_pool = spec.node_pools.iter().position(|p| p.min >= 1 && !p.spot);
        for (i, pool) in spec.node_pools.iter().enumerate() {
            let id = NodeId::NodePool(pool.name.clone());
            // The stable label the layer above selects on; validation
            // keeps users from setting it themselves.
            let mut labels = pool.labels.clone();
            labels.insert(POOL_LABEL.to_string(), pool.name.clone());
            let resolved = catalog::resolve(cloud, pool)
                .map_err(|e| invalid(&format!("node_pools[{i}].{}", e.field), e.reason))?;
            let mut taints: Vec<_> = pool
                .taints
                .iter()
                .map(|t| parse_taint(t).map_err(|r| invalid(&format!("node_pools[{i}].taints"), r)))
                .collect::<Result<Vec<_>>>()?;
            // One canonical order, so a cloud that sorts them shows no drift.
            taints.sort();
            let mut depends_on = vec![NodeId::Cluster];
            depends_on.extend(needs(ResourceClass::NodePool));
            nodes.push(DesiredNode {
                desired: Desired::NodePool(NodePoolConfig {
                    name: name(
                        names::node_pool(cloud, &pool.name),
                        &format!("node_pools[{i}].name"),
                    )?,
                    role: if system_pool == Some(i) {
                        PoolRole::System
                    } else {
                        PoolRole::User
                    },
                    kubernetes_version: spec.kubernetes_version.clone(),
                    instance_type: resolved.instance_type().to_string(),
                    accelerator: resolved.accelerator().map(|(kind, count)| Accelerator {
                        kind: kind.into(),
                        count,
                    }),
                    min: pool.min,
                    max: pool.max,
                    spot: pool.spot,
                    disk_gib: pool.disk_gib,
                    labels,
                    taints,
                    tags: tags(&id),
                }),
                id,
                depends_on,
            });
        }
        let mut bucket_names = BTreeMap::new();
        for (i, bucket) in spec.buckets.iter().enumerate() {
            let id = NodeId::Bucket(bucket.name.clone());
            let physical = name(
                names::bucket(cloud, hub, &bucket.name, scope),
                &format!("buckets[{i}].name"),
            )?;
            bucket_names.insert(bucket.name.clone(), physical.clone());
            nodes.push(DesiredNode {
                desired: Desired::Bucket(BucketConfig {
                    name: physical,
                    region: region.clone(),
                    versioning: bucket.versioning,
                    delete_after_days: bucket.delete_after_days,
                    tags: tags(&id),
                }),
                id,
                depends_on: needs(ResourceClass::Bucket),
            });
        }
        for (i, identity) in spec.identities.iter().enumerate() {
            let id = NodeId::Identity(identity.name.clone());
            let physical = name(
                names::identity(cloud, hub, &identity.name),
                &format!("identities[{i}].name"),
            )?;
            nodes.push(DesiredNode {
                desired: Desired::Identity(IdentityConfig {
                    name: physical.clone(),
                    tags: tags(&id),
                }),
                id: id.clone(),
                depends_on: needs(ResourceClass::Identity),
            });
            let grants = identity
                .buckets
                .iter()
                .map(|(logical, access)| (bucket_names[logical].clone(), *access))
                .collect();
            let mut depends_on = vec![id, NodeId::Cluster];
            depends_on.extend(needs(ResourceClass::Binding));
            depends_on.extend(identity.buckets.keys().map(|b| NodeId::Bucket(b.clone())));
            nodes.push(DesiredNode {
                id: NodeId::Binding(identity.name.clone()),
                desired: Desired::Binding {
                    identity: physical,
                    binding: IdentityBinding {
                        cluster: cluster.clone(),
                        // Known once the cluster exists: the planner and
                        // the executor fill it in.
                        issuer: String::new(),
                        service_account: identity.service_account.clone(),
                        grants,
                    },
                },
                depends_on,
            });
        }
        Ok(DesiredGraph {
            hub: hub.into(),
            cluster,
            cloud,
            nodes,
        })
    }

    /// The node with this id.
    pub fn node(&self, id: &NodeId) -> Option<&DesiredNode> {
        self.nodes.iter().find(|n| &n.id == id)
    }
}
