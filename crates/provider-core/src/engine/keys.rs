//! Serialization keys: the cloud's one-at-a-time rules, which the provider
//! names for each mutation and the executor holds while an action runs.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::Mutex;

use super::plan::Step;
use crate::provider::Mutation;

/// What a step changes, for the provider's serialization keys.
pub(super) fn mutation(step: &Step) -> Option<Mutation<'_>> {
    Some(match step {
        Step::CreateSupport(c) | Step::UpdateSupport(c) => Mutation::Support {
            kind: c.kind,
            name: &c.name,
        },
        Step::DeleteSupport { kind, name } => Mutation::Support { kind: *kind, name },
        Step::CreateCluster { config, .. } | Step::UpdateCluster { config, .. } => {
            Mutation::Cluster { name: &config.name }
        }
        Step::DeleteCluster { name } => Mutation::Cluster { name },
        Step::CreatePool { cluster, config } | Step::UpdatePool { cluster, config } => {
            Mutation::NodePool {
                cluster,
                name: &config.name,
            }
        }
        Step::DeletePool { cluster, name } => Mutation::NodePool { cluster, name },
        Step::CreateBucket(c) | Step::UpdateBucket(c) => Mutation::Bucket { name: &c.name },
        Step::DeleteBucket { name, .. } => Mutation::Bucket { name },
        Step::CreateIdentity(c) | Step::UpdateIdentity(c) => Mutation::Identity { name: &c.name },
        Step::DeleteIdentity { name } => Mutation::Identity { name },
        Step::Bind { identity, binding } => Mutation::Binding { identity, binding },
        Step::Await { .. } => return None,
    })
}

/// One mutex per serialization key, made on first use.
#[derive(Clone, Default)]
pub(super) struct KeyedLocks(Arc<std::sync::Mutex<BTreeMap<String, Arc<Mutex<()>>>>>);

impl KeyedLocks {
    /// Holds every key of `keys`, taken in sorted order so two actions that
    /// share several keys cannot wait on each other.
    pub(super) async fn acquire(&self, keys: &[String]) -> Vec<tokio::sync::OwnedMutexGuard<()>> {
        let mut keys = keys.to_vec();
        keys.sort();
        keys.dedup();
        let mutexes: Vec<Arc<Mutex<()>>> = {
            let mut map = self.0.lock().expect("key map");
            keys.iter()
                .map(|k| map.entry(k.clone()).or_default().clone())
                .collect()
        };
        let mut held = Vec::with_capacity(mutexes.len());
        for mutex in mutexes {
            held.push(mutex.lock_owned().await);
        }
        held
    }
}
