//! Holding a hub's state lock for a run: renewing its lease, and stopping
//! the run when the lease cannot be kept.
//!
//! A lease that runs out lets another run take the lock over; two runs on
//! one hub is what the lock exists to prevent. So a failed renewal is
//! retried with backoff while the lease still holds, and when it cannot be
//! kept (it ran too close to its end, or another run holds the lock, or it
//! was cleared) the run is told to start no new actions and the user is
//! told why.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{ErrorKind, Result};
use crate::events::{Event, EventSink};
use crate::operation::{Backoff, Cancellation};
use crate::state::{LockInfo, StateStore};

/// A held state lock; its lease is renewed until [`HubLock::release`].
pub struct HubLock {
    hub: String,
    info: LockInfo,
    state: Arc<dyn StateStore>,
    renewal: tokio::task::JoinHandle<()>,
    /// Given when the lease is lost, and with the run's own cancellation.
    stop: Cancellation,
    /// Why the lease was lost, once it was.
    lost: Arc<Mutex<Option<String>>>,
}

impl HubLock {
    /// Holds `info` on `hub` and starts renewing its `lease`. `stop` is
    /// given if the lease cannot be kept (a child of the run's own
    /// cancellation, so Ctrl-C gives it too).
    pub(crate) fn hold(
        hub: &str,
        info: LockInfo,
        state: Arc<dyn StateStore>,
        lease: Duration,
        stop: Cancellation,
        events: EventSink,
    ) -> HubLock {
        let lost = Arc::new(Mutex::new(None));
        let renewal = tokio::spawn(keep_lease(
            hub.to_string(),
            info.clone(),
            state.clone(),
            lease,
            stop.clone(),
            lost.clone(),
            events,
        ));
        HubLock {
            hub: hub.to_string(),
            info,
            state,
            renewal,
            stop,
            lost,
        }
    }

    /// The hub it locks.
    pub fn hub(&self) -> &str {
        &self.hub
    }

    /// The lock's details.
    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    /// Why the lease could not be kept, if it could not: the run under
    /// the lock stopped starting actions then.
    pub fn lost(&self) -> Option<String> {
        self.lost.lock().expect("lease state").clone()
    }

    /// Given when the run must stop starting actions: Ctrl-C, or the lease
    /// was lost.
    pub(crate) fn stop_signal(&self) -> Cancellation {
        self.stop.clone()
    }

    /// Stops renewing and releases the lock.
    pub async fn release(self) -> Result<()> {
        self.renewal.abort();
        self.state.unlock(&self.hub, &self.info.id).await
    }
}

/// Renews every third of the lease; retries a failed renewal with backoff
/// while more than one renewal period of the lease is left.
async fn keep_lease(
    hub: String,
    info: LockInfo,
    state: Arc<dyn StateStore>,
    lease: Duration,
    stop: Cancellation,
    lost: Arc<Mutex<Option<String>>>,
    events: EventSink,
) {
    let every = (lease / 3).max(Duration::from_secs(1));
    let backoff = Backoff::new(every / 20, every / 4, 2.0);
    let mut renewed = Instant::now();
    loop {
        tokio::time::sleep(every).await;
        let mut attempt = 0;
        loop {
            let error = match state.renew(&hub, &info).await {
                Ok(()) => {
                    renewed = Instant::now();
                    break;
                }
                Err(error) => error,
            };
            // Another run holds it, or it was cleared: nothing to retry.
            let taken = matches!(error.kind(), ErrorKind::Locked { .. } | ErrorKind::NotFound);
            if taken || renewed.elapsed() + every >= lease {
                let reason = format!(
                    "the lease on the lock of hub {hub} could not be kept ({error}); no new actions start, and running cloud operations go on: run the command again once no other run holds the hub"
                );
                events(&Event::Warning {
                    message: reason.clone(),
                });
                *lost.lock().expect("lease state") = Some(reason);
                stop.cancel();
                return;
            }
            tokio::time::sleep(backoff.delay(attempt)).await;
            attempt += 1;
        }
    }
}
