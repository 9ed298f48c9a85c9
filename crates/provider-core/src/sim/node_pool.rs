//! Node pools on the sim.

use async_trait::async_trait;

use super::cluster::minor;
use super::world::*;
use super::*;

impl SimInner {
    /// A pool as the imitated cloud reports it: only AKS knows system pools.
    pub(super) fn pool_state(&self, pool: &SimPool) -> NodePoolState {
        let mut config = pool.config.clone();
        if self.cloud != Cloud::Azure {
            config.role = PoolRole::User;
        }
        NodePoolState {
            config,
            status: pool.phase.status(),
        }
    }
}

#[async_trait]
impl NodePoolOps for SimCloud {
    async fn create_node_pool(&self, cluster: &str, config: &NodePoolConfig) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("create_node_pool")?;
        sim.check_pool(config)?;
        answer.deliver(sim.store.with_world(|world, now| {
            let found = world.cluster(cluster)?;
            if found.phase.kind != PhaseKind::Ready {
                return Err(error(
                    ErrorKind::Conflict,
                    format!("cluster/{cluster}"),
                    format!(
                        "the cluster is {}, not ready for node pools",
                        sim.status_word(found.phase.kind)
                    ),
                ));
            }
            let resource = format!("node_pool/{cluster}/{}", config.name);
            let ours = claim(
                &found.pools,
                |p| &p.config.tags,
                &config.tags,
                &config.name,
                ("node pool", "node pools"),
                (sim.quotas.node_pools_per_cluster, "cluster"),
            )?;
            if ours {
                let phase = found.pools[&config.name].phase.clone();
                if phase.kind == PhaseKind::Deleting {
                    return Err(error(
                        ErrorKind::Conflict,
                        &resource,
                        "the node pool is being deleted",
                    ));
                }
                return Ok(sim.watch(world, now, resource, &phase));
            }
            sim.busy_conflict(found, "create a node pool")?;
            sim.check_pool_version(&found.config.kubernetes_version, config)?;
            let phase = sim.creating(&config.tags, now, sim.latency.pool_create);
            let operation = sim.watch(world, now, resource, &phase);
            let pools = &mut world
                .clusters
                .get_mut(cluster)
                .expect("checked above")
                .pools;
            pools.insert(
                config.name.clone(),
                SimPool {
                    config: config.clone(),
                    phase,
                },
            );
            Ok(operation)
        }))
    }

    async fn get_node_pool(&self, cluster: &str, name: &str) -> Result<Option<NodePoolState>> {
        let sim = &self.inner;
        sim.read("get_node_pool")?;
        sim.store.with_world(|world, _| {
            Ok(world
                .clusters
                .get(cluster)
                .and_then(|c| c.pools.get(name))
                .map(|p| sim.pool_state(p)))
        })
    }

    async fn update_node_pool(&self, cluster: &str, config: &NodePoolConfig) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("update_node_pool")?;
        sim.check_pool(config)?;
        answer.deliver(sim.store.with_world(|world, now| {
            let found = world.cluster(cluster)?;
            let pool = found
                .pools
                .get(&config.name)
                .ok_or_else(|| error(ErrorKind::NotFound, &config.name, "no such node pool"))?;
            if pool.phase.busy() {
                return Err(error(
                    ErrorKind::Conflict,
                    &config.name,
                    "the node pool is busy with another operation",
                ));
            }
            if let Some(reason) = pool.phase.status().failure() {
                return Err(error(
                    ErrorKind::Permanent,
                    &config.name,
                    format!("the node pool has failed ({reason}); replace it"),
                ));
            }
            sim.busy_conflict(found, "update a node pool")?;
            let current = &pool.config;
            if minor(&config.kubernetes_version) < minor(&current.kubernetes_version) {
                return Err(error(
                    ErrorKind::InvalidSpec {
                        path: "kubernetes_version".into(),
                        reason: "node pools are never downgraded".into(),
                    },
                    &config.name,
                    format!(
                        "cannot take node pool {} from {} down to {}",
                        config.name, current.kubernetes_version, config.kubernetes_version
                    ),
                ));
            }
            sim.check_pool_version(&found.config.kubernetes_version, config)?;
            let fixed = [
                (
                    "instance_type",
                    current.instance_type != config.instance_type,
                ),
                ("accelerator", current.accelerator != config.accelerator),
                ("spot", current.spot != config.spot),
                ("disk_gib", current.disk_gib != config.disk_gib),
                (
                    "role",
                    self.capabilities().system_pools && current.role != config.role,
                ),
            ];
            if let Some((field, _)) = fixed.iter().find(|(_, changed)| *changed) {
                return Err(error(
                    ErrorKind::Unsupported {
                        operation: format!("change {field} of a node pool in place"),
                    },
                    &config.name,
                    format!(
                        "{field} is fixed when a node pool is created; replace the pool instead"
                    ),
                ));
            }
            let (phase, operation) = sim.begin(
                world,
                now,
                format!("node_pool/{cluster}/{}", config.name),
                PhaseKind::Updating,
                sim.until(now, sim.latency.pool_update),
            );
            let pool = world
                .clusters
                .get_mut(cluster)
                .and_then(|c| c.pools.get_mut(&config.name))
                .expect("checked above");
            pool.config = config.clone();
            pool.phase = phase;
            Ok(operation)
        }))
    }

    async fn delete_node_pool(&self, cluster: &str, name: &str) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("delete_node_pool")?;
        answer.deliver(sim.store.with_world(|world, now| {
            let found = world.cluster(cluster)?;
            let pool = found
                .pools
                .get(name)
                .ok_or_else(|| error(ErrorKind::NotFound, name, "no such node pool"))?;
            let other_system_pool = found.pools.values().any(|p| {
                p.config.name != name
                    && p.config.role == PoolRole::System
                    && p.phase.kind != PhaseKind::Deleting
            });
            if self.capabilities().system_pools
                && pool.config.role == PoolRole::System
                && !other_system_pool
            {
                return Err(error(
                    ErrorKind::Permanent,
                    name,
                    "OperationNotAllowed: a cluster must keep at least one system node pool",
                ));
            }
            let until = match pool.phase.kind {
                PhaseKind::Deleting => pool.phase.until_ms,
                _ => {
                    sim.busy_conflict(found, "delete a node pool")?;
                    sim.until(now, sim.latency.pool_delete)
                }
            };
            let (phase, operation) = sim.begin(
                world,
                now,
                format!("node_pool/{cluster}/{name}"),
                PhaseKind::Deleting,
                until,
            );
            world
                .clusters
                .get_mut(cluster)
                .and_then(|c| c.pools.get_mut(name))
                .expect("checked above")
                .phase = phase;
            Ok(operation)
        }))
    }

    async fn list_node_pools(&self, cluster: &str) -> Result<Vec<NodePoolState>> {
        let sim = &self.inner;
        sim.read("list_node_pools")?;
        sim.store.with_world(|world, _| {
            let found = world.cluster(cluster)?;
            Ok(found.pools.values().map(|p| sim.pool_state(p)).collect())
        })
    }
}
