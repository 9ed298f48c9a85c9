//! Operations polled by calling a closure, and the watch state machine
//! most of them are: read until ready, failed or gone.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{OperationStatus, PollOperation, Progress};
use crate::error::{Error, ErrorKind, Result};
use crate::provider::ResourceStatus;

type PollFuture = Pin<Box<dyn Future<Output = Result<OperationStatus>> + Send>>;

/// An operation polled by calling a closure (a describe call, a GET of the
/// cloud's operation object).
pub struct PollFn(Box<dyn Fn() -> PollFuture + Send + Sync>);

impl fmt::Debug for PollFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PollFn")
    }
}

impl PollFn {
    /// Polls by calling `poll`.
    pub fn new<F, Fut>(poll: F) -> PollFn
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<OperationStatus>> + Send + 'static,
    {
        PollFn(Box::new(move || Box::pin(poll())))
    }

    /// An operation that is done already (the cloud answered the request
    /// with its final state).
    pub fn succeeded() -> PollFn {
        PollFn::new(|| async { Ok(OperationStatus::Succeeded) })
    }

    /// Polls this one until it succeeds, then starts what `next` starts
    /// (once) and polls that: two cloud operations that may not overlap,
    /// followed as one. A failed first operation starts nothing.
    pub fn then<F, Fut>(self, next: F) -> PollFn
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<PollFn>> + Send + 'static,
    {
        let second: Arc<tokio::sync::Mutex<Option<PollFn>>> = Arc::default();
        let (first, next) = (Arc::new(self), Arc::new(next));
        PollFn::new(move || {
            let (first, next, second) = (first.clone(), next.clone(), second.clone());
            async move {
                let mut second = second.lock().await;
                if let Some(started) = second.as_ref() {
                    return started.poll().await;
                }
                match first.poll().await? {
                    OperationStatus::Succeeded => {
                        let started = second.insert(next().await?);
                        started.poll().await
                    }
                    other => Ok(other),
                }
            }
        })
    }
}

#[async_trait]
impl PollOperation for PollFn {
    async fn poll(&self) -> Result<OperationStatus> {
        (self.0)().await
    }
}

/// What one read of a watched resource (or of the cloud's operation
/// object) says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// Its lifecycle state; a failed one carries the cloud's reason.
    pub status: ResourceStatus,
    /// The cloud's own status word (`CREATING`, `RUNNING`, `InProgress`).
    pub word: String,
    /// How long the cloud asked us to wait before asking again
    /// (ARM's `Retry-After`).
    pub retry_after: Option<Duration>,
}

impl Observed {
    /// A read that found the resource in `status`, in the cloud's `word`.
    pub fn new(status: ResourceStatus, word: impl Into<String>) -> Observed {
        Observed {
            status,
            word: word.into(),
            retry_after: None,
        }
    }

    /// The cloud asked to be asked again after `after`.
    pub fn with_retry_after(mut self, after: Option<Duration>) -> Observed {
        self.retry_after = after;
        self
    }
}

/// What a [`Watch`] waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// The resource is ready (a create or an update); its disappearing is
    /// a failure.
    Ready,
    /// The resource is gone (a delete).
    Gone,
}

/// Watching one resource until it is ready or gone: the state machine
/// every describe loop shares (EKS clusters and node groups, a GKE
/// `Operation`, an ARM `Azure-AsyncOperation`). A cloud-reported failure
/// ends the watch either way, with the cloud's reason.
#[derive(Debug, Clone)]
pub struct Watch {
    provider: String,
    name: String,
    subject: String,
    reporter: String,
    until: Until,
}

impl Watch {
    /// Watches `name` of `provider` until `until`. `subject` says what it
    /// is in messages (`the node group`), `reporter` who reports its
    /// status (`EKS`).
    pub fn new(
        provider: impl Into<String>,
        name: impl Into<String>,
        subject: impl Into<String>,
        reporter: impl Into<String>,
        until: Until,
    ) -> Watch {
        Watch {
            provider: provider.into(),
            name: name.into(),
            subject: subject.into(),
            reporter: reporter.into(),
            until,
        }
    }

    /// Where the operation stands after a read that found `observed`
    /// (`None`: the resource is not there).
    pub fn status(&self, observed: Option<Observed>) -> OperationStatus {
        let failed = |kind, message: String| {
            OperationStatus::Failed(
                Error::new(kind, self.provider.clone(), message).with_resource(self.name.clone()),
            )
        };
        let Some(observed) = observed else {
            return match self.until {
                Until::Gone => OperationStatus::Succeeded,
                Until::Ready => {
                    failed(ErrorKind::NotFound, format!("{} disappeared", self.subject))
                }
            };
        };
        match (&observed.status, self.until) {
            (ResourceStatus::Ready, Until::Ready) => OperationStatus::Succeeded,
            (ResourceStatus::Failed(reason), _) => failed(
                ErrorKind::Permanent,
                format!("{} reports {} {reason}", self.reporter, self.subject),
            ),
            _ => OperationStatus::Running(Progress {
                status: observed.word,
                percent: None,
                retry_after: observed.retry_after,
            }),
        }
    }

    /// The operation that calls `read` on every poll and answers with
    /// [`Watch::status`].
    pub fn poll<F, Fut>(self, read: F) -> PollFn
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<Observed>>> + Send + 'static,
    {
        let (watch, read) = (Arc::new(self), Arc::new(read));
        PollFn::new(move || {
            let (watch, read) = (watch.clone(), read.clone());
            async move { Ok(watch.status(read().await?)) }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use tokio::time::Instant;

    use super::*;
    use crate::operation::{Backoff, Operation, Waiter};

    fn watch(until: Until) -> Watch {
        Watch::new("aws", "ng", "the node group", "EKS", until)
    }

    fn seen(status: ResourceStatus, word: &str) -> Option<Observed> {
        Some(Observed::new(status, word))
    }

    #[test]
    fn a_watch_for_ready_succeeds_on_ready_and_fails_on_failure_or_disappearance() {
        let w = watch(Until::Ready);
        match w.status(seen(ResourceStatus::Creating, "CREATING")) {
            OperationStatus::Running(p) => assert_eq!(p.status, "CREATING"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            w.status(seen(ResourceStatus::Deleting, "DELETING")),
            OperationStatus::Running(_)
        ));
        assert!(matches!(
            w.status(seen(ResourceStatus::Ready, "ACTIVE")),
            OperationStatus::Succeeded
        ));
        match w.status(seen(
            ResourceStatus::Failed("DEGRADED: no capacity".into()),
            "DEGRADED",
        )) {
            OperationStatus::Failed(e) => {
                assert_eq!(e.kind(), &ErrorKind::Permanent);
                assert_eq!(
                    e.message(),
                    "EKS reports the node group DEGRADED: no capacity"
                );
                assert_eq!((e.provider(), e.resource()), ("aws", Some("ng")));
            }
            other => panic!("{other:?}"),
        }
        match w.status(None) {
            OperationStatus::Failed(e) => {
                assert_eq!(e.kind(), &ErrorKind::NotFound);
                assert_eq!(e.message(), "the node group disappeared");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_watch_for_gone_succeeds_only_once_the_resource_is_gone() {
        let w = watch(Until::Gone);
        assert!(matches!(w.status(None), OperationStatus::Succeeded));
        assert!(matches!(
            w.status(seen(ResourceStatus::Ready, "ACTIVE")),
            OperationStatus::Running(_)
        ));
        assert!(matches!(
            w.status(seen(ResourceStatus::Deleting, "DELETING")),
            OperationStatus::Running(_)
        ));
        assert!(matches!(
            w.status(seen(
                ResourceStatus::Failed("DELETE_FAILED".into()),
                "DELETE_FAILED"
            )),
            OperationStatus::Failed(_)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_watch_reads_until_done_and_passes_the_clouds_retry_after_on() {
        // An ARM-like operation object: InProgress twice, asking for 20 s.
        let reads = Arc::new(AtomicU32::new(0));
        let counter = reads.clone();
        let poll =
            Watch::new("azure", "op", "the operation", "ARM", Until::Ready).poll(move || {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    Ok(Some(if n < 2 {
                        Observed::new(ResourceStatus::Updating, "InProgress")
                            .with_retry_after(Some(Duration::from_secs(20)))
                    } else {
                        Observed::new(ResourceStatus::Ready, "Succeeded")
                    }))
                }
            });
        let operation = Operation::pending("op", "cluster/x", Box::new(poll));
        let started = Instant::now();
        let waiter = Waiter::new(
            Backoff::new(Duration::from_millis(10), Duration::from_millis(10), 1.0),
            Duration::from_secs(600),
        );
        let mut words = Vec::new();
        waiter
            .wait(&operation, |p| words.push(p.status.clone()))
            .await
            .unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), 3);
        assert_eq!(words, ["InProgress", "InProgress"]);
        assert!(
            started.elapsed() >= Duration::from_secs(40),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn a_read_that_fails_fails_the_poll() {
        let poll = watch(Until::Ready).poll(|| async {
            Err::<Option<Observed>, _>(Error::new(ErrorKind::PermissionDenied, "aws", "no"))
        });
        assert_eq!(
            poll.poll().await.unwrap_err().kind(),
            &ErrorKind::PermissionDenied
        );
    }

    /// A poll that runs `polls` times, then ends with `end`.
    fn counting(polls: u32, end: fn() -> OperationStatus, seen: Arc<AtomicU32>) -> PollFn {
        PollFn::new(move || {
            let seen = seen.clone();
            async move {
                let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
                Ok(if n < polls {
                    OperationStatus::Running(Progress {
                        status: format!("poll {n}"),
                        percent: None,
                        retry_after: None,
                    })
                } else {
                    end()
                })
            }
        })
    }

    fn next_counting(
        started: Arc<AtomicU32>,
        polled: Arc<AtomicU32>,
    ) -> impl Fn() -> std::future::Ready<Result<PollFn>> + Send + Sync + 'static {
        move || {
            started.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Ok(counting(
                2,
                || OperationStatus::Succeeded,
                polled.clone(),
            )))
        }
    }

    #[tokio::test]
    async fn the_second_operation_starts_once_the_first_succeeded_and_only_once() {
        let (first, started, second) = (Arc::default(), Arc::default(), Arc::default());
        let chained = counting(2, || OperationStatus::Succeeded, Arc::clone(&first))
            .then(next_counting(Arc::clone(&started), Arc::clone(&second)));
        assert!(matches!(
            chained.poll().await.unwrap(),
            OperationStatus::Running(_)
        ));
        assert_eq!(
            started.load(Ordering::SeqCst),
            0,
            "not while the first runs"
        );
        // The first succeeds: the second starts and is polled at once.
        assert!(matches!(
            chained.poll().await.unwrap(),
            OperationStatus::Running(_)
        ));
        assert_eq!(started.load(Ordering::SeqCst), 1);
        assert!(matches!(
            chained.poll().await.unwrap(),
            OperationStatus::Succeeded
        ));
        assert_eq!(
            (started.load(Ordering::SeqCst), first.load(Ordering::SeqCst)),
            (1, 2),
            "started once; the first is not asked again"
        );
    }

    #[tokio::test]
    async fn a_failed_first_operation_starts_no_second() {
        let started = Arc::new(AtomicU32::new(0));
        let failed = || OperationStatus::Failed(Error::new(ErrorKind::Permanent, "aws", "failed"));
        let chained = counting(1, failed, Arc::default())
            .then(next_counting(Arc::clone(&started), Arc::default()));
        assert!(matches!(
            chained.poll().await.unwrap(),
            OperationStatus::Failed(_)
        ));
        assert_eq!(started.load(Ordering::SeqCst), 0);
    }
}
