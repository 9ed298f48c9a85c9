//! Workload identities on the sim.

use async_trait::async_trait;

use super::world::*;
use super::*;

#[async_trait]
impl IdentityOps for SimCloud {
    async fn create_identity(&self, config: &IdentityConfig) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("create_identity")?;
        sim.check_name(NameKind::Identity, &config.name)?;
        answer.deliver(sim.store.with_world(|world, now| {
            let resource = format!("identity/{}", config.name);
            let ours = claim(
                &world.identities,
                |i| &i.config.tags,
                &config.tags,
                &config.name,
                ("identity", "identities"),
                (sim.quotas.identities, "account"),
            )?;
            if ours {
                let identity = world.identities.get_mut(&config.name).expect("claimed");
                match identity.phase.kind {
                    PhaseKind::Deleting => {
                        return Err(error(
                            ErrorKind::Conflict,
                            &resource,
                            "the identity is being deleted",
                        ));
                    }
                    PhaseKind::Failed => {
                        identity.phase =
                            sim.creating(&config.tags, now, sim.latency.identity_create)
                    }
                    _ => {}
                }
                let phase = identity.phase.clone();
                return Ok(sim.watch(world, now, resource, &phase));
            }
            let phase = sim.creating(&config.tags, now, sim.latency.identity_create);
            let operation = sim.watch(world, now, resource, &phase);
            world.identities.insert(
                config.name.clone(),
                SimIdentity {
                    config: config.clone(),
                    visible_at_ms: phase.until_ms + sim.ms(sim.consistency.iam_propagation),
                    listed_from_ms: sim.listed_from(now),
                    phase,
                    binding: None,
                },
            );
            Ok(operation)
        }))
    }

    async fn get_identity(&self, name: &str) -> Result<Option<IdentityState>> {
        let sim = &self.inner;
        sim.read("get_identity")?;
        sim.store
            .with_world(|world, _| Ok(world.identities.get(name).map(|i| sim.identity_state(i))))
    }

    async fn update_identity(&self, config: &IdentityConfig) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("update_identity")?;
        answer.deliver(sim.store.with_world(|world, now| {
            let identity = world
                .identities
                .get_mut(&config.name)
                .ok_or_else(|| error(ErrorKind::NotFound, &config.name, "no such identity"))?;
            identity.config = config.clone();
            Ok(Operation::completed(
                format!("identity-update-{now}"),
                format!("identity/{}", config.name),
            ))
        }))
    }

    async fn bind_identity(&self, name: &str, binding: &IdentityBinding) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("bind_identity")?;
        answer.deliver(sim.store.with_world(|world, now| {
            let identity = world
                .identities
                .get(name)
                .ok_or_else(|| error(ErrorKind::NotFound, name, "no such identity"))?;
            if identity.phase.busy() {
                return Err(error(
                    ErrorKind::Conflict,
                    name,
                    "the identity is busy with another operation",
                ));
            }
            if now < identity.visible_at_ms {
                return Err(error(
                    ErrorKind::Transient,
                    name,
                    format!(
                        "PrincipalNotFound: identity {name} was created moments ago and IAM does not know it yet (it propagates)"
                    ),
                ));
            }
            match world.clusters.get(&binding.cluster) {
                None => {
                    return Err(error(
                        ErrorKind::NotFound,
                        &binding.cluster,
                        "the binding names a cluster that does not exist",
                    ));
                }
                Some(c) if c.phase.kind == PhaseKind::Creating => {
                    return Err(error(
                        ErrorKind::Conflict,
                        &binding.cluster,
                        "the cluster's OIDC issuer is not ready yet",
                    ));
                }
                Some(_) => {}
            }
            if let Some(missing) = binding
                .grants
                .keys()
                .find(|b| !world.buckets.contains_key(*b))
            {
                return Err(error(
                    ErrorKind::NotFound,
                    missing,
                    "the binding grants a bucket that does not exist",
                ));
            }
            let (phase, operation) = sim.begin(
                world,
                now,
                format!("identity/{name}"),
                PhaseKind::Updating,
                sim.until(now, sim.latency.identity_bind),
            );
            let identity = world.identities.get_mut(name).expect("checked above");
            identity.binding = Some(binding.clone());
            identity.phase = phase;
            Ok(operation)
        }))
    }

    async fn delete_identity(&self, name: &str) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("delete_identity")?;
        answer.deliver(sim.store.with_world(|world, now| {
            if !world.identities.contains_key(name) {
                return Err(error(ErrorKind::NotFound, name, "no such identity"));
            }
            let (phase, operation) = sim.begin(
                world,
                now,
                format!("identity/{name}"),
                PhaseKind::Deleting,
                sim.until(now, sim.latency.identity_delete),
            );
            world.identities.get_mut(name).expect("checked above").phase = phase;
            Ok(operation)
        }))
    }

    async fn list_identities(&self, hub: &str) -> Result<Vec<IdentityState>> {
        let sim = &self.inner;
        sim.read("list_identities")?;
        sim.store.with_world(|world, now| {
            Ok(listed(world.identities.values(), hub, now)
                .map(|i| sim.identity_state(i))
                .collect())
        })
    }
}
