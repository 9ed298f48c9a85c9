//! State in a local directory: `<dir>/<hub>/state.json` and `lock.json`,
//! kept by an [`ObjectStateStore`] over [`DirectoryObjects`].

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use super::memory::{content_version, has_version};
use super::object::{Object, ObjectBacked, ObjectStateStore, ObjectStore, Outcome, Version};
use crate::error::{Error, ErrorKind, Result};

/// State kept in a directory (`.hubforge/state` beside the spec by default).
#[derive(Debug, Clone)]
pub struct LocalStateStore {
    store: ObjectStateStore,
}

impl LocalStateStore {
    /// State under `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> LocalStateStore {
        LocalStateStore {
            store: ObjectStateStore::new(Arc::new(DirectoryObjects::new(dir)), ""),
        }
    }
}

impl ObjectBacked for LocalStateStore {
    fn object_state_store(&self) -> &ObjectStateStore {
        &self.store
    }
}

/// Objects as files under a directory: key `a/b.json` is `<dir>/a/b.json`.
///
/// Every conditional change holds an exclusive file lock on the object's
/// guard file (`b.guard` beside `b.json`) while it compares and changes,
/// so it is one step for every thread and process on this machine. A file
/// is replaced whole (written beside it, then renamed over it), so readers
/// without the guard never see half of one. Versions are derived from the
/// content, as S3's ETags are.
#[derive(Debug, Clone)]
pub struct DirectoryObjects {
    dir: PathBuf,
}

impl DirectoryObjects {
    /// Objects under `dir` (made when the first object is written).
    pub fn new(dir: impl Into<PathBuf>) -> DirectoryObjects {
        DirectoryObjects { dir: dir.into() }
    }

    /// The file of `key`; keys are relative paths without `.` or `..`.
    fn path(&self, key: &str) -> Result<PathBuf> {
        let parts: Vec<&str> = key.split('/').collect();
        if parts
            .iter()
            .any(|p| p.is_empty() || *p == "." || *p == ".." || p.contains('\\'))
        {
            return Err(Error::new(
                ErrorKind::Permanent,
                "state",
                format!("{key:?} is not a valid object key"),
            ));
        }
        Ok(parts
            .iter()
            .fold(self.dir.clone(), |path, part| path.join(part)))
    }

    /// Under the object's guard: `change` the object if `holds` says the
    /// condition holds for what is there now (`None`: no object).
    fn swap(
        &self,
        key: &str,
        holds: impl FnOnce(Option<&Vec<u8>>) -> bool,
        change: Option<&[u8]>,
    ) -> Result<Outcome> {
        let path = self.path(key)?;
        let dir = path.parent().expect("object files live in a directory");
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
        let guard_path = path.with_extension("guard");
        let guard = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&guard_path)
            .map_err(|e| io_error(&guard_path, e))?;
        guard.lock().map_err(|e| io_error(&guard_path, e))?;
        if !holds(read_file(&path)?.as_ref()) {
            return Ok(Outcome::ConditionFailed);
        }
        match change {
            Some(body) => write_atomic(&path, body)?,
            None => std::fs::remove_file(&path).map_err(|e| io_error(&path, e))?,
        }
        drop(guard);
        Ok(Outcome::Done)
    }

    /// Every object file below `dir`, as keys.
    fn walk(dir: &Path, key: &str, keys: &mut Vec<String>) -> Result<()> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_error(dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| io_error(dir, e))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let child = format!("{key}{name}");
            let kind = entry.file_type().map_err(|e| io_error(&entry.path(), e))?;
            if kind.is_dir() {
                Self::walk(&entry.path(), &format!("{child}/"), keys)?;
            } else if kind.is_file() && !name.ends_with(".guard") && !name.contains(".tmp.") {
                keys.push(child);
            }
        }
        Ok(())
    }
}

#[async_trait]
impl ObjectStore for DirectoryObjects {
    async fn get(&self, key: &str) -> Result<Option<Object>> {
        Ok(read_file(&self.path(key)?)?.map(|body| Object {
            version: content_version(&body),
            body,
        }))
    }

    async fn create(&self, key: &str, body: &[u8]) -> Result<Outcome> {
        self.swap(key, |current| current.is_none(), Some(body))
    }

    async fn replace(&self, key: &str, version: &Version, body: &[u8]) -> Result<Outcome> {
        self.swap(key, |current| has_version(current, version), Some(body))
    }

    async fn delete(&self, key: &str, version: &Version) -> Result<Outcome> {
        self.swap(key, |current| has_version(current, version), None)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let mut keys = Vec::new();
        Self::walk(&self.dir, "", &mut keys)?;
        keys.retain(|key| key.starts_with(prefix));
        keys.sort();
        Ok(keys)
    }

    fn location(&self) -> String {
        self.dir.display().to_string()
    }
}

fn io_error(path: &Path, error: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Permanent,
        "state",
        format!("{}: {error}", path.display()),
    )
}

fn read_file(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(path, e)),
    }
}

/// Write-then-rename: a crash leaves the old file or the new one, never
/// half. The temporary file's name is this process's and this write's own.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().expect("object files live in a directory");
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(
        ".tmp.{}.{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let temporary = PathBuf::from(temporary);
    let mut file = std::fs::File::create(&temporary).map_err(|e| io_error(&temporary, e))?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(|e| io_error(&temporary, e))?;
    std::fs::rename(&temporary, path).map_err(|e| io_error(path, e))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::{HubState, LockInfo, StateStore};
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

    /// The lock or state file at `path`, as the store left it.
    fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>> {
        read_file(path)?
            .map(|bytes| serde_json::from_slice(&bytes).map_err(|e| io_error(path, e)))
            .transpose()
    }

    /// Puts `value` at `path` as another process would have left it.
    fn write_json_atomic<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
        write_atomic(path, &serde_json::to_vec_pretty(value).expect("serializes"))
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

    /// Many runs find one stale lock at once: exactly one takes it over,
    /// every other is told who holds it, every round.
    #[test]
    fn racing_takers_of_a_stale_lock_leave_one_holder_every_round() {
        const TAKERS: usize = 16;
        const ROUNDS: usize = 500;
        let (store, dir) = store();
        let stale = LockInfo {
            pid: u32::MAX - 1,
            ..LockInfo::for_this_process("apply", Duration::from_secs(600))
        };
        let start = std::sync::Barrier::new(TAKERS + 1);
        let finish = std::sync::Barrier::new(TAKERS + 1);
        let outcomes = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..TAKERS {
                scope.spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .unwrap();
                    for _ in 0..ROUNDS {
                        let mine = LockInfo::for_this_process("apply", Duration::from_secs(600));
                        start.wait();
                        let outcome = runtime.block_on(store.lock("hub", &mine));
                        outcomes.lock().unwrap().push((mine.id, outcome));
                        finish.wait();
                    }
                });
            }
            // Every round is checked after all have run, so a failed round
            // cannot leave the takers waiting at a barrier.
            let mut problems = Vec::new();
            for round in 0..ROUNDS {
                let path = dir.join("hub").join("lock.json");
                write_json_atomic(&path, &stale).unwrap();
                start.wait();
                finish.wait();
                let results = std::mem::take(&mut *outcomes.lock().unwrap());
                let winners: Vec<&String> = results
                    .iter()
                    .filter(|(_, o)| o.is_ok())
                    .map(|(id, _)| id)
                    .collect();
                if winners.len() != 1 {
                    problems.push(format!("round {round}: {} holders", winners.len()));
                    let _ = std::fs::remove_file(&path);
                    continue;
                }
                for (_, outcome) in &results {
                    match outcome {
                        Ok(taken_over) if taken_over.as_ref().map(|l| &l.id) != Some(&stale.id) => {
                            problems.push(format!(
                                "round {round}: the winner did not report the stale lock"
                            ));
                        }
                        Err(error) if !matches!(error.kind(), ErrorKind::Locked { lock_id, .. } if lock_id == winners[0]) =>
                        {
                            problems.push(format!(
                                "round {round}: a loser was not told who holds the lock: {error}"
                            ));
                        }
                        _ => {}
                    }
                }
                match read_json::<LockInfo>(&path) {
                    Ok(Some(holder)) if &holder.id == winners[0] => {}
                    other => problems.push(format!("round {round}: the lock file holds {other:?}")),
                }
                let _ = std::fs::remove_file(&path);
            }
            assert!(
                problems.is_empty(),
                "{} of {ROUNDS} rounds went wrong: {:?}",
                problems.len(),
                &problems[..problems.len().min(10)]
            );
        });
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
