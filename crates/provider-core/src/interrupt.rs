//! Stopping a multi-step create half-way, the way clouds and crashes do.
//!
//! Most creates are several cloud calls: a bucket, then its encryption,
//! public-access block, versioning and lifecycle; a role, then its
//! policies; a network, then its subnets and routes. A 5xx, a Ctrl-C or a
//! killed process between two calls leaves the resource half-made, and the
//! next run must finish it. Providers report each finished step to an
//! [`Interrupter`]; in production nothing is armed and every step goes on.
//! Tests arm it to stop the next create of a kind after a given step, so
//! the half-made resource is produced by the provider's own first calls —
//! which is what proves the first call leaves something recognisable.

use std::sync::{Arc, Mutex};

use crate::error::{Error, ErrorKind, Result};

/// Where multi-step creates may be stopped; cheap to clone, clones share
/// what is armed.
#[derive(Debug, Clone, Default)]
pub struct Interrupter {
    armed: Arc<Mutex<Vec<Arm>>>,
}

#[derive(Debug, Clone)]
struct Arm {
    kind: String,
    after_step: usize,
}

impl Interrupter {
    /// Nothing armed: every step goes on.
    pub fn new() -> Interrupter {
        Interrupter::default()
    }

    /// Stops the next create of `kind` (`bucket`, `identity`, `node_role`,
    /// `network`: a resource class or a support kind, as
    /// [`crate::provider::SupportKind::as_str`] spells it) after its
    /// `after_step`-th step (1 = after the first cloud call).
    pub fn arm(&self, kind: &str, after_step: usize) {
        self.armed.lock().expect("interrupter").push(Arm {
            kind: kind.to_string(),
            after_step,
        });
    }

    /// Whether anything is still armed (a test checks its arm was used).
    pub fn is_armed(&self) -> bool {
        !self.armed.lock().expect("interrupter").is_empty()
    }

    /// Called by a provider after step `step` (1-based, named `what`) of
    /// creating `name`, a `kind`. Fails as a lost connection would when
    /// armed for it, and disarms.
    pub fn step_done(
        &self,
        provider: &str,
        kind: &str,
        name: &str,
        step: usize,
        what: &str,
    ) -> Result<()> {
        let mut armed = self.armed.lock().expect("interrupter");
        let Some(index) = armed
            .iter()
            .position(|a| a.kind == kind && a.after_step == step)
        else {
            return Ok(());
        };
        armed.remove(index);
        Err(Error::new(
            ErrorKind::Transient,
            provider,
            format!("connection lost after step {step} ({what}) of creating {kind} {name} (interrupted on purpose)"),
        )
        .with_resource(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_armed_step_fails_once_and_only_for_its_kind() {
        let interrupter = Interrupter::new();
        interrupter.arm("bucket", 2);
        assert!(
            interrupter
                .step_done("sim", "bucket", "b", 1, "create")
                .is_ok()
        );
        assert!(
            interrupter
                .step_done("sim", "identity", "i", 2, "tag")
                .is_ok()
        );
        let error = interrupter
            .step_done("sim", "bucket", "b", 2, "encryption")
            .unwrap_err();
        assert!(error.is_temporary(), "{error}");
        assert!(error.message().contains("encryption"), "{error}");
        assert!(!interrupter.is_armed());
        assert!(
            interrupter
                .step_done("sim", "bucket", "b", 2, "encryption")
                .is_ok()
        );
    }
}
