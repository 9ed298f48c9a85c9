//! Retrying single requests, as a layer around any provider.
//!
//! [`RetryLayer`] wraps an `Arc<dyn Provider>` and is one itself: every
//! request that fails with a temporary error (throttling, a 5xx, a timeout,
//! a busy cluster, IAM that has not caught up) is tried again after a
//! jittered backoff that honours the server's retry-after. It is the one
//! retry loop of hubforge: the engine reads through it, and runs each
//! action through it with a hook that turns every retry into an event.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::layer::{Intercept, Layered, Request};
use crate::operation::Backoff;
use crate::provider::Provider;

/// How hard to retry.
#[derive(Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; `None` retries until the
    /// caller's own deadline (the engine's per-action deadline).
    pub max_attempts: Option<u32>,
    /// Delays between attempts.
    pub backoff: Backoff,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: Some(8),
            backoff: Backoff::default(),
        }
    }
}

/// A retry about to happen.
#[derive(Debug)]
pub struct Retrying<'a> {
    /// The request (`create_cluster`).
    pub request: &'a str,
    /// Attempts failed so far.
    pub attempt: u32,
    /// How long until the next one.
    pub delay: Duration,
    /// Why the last one failed.
    pub error: &'a Error,
}

/// Called before each retry.
pub type RetryHook = Arc<dyn Fn(&Retrying<'_>) + Send + Sync>;

/// The retrying interceptor: see [`RetryLayer`].
pub struct Retry {
    policy: RetryPolicy,
    hook: Option<RetryHook>,
}

impl Intercept for Retry {
    async fn around<T, F, Fut>(&self, request: Request, mut call: F) -> Result<T>
    where
        T: Send,
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = Result<T>> + Send,
    {
        {
            let mut attempt = 0;
            loop {
                match call().await {
                    Err(error)
                        if error.is_temporary()
                            && self.policy.max_attempts.is_none_or(|max| attempt + 1 < max) =>
                    {
                        let delay = error
                            .retry_after()
                            .unwrap_or_default()
                            .max(self.policy.backoff.delay(attempt));
                        attempt += 1;
                        tracing::debug!(request = request.name, attempt, ?delay, %error, "retrying");
                        if let Some(hook) = &self.hook {
                            hook(&Retrying {
                                request: request.name,
                                attempt,
                                delay,
                                error: &error,
                            });
                        }
                        tokio::time::sleep(delay).await;
                    }
                    outcome => return outcome,
                }
            }
        }
    }
}

/// A provider whose requests are retried on temporary errors.
pub type RetryLayer = Layered<Retry>;

impl RetryLayer {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Provider>, policy: RetryPolicy) -> RetryLayer {
        Layered::with(inner, Retry { policy, hook: None })
    }

    /// Calls `hook` before every retry (the engine reports each as an event).
    pub fn on_retry(inner: Arc<dyn Provider>, policy: RetryPolicy, hook: RetryHook) -> RetryLayer {
        Layered::with(
            inner,
            Retry {
                policy,
                hook: Some(hook),
            },
        )
    }
}
