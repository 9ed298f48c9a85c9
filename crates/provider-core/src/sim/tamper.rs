//! Changes made behind hubforge's back, as someone in the console or
//! another tool (eksctl, Terraform) would make them: what tests use to put
//! foreign resources in the hub's way, drift, and data in buckets.

use std::collections::BTreeMap;

use super::world::*;
use super::*;

impl SimCloud {
    /// Writes an object into a bucket (tests of destroy's data guard).
    pub fn put_object(&self, bucket: &str, key: &str) -> Result<()> {
        self.inner.store.with_world(|world, _| {
            let found = world
                .buckets
                .get_mut(bucket)
                .ok_or_else(|| error(ErrorKind::NotFound, bucket, "no such bucket"))?;
            found.objects.insert(key.to_string());
            Ok(())
        })
    }

    /// Puts a bucket of another account under `name`: bucket names are
    /// global, so a name can be taken by someone this account cannot see.
    pub fn tamper_bucket_of_another_account(&self, name: &str) -> Result<()> {
        self.inner.store.with_world(|world, _| {
            world.buckets.insert(
                name.to_string(),
                SimBucket {
                    config: BucketConfig {
                        name: name.to_string(),
                        region: "eu-west-1".into(),
                        versioning: false,
                        delete_after_days: None,
                        tags: BTreeMap::new(),
                    },
                    phase: Phase {
                        kind: PhaseKind::Ready,
                        until_ms: 0,
                        failure: None,
                        degrade_at_ms: None,
                    },
                    objects: Default::default(),
                    pending: Vec::new(),
                    listed_from_ms: 0,
                    other_account: true,
                },
            );
            Ok(())
        })
    }

    /// Changes a pool's scaling (drift tests).
    pub fn tamper_node_pool_scaling(
        &self,
        cluster: &str,
        pool: &str,
        min: u32,
        max: u32,
    ) -> Result<()> {
        self.with_pool(cluster, pool, |found| {
            found.config.min = min;
            found.config.max = max;
        })
    }

    /// Replaces a cluster's tags (one another tool owns).
    pub fn tamper_cluster_tags(&self, cluster: &str, tags: BTreeMap<String, String>) -> Result<()> {
        self.inner.store.with_world(|world, _| {
            let found = world.cluster_mut(cluster)?;
            found.config.tags = tags;
            Ok(())
        })
    }

    /// Replaces a pool's tags.
    pub fn tamper_node_pool_tags(
        &self,
        cluster: &str,
        pool: &str,
        tags: BTreeMap<String, String>,
    ) -> Result<()> {
        self.with_pool(cluster, pool, |found| found.config.tags = tags)
    }

    /// Adds a ready pool to a cluster, as another tool would (its config's
    /// tags say whose it is).
    pub fn tamper_add_node_pool(&self, cluster: &str, config: NodePoolConfig) -> Result<()> {
        self.inner.store.with_world(|world, _| {
            let found = world.cluster_mut(cluster)?;
            found.pools.insert(
                config.name.clone(),
                SimPool {
                    config,
                    phase: Phase {
                        kind: PhaseKind::Ready,
                        until_ms: 0,
                        failure: None,
                        degrade_at_ms: None,
                    },
                },
            );
            Ok(())
        })
    }

    /// Removes a cluster and its pools at once, as a deletion in the
    /// console that has finished.
    pub fn tamper_remove_cluster(&self, cluster: &str) -> Result<()> {
        self.inner.store.with_world(|world, _| {
            world
                .clusters
                .remove(cluster)
                .map(|_| ())
                .ok_or_else(|| error(ErrorKind::NotFound, cluster, "no such cluster"))
        })
    }

    fn with_pool(
        &self,
        cluster: &str,
        pool: &str,
        change: impl FnOnce(&mut SimPool),
    ) -> Result<()> {
        self.inner.store.with_world(|world, _| {
            let found = world
                .clusters
                .get_mut(cluster)
                .and_then(|c| c.pools.get_mut(pool))
                .ok_or_else(|| error(ErrorKind::NotFound, pool, "no such node pool"))?;
            change(found);
            Ok(())
        })
    }
}
