//! Buckets on the sim.

use std::collections::BTreeSet;

use async_trait::async_trait;

use super::world::*;
use super::*;

#[async_trait]
impl BucketOps for SimCloud {
    async fn create_bucket(&self, config: &BucketConfig) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("create_bucket")?;
        sim.check_name(NameKind::Bucket, &config.name)?;
        answer.deliver(sim.store.with_world(|world, now| {
            check_new(
                &world.buckets,
                &config.name,
                ("bucket", "buckets"),
                sim.quotas.buckets,
                "account",
            )?;
            let (phase, operation) = sim.begin(
                world,
                now,
                format!("bucket/{}", config.name),
                PhaseKind::Creating,
                sim.until(now, sim.latency.bucket_create),
            );
            world.buckets.insert(
                config.name.clone(),
                SimBucket {
                    config: config.clone(),
                    phase,
                    objects: BTreeSet::new(),
                },
            );
            Ok(operation)
        }))
    }

    async fn get_bucket(&self, name: &str) -> Result<Option<BucketState>> {
        let sim = &self.inner;
        sim.read("get_bucket")?;
        sim.store
            .with_world(|world, _| Ok(world.buckets.get(name).map(|b| sim.bucket_state(b))))
    }

    async fn update_bucket(&self, config: &BucketConfig) -> Result<Operation> {
        let sim = &self.inner;
        let answer = sim.mutation("update_bucket")?;
        answer.deliver(sim.store.with_world(|world, now| {
            let bucket = world
                .buckets
                .get_mut(&config.name)
                .ok_or_else(|| error(ErrorKind::NotFound, &config.name, "no such bucket"))?;
            if bucket.config.region != config.region {
                return Err(error(
                    ErrorKind::Unsupported {
                        operation: "move a bucket to another region".into(),
                    },
                    &config.name,
                    "the region of a bucket is fixed",
                ));
            }
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
        sim.store.with_world(|world, _| {
            Ok(world
                .buckets
                .values()
                .filter(|b| owned_by(&b.config.tags, hub))
                .map(|b| sim.bucket_state(b))
                .collect())
        })
    }
}
