//! Seeded faults: throttling, 5xx and timeouts on any share of calls,
//! some of them after the change landed.

use std::time::Duration;

use rand::Rng;

use std::collections::{BTreeMap, BTreeSet};

use super::{PROVIDER, SimInner, error};
use crate::error::{Error, ErrorKind, Result};
use crate::id::NodeId;
use crate::provider::TAG_RESOURCE;
use crate::spec::Cloud;

/// Seeded fault injection: each API call fails with probability `rate`,
/// as throttling, a temporary server error or a timeout; with
/// `lose_answers`, some timeouts come after the change landed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultPlan {
    /// Share of calls that fail, 0.0–1.0.
    pub rate: f64,
    /// Seed of the fault sequence.
    pub seed: u64,
    /// Some timeouts of changing calls happen *after* the change landed:
    /// the cloud did the work but the answer was lost, so a retry finds
    /// the resource already there (`AlreadyExists`) or busy (`Conflict`).
    /// Only an idempotent engine survives these.
    pub lose_answers: bool,
}

impl SimInner {
    /// Counts a read and, by the seeded plan, fails it.
    pub(super) fn read(&self, name: &str) -> Result<()> {
        match self.fault(name, false, true) {
            Answer::Deliver => Ok(()),
            Answer::FailBefore(error) | Answer::Lose(error) => Err(error),
        }
    }

    /// Counts a changing call and, by the seeded plan, fails it before the
    /// change, or lets the change land and loses the answer.
    pub(super) fn mutation(&self, name: &str) -> Result<Answer> {
        match self.fault(name, true, true) {
            Answer::FailBefore(error) => Err(error),
            answer => Ok(answer),
        }
    }

    /// A later step of a multi-step create: faults as any call, but not
    /// charged to the request budget, which counts the provider's requests.
    pub(super) fn step(&self, name: &str) -> Result<Answer> {
        match self.fault(name, true, false) {
            Answer::FailBefore(error) => Err(error),
            answer => Ok(answer),
        }
    }

    fn fault(&self, name: &str, changes: bool, charged: bool) -> Answer {
        *self
            .calls
            .lock()
            .expect("sim call counter")
            .entry(name.to_string())
            .or_default() += 1;
        if charged && let Err(wait) = self.budget.try_take(changes) {
            self.throttled
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Answer::FailBefore(error(
                ErrorKind::Throttled {
                    retry_after: Some(wait),
                },
                name,
                "Rate exceeded: the account's request budget is spent",
            ));
        }
        let mut faults = self.faults.lock().expect("sim fault rng");
        let Some((plan, rng)) = faults.as_mut() else {
            return Answer::Deliver;
        };
        if rng.random::<f64>() >= plan.rate {
            return Answer::Deliver;
        }
        self.injected
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (kind, message) = match rng.random_range(0..3) {
            0 => (
                ErrorKind::Throttled {
                    retry_after: Some(
                        self.scaled(Duration::from_secs(2))
                            .max(Duration::from_millis(1)),
                    ),
                },
                "Rate exceeded (injected fault)",
            ),
            1 => (
                ErrorKind::Transient,
                "503 Service Unavailable (injected fault)",
            ),
            _ => (ErrorKind::Timeout, "request timed out (injected fault)"),
        };
        let lose =
            changes && plan.lose_answers && kind == ErrorKind::Timeout && rng.random::<bool>();
        let error = error(kind, name, message);
        if lose {
            Answer::Lose(error)
        } else {
            Answer::FailBefore(error)
        }
    }
}

/// What becomes of a changing call's answer.
pub(super) enum Answer {
    Deliver,
    FailBefore(Error),
    /// The change landed; the caller sees this error instead of the answer.
    Lose(Error),
}

impl Answer {
    pub(super) fn deliver<T>(self, outcome: Result<T>) -> Result<T> {
        match self {
            Answer::Lose(error) if outcome.is_ok() => Err(error),
            _ => outcome,
        }
    }
}

/// Resources that fail or degrade, named as plans name them
/// (`node_pool/dask`, `bucket/scratch`): the sim finds them by their
/// resource tag, whatever their physical name (a blue/green twin too).
#[derive(Debug, Clone, Default)]
pub(crate) struct Failures {
    /// Their create ends failed.
    pub fail: BTreeSet<String>,
    /// They become ready, then degrade.
    pub degrade: BTreeSet<String>,
}

impl Failures {
    /// Reads a comma-separated list of resource ids, refusing what is not one.
    pub fn parse(variable: &str, text: &str) -> Result<BTreeSet<String>> {
        text.split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(|id| match NodeId::try_from(id.to_string()) {
                Ok(node) if node.tag().is_some() => Ok(node.to_string()),
                _ => Err(Error::new(
                    ErrorKind::InvalidSpec {
                        path: variable.into(),
                        reason: format!("`{id}` is not a resource id"),
                    },
                    PROVIDER,
                    format!(
                        "{variable} takes resource ids as plans show them, such as node_pool/dask,bucket/scratch; `{id}` is not one"
                    ),
                )),
            })
            .collect()
    }

    fn id_of(tags: &BTreeMap<String, String>) -> Option<String> {
        tags.get(TAG_RESOURCE)
            .and_then(|t| NodeId::from_tag(t))
            .map(|n| n.to_string())
    }

    /// Why the create of a resource tagged `tags` fails, if it is to.
    pub fn failure(&self, cloud: Cloud, tags: &BTreeMap<String, String>) -> Option<String> {
        let id = Self::id_of(tags).filter(|id| self.fail.contains(id))?;
        let reason = match (id.split('/').next(), cloud) {
            (Some("node_pool"), Cloud::Aws) => {
                "CREATE_FAILED: NodeCreationFailure: Instances failed to join the kubernetes cluster"
            }
            (Some("node_pool"), Cloud::Gcp) => {
                "ERROR: GCE_STOCKOUT: the zone does not have enough resources for the node pool"
            }
            (Some("node_pool"), Cloud::Azure) => {
                "Failed: VMExtensionProvisioningError: the nodes could not join the cluster"
            }
            (Some("cluster"), _) => "the control plane could not be created",
            _ => "the cloud could not create it",
        };
        Some(format!("{reason} (injected by HUBFORGE_SIM_FAIL={id})"))
    }

    /// Whether a resource tagged `tags` degrades once ready.
    pub fn degrades(&self, tags: &BTreeMap<String, String>) -> bool {
        Self::id_of(tags).is_some_and(|id| self.degrade.contains(&id))
    }
}

/// How far the sim's answers lag behind its changes, as every cloud's do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Consistency {
    /// A new identity is unknown to IAM elsewhere (trust, role assignments)
    /// for this long after it is created: binding it fails with a
    /// temporary "principal not found" meanwhile (AWS IAM, Azure AD and GCP
    /// IAM all propagate).
    pub iam_propagation: Duration,
    /// Listings by tag miss a resource for this long after its create (the
    /// AWS tagging API, GCP label filters); direct reads see it at once.
    pub list_lag: Duration,
}

impl Default for Consistency {
    /// IAM propagates for ten seconds; listings do not lag.
    fn default() -> Consistency {
        Consistency {
            iam_propagation: Duration::from_secs(10),
            list_lag: Duration::ZERO,
        }
    }
}
