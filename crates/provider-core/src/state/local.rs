//! State in a local directory: `<dir>/<hub>/state.json` and `lock.json`.

use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{HubState, LockInfo, StateStore, locked_error as locked, unix_now};
use crate::error::{Error, ErrorKind, Result};

/// State kept in a directory (`.hubforge/state` beside the spec by default).
#[derive(Debug, Clone)]
pub struct LocalStateStore {
    dir: PathBuf,
}

impl LocalStateStore {
    /// State under `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> LocalStateStore {
        LocalStateStore { dir: dir.into() }
    }

    fn hub_dir(&self, hub: &str) -> PathBuf {
        self.dir.join(hub)
    }
}

fn io_error(path: &Path, error: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Permanent,
        "state",
        format!("{}: {error}", path.display()),
    )
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| io_error(path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(path, e)),
    }
}

/// Write-then-rename: a crash leaves the old file or the new one, never half.
fn write_json_atomic<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let dir = path.parent().expect("state files live in a directory");
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let temporary = path.with_extension(format!("tmp.{}", std::process::id()));
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| io_error(path, e))?;
    let mut file = std::fs::File::create(&temporary).map_err(|e| io_error(&temporary, e))?;
    file.write_all(&bytes)
        .and_then(|_| file.sync_all())
        .map_err(|e| io_error(&temporary, e))?;
    std::fs::rename(&temporary, path).map_err(|e| io_error(path, e))
}

/// Creates the lock file only if there is none: the atomic step of locking.
/// The lock is written whole to a private file first and then hard-linked
/// into place, so no other process can ever read a half-written lock.
fn create_lock(path: &Path, lock: &LockInfo) -> std::io::Result<()> {
    let private = path.with_extension(format!("{}.{}", std::process::id(), lock.id));
    {
        let mut file = std::fs::File::create(&private)?;
        file.write_all(&serde_json::to_vec_pretty(lock).expect("a lock serializes"))?;
        file.sync_all()?;
    }
    let linked = std::fs::hard_link(&private, path);
    let _ = std::fs::remove_file(&private);
    linked
}

#[async_trait]
impl StateStore for LocalStateStore {
    async fn read(&self, hub: &str) -> Result<Option<HubState>> {
        read_json(&self.hub_dir(hub).join("state.json"))
    }

    async fn write(&self, state: &HubState) -> Result<()> {
        let mut state = state.clone();
        state.updated_at = unix_now();
        write_json_atomic(&self.hub_dir(&state.hub).join("state.json"), &state)
    }

    async fn remove(&self, hub: &str) -> Result<()> {
        let path = self.hub_dir(hub).join("state.json");
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(&path, e)),
            _ => Ok(()),
        }
    }

    async fn hubs(&self) -> Result<Vec<String>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error(&self.dir, e)),
        };
        let mut hubs: Vec<String> = entries
            .filter_map(|entry| entry.ok())
            .filter(|entry| {
                entry.path().join("state.json").exists() || entry.path().join("lock.json").exists()
            })
            .filter_map(|entry| entry.file_name().into_string().ok())
            .collect();
        hubs.sort();
        Ok(hubs)
    }

    async fn lock(&self, hub: &str, request: &LockInfo) -> Result<Option<LockInfo>> {
        let dir = self.hub_dir(hub);
        std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        let path = dir.join("lock.json");
        let mut taken_over = None;
        // Two rounds: the second runs after removing a stale lock.
        for _ in 0..2 {
            match create_lock(&path, request) {
                Ok(()) => return Ok(taken_over),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_error(&path, e)),
            }
            let Some(holder) = read_json::<LockInfo>(&path)? else {
                continue;
            };
            if !holder.is_stale() || taken_over.is_some() {
                return Err(locked(hub, &holder));
            }
            std::fs::remove_file(&path).map_err(|e| io_error(&path, e))?;
            taken_over = Some(holder);
        }
        match read_json::<LockInfo>(&path)? {
            Some(holder) => Err(locked(hub, &holder)),
            None => Err(io_error(
                &path,
                "the lock changed hands while being taken; try again",
            )),
        }
    }

    async fn renew(&self, hub: &str, lock: &LockInfo) -> Result<()> {
        let path = self.hub_dir(hub).join("lock.json");
        match read_json::<LockInfo>(&path)? {
            Some(current) if current.id == lock.id => {
                let lease = lock.expires_at.saturating_sub(lock.created_at);
                let renewed = LockInfo {
                    expires_at: unix_now() + lease,
                    ..current
                };
                write_json_atomic(&path, &renewed)
            }
            Some(current) => Err(locked(hub, &current)),
            None => Err(Error::new(
                ErrorKind::NotFound,
                "state",
                format!("the lock of hub {hub} is gone; another run may have cleared it"),
            )),
        }
    }

    async fn unlock(&self, hub: &str, id: &str) -> Result<()> {
        let path = self.hub_dir(hub).join("lock.json");
        match read_json::<LockInfo>(&path)? {
            Some(current) if current.id == id => {
                std::fs::remove_file(&path).map_err(|e| io_error(&path, e))
            }
            Some(current) => Err(Error::new(
                ErrorKind::Conflict,
                "state",
                format!("hub {hub} is locked with id {}, not {id}", current.id),
            )),
            None => Err(Error::new(
                ErrorKind::NotFound,
                "state",
                format!("hub {hub} is not locked"),
            )),
        }
    }

    async fn current_lock(&self, hub: &str) -> Result<Option<LockInfo>> {
        read_json(&self.hub_dir(hub).join("lock.json"))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn store() -> (LocalStateStore, PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "hubforge-state-test-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        (LocalStateStore::new(&dir), dir)
    }

    fn rand_suffix() -> u32 {
        use rand::{Rng, SeedableRng};
        rand::rngs::StdRng::from_os_rng().random()
    }

    #[tokio::test]
    async fn a_second_lock_names_the_holder() {
        let (store, dir) = store();
        let first = LockInfo::for_this_process("apply", Duration::from_secs(600));
        assert_eq!(store.lock("hub", &first).await.unwrap(), None);
        let second = LockInfo::for_this_process("apply", Duration::from_secs(600));
        let error = store.lock("hub", &second).await.unwrap_err();
        assert!(matches!(error.kind(), ErrorKind::Locked { .. }));
        assert!(
            error.message().contains(&first.id) && error.message().contains(&first.owner),
            "{error}"
        );
        store.unlock("hub", &first.id).await.unwrap();
        store.lock("hub", &second).await.unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_stale_lock_is_taken_over_and_reported() {
        let (store, dir) = store();
        let dead = LockInfo {
            pid: u32::MAX - 1,
            ..LockInfo::for_this_process("apply", Duration::from_secs(600))
        };
        let expired = LockInfo {
            expires_at: 1,
            ..dead.clone()
        };
        store.lock("hub", &expired).await.unwrap();
        let mine = LockInfo::for_this_process("apply", Duration::from_secs(600));
        let previous = store
            .lock("hub", &mine)
            .await
            .unwrap()
            .expect("the stale lock is reported");
        assert_eq!(previous.id, expired.id);
        assert_eq!(
            store.current_lock("hub").await.unwrap().unwrap().id,
            mine.id
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn state_round_trips_and_lists_hubs() {
        let (store, dir) = store();
        let mut state = HubState::new("alpha", "sim");
        state.resources.insert(
            "cluster".into(),
            super::super::ResourceRecord {
                physical: "alpha".into(),
                outputs: Default::default(),
                recorded_at: 1,
            },
        );
        store.write(&state).await.unwrap();
        let read = store.read("alpha").await.unwrap().unwrap();
        assert_eq!(read.resources, state.resources);
        assert_eq!(store.hubs().await.unwrap(), vec!["alpha".to_string()]);
        store.remove("alpha").await.unwrap();
        assert!(store.read("alpha").await.unwrap().is_none());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
