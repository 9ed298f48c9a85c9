//! Typed events from the engine, for progress views and JSON logs.
//!
//! The engine never prints. It sends [`Event`]s to an [`EventSink`]; the
//! CLI renders them as live progress lines or JSON lines, and a program can
//! collect, forward or ignore them.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

/// What an action does to its resource.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Make it.
    Create,
    /// Change it in place.
    Update,
    /// Remove it.
    Delete,
    /// Wait for an operation already running on it (a previous run's, or
    /// someone else's) to finish.
    Wait,
}

impl Change {
    /// `creating`, `updating`, … as in "Still creating…".
    pub fn progressive(self) -> &'static str {
        match self {
            Change::Create => "creating",
            Change::Update => "updating",
            Change::Delete => "destroying",
            Change::Wait => "waiting",
        }
    }
}

/// Something the engine did or saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The plan is ready.
    Planned {
        /// Actions to run.
        actions: usize,
    },
    /// An action started.
    Started {
        /// Action id within the plan.
        action: usize,
        /// Node id (`node_pool/core`).
        node: String,
        /// What it does.
        change: Change,
        /// Physical name.
        physical: String,
    },
    /// A running action reported progress.
    Progress {
        /// Action id.
        action: usize,
        /// The cloud's status word.
        status: String,
        /// Percent done, where known.
        percent: Option<u8>,
        /// Time since the action started.
        #[serde(with = "seconds")]
        elapsed: Duration,
    },
    /// A request of an action failed temporarily and will be tried again.
    Retrying {
        /// Action id.
        action: usize,
        /// Why.
        error: String,
        /// Attempt number that failed (1-based).
        attempt: u32,
        /// Wait before the next attempt.
        #[serde(with = "seconds")]
        delay: Duration,
    },
    /// An action finished.
    Done {
        /// Action id.
        action: usize,
        /// How long it took.
        #[serde(with = "seconds")]
        elapsed: Duration,
    },
    /// An action failed.
    Failed {
        /// Action id.
        action: usize,
        /// Why.
        error: String,
    },
    /// An action did not run because something it depends on failed or the
    /// run was cancelled.
    Skipped {
        /// Action id.
        action: usize,
        /// Why.
        reason: String,
    },
    /// Something an operator should know.
    Warning {
        /// What.
        message: String,
    },
}

/// Where events go. Cheap to clone.
pub type EventSink = Arc<dyn Fn(&Event) + Send + Sync>;

/// A sink that drops every event.
pub fn ignore_events() -> EventSink {
    Arc::new(|_| {})
}

mod seconds {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(
        duration: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64((duration.as_secs_f64() * 1000.0).round() / 1000.0)
    }
}
