//! What hubforge owns, and who may change it right now.
//!
//! A [`StateStore`] keeps one [`HubState`] per hub — the resources
//! hubforge created, journalled as each action finishes — and a lock with
//! an owner, a lease and an id. State never holds a credential or a secret:
//! only names, kinds and public outputs (endpoints, URLs, principals).
//!
//! State is a record, not the truth: the engine always observes the cloud,
//! and finds what it owns by tags if the state is lost.
//!
//! Every store is one [`ObjectStateStore`] over an [`ObjectStore`] — a few
//! conditional object operations — so the lock algorithm and the rule that
//! no state write is lost are written once: [`LocalStateStore`] keeps files
//! in a directory ([`DirectoryObjects`]), the provider crates adapt S3, GCS
//! and Azure Blob, and [`MemoryObjects`] is the reference for tests.

mod local;
mod memory;
mod object;

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
pub use local::{DirectoryObjects, LocalStateStore};
pub use memory::MemoryObjects;
pub use object::{Object, ObjectBacked, ObjectStateStore, ObjectStore, Outcome, Version};

/// Version of the state file format.
pub const STATE_VERSION: u32 = 1;

/// Everything hubforge owns for one hub.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubState {
    /// File format version.
    pub version: u32,
    /// Logical hub name.
    pub hub: String,
    /// Provider name.
    pub provider: String,
    /// Bumped on every write.
    pub serial: u64,
    /// Unix seconds of the last write.
    pub updated_at: u64,
    /// Owned resources, by node id (`node_pool/core`).
    pub resources: BTreeMap<String, ResourceRecord>,
}

/// One owned resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRecord {
    /// Physical name.
    pub physical: String,
    /// Public facts about it (endpoint, URL, principal); never secrets.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, String>,
    /// Unix seconds when hubforge last saw an action on it finish.
    pub recorded_at: u64,
}

impl HubState {
    /// An empty state for `hub`.
    pub fn new(hub: &str, provider: &str) -> HubState {
        HubState {
            version: STATE_VERSION,
            hub: hub.into(),
            provider: provider.into(),
            ..HubState::default()
        }
    }
}

/// Who holds a hub's lock, for how long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Lock id: what `hubforge state unlock ID` takes.
    pub id: String,
    /// `user@host`.
    pub owner: String,
    /// Host name.
    pub host: String,
    /// Process id on that host.
    pub pid: u32,
    /// What the holder is doing (`apply`, `destroy`).
    pub operation: String,
    /// Unix seconds when taken.
    pub created_at: u64,
    /// Unix seconds when the lease runs out unless renewed.
    pub expires_at: u64,
}

impl fmt::Display for LockInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (pid {}, {}) since {}, lock id {}",
            self.owner,
            self.pid,
            self.operation,
            format_utc(self.created_at),
            self.id
        )
    }
}

impl LockInfo {
    /// A lock for this process, leased for `lease`.
    pub fn for_this_process(operation: &str, lease: Duration) -> LockInfo {
        let host = host_name();
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_else(|_| "unknown".into());
        let now = unix_now();
        let pid = std::process::id();
        LockInfo {
            id: {
                use rand::{Rng, SeedableRng};
                format!("{:08x}", rand::rngs::StdRng::from_os_rng().random::<u32>())
            },
            owner: format!("{user}@{host}"),
            host,
            pid,
            operation: operation.into(),
            created_at: now,
            expires_at: now + lease.as_secs().max(1),
        }
    }

    /// Whether the holder is certainly gone: its lease ran out, or it ran on
    /// this host and its process no longer exists.
    pub fn is_stale(&self) -> bool {
        if self.expires_at < unix_now() {
            return true;
        }
        self.host == host_name() && !process_alive(self.pid)
    }
}

/// Where hub state and locks live.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// Reads a hub's state; `None` if there is none.
    async fn read(&self, hub: &str) -> Result<Option<HubState>>;
    /// Replaces a hub's state atomically. A state follows the one whose
    /// serial is one less: where another state is stored (another run wrote
    /// since this one read), the write is refused with `Conflict` and
    /// nothing is lost. Writing what is stored already succeeds.
    async fn write(&self, state: &HubState) -> Result<()>;
    /// Removes a hub's state (after a clean destroy).
    async fn remove(&self, hub: &str) -> Result<()>;
    /// Every hub with state here.
    async fn hubs(&self) -> Result<Vec<String>>;
    /// Takes the hub's lock, or fails with `Locked` naming the holder. A
    /// stale lock (see [`LockInfo::is_stale`]) is taken over; the old
    /// holder is returned so the caller can warn about it.
    async fn lock(&self, hub: &str, request: &LockInfo) -> Result<Option<LockInfo>>;
    /// Extends the lease of a lock this process holds.
    async fn renew(&self, hub: &str, lock: &LockInfo) -> Result<()>;
    /// Releases the lock with this id (also how a stale lock is cleared by hand).
    async fn unlock(&self, hub: &str, id: &str) -> Result<()>;
    /// The current lock, if any.
    async fn current_lock(&self, hub: &str) -> Result<Option<LockInfo>>;
}

/// The error every store gives when another run holds a hub's lock:
/// who, since when, and the command that clears it.
pub fn locked_error(hub: &str, holder: &LockInfo) -> crate::Error {
    crate::Error::new(
        crate::ErrorKind::Locked {
            holder: holder.to_string(),
            lock_id: holder.id.clone(),
        },
        "state",
        format!(
            "hub {hub} is locked by {holder}; if that run is gone, clear the lock with `hubforge state unlock {}`",
            holder.id
        ),
    )
}

/// Unix seconds now.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `2026-11-21 20:01:02 UTC` from Unix seconds (no time-zone database needed).
pub fn format_utc(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let seconds = unix % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// Whether a process runs on this host. Where `/proc` is missing the answer
/// is "alive", so only the lease can free the lock: never a false takeover.
fn process_alive(pid: u32) -> bool {
    let proc = std::path::Path::new("/proc");
    if !proc.exists() {
        return true;
    }
    match std::fs::read_to_string(proc.join(pid.to_string()).join("stat")) {
        // A zombie has exited; only its parent has not collected it yet.
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formatting_matches_known_dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_utc(1_795_291_262), "2026-11-21 20:01:02 UTC");
    }

    #[test]
    fn own_lock_is_live_and_a_dead_pid_is_stale() {
        let mine = LockInfo::for_this_process("apply", Duration::from_secs(60));
        assert!(!mine.is_stale());
        let expired = LockInfo {
            expires_at: 1,
            ..mine.clone()
        };
        assert!(expired.is_stale());
        if std::path::Path::new("/proc").exists() {
            let gone = LockInfo {
                pid: u32::MAX - 1,
                ..mine
            };
            assert!(gone.is_stale());
        }
    }
}
