//! When this provider made each IAM role and OIDC provider. Right after
//! they are made, IAM may not yet show them to EKS or to a trust policy,
//! and the errors that causes look like a wrong spec; for a while after
//! the provider made the thing a request names, they are temporary instead
//! (see [`crate::error::IAM_PROPAGATION`]). Only what this provider made
//! counts: a role someone else made, or an earlier run made long ago, is
//! not waited for.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::IAM_PROPAGATION;

/// An IAM principal a request may name.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Principal<'a> {
    /// A role, by name.
    Role(&'a str),
    /// An OIDC provider, by issuer (without `https://`).
    OidcProvider(&'a str),
}

impl Principal<'_> {
    fn key(self) -> String {
        match self {
            Principal::Role(name) => format!("role/{name}"),
            Principal::OidcProvider(issuer) => format!("oidc-provider/{issuer}"),
        }
    }
}

/// What this provider made, and when.
#[derive(Debug, Default)]
pub(crate) struct Fresh(Mutex<HashMap<String, Instant>>);

impl Fresh {
    /// Notes that the provider has just made `principal`.
    pub fn made(&self, principal: Principal<'_>) {
        let mut made = self.0.lock().expect("fresh principals");
        made.retain(|_, at| at.elapsed() <= IAM_PROPAGATION);
        made.insert(principal.key(), Instant::now());
    }

    /// How long ago the youngest of `principals` was made here, if any was.
    pub fn age(&self, principals: &[Principal<'_>]) -> Option<Duration> {
        let made = self.0.lock().expect("fresh principals");
        principals
            .iter()
            .filter_map(|p| made.get(&p.key()))
            .map(Instant::elapsed)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_was_made_here_has_an_age() {
        let fresh = Fresh::default();
        fresh.made(Principal::Role("hub-cluster"));
        assert!(
            fresh
                .age(&[Principal::Role("hub-cluster")])
                .is_some_and(|age| age < IAM_PROPAGATION)
        );
        assert_eq!(fresh.age(&[Principal::Role("hub-node")]), None);
        assert_eq!(
            fresh.age(&[Principal::OidcProvider("hub-cluster")]),
            None,
            "a role and an OIDC provider never share a key"
        );
        fresh.made(Principal::OidcProvider("oidc.example/id/X"));
        assert!(
            fresh
                .age(&[
                    Principal::Role("other"),
                    Principal::OidcProvider("oidc.example/id/X")
                ])
                .is_some()
        );
    }
}
