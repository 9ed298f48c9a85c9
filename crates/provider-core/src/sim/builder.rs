//! Configuring a sim: where it lives, what it imitates, how fast it runs,
//! which faults it injects.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::faults::{Consistency, Failures, FaultPlan};
use super::latency::LatencyModel;
use super::world::{Store, World};
use super::{PROVIDER, SimCloud, SimInner};
use crate::error::{Error, ErrorKind, Result};
use crate::interrupt::Interrupter;
use crate::ratelimit::{RateLimit, RateLimits};
use crate::spec::Cloud;

/// Limits of the sim's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quotas {
    /// Clusters in the account.
    pub clusters: usize,
    /// Node pools per cluster.
    pub node_pools_per_cluster: usize,
    /// Buckets in the account.
    pub buckets: usize,
    /// Identities in the account.
    pub identities: usize,
}

impl Default for Quotas {
    /// EKS's defaults for clusters and node groups; generous elsewhere.
    fn default() -> Quotas {
        Quotas {
            clusters: 100,
            node_pools_per_cluster: 30,
            buckets: 1000,
            identities: 1000,
        }
    }
}

/// Configures a [`SimCloud`].
#[derive(Debug, Clone)]
pub struct SimBuilder {
    dir: Option<PathBuf>,
    imitate: Option<Cloud>,
    time_scale: f64,
    faults: Option<FaultPlan>,
    failures: Failures,
    interrupter: Interrupter,
    consistency: Consistency,
    rate_limits: RateLimits,
    quotas: Quotas,
}

impl Default for SimBuilder {
    fn default() -> SimBuilder {
        SimBuilder {
            dir: None,
            imitate: None,
            time_scale: 0.01,
            faults: None,
            failures: Failures::default(),
            interrupter: Interrupter::new(),
            consistency: Consistency::default(),
            rate_limits: RateLimits::default(),
            quotas: Quotas::default(),
        }
    }
}

impl SimBuilder {
    /// An in-memory sim with default settings.
    pub fn new() -> SimBuilder {
        SimBuilder::default()
    }

    /// Reads `HUBFORGE_SIM_DIR`, `HUBFORGE_SIM_TIME_SCALE`,
    /// `HUBFORGE_SIM_FAULT_RATE`, `HUBFORGE_SIM_SEED`, and
    /// `HUBFORGE_SIM_FAIL` / `HUBFORGE_SIM_DEGRADE` (resource ids as plans
    /// show them: `node_pool/dask,bucket/scratch`); a variable that is set
    /// but unreadable is an error naming it.
    pub fn from_env() -> Result<SimBuilder> {
        let mut builder = SimBuilder::new();
        if let Ok(dir) = std::env::var("HUBFORGE_SIM_DIR") {
            builder = builder.directory(dir);
        }
        if let Some(scale) = env_number::<f64>("HUBFORGE_SIM_TIME_SCALE")? {
            builder = builder.time_scale(scale);
        }
        for (variable, degrade) in [("HUBFORGE_SIM_FAIL", false), ("HUBFORGE_SIM_DEGRADE", true)] {
            if let Ok(text) = std::env::var(variable) {
                for id in Failures::parse(variable, &text)? {
                    builder = if degrade {
                        builder.degrade(&id)
                    } else {
                        builder.fail(&id)
                    };
                }
            }
        }
        if let Some(rate) = env_number::<f64>("HUBFORGE_SIM_FAULT_RATE")? {
            let seed = env_number::<u64>("HUBFORGE_SIM_SEED")?.unwrap_or(0);
            builder = builder.faults(FaultPlan {
                rate,
                seed,
                lose_answers: true,
            });
        }
        Ok(builder)
    }

    /// Persists the cloud in `dir`, shared by every process that uses it.
    pub fn directory(mut self, dir: impl Into<PathBuf>) -> SimBuilder {
        self.dir = Some(dir.into());
        self
    }

    /// Imitates one cloud's naming, latencies and operation rules. `None`
    /// (the default) behaves like AWS.
    pub fn imitate(mut self, cloud: Option<Cloud>) -> SimBuilder {
        self.imitate = cloud;
        self
    }

    /// Multiplies every latency: 1.0 is real time, 0.01 makes a 10-minute
    /// cluster take 6 seconds, 0 makes everything instant.
    pub fn time_scale(mut self, scale: f64) -> SimBuilder {
        self.time_scale = scale.max(0.0);
        self
    }

    /// Injects seeded faults.
    pub fn faults(mut self, plan: FaultPlan) -> SimBuilder {
        self.faults = Some(plan);
        self
    }

    /// Makes the create of a resource fail, as a cloud reports a failed
    /// resource (EKS `CREATE_FAILED`, GKE `ERROR`); `id` is as plans show
    /// it (`node_pool/dask`), and covers a blue/green twin too.
    pub fn fail(mut self, id: &str) -> SimBuilder {
        self.failures.fail.insert(id.to_string());
        self
    }

    /// Makes a resource degrade (fail) some time after it became ready.
    pub fn degrade(mut self, id: &str) -> SimBuilder {
        self.failures.degrade.insert(id.to_string());
        self
    }

    /// Reports every step of a multi-step create to `interrupter`, so a
    /// test can stop creates half-way.
    pub fn interrupter(mut self, interrupter: Interrupter) -> SimBuilder {
        self.interrupter = interrupter;
        self
    }

    /// How far answers lag behind changes (before scaling by the time scale).
    pub fn consistency(mut self, consistency: Consistency) -> SimBuilder {
        self.consistency = consistency;
        self
    }

    /// Request budgets the sim enforces, as a cloud does (past them it
    /// throttles), and states in its capabilities, as a provider does. Not
    /// scaled by the time scale.
    pub fn rate_limits(mut self, limits: RateLimits) -> SimBuilder {
        self.rate_limits = limits;
        self
    }

    /// Sets the account's quotas.
    pub fn quotas(mut self, quotas: Quotas) -> SimBuilder {
        self.quotas = quotas;
        self
    }

    /// Builds the sim.
    pub fn build(self) -> SimCloud {
        let cloud = self.imitate.unwrap_or(Cloud::Aws);
        SimCloud {
            inner: Arc::new(SimInner {
                store: match self.dir {
                    Some(dir) => Store::Directory(dir),
                    None => Store::Memory(Mutex::new(World::default())),
                },
                cloud,
                one_operation_per_cluster: cloud != Cloud::Aws,
                latency: LatencyModel::of(cloud),
                time_scale: self.time_scale,
                faults: Mutex::new(
                    self.faults
                        .map(|plan| (plan, StdRng::seed_from_u64(plan.seed))),
                ),
                failures: self.failures,
                interrupter: self.interrupter,
                consistency: self.consistency,
                budget: RateLimit::new(&self.rate_limits),
                rate_limits: self.rate_limits,
                throttled: Default::default(),
                quotas: self.quotas,
                calls: Mutex::new(BTreeMap::new()),
                injected: Default::default(),
            }),
        }
    }
}

fn env_number<T: std::str::FromStr>(name: &str) -> Result<Option<T>> {
    match std::env::var(name) {
        Err(_) => Ok(None),
        Ok(text) => text.trim().parse().map(Some).map_err(|_| {
            Error::new(
                ErrorKind::InvalidSpec {
                    path: name.into(),
                    reason: format!("`{text}` is not a number"),
                },
                PROVIDER,
                format!("{name} must be a number"),
            )
        }),
    }
}
