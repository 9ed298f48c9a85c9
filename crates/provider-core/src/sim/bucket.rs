//! Buckets on the sim. A create is several calls, as on every cloud: the
//! bucket (tagged), then encryption, the public-access block, versioning
//! and the lifecycle rule, each a step an interruption can fall between.

use std::collections::BTreeSet;

use async_trait::async_trait;

use super::world::*;
use super::*;

/// The steps of a bucket's create after its first call.
fn bucket_steps(config: &BucketConfig) -> Vec<String> {
    let mut steps = vec!["encryption".to_string(), "public_access_block".to_string()];
    if config.versioning {
        steps.push("versioning".into());
    }
    if config.delete_after_days.is_some() {
        steps.push("lifecycle".into());
    }
    steps
}

/// What a cloud answers about another account's bucket.
fn denied(name: &str) -> Error {
    error(
        ErrorKind::PermissionDenied,
        name,
        "AccessDenied: the bucket belongs to another account",
    )
}

impl SimInner {
    /// On Azure every container's lifecycle rule lives in its storage
    /// account's one management policy, and ARM refuses a second write of
    /// it while one is in progress. A write holds it as long as a
    /// container create takes.
    fn write_lifecycle_policy(&self, world: &mut World, now: u64, bucket: &str) -> Result<()> {
        let Some((account, _)) = bucket
            .split_once('/')
            .filter(|_| self.cloud == Cloud::Azure)
        else {
            return Ok(());
        };
        if world
            .policy_writes
            .get(account)
            .is_some_and(|until| *until > now)
        {
            return Err(error(
                ErrorKind::Conflict,
                format!("storage-account/{account}"),
                format!(
                    "409 Conflict: another write of storage account {account}'s management policy is in progress"
                ),
            ));
        }
        world.policy_writes.insert(
            account.to_string(),
            self.until(now, self.latency.bucket_create),
        );
        Ok(())
    }
}

#[async_trait]
impl BucketOps for SimCloud {
    async fn create_bucket(&self, config: &BucketConfig) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("create_bucket")?;
        sim.check_name(NameKind::Bucket, &config.name)?;
        let steps = bucket_steps(config);
        let resource = format!("bucket/{}", config.name);
        let fresh = answer.deliver(sim.store.with_world(|world, now| {
            if world
                .buckets
                .get(&config.name)
                .is_some_and(|b| b.other_account)
            {
                return Err(error(
                    ErrorKind::AlreadyExists,
                    &config.name,
                    "BucketAlreadyExists: the bucket name is taken by another account",
                ));
            }
            let ours = claim(
                &world.buckets,
                |b| &b.config.tags,
                &config.tags,
                &config.name,
                ("bucket", "buckets"),
                (sim.quotas.buckets, "account"),
            )?;
            if let Some(bucket) = world.buckets.get_mut(&config.name).filter(|_| ours) {
                match bucket.phase.kind {
                    PhaseKind::Deleting => {
                        return Err(error(
                            ErrorKind::Conflict,
                            &resource,
                            "the bucket is being deleted",
                        ));
                    }
                    // Creating it again is how a failed one is repaired.
                    PhaseKind::Failed => {
                        bucket.phase = sim.creating(&config.tags, now, sim.latency.bucket_create)
                    }
                    _ => {}
                }
                return Ok(false);
            }
            world.buckets.insert(
                config.name.clone(),
                SimBucket {
                    // Tagged in the first call; the rest comes step by step.
                    config: BucketConfig {
                        versioning: false,
                        delete_after_days: None,
                        ..config.clone()
                    },
                    phase: sim.creating(&config.tags, now, sim.latency.bucket_create),
                    objects: BTreeSet::new(),
                    pending: steps.clone(),
                    listed_from_ms: sim.listed_from(now),
                    other_account: false,
                },
            );
            Ok(true)
        }))?;
        if fresh {
            sim.interrupter
                .step_done(PROVIDER, "bucket", &config.name, 1, "create")?;
        }
        sim.finish_steps(
            "bucket",
            &config.name,
            steps.len(),
            |world| world.buckets.get(&config.name).map(|b| b.pending.clone()),
            |world, now, step| {
                if step == "lifecycle" {
                    sim.write_lifecycle_policy(world, now, &config.name)?;
                }
                if let Some(bucket) = world.buckets.get_mut(&config.name) {
                    match step {
                        "versioning" => bucket.config.versioning = config.versioning,
                        "lifecycle" => bucket.config.delete_after_days = config.delete_after_days,
                        _ => {}
                    }
                    bucket.pending.retain(|s| s != step);
                }
                Ok(())
            },
        )?;
        sim.store.with_world(|world, now| {
            let phase = world
                .buckets
                .get(&config.name)
                .map(|b| b.phase.clone())
                .ok_or_else(|| error(ErrorKind::NotFound, &resource, "the bucket is gone"))?;
            Ok(sim.watch(world, now, resource.clone(), &phase))
        })
    }

    async fn get_bucket(&self, name: &str) -> Result<Option<BucketState>> {
        let sim = &self.inner;
        sim.read("get_bucket")?;
        sim.store
            .with_world(|world, _| match world.buckets.get(name) {
                Some(bucket) if bucket.other_account => Err(denied(name)),
                found => Ok(found.map(|b| sim.bucket_state(b))),
            })
    }

    async fn update_bucket(&self, config: &BucketConfig) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("update_bucket")?;
        answer.deliver(sim.store.with_world(|world, now| {
            let bucket = world
                .buckets
                .get(&config.name)
                .ok_or_else(|| error(ErrorKind::NotFound, &config.name, "no such bucket"))?;
            if bucket.other_account {
                return Err(denied(&config.name));
            }
            if bucket.config.region != config.region {
                return Err(error(
                    ErrorKind::Unsupported {
                        operation: "move a bucket to another region".into(),
                    },
                    &config.name,
                    "the region of a bucket is fixed",
                ));
            }
            if bucket.config.delete_after_days != config.delete_after_days {
                sim.write_lifecycle_policy(world, now, &config.name)?;
            }
            let bucket = world.buckets.get_mut(&config.name).expect("checked above");
            bucket.config = config.clone();
            Ok(Operation::completed(
                format!("bucket-update-{now}"),
                format!("bucket/{}", config.name),
            ))
        }))
    }

    async fn delete_bucket(&self, name: &str, deletion: BucketDeletion) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("delete_bucket")?;
        answer.deliver(sim.store.with_world(|world, now| {
            let bucket = world
                .buckets
                .get(name)
                .ok_or_else(|| error(ErrorKind::NotFound, name, "no such bucket"))?;
            if bucket.other_account {
                return Err(denied(name));
            }
            if !bucket.objects.is_empty() && deletion == BucketDeletion::RefuseIfNotEmpty {
                return Err(error(
                    ErrorKind::NotEmpty,
                    format!("bucket/{name}"),
                    format!("the bucket holds {} objects", bucket.objects.len()),
                ));
            }
            let (phase, operation) = sim.begin(
                world,
                now,
                format!("bucket/{name}"),
                PhaseKind::Deleting,
                sim.until(now, sim.latency.bucket_delete),
            );
            let bucket = world.buckets.get_mut(name).expect("checked above");
            bucket.objects.clear();
            bucket.phase = phase;
            Ok(operation)
        }))
    }

    async fn list_buckets(&self, hub: &str) -> Result<Vec<BucketState>> {
        let sim = &self.inner;
        sim.read("list_buckets")?;
        sim.store.with_world(|world, now| {
            Ok(listed(world.buckets.values(), hub, now)
                .map(|b| sim.bucket_state(b))
                .collect())
        })
    }
}
