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

impl LocalStateStore {
    /// Runs `change` on the hub's lock as it is now, holding an exclusive
    /// file lock on `lock.guard` meanwhile: every change of the lock (take,
    /// take over, renew, release) is thereby a compare-and-swap against
    /// what `change` read, whatever other threads and processes do. The
    /// lock file itself is replaced whole (write, then rename), so readers
    /// without the guard never see half of one.
    fn swap_lock<T>(
        &self,
        hub: &str,
        change: impl FnOnce(Option<LockInfo>) -> Result<(LockSwap, T)>,
    ) -> Result<T> {
        let dir = self.hub_dir(hub);
        std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        let guard_path = dir.join("lock.guard");
        let guard = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&guard_path)
            .map_err(|e| io_error(&guard_path, e))?;
        guard.lock().map_err(|e| io_error(&guard_path, e))?;
        let path = dir.join("lock.json");
        let (swap, out) = change(read_json::<LockInfo>(&path)?)?;
        match swap {
            LockSwap::Write(lock) => write_json_atomic(&path, &lock)?,
            LockSwap::Remove => std::fs::remove_file(&path).map_err(|e| io_error(&path, e))?,
        }
        drop(guard);
        Ok(out)
    }
}

/// What a lock change does to the lock file.
enum LockSwap {
    Write(LockInfo),
    Remove,
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
        self.swap_lock(hub, |current| match current {
            None => Ok((LockSwap::Write(request.clone()), None)),
            Some(holder) if holder.is_stale() => {
                Ok((LockSwap::Write(request.clone()), Some(holder)))
            }
            Some(holder) => Err(locked(hub, &holder)),
        })
    }

    async fn renew(&self, hub: &str, lock: &LockInfo) -> Result<()> {
        self.swap_lock(hub, |current| match current {
            Some(current) if current.id == lock.id => {
                let lease = lock.expires_at.saturating_sub(lock.created_at);
                let renewed = LockInfo {
                    expires_at: unix_now() + lease,
                    ..current
                };
                Ok((LockSwap::Write(renewed), ()))
            }
            Some(current) => Err(locked(hub, &current)),
            None => Err(Error::new(
                ErrorKind::NotFound,
                "state",
                format!("the lock of hub {hub} is gone; another run may have cleared it"),
            )),
        })
    }

    async fn unlock(&self, hub: &str, id: &str) -> Result<()> {
        self.swap_lock(hub, |current| match current {
            Some(current) if current.id == id => Ok((LockSwap::Remove, ())),
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
        })
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
