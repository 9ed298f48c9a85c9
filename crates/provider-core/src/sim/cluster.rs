//! Clusters on the sim.

use async_trait::async_trait;

use super::world::*;
use super::*;

impl SimInner {
    /// The imitated cloud's version-skew rule: nodes never lead the control
    /// plane and lag it by at most the cloud's published skew.
    pub(super) fn check_pool_version(
        &self,
        cluster_version: &str,
        pool: &NodePoolConfig,
    ) -> Result<()> {
        let (Some(cluster), Some(nodes)) =
            (minor(cluster_version), minor(&pool.kubernetes_version))
        else {
            return Ok(());
        };
        let skew = crate::facts::pool_version_skew(self.cloud);
        if nodes > cluster || nodes + skew < cluster {
            return Err(error(
                ErrorKind::InvalidSpec {
                    path: "kubernetes_version".into(),
                    reason: format!(
                        "node pool version {} must be between 1.{} and the control plane's {cluster_version}",
                        pool.kubernetes_version,
                        cluster.saturating_sub(skew)
                    ),
                },
                &pool.name,
                format!(
                    "node pool {} cannot run {} on a {cluster_version} control plane",
                    pool.name, pool.kubernetes_version
                ),
            ));
        }
        Ok(())
    }
}

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
            sim.check_pool_version(&config.kubernetes_version, pool)?;
        }
        answer.deliver(sim.store.with_world(|world, now| {
            let resource = format!("cluster/{}", config.name);
            let ours = claim(
                &world.clusters,
                |c| &c.config.tags,
                &config.tags,
                &config.name,
                ("cluster", "clusters"),
                (sim.quotas.clusters, "account"),
            )?;
            if ours {
                let found = &world.clusters[&config.name];
                if found.phase.kind == PhaseKind::Deleting {
                    return Err(error(
                        ErrorKind::Conflict,
                        &resource,
                        "the cluster is being deleted",
                    ));
                }
                let phase = found.phase.clone();
                return Ok(sim.watch(world, now, resource, &phase));
            }
            let mut latency = sim.latency.cluster_create;
            if !initial_pools.is_empty() {
                latency += sim.latency.pool_create / 2;
            }
            let phase = sim.creating(&config.tags, now, latency);
            let pools: BTreeMap<String, SimPool> = initial_pools
                .iter()
                .map(|p| {
                    let phase = Phase {
                        failure: phase
                            .failure
                            .clone()
                            .or_else(|| sim.failures.failure(sim.cloud, &p.tags)),
                        ..sim.creating(&p.tags, now, latency)
                    };
                    let pool = SimPool {
                        config: p.clone(),
                        phase,
                    };
                    (p.name.clone(), pool)
                })
                .collect();
            // GKE and AKS report a pool that failed inside the cluster's
            // create as the failure of that one operation.
            let failure = phase.failure.clone().or_else(|| {
                pools.values().find_map(|p| {
                    p.phase
                        .failure
                        .as_ref()
                        .map(|reason| format!("node pool {}: {reason}", p.config.name))
                })
            });
            let operation = sim.watch(
                world,
                now,
                resource,
                &Phase {
                    failure,
                    ..phase.clone()
                },
            );
            let issuer = format!(
                "https://oidc.sim.hubforge.invalid/{}/{}/{:x}",
                sim.cloud.key(),
                config.name,
                now * 1000 + world.next_operation % 1000
            );
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
                    oidc_issuer: issuer,
                    listed_from_ms: sim.listed_from(now),
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
            let cluster = world.cluster(&config.name)?;
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
            if version_changes {
                // EKS: every node group at the control plane's version first;
                // GKE and AKS: no pool may fall outside the skew afterwards.
                let skew = crate::facts::pool_version_skew(sim.cloud);
                let behind: Vec<&str> = cluster
                    .pools
                    .values()
                    .filter(|p| {
                        let nodes = minor(&p.config.kubernetes_version);
                        if skew == 0 {
                            nodes != from
                        } else {
                            nodes.zip(to).is_some_and(|(v, t)| v + skew < t)
                        }
                    })
                    .map(|p| p.config.name.as_str())
                    .collect();
                if !behind.is_empty() {
                    return Err(error(
                        ErrorKind::Permanent,
                        &config.name,
                        format!(
                            "node pools [{}] must be upgraded to {} before the control plane goes to {}",
                            behind.join(", "),
                            cluster.config.kubernetes_version,
                            config.kubernetes_version
                        ),
                    ));
                }
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
            let cluster = world.cluster(name)?;
            if !self.capabilities().cluster_delete_removes_pools && !cluster.pools.is_empty() {
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
        sim.store.with_world(|world, now| {
            Ok(listed(world.clusters.values(), hub, now)
                .map(|c| sim.cluster_state(c))
                .collect())
        })
    }
}

pub(super) fn minor(version: &str) -> Option<u32> {
    version
        .split_once('.')
        .and_then(|(_, minor)| minor.parse().ok())
}
