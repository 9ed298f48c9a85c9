//! Waiting instead of being throttled: token buckets filled at a cloud's
//! published request rates, as a layer around a provider.
//!
//! A fleet run asks a cloud many things at once; past the cloud's budget
//! the answers are throttling errors, and every retry spends budget again.
//! A provider states its budgets in [`Capabilities::rate_limits`]; the
//! engine sends every request through a [`RateLimitLayer`] shared by every
//! engine on that provider, so requests wait for a token instead.

use std::future::Future;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::error::Result;
use crate::layer::{Intercept, Layered, Request};
use crate::operation::{Operation, OperationStatus, PollOperation};
use crate::provider::{Capabilities, Provider};

/// A request budget: so many per second on average, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    /// Tokens added per second.
    pub per_second: f64,
    /// Tokens the bucket holds when full.
    pub burst: u32,
}

impl Rate {
    /// `count` requests per minute, `burst` at once (GKE states its quota
    /// per minute).
    pub fn per_minute(count: f64, burst: u32) -> Rate {
        Rate {
            per_second: count / 60.0,
            burst,
        }
    }
}

/// A cloud's request budgets. A request takes a token from `all` and from
/// `reads` or `writes`, where each is set (ARM budgets reads and writes
/// apart per subscription; GKE counts every request per project).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct RateLimits {
    /// Every request.
    pub all: Option<Rate>,
    /// Requests that only read.
    pub reads: Option<Rate>,
    /// Requests that change the cloud.
    pub writes: Option<Rate>,
}

/// A token bucket.
#[derive(Debug)]
pub struct TokenBucket {
    rate: Rate,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: Rate) -> TokenBucket {
        TokenBucket {
            rate,
            state: Mutex::new((f64::from(rate.burst), Instant::now())),
        }
    }

    /// Takes a token now, or says how long until there is one.
    pub fn try_take(&self) -> std::result::Result<(), Duration> {
        let mut state = self.state.lock().expect("token bucket");
        let now = Instant::now();
        let (tokens, last) = *state;
        let burst = f64::from(self.rate.burst.max(1));
        let tokens =
            (tokens + now.duration_since(last).as_secs_f64() * self.rate.per_second).min(burst);
        if tokens >= 1.0 {
            *state = (tokens - 1.0, now);
            return Ok(());
        }
        *state = (tokens, now);
        Err(Duration::from_secs_f64(
            (1.0 - tokens) / self.rate.per_second.max(f64::MIN_POSITIVE),
        ))
    }

    /// Waits for a token and takes it.
    pub async fn take(&self) {
        while let Err(wait) = self.try_take() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// The buckets of one provider.
#[derive(Debug, Default)]
pub struct RateLimit {
    all: Option<TokenBucket>,
    reads: Option<TokenBucket>,
    writes: Option<TokenBucket>,
}

impl RateLimit {
    /// Buckets for `limits`.
    pub fn new(limits: &RateLimits) -> RateLimit {
        RateLimit {
            all: limits.all.map(TokenBucket::new),
            reads: limits.reads.map(TokenBucket::new),
            writes: limits.writes.map(TokenBucket::new),
        }
    }
}

impl RateLimit {
    /// Takes the tokens a request needs, or says how long until they are
    /// there: what a cloud that enforces these budgets does with it (a
    /// request that comes too soon still spends the shared budget).
    pub fn try_take(&self, writes: bool) -> std::result::Result<(), Duration> {
        let kind = if writes { &self.writes } else { &self.reads };
        for bucket in [&self.all, kind].into_iter().flatten() {
            bucket.try_take()?;
        }
        Ok(())
    }

    async fn take(&self, writes: bool) {
        let kind = if writes { &self.writes } else { &self.reads };
        for bucket in [&self.all, kind].into_iter().flatten() {
            bucket.take().await;
        }
    }
}

/// An operation's poller that waits for a read token before each poll.
struct LimitedPoll {
    inner: Box<dyn PollOperation>,
    limit: Arc<RateLimit>,
}

#[async_trait::async_trait]
impl PollOperation for LimitedPoll {
    async fn poll(&self) -> Result<OperationStatus> {
        self.limit.take(false).await;
        self.inner.poll().await
    }
}

impl Intercept for Arc<RateLimit> {
    fn operation(&self, operation: Operation) -> Operation {
        let limit = self.clone();
        operation.map_poller(|inner| Box::new(LimitedPoll { inner, limit }))
    }

    async fn around<T, F, Fut>(&self, request: Request, mut call: F) -> Result<T>
    where
        T: Send,
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = Result<T>> + Send,
    {
        {
            self.take(request.writes).await;
            call().await
        }
    }
}

/// A provider whose requests wait for their cloud's budget.
pub type RateLimitLayer = Layered<Arc<RateLimit>>;

/// The buckets of every provider in this process, so that all engines on
/// one provider share its budget.
static SHARED: Mutex<Registry> = Mutex::new(Vec::new());

/// Each live provider with its buckets.
type Registry = Vec<(Weak<dyn Provider>, Arc<RateLimit>)>;

impl RateLimitLayer {
    /// `inner` behind the buckets its [`Capabilities::rate_limits`] call
    /// for, shared with every other layer on the same provider in this
    /// process.
    pub fn shared(inner: Arc<dyn Provider>) -> RateLimitLayer {
        let buckets = {
            let mut shared = SHARED.lock().expect("rate limits");
            shared.retain(|(provider, _)| provider.strong_count() > 0);
            let known = shared
                .iter()
                .find(|(provider, _)| Weak::ptr_eq(provider, &Arc::downgrade(&inner)))
                .map(|(_, buckets)| buckets.clone());
            known.unwrap_or_else(|| {
                let buckets = Arc::new(RateLimit::new(&limits_of(&inner.capabilities())));
                shared.push((Arc::downgrade(&inner), buckets.clone()));
                buckets
            })
        };
        Layered::with(inner, buckets)
    }
}

fn limits_of(capabilities: &Capabilities) -> RateLimits {
    capabilities.rate_limits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_bucket_gives_its_burst_then_one_token_per_interval() {
        let bucket = TokenBucket::new(Rate {
            per_second: 10.0,
            burst: 3,
        });
        for _ in 0..3 {
            assert!(bucket.try_take().is_ok());
        }
        let wait = bucket.try_take().unwrap_err();
        assert!(
            wait > Duration::from_millis(90) && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        let started = Instant::now();
        bucket.take().await;
        bucket.take().await;
        assert!(
            started.elapsed() >= Duration::from_millis(190),
            "{:?}",
            started.elapsed()
        );
    }
}
