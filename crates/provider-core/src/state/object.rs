//! One [`StateStore`] over any object store with conditional writes.
//!
//! [`ObjectStore`] is the small set of operations a store must offer:
//! read an object with its version, create it only if it is absent, and
//! replace or delete it only if it still has the version read. S3 gives
//! them with `If-None-Match: *` and `If-Match` on ETags, GCS with
//! `ifGenerationMatch`, Azure Blob with `If-None-Match: *` and `If-Match`;
//! a local directory gives them under a file lock ([`super::DirectoryObjects`]),
//! and [`super::MemoryObjects`] is the reference the others are held to.
//!
//! [`ObjectStateStore`] keeps `<prefix><hub>/state.json` and
//! `<prefix><hub>/lock.json` in such a store, and every change of either is
//! one of those conditional operations against the version it read:
//!
//! - a lock is taken by creating the lock object; a stale one (see
//!   [`LockInfo::is_stale`]) is taken over by replacing exactly the version
//!   found stale, so of many runs that find it, one takes it;
//! - a lock is renewed and released by replacing or deleting the version
//!   that names the holder, so a run never changes a lock it does not hold;
//! - state is written only over the state it follows (the stored serial is
//!   one less than the written one), so a write made from an old read is
//!   refused instead of losing what was written meanwhile.
//!
//! Whoever loses a race reads again and is told what it lost to: the
//! winner of a lock (with [`locked_error`]), or the newer state.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use super::{HubState, LockInfo, StateStore, locked_error, unix_now};
use crate::error::{Error, ErrorKind, Result};

/// How often one call goes round read-then-change before giving up. Each
/// round that fails does so because another run changed the object, and
/// the next read sees that change, so two rounds settle almost every race.
const ROUNDS: usize = 8;

/// An object's version as its store gives it: an S3 or Azure ETag, a GCS
/// generation. Opaque: only the store compares it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version(String);

impl Version {
    /// A version from the store's own token.
    pub fn new(token: impl Into<String>) -> Version {
        Version(token.into())
    }

    /// The store's token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An object's bytes and the version they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// The object's content.
    pub body: Vec<u8>,
    /// Its version, for a later conditional change.
    pub version: Version,
}

/// What a conditional change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Outcome {
    /// The condition held and the change was made.
    Done,
    /// The object was not as the condition required — it exists (create),
    /// or it is gone or has another version (replace, delete) — and
    /// nothing was changed.
    ConditionFailed,
}

/// Conditional operations on the objects of one bucket or container.
///
/// A failed condition is [`Outcome::ConditionFailed`], never an error: it
/// is the answer to a race, and the caller acts on it. Errors are for the
/// store failing (no access, no bucket, the network).
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// The object at `key` and its version; `None` if there is none.
    async fn get(&self, key: &str) -> Result<Option<Object>>;
    /// Writes `body` at `key` only if no object is there.
    async fn create(&self, key: &str, body: &[u8]) -> Result<Outcome>;
    /// Writes `body` at `key` only if the object there has `version`.
    async fn replace(&self, key: &str, version: &Version, body: &[u8]) -> Result<Outcome>;
    /// Deletes the object at `key` only if it has `version`.
    async fn delete(&self, key: &str, version: &Version) -> Result<Outcome>;
    /// The keys that start with `prefix`, sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>>;
    /// Where the objects are (`s3://bucket`, a directory), for messages.
    fn location(&self) -> String;
}

/// Hub state and locks in an [`ObjectStore`], under a prefix. Cheap to
/// clone; clones and other stores over the same objects share the state.
#[derive(Clone)]
pub struct ObjectStateStore {
    objects: Arc<dyn ObjectStore>,
    prefix: String,
}

impl fmt::Debug for ObjectStateStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStateStore")
            .field("location", &self.objects.location())
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl ObjectStateStore {
    /// State in `objects` under `prefix` (may be empty; a `/` is added
    /// after a prefix without one).
    pub fn new(objects: Arc<dyn ObjectStore>, prefix: impl Into<String>) -> ObjectStateStore {
        let mut prefix = prefix.into();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        ObjectStateStore { objects, prefix }
    }

    /// The objects the state is kept in.
    pub fn objects(&self) -> &Arc<dyn ObjectStore> {
        &self.objects
    }

    /// The prefix of every key, empty or ending in `/`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn key(&self, hub: &str, file: &str) -> String {
        format!("{}{hub}/{file}", self.prefix)
    }

    fn error(&self, kind: ErrorKind, key: &str, message: impl Into<String>) -> Error {
        Error::new(kind, "state", message)
            .with_resource(format!("{}/{key}", self.objects.location()))
    }

    /// The object at `key` read as `T`, with its version.
    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
        what: &str,
    ) -> Result<Option<(T, Version)>> {
        let Some(object) = self.objects.get(key).await? else {
            return Ok(None);
        };
        let value = serde_json::from_slice(&object.body).map_err(|e| {
            self.error(
                ErrorKind::Permanent,
                key,
                format!("{key} is not {what}: {e}"),
            )
        })?;
        Ok(Some((value, object.version)))
    }

    async fn get_lock(&self, hub: &str) -> Result<Option<(LockInfo, Version)>> {
        self.get_json(&self.key(hub, "lock.json"), "a hubforge lock")
            .await
    }

    fn gave_up(&self, key: &str, what: &str) -> Error {
        self.error(
            ErrorKind::Conflict,
            key,
            format!("{what} changed {ROUNDS} times while this run tried to change it; try again"),
        )
    }
}

/// A state store that is an [`ObjectStateStore`] over objects of its own
/// (an S3 bucket, a directory): it is a [`StateStore`] through it, so an
/// adapter is its [`ObjectStore`] and a constructor.
pub trait ObjectBacked: Send + Sync {
    /// The store over this one's objects.
    fn object_state_store(&self) -> &ObjectStateStore;
}

#[async_trait]
impl<T: ObjectBacked> StateStore for T {
    async fn read(&self, hub: &str) -> Result<Option<HubState>> {
        self.object_state_store().read(hub).await
    }
    async fn write(&self, state: &HubState) -> Result<()> {
        self.object_state_store().write(state).await
    }
    async fn remove(&self, hub: &str) -> Result<()> {
        self.object_state_store().remove(hub).await
    }
    async fn hubs(&self) -> Result<Vec<String>> {
        self.object_state_store().hubs().await
    }
    async fn lock(&self, hub: &str, request: &LockInfo) -> Result<Option<LockInfo>> {
        self.object_state_store().lock(hub, request).await
    }
    async fn renew(&self, hub: &str, lock: &LockInfo) -> Result<()> {
        self.object_state_store().renew(hub, lock).await
    }
    async fn unlock(&self, hub: &str, id: &str) -> Result<()> {
        self.object_state_store().unlock(hub, id).await
    }
    async fn current_lock(&self, hub: &str) -> Result<Option<LockInfo>> {
        self.object_state_store().current_lock(hub).await
    }
}

fn body<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec_pretty(value).expect("state and locks serialize")
}

/// Whether two states differ only in when they were written.
fn same_state(a: &HubState, b: &HubState) -> bool {
    HubState {
        updated_at: 0,
        ..a.clone()
    } == HubState {
        updated_at: 0,
        ..b.clone()
    }
}

#[async_trait]
impl StateStore for ObjectStateStore {
    async fn read(&self, hub: &str) -> Result<Option<HubState>> {
        let key = self.key(hub, "state.json");
        Ok(self
            .get_json(&key, "hubforge state")
            .await?
            .map(|(state, _)| state))
    }

    /// Writes `state` over the state whose serial is one less, or where
    /// there is none; a write that follows any other state is refused with
    /// `Conflict` (another run wrote meanwhile, and this write would lose
    /// what it wrote). Writing what is already there (a retry after a lost
    /// answer) succeeds.
    async fn write(&self, state: &HubState) -> Result<()> {
        let key = self.key(&state.hub, "state.json");
        let mut state = state.clone();
        state.updated_at = unix_now();
        let bytes = body(&state);
        for _ in 0..ROUNDS {
            let outcome = match self.get_json::<HubState>(&key, "hubforge state").await? {
                None => self.objects.create(&key, &bytes).await?,
                Some((stored, _)) if same_state(&stored, &state) => return Ok(()),
                Some((stored, version)) if stored.serial.checked_add(1) == Some(state.serial) => {
                    self.objects.replace(&key, &version, &bytes).await?
                }
                Some((stored, _)) => {
                    return Err(self.error(
                        ErrorKind::Conflict,
                        &key,
                        format!(
                            "the state of hub {} was written by another run since this one read it (serial {} is stored; this write follows serial {}); nothing was written",
                            state.hub,
                            stored.serial,
                            state.serial.saturating_sub(1)
                        ),
                    ));
                }
            };
            if outcome == Outcome::Done {
                return Ok(());
            }
        }
        Err(self.gave_up(&key, &format!("the state of hub {}", state.hub)))
    }

    async fn remove(&self, hub: &str) -> Result<()> {
        let key = self.key(hub, "state.json");
        for _ in 0..ROUNDS {
            let Some(object) = self.objects.get(&key).await? else {
                return Ok(());
            };
            if self.objects.delete(&key, &object.version).await? == Outcome::Done {
                return Ok(());
            }
        }
        Err(self.gave_up(&key, &format!("the state of hub {hub}")))
    }

    async fn hubs(&self) -> Result<Vec<String>> {
        let hubs: BTreeSet<String> = self
            .objects
            .list(&self.prefix)
            .await?
            .iter()
            .filter_map(|key| key.strip_prefix(&self.prefix)?.split_once('/'))
            .filter(|(hub, file)| !hub.is_empty() && matches!(*file, "state.json" | "lock.json"))
            .map(|(hub, _)| hub.to_string())
            .collect();
        Ok(hubs.into_iter().collect())
    }

    async fn lock(&self, hub: &str, request: &LockInfo) -> Result<Option<LockInfo>> {
        let key = self.key(hub, "lock.json");
        let bytes = body(request);
        for _ in 0..ROUNDS {
            match self.get_lock(hub).await? {
                None => {
                    if self.objects.create(&key, &bytes).await? == Outcome::Done {
                        return Ok(None);
                    }
                }
                Some((holder, _)) if !holder.is_stale() => return Err(locked_error(hub, &holder)),
                Some((holder, version)) => {
                    if self.objects.replace(&key, &version, &bytes).await? == Outcome::Done {
                        return Ok(Some(holder));
                    }
                }
            }
            // Another run changed the lock between our read and our
            // change; the next read says who holds it now.
        }
        Err(self.gave_up(&key, &format!("the lock of hub {hub}")))
    }

    async fn renew(&self, hub: &str, lock: &LockInfo) -> Result<()> {
        let key = self.key(hub, "lock.json");
        let lease = lock.expires_at.saturating_sub(lock.created_at);
        for _ in 0..ROUNDS {
            let outcome = match self.get_lock(hub).await? {
                Some((current, version)) if current.id == lock.id => {
                    let renewed = LockInfo {
                        expires_at: unix_now() + lease,
                        ..current
                    };
                    self.objects
                        .replace(&key, &version, &body(&renewed))
                        .await?
                }
                Some((current, _)) => return Err(locked_error(hub, &current)),
                None => {
                    return Err(self.error(
                        ErrorKind::NotFound,
                        &key,
                        format!("the lock of hub {hub} is gone; another run may have cleared it"),
                    ));
                }
            };
            if outcome == Outcome::Done {
                return Ok(());
            }
        }
        Err(self.gave_up(&key, &format!("the lock of hub {hub}")))
    }

    async fn unlock(&self, hub: &str, id: &str) -> Result<()> {
        let key = self.key(hub, "lock.json");
        for _ in 0..ROUNDS {
            match self.get_lock(hub).await? {
                Some((current, version)) if current.id == id => {
                    if self.objects.delete(&key, &version).await? == Outcome::Done {
                        return Ok(());
                    }
                }
                Some((current, _)) => {
                    return Err(self.error(
                        ErrorKind::Conflict,
                        &key,
                        format!("hub {hub} is locked with id {}, not {id}", current.id),
                    ));
                }
                None => {
                    return Err(self.error(
                        ErrorKind::NotFound,
                        &key,
                        format!("hub {hub} is not locked"),
                    ));
                }
            }
        }
        Err(self.gave_up(&key, &format!("the lock of hub {hub}")))
    }

    async fn current_lock(&self, hub: &str) -> Result<Option<LockInfo>> {
        Ok(self.get_lock(hub).await?.map(|(lock, _)| lock))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::state::{MemoryObjects, ResourceRecord};

    /// Objects where another run acts once, between this run's read and
    /// its first conditional change: it writes `sneak` at the key (or, if
    /// `sneak` is empty, the change fails with nothing changed, as S3's
    /// `409 ConditionalRequestConflict` does).
    struct Interfered {
        inner: MemoryObjects,
        sneak: Mutex<Option<Vec<u8>>>,
    }

    impl Interfered {
        fn new() -> Arc<Interfered> {
            Arc::new(Interfered {
                inner: MemoryObjects::new(),
                sneak: Mutex::new(None),
            })
        }

        fn arm(&self, sneak: Vec<u8>) {
            *self.sneak.lock().unwrap() = Some(sneak);
        }

        /// Does the other run's part, if it has not yet; `true` if this
        /// change is to fail with nothing changed.
        async fn interfere(&self, key: &str) -> bool {
            let Some(sneak) = self.sneak.lock().unwrap().take() else {
                return false;
            };
            if sneak.is_empty() {
                return true;
            }
            let outcome = match self.inner.get(key).await.unwrap() {
                Some(current) => self.inner.replace(key, &current.version, &sneak).await,
                None => self.inner.create(key, &sneak).await,
            };
            assert_eq!(outcome.unwrap(), Outcome::Done);
            false
        }
    }

    #[async_trait]
    impl ObjectStore for Interfered {
        async fn get(&self, key: &str) -> Result<Option<Object>> {
            self.inner.get(key).await
        }
        async fn create(&self, key: &str, body: &[u8]) -> Result<Outcome> {
            if self.interfere(key).await {
                return Ok(Outcome::ConditionFailed);
            }
            self.inner.create(key, body).await
        }
        async fn replace(&self, key: &str, version: &Version, body: &[u8]) -> Result<Outcome> {
            if self.interfere(key).await {
                return Ok(Outcome::ConditionFailed);
            }
            self.inner.replace(key, version, body).await
        }
        async fn delete(&self, key: &str, version: &Version) -> Result<Outcome> {
            if self.interfere(key).await {
                return Ok(Outcome::ConditionFailed);
            }
            self.inner.delete(key, version).await
        }
        async fn list(&self, prefix: &str) -> Result<Vec<String>> {
            self.inner.list(prefix).await
        }
        fn location(&self) -> String {
            "interfered".into()
        }
    }

    fn live() -> LockInfo {
        LockInfo::for_this_process("apply", Duration::from_secs(600))
    }

    fn expired() -> LockInfo {
        LockInfo {
            expires_at: 1,
            ..live()
        }
    }

    fn locked_by(error: &Error, holder: &LockInfo) -> bool {
        matches!(error.kind(), ErrorKind::Locked { lock_id, .. } if lock_id == &holder.id)
    }

    fn state(serial: u64, resource: &str) -> HubState {
        let mut state = HubState::new("hub", "sim");
        state.serial = serial;
        state.resources.insert(
            resource.into(),
            ResourceRecord {
                physical: resource.into(),
                outputs: Default::default(),
                recorded_at: 1,
            },
        );
        state
    }

    #[tokio::test]
    async fn a_taker_beaten_to_a_stale_lock_is_told_the_winner() {
        let objects = Interfered::new();
        let store = ObjectStateStore::new(objects.clone(), "team");
        store.lock("hub", &expired()).await.unwrap();
        let winner = live();
        objects.arm(body(&winner));
        let error = store.lock("hub", &live()).await.unwrap_err();
        assert!(locked_by(&error, &winner), "{error}");
        assert_eq!(store.current_lock("hub").await.unwrap(), Some(winner));
    }

    #[tokio::test]
    async fn a_taker_beaten_to_a_free_lock_is_told_the_winner() {
        let objects = Interfered::new();
        let store = ObjectStateStore::new(objects.clone(), "");
        let winner = live();
        objects.arm(body(&winner));
        let error = store.lock("hub", &live()).await.unwrap_err();
        assert!(locked_by(&error, &winner), "{error}");
        assert_eq!(objects.inner.list("").await.unwrap(), ["hub/lock.json"]);
    }

    #[tokio::test]
    async fn a_holder_whose_lock_was_taken_over_neither_renews_nor_releases_it() {
        let objects = Interfered::new();
        let store = ObjectStateStore::new(objects.clone(), "");
        let mine = live();
        store.lock("hub", &mine).await.unwrap();
        // Taken over between the renewal's read and its change.
        let second = live();
        objects.arm(body(&second));
        let error = store.renew("hub", &mine).await.unwrap_err();
        assert!(locked_by(&error, &second), "{error}");
        // Taken over between the release's read and its delete.
        let third = live();
        objects.arm(body(&third));
        let error = store.unlock("hub", &second.id).await.unwrap_err();
        assert_eq!(error.kind(), &ErrorKind::Conflict, "{error}");
        assert!(error.message().contains(&third.id), "{error}");
        assert_eq!(store.current_lock("hub").await.unwrap(), Some(third));
    }

    #[tokio::test]
    async fn a_write_beaten_by_another_write_is_refused_and_loses_nothing() {
        let objects = Interfered::new();
        let store = ObjectStateStore::new(objects.clone(), "");
        store.write(&state(1, "cluster")).await.unwrap();
        let theirs = state(2, "theirs");
        objects.arm(body(&theirs));
        let error = store.write(&state(2, "mine")).await.unwrap_err();
        assert_eq!(error.kind(), &ErrorKind::Conflict, "{error}");
        assert!(error.message().contains("serial 2 is stored"), "{error}");
        assert_eq!(store.read("hub").await.unwrap(), Some(theirs));
    }

    #[tokio::test]
    async fn a_change_refused_with_nothing_changed_is_made_on_the_next_round() {
        let objects = Interfered::new();
        let store = ObjectStateStore::new(objects.clone(), "");
        for _ in 0..2 {
            objects.arm(Vec::new());
            store.write(&state(1, "cluster")).await.unwrap();
            objects.arm(Vec::new());
            store.remove("hub").await.unwrap();
        }
        let mine = live();
        objects.arm(Vec::new());
        assert_eq!(store.lock("hub", &mine).await.unwrap(), None);
        objects.arm(Vec::new());
        store.renew("hub", &mine).await.unwrap();
        objects.arm(Vec::new());
        store.unlock("hub", &mine.id).await.unwrap();
        assert!(objects.inner.list("").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn state_follows_only_the_state_it_read() {
        let store = ObjectStateStore::new(Arc::new(MemoryObjects::new()), "p/");
        store.write(&state(3, "cluster")).await.unwrap();
        for serial in [3, 5, 0] {
            let error = store.write(&state(serial, "pool")).await.unwrap_err();
            assert_eq!(error.kind(), &ErrorKind::Conflict, "serial {serial}");
        }
        // A retried write of what is stored is not a conflict.
        store.write(&state(3, "cluster")).await.unwrap();
        store.write(&state(4, "pool")).await.unwrap();
        assert_eq!(store.read("hub").await.unwrap().unwrap().serial, 4);
        assert_eq!(
            store.objects().list("").await.unwrap(),
            ["p/hub/state.json"]
        );
    }

    #[tokio::test]
    async fn what_is_not_state_or_a_lock_is_reported_not_overwritten() {
        let objects = Arc::new(MemoryObjects::new());
        let store = ObjectStateStore::new(objects.clone(), "");
        assert_eq!(
            objects.create("hub/lock.json", b"<html>").await.unwrap(),
            Outcome::Done
        );
        let error = store.lock("hub", &live()).await.unwrap_err();
        assert_eq!(error.kind(), &ErrorKind::Permanent, "{error}");
        assert!(error.message().contains("not a hubforge lock"), "{error}");
        assert_eq!(
            objects.get("hub/lock.json").await.unwrap().unwrap().body,
            b"<html>"
        );
    }
}
