//! Credentials: the standard AWS chain (environment, profile, SSO-less
//! profiles, web identity, ECS/EC2 metadata) unless static ones are given.
//! Neither is ever logged, printed or stored.

use std::fmt;

/// An access key pair given explicitly (tests against emulators).
#[derive(Clone)]
pub struct StaticCredentials {
    access_key_id: String,
    secret_access_key: String,
}

impl StaticCredentials {
    /// A key pair.
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> StaticCredentials {
        StaticCredentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
        }
    }

    pub(crate) fn to_sdk(&self) -> aws_sdk_s3::config::Credentials {
        aws_sdk_s3::config::Credentials::new(
            &self.access_key_id,
            &self.secret_access_key,
            None,
            None,
            "hubforge-static",
        )
    }
}

impl fmt::Debug for StaticCredentials {
    /// Never shows the secret, and not the key id either.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticCredentials(** redacted **)")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_output_hides_the_keys() {
        let credentials = super::StaticCredentials::new("AKIAEXAMPLE", "very-secret");
        let shown = format!("{credentials:?}");
        assert!(!shown.contains("very-secret") && !shown.contains("AKIAEXAMPLE"));
    }
}
