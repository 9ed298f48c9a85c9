//! Supporting resources on the sim: what each imitated cloud needs
//! around a hub.

use async_trait::async_trait;

use super::world::*;
use super::*;

#[async_trait]
impl SupportOps for SimCloud {
    /// What the imitated cloud needs around a hub, from the table the
    /// providers take it from ([`crate::facts::support_shapes`]); the sim
    /// makes its own network (its specs name no subnets).
    fn supporting_resources(&self, hub: &HubOutline) -> Vec<SupportRequirement> {
        crate::facts::supporting_resources(
            self.inner.cloud,
            hub,
            false,
            &names::NameScope::known(SIM_ACCOUNT),
        )
    }

    async fn create_support(&self, config: &SupportConfig) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("create_support")?;
        let key = support_key(config.kind, &config.name);
        // `support/<kind>/<name>`: the node's id, then the name.
        let resource = format!("{}/{}", NodeId::Support(config.kind), config.name);
        let steps = support_steps(config.kind);
        let fresh = answer.deliver(sim.store.with_world(|world, now| {
            if config.kind == SupportKind::OidcProvider {
                let cluster = config
                    .properties
                    .get("cluster")
                    .and_then(|c| world.clusters.get(c));
                if !cluster.is_some_and(|c| c.phase.kind != PhaseKind::Creating) {
                    return Err(error(
                        ErrorKind::Conflict,
                        &key,
                        "the cluster's OIDC issuer does not exist yet",
                    ));
                }
            }
            let ours = claim(
                &world.support,
                |s| &s.config.tags,
                &config.tags,
                &key,
                ("supporting resource", "supporting resources"),
                (usize::MAX, "account"),
            )?;
            if let Some(found) = world.support.get_mut(&key).filter(|_| ours) {
                match found.phase.kind {
                    PhaseKind::Deleting => {
                        return Err(error(ErrorKind::Conflict, &key, "it is being deleted"));
                    }
                    PhaseKind::Failed => {
                        found.phase = sim.creating(&config.tags, now, sim.latency.support_create)
                    }
                    _ => {}
                }
                return Ok(false);
            }
            world.support.insert(
                key.clone(),
                SimSupport {
                    config: config.clone(),
                    phase: sim.creating(&config.tags, now, sim.latency.support_create),
                    pending: steps.clone(),
                    listed_from_ms: sim.listed_from(now),
                },
            );
            Ok(true)
        }))?;
        if fresh {
            sim.interrupter
                .step_done(PROVIDER, config.kind.as_str(), &config.name, 1, "create")?;
        }
        sim.finish_steps(
            config.kind.as_str(),
            &config.name,
            steps.len(),
            |world| world.support.get(&key).map(|s| s.pending.clone()),
            |world, _, step| {
                if let Some(found) = world.support.get_mut(&key) {
                    found.pending.retain(|s| s != step);
                }
                Ok(())
            },
        )?;
        sim.store.with_world(|world, now| {
            let phase = world
                .support
                .get(&key)
                .map(|s| s.phase.clone())
                .ok_or_else(|| error(ErrorKind::NotFound, &key, "it is gone"))?;
            Ok(sim.watch(world, now, resource.clone(), &phase))
        })
    }

    async fn get_support(&self, kind: SupportKind, name: &str) -> Result<Option<SupportState>> {
        let sim = &self.inner;
        sim.read("get_support")?;
        sim.store.with_world(|world, _| {
            Ok(world
                .support
                .get(&support_key(kind, name))
                .map(support_state))
        })
    }

    async fn update_support(&self, config: &SupportConfig) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("update_support")?;
        answer.deliver(sim.store.with_world(|world, now| {
            let key = support_key(config.kind, &config.name);
            let found = world
                .support
                .get_mut(&key)
                .ok_or_else(|| error(ErrorKind::NotFound, &key, "no such supporting resource"))?;
            if found.config.region != config.region {
                return Err(error(
                    ErrorKind::Unsupported {
                        operation: "move a supporting resource to another region".into(),
                    },
                    &key,
                    "the region is fixed",
                ));
            }
            found.config = config.clone();
            Ok(Operation::completed(
                format!("support-update-{now}"),
                format!("support/{key}"),
            ))
        }))
    }

    async fn delete_support(&self, kind: SupportKind, name: &str) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("delete_support")?;
        answer.deliver(sim.store.with_world(|world, now| {
            let key = support_key(kind, name);
            let found = world
                .support
                .get(&key)
                .ok_or_else(|| error(ErrorKind::NotFound, &key, "no such supporting resource"))?;
            let hub = found
                .config
                .tags
                .get(TAG_CLUSTER)
                .cloned()
                .unwrap_or_default();
            if let Some(user) = support_user(world, kind, name, &hub) {
                return Err(error(
                    ErrorKind::Conflict,
                    &key,
                    format!("{user} still uses it (DependencyViolation)"),
                ));
            }
            let until = match found.phase.kind {
                PhaseKind::Deleting => found.phase.until_ms,
                _ => sim.until(now, sim.latency.support_delete),
            };
            let (phase, operation) = sim.begin(
                world,
                now,
                format!("support/{key}"),
                PhaseKind::Deleting,
                until,
            );
            world.support.get_mut(&key).expect("checked above").phase = phase;
            Ok(operation)
        }))
    }

    async fn list_support(&self, hub: &str) -> Result<Vec<SupportState>> {
        let sim = &self.inner;
        sim.read("list_support")?;
        sim.store.with_world(|world, now| {
            Ok(listed(world.support.values(), hub, now)
                .map(support_state)
                .collect())
        })
    }
}

fn support_key(kind: SupportKind, name: &str) -> String {
    format!("{}/{name}", kind.as_str())
}

fn support_state(support: &SimSupport) -> SupportState {
    SupportState {
        config: support.config.clone(),
        status: with_pending(support.phase.status(), &support.pending),
    }
}

/// The steps of a supporting resource's create after its first call, as
/// the imitated clouds take them: a network's subnets and routes, a role's
/// policies (GCP: its project roles; Azure: its role assignments), a
/// storage account's blob service settings.
fn support_steps(kind: SupportKind) -> Vec<String> {
    let steps: &[&str] = match kind {
        SupportKind::Network => &["subnets", "routes"],
        SupportKind::ClusterRole | SupportKind::NodeRole => &["policies"],
        SupportKind::StorageAccount => &["blob_service"],
        SupportKind::ResourceGroup | SupportKind::OidcProvider => &[],
    };
    steps.iter().map(|s| s.to_string()).collect()
}

/// What still depends on a supporting resource, as a cloud would refuse
/// to delete a VPC with a cluster in it.
fn support_user(world: &World, kind: SupportKind, name: &str, hub: &str) -> Option<String> {
    let clusters = world
        .clusters
        .values()
        .filter(|c| owned_by(&c.config.tags, hub));
    match kind {
        SupportKind::Network | SupportKind::ClusterRole => clusters
            .map(|c| format!("cluster {}", c.config.name))
            .next(),
        SupportKind::NodeRole => world
            .clusters
            .values()
            .filter(|c| owned_by(&c.config.tags, hub))
            .flat_map(|c| c.pools.values())
            .map(|p| format!("node pool {}", p.config.name))
            .next()
            .or_else(|| {
                clusters
                    .map(|c| format!("cluster {}", c.config.name))
                    .next()
            }),
        SupportKind::OidcProvider => None,
        SupportKind::StorageAccount => world
            .buckets
            .keys()
            .find(|b| b.starts_with(&format!("{name}/")))
            .map(|b| format!("container {b}")),
        SupportKind::ResourceGroup => world
            .support
            .values()
            .filter(|s| {
                s.config.kind != SupportKind::ResourceGroup && owned_by(&s.config.tags, hub)
            })
            .map(|s| format!("{} {}", s.config.kind.as_str(), s.config.name))
            .chain(
                world
                    .clusters
                    .values()
                    .filter(|c| owned_by(&c.config.tags, hub))
                    .map(|c| format!("cluster {}", c.config.name)),
            )
            .chain(
                world
                    .identities
                    .values()
                    .filter(|i| owned_by(&i.config.tags, hub))
                    .map(|i| format!("identity {}", i.config.name)),
            )
            .next(),
    }
}
