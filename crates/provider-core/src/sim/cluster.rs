//! Clusters on the sim.

use async_trait::async_trait;

use super::world::*;
use super::*;

#[async_trait]
impl ClusterOps for SimCloud {
    async fn create_cluster(
        &self,
        config: &ClusterConfig,
        initial_pools: &[NodePoolConfig],
    ) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("create_cluster")?;
        sim.check_name(NameKind::Cluster, &config.name)?;
        if !initial_pools.is_empty() && !self.capabilities().pools_in_cluster_create {
            return Err(error(
                ErrorKind::Unsupported {
                    operation: "create node pools with the cluster".into(),
                },
                &config.name,
                "this cloud creates node pools only after the cluster",
            ));
        }
        for pool in initial_pools {
            sim.check_pool(pool)?;
        }
        answer.deliver(sim.store.with_world(|world, now| {
            check_new(
                &world.clusters,
                &config.name,
                ("cluster", "clusters"),
                sim.quotas.clusters,
                "account",
            )?;
            let mut latency = sim.latency.cluster_create;
            if !initial_pools.is_empty() {
                latency += sim.latency.pool_create / 2;
            }
            let (phase, operation) = sim.begin(
                world,
                now,
                format!("cluster/{}", config.name),
                PhaseKind::Creating,
                sim.until(now, latency),
            );
            let pools = initial_pools
                .iter()
                .map(|p| {
                    (
                        p.name.clone(),
                        SimPool {
                            config: p.clone(),
                            phase: phase.clone(),
                        },
                    )
                })
                .collect();
            world.clusters.insert(
                config.name.clone(),
                SimCluster {
                    config: config.clone(),
                    phase,
                    pools,
                    endpoint: format!(
                        "https://{}.{}.sim.hubforge.invalid",
                        config.name, config.region
                    ),
                    oidc_issuer: format!(
                        "https://oidc.sim.hubforge.invalid/{}/{}",
                        sim.cloud.key(),
                        config.name
                    ),
                },
            );
            Ok(operation)
        }))
    }

    async fn get_cluster(&self, name: &str) -> Result<Option<ClusterState>> {
        let sim = &self.inner;
        sim.read("get_cluster")?;
        sim.store
            .with_world(|world, _| Ok(world.clusters.get(name).map(|c| sim.cluster_state(c))))
    }

    async fn update_cluster(&self, config: &ClusterConfig) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("update_cluster")?;
        answer.deliver(sim.store.with_world(|world, now| {
            let cluster = world.clusters.get(&config.name).ok_or_else(|| error(ErrorKind::NotFound, &config.name, "no such cluster"))?;
            sim.busy_conflict(cluster, "update the cluster")?;
            if cluster.config.region != config.region {
                return Err(error(ErrorKind::Unsupported { operation: "move a cluster to another region".into() }, &config.name, "the region of a cluster is fixed"));
            }
            let (from, to) = (minor(&cluster.config.kubernetes_version), minor(&config.kubernetes_version));
            let version_changes = from != to;
            if version_changes && !matches!((from, to), (Some(f), Some(t)) if t == f + 1) {
                return Err(error(
                    ErrorKind::InvalidSpec { path: "kubernetes_version".into(), reason: "upgrade one minor version at a time".into() },
                    &config.name,
                    format!("cannot go from {} to {}: clusters upgrade one minor version at a time and never downgrade", cluster.config.kubernetes_version, config.kubernetes_version),
                ));
            }
            let resource = format!("cluster/{}", config.name);
            let operation = if version_changes {
                let (phase, operation) = sim.begin(world, now, resource, PhaseKind::Updating, sim.until(now, sim.latency.cluster_update));
                world.clusters.get_mut(&config.name).expect("checked above").phase = phase;
                operation
            } else {
                Operation::completed(format!("tags-{now}"), resource)
            };
            world.clusters.get_mut(&config.name).expect("checked above").config = config.clone();
            Ok(operation)
        }))
    }

    async fn delete_cluster(&self, name: &str) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("delete_cluster")?;
        answer.deliver(sim.store.with_world(|world, now| {
            let cluster = world
                .clusters
                .get(name)
                .ok_or_else(|| error(ErrorKind::NotFound, name, "no such cluster"))?;
            if sim.cloud == Cloud::Aws && !cluster.pools.is_empty() {
                return Err(error(
                    ErrorKind::Conflict,
                    format!("cluster/{name}"),
                    "the cluster still has node groups; delete them first",
                ));
            }
            let until = match cluster.phase.kind {
                // Deleting twice joins the running deletion.
                PhaseKind::Deleting => cluster.phase.until_ms,
                _ => {
                    sim.busy_conflict(cluster, "delete the cluster")?;
                    sim.until(now, sim.latency.cluster_delete)
                }
            };
            let (phase, operation) = sim.begin(
                world,
                now,
                format!("cluster/{name}"),
                PhaseKind::Deleting,
                until,
            );
            let cluster = world.clusters.get_mut(name).expect("checked above");
            for pool in cluster.pools.values_mut() {
                pool.phase = phase.clone();
            }
            cluster.phase = phase;
            Ok(operation)
        }))
    }

    async fn list_clusters(&self, hub: &str) -> Result<Vec<ClusterState>> {
        let sim = &self.inner;
        sim.read("list_clusters")?;
        sim.store.with_world(|world, _| {
            Ok(world
                .clusters
                .values()
                .filter(|c| owned_by(&c.config.tags, hub))
                .map(|c| sim.cluster_state(c))
                .collect())
        })
    }
}

fn minor(version: &str) -> Option<u32> {
    version
        .split_once('.')
        .and_then(|(_, minor)| minor.parse().ok())
}
