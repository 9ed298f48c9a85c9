//! Long-running cloud operations and the waiter that sees them through.
//!
//! EKS describe loops, GKE `Operation` resources and ARM's
//! `Azure-AsyncOperation` URLs all become one [`Operation`] handle that can
//! be polled. [`Waiter`] polls it with exponential backoff and jitter,
//! honours a server's retry-after, gives up at a deadline and stops when
//! cancelled. Retrying a single failed *request* is a different concern:
//! see [`crate::retry`].
//!
//! Providers build their operations from closures ([`PollFn`]): a request
//! that asks the cloud once how a long-running operation is doing. Most are
//! a [`Watch`]: read the resource (or the cloud's operation object) until
//! it is ready, has failed, or is gone; the state machine for that is
//! here, and a provider only says how to read and what the cloud's status
//! means ([`Observed`]).

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, ErrorKind, Result};

mod poll;

pub use poll::{Observed, PollFn, Until, Watch};

/// Asks running waits and runs to stop. Cheap to clone; every clone sees
/// the same signal.
#[derive(Debug, Clone, Default)]
pub struct Cancellation(CancellationToken);

impl Cancellation {
    /// A signal not yet given.
    pub fn new() -> Cancellation {
        Cancellation::default()
    }

    /// Gives the signal.
    pub fn cancel(&self) {
        self.0.cancel();
    }

    /// Whether the signal was given.
    pub fn is_cancelled(&self) -> bool {
        self.0.is_cancelled()
    }

    /// Resolves when the signal is given.
    pub async fn cancelled(&self) {
        self.0.cancelled().await
    }

    /// A signal given when this one is, and also on its own (a run that
    /// lost its lock stops without cancelling its caller).
    pub fn child(&self) -> Cancellation {
        Cancellation(self.0.child_token())
    }
}

/// Where a running operation stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The cloud's own status word (`CREATING`, `PROVISIONING`, `Creating`).
    pub status: String,
    /// Percent done, where the cloud says.
    pub percent: Option<u8>,
    /// How long the cloud asked us to wait before asking again.
    pub retry_after: Option<Duration>,
}

/// Result of one poll.
#[derive(Debug, Clone)]
pub enum OperationStatus {
    /// Still going.
    Running(Progress),
    /// Finished successfully.
    Succeeded,
    /// Finished and failed.
    Failed(Error),
}

/// One provider's way of asking how an operation is doing.
#[async_trait]
pub trait PollOperation: Send + Sync {
    /// Asks the cloud once.
    async fn poll(&self) -> Result<OperationStatus>;
}

/// A handle on a long-running cloud operation.
pub struct Operation {
    id: String,
    resource: String,
    poller: Option<Box<dyn PollOperation>>,
}

impl fmt::Debug for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Operation")
            .field("id", &self.id)
            .field("resource", &self.resource)
            .field("completed", &self.poller.is_none())
            .finish()
    }
}

impl Operation {
    /// An operation that is still running and is polled through `poller`.
    pub fn pending(
        id: impl Into<String>,
        resource: impl Into<String>,
        poller: Box<dyn PollOperation>,
    ) -> Operation {
        Operation {
            id: id.into(),
            resource: resource.into(),
            poller: Some(poller),
        }
    }

    /// An operation the cloud finished within the request.
    pub fn completed(id: impl Into<String>, resource: impl Into<String>) -> Operation {
        Operation {
            id: id.into(),
            resource: resource.into(),
            poller: None,
        }
    }

    /// The cloud's id for the operation.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The resource it acts on (`cluster/openscapes`).
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The same operation, polled through `wrap` (a layer that counts or
    /// delays polls); one the cloud finished at once stays finished.
    pub fn map_poller(
        self,
        wrap: impl FnOnce(Box<dyn PollOperation>) -> Box<dyn PollOperation>,
    ) -> Operation {
        Operation {
            poller: self.poller.map(wrap),
            ..self
        }
    }

    /// Asks the cloud once how the operation is doing.
    pub async fn poll(&self) -> Result<OperationStatus> {
        match &self.poller {
            None => Ok(OperationStatus::Succeeded),
            Some(poller) => poller.poll().await,
        }
    }
}

/// Exponential backoff with jitter. The random source is injectable so
/// tests get the same delays every run.
pub struct Backoff {
    initial: Duration,
    max: Duration,
    multiplier: f64,
    /// Fraction of each delay that is randomised (0 = none, 1 = full jitter).
    jitter: f64,
    rng: Mutex<StdRng>,
}

impl fmt::Debug for Backoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backoff")
            .field("initial", &self.initial)
            .field("max", &self.max)
            .field("multiplier", &self.multiplier)
            .field("jitter", &self.jitter)
            .finish()
    }
}

impl Backoff {
    /// Delays from `initial`, growing by `multiplier` up to `max`, with half
    /// of each delay randomised.
    pub fn new(initial: Duration, max: Duration, multiplier: f64) -> Backoff {
        Backoff {
            initial,
            max,
            multiplier,
            jitter: 0.5,
            rng: Mutex::new(StdRng::from_os_rng()),
        }
    }

    /// Uses a seeded random source (tests, reproducible runs).
    pub fn with_seed(mut self, seed: u64) -> Backoff {
        self.rng = Mutex::new(StdRng::seed_from_u64(seed));
        self
    }

    /// Sets the randomised fraction of each delay, clamped to 0..=1.
    pub fn with_jitter(mut self, jitter: f64) -> Backoff {
        self.jitter = jitter.clamp(0.0, 1.0);
        self
    }

    /// The delay before retry number `attempt` (0-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponential = self.initial.as_secs_f64() * self.multiplier.powi(attempt.min(64) as i32);
        let capped = exponential.min(self.max.as_secs_f64());
        let random: f64 = self.rng.lock().expect("backoff rng lock").random();
        Duration::from_secs_f64(capped * (1.0 - self.jitter * random))
    }
}

impl Default for Backoff {
    /// 1 s doubling to 30 s: polite to cloud APIs and quick enough for humans.
    fn default() -> Backoff {
        Backoff::new(Duration::from_secs(1), Duration::from_secs(30), 2.0)
    }
}

/// Waits for operations: backoff with jitter, retry-after, deadline,
/// cancellation.
#[derive(Debug)]
pub struct Waiter {
    backoff: Backoff,
    deadline: Duration,
    cancel: Cancellation,
}

impl Waiter {
    /// A waiter that gives up after `deadline`.
    pub fn new(backoff: Backoff, deadline: Duration) -> Waiter {
        Waiter {
            backoff,
            deadline,
            cancel: Cancellation::new(),
        }
    }

    /// Stops waiting when `cancel` fires (the operation itself goes on in
    /// the cloud; only the wait ends).
    pub fn with_cancellation(mut self, cancel: Cancellation) -> Waiter {
        self.cancel = cancel;
        self
    }

    /// Polls `operation` until it finishes, calling `on_progress` with every
    /// running status. A poll that fails with a temporary error is retried
    /// within the deadline; a permanent one ends the wait.
    pub async fn wait(
        &self,
        operation: &Operation,
        mut on_progress: impl FnMut(&Progress) + Send,
    ) -> Result<()> {
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            let server_delay = match operation.poll().await {
                Ok(OperationStatus::Succeeded) => return Ok(()),
                Ok(OperationStatus::Failed(error)) => return Err(error),
                Ok(OperationStatus::Running(progress)) => {
                    on_progress(&progress);
                    progress.retry_after
                }
                Err(error) if error.is_temporary() => error.retry_after(),
                Err(error) => return Err(error),
            };
            let delay = server_delay
                .unwrap_or_default()
                .max(self.backoff.delay(attempt));
            attempt = attempt.saturating_add(1);
            let elapsed = started.elapsed();
            if elapsed + delay > self.deadline {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    "hubforge",
                    format!(
                        "operation {} did not finish within {:?}",
                        operation.id(),
                        self.deadline
                    ),
                )
                .with_resource(operation.resource()));
            }
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = self.cancel.cancelled() => {
                    return Err(Error::new(ErrorKind::Cancelled, "hubforge", format!("stopped waiting for operation {}", operation.id()))
                        .with_resource(operation.resource()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Runs for `running` polls, failing temporarily on the polls listed.
    struct Scripted {
        polls: AtomicU32,
        running: u32,
        retry_after: Option<Duration>,
        temporary_failures: Vec<u32>,
    }

    #[async_trait]
    impl PollOperation for Arc<Scripted> {
        async fn poll(&self) -> Result<OperationStatus> {
            let n = self.polls.fetch_add(1, Ordering::SeqCst);
            if self.temporary_failures.contains(&n) {
                return Err(Error::new(ErrorKind::Transient, "test", "flaky"));
            }
            if n < self.running {
                Ok(OperationStatus::Running(Progress {
                    status: "CREATING".into(),
                    percent: None,
                    retry_after: self.retry_after,
                }))
            } else {
                Ok(OperationStatus::Succeeded)
            }
        }
    }

    fn scripted(
        running: u32,
        retry_after: Option<Duration>,
        temporary_failures: Vec<u32>,
    ) -> (Arc<Scripted>, Operation) {
        let script = Arc::new(Scripted {
            polls: AtomicU32::new(0),
            running,
            retry_after,
            temporary_failures,
        });
        (
            script.clone(),
            Operation::pending("op-1", "cluster/x", Box::new(script)),
        )
    }

    #[test]
    fn backoff_grows_caps_and_is_reproducible_with_a_seed() {
        let a = Backoff::new(Duration::from_secs(1), Duration::from_secs(8), 2.0).with_seed(7);
        let b = Backoff::new(Duration::from_secs(1), Duration::from_secs(8), 2.0).with_seed(7);
        let delays: Vec<Duration> = (0..6).map(|i| a.delay(i)).collect();
        assert_eq!(delays, (0..6).map(|i| b.delay(i)).collect::<Vec<_>>());
        for (i, delay) in delays.iter().enumerate() {
            let ceiling = Duration::from_secs((1u64 << i).min(8));
            assert!(
                *delay <= ceiling && *delay >= ceiling / 2,
                "attempt {i}: {delay:?}"
            );
        }
        let flat =
            Backoff::new(Duration::from_secs(1), Duration::from_secs(8), 2.0).with_jitter(0.0);
        assert_eq!(flat.delay(10), Duration::from_secs(8));
    }

    #[tokio::test(start_paused = true)]
    async fn waits_through_running_and_temporary_failures() {
        let (script, operation) = scripted(4, None, vec![1]);
        let waiter = Waiter::new(Backoff::default().with_seed(1), Duration::from_secs(600));
        let mut seen = Vec::new();
        waiter
            .wait(&operation, |p| seen.push(p.status.clone()))
            .await
            .unwrap();
        assert_eq!(script.polls.load(Ordering::SeqCst), 5);
        assert_eq!(
            seen.len(),
            3,
            "polls 0, 2 and 3 report progress; poll 1 failed"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn honours_retry_after() {
        let (_, operation) = scripted(1, Some(Duration::from_secs(45)), vec![]);
        let waiter = Waiter::new(Backoff::default().with_seed(1), Duration::from_secs(600));
        let started = Instant::now();
        waiter.wait(&operation, |_| {}).await.unwrap();
        assert!(
            started.elapsed() >= Duration::from_secs(45),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_at_the_deadline() {
        let (_, operation) = scripted(u32::MAX, None, vec![]);
        let waiter = Waiter::new(Backoff::default().with_seed(1), Duration::from_secs(60));
        let error = waiter.wait(&operation, |_| {}).await.unwrap_err();
        assert_eq!(error.kind(), &ErrorKind::Timeout);
        assert_eq!(error.resource(), Some("cluster/x"));
    }

    #[tokio::test(start_paused = true)]
    async fn stops_when_cancelled() {
        let (_, operation) = scripted(u32::MAX, None, vec![]);
        let cancel = Cancellation::new();
        let waiter = Waiter::new(Backoff::default(), Duration::from_secs(3600))
            .with_cancellation(cancel.clone());
        let trigger = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            cancel.cancel();
        });
        let error = waiter.wait(&operation, |_| {}).await.unwrap_err();
        assert_eq!(error.kind(), &ErrorKind::Cancelled);
        trigger.await.unwrap();
    }

    #[tokio::test]
    async fn permanent_poll_errors_end_the_wait() {
        struct Broken;
        #[async_trait]
        impl PollOperation for Broken {
            async fn poll(&self) -> Result<OperationStatus> {
                Err(Error::new(ErrorKind::PermissionDenied, "test", "no"))
            }
        }
        let operation = Operation::pending("op", "bucket/x", Box::new(Broken));
        let error = Waiter::new(Backoff::default(), Duration::from_secs(5))
            .wait(&operation, |_| {})
            .await
            .unwrap_err();
        assert_eq!(error.kind(), &ErrorKind::PermissionDenied);
    }
}
