//! Objects in memory: the reference [`ObjectStore`], for tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::object::{Object, ObjectStore, Outcome, Version};
use crate::error::Result;

/// Objects in a map, with the semantics every [`ObjectStore`] is held to:
/// each conditional change is checked and made in one step. Versions are
/// derived from the content, as S3's ETags are, so code that works here
/// does not count on a rewrite of the same bytes giving a new version.
///
/// Every operation first yields to the runtime, as a request to a real
/// store does, so other tasks run between a read and the change made from
/// it and races between tasks happen as they would over a network.
///
/// Share one between stores with an `Arc`.
#[derive(Debug, Default)]
pub struct MemoryObjects {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryObjects {
    /// No objects.
    pub fn new() -> MemoryObjects {
        MemoryObjects::default()
    }

    /// Runs `change` on the map, holding it, after letting other tasks run.
    async fn with<T>(&self, change: impl FnOnce(&mut BTreeMap<String, Vec<u8>>) -> T) -> T {
        tokio::task::yield_now().await;
        change(&mut self.objects.lock().expect("objects"))
    }
}

/// The version of an object with this content: FNV-1a over the bytes and
/// their length. Stable across processes and builds, as a version that
/// another process compares must be.
pub(crate) fn content_version(bytes: &[u8]) -> Version {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    });
    Version::new(format!("{hash:016x}-{}", bytes.len()))
}

/// Whether `current` (the object there, if any) has `version`.
pub(crate) fn has_version(current: Option<&Vec<u8>>, version: &Version) -> bool {
    current.is_some_and(|bytes| &content_version(bytes) == version)
}

#[async_trait]
impl ObjectStore for MemoryObjects {
    async fn get(&self, key: &str) -> Result<Option<Object>> {
        Ok(self
            .with(|objects| {
                objects.get(key).map(|body| Object {
                    version: content_version(body),
                    body: body.clone(),
                })
            })
            .await)
    }

    async fn create(&self, key: &str, body: &[u8]) -> Result<Outcome> {
        Ok(self
            .with(|objects| {
                if objects.contains_key(key) {
                    return Outcome::ConditionFailed;
                }
                objects.insert(key.to_string(), body.to_vec());
                Outcome::Done
            })
            .await)
    }

    async fn replace(&self, key: &str, version: &Version, body: &[u8]) -> Result<Outcome> {
        Ok(self
            .with(|objects| {
                if !has_version(objects.get(key), version) {
                    return Outcome::ConditionFailed;
                }
                objects.insert(key.to_string(), body.to_vec());
                Outcome::Done
            })
            .await)
    }

    async fn delete(&self, key: &str, version: &Version) -> Result<Outcome> {
        Ok(self
            .with(|objects| {
                if !has_version(objects.get(key), version) {
                    return Outcome::ConditionFailed;
                }
                objects.remove(key);
                Outcome::Done
            })
            .await)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        Ok(self
            .with(|objects| {
                objects
                    .keys()
                    .filter(|key| key.starts_with(prefix))
                    .cloned()
                    .collect()
            })
            .await)
    }

    fn location(&self) -> String {
        "memory".into()
    }
}
