//! The one public error of hubforge's libraries.
//!
//! Each provider keeps its own error types private and maps them into this
//! one, so callers match on an [`ErrorKind`] they can act on (wait and retry,
//! fix credentials, raise a quota, fix the spec) and never on a cloud's
//! error strings.

use std::fmt;
use std::time::Duration;

/// Shorthand for results carrying [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in terms a caller can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The resource does not exist.
    NotFound,
    /// A resource with that name exists already.
    AlreadyExists,
    /// The resource is busy with another operation, or in a state that does
    /// not allow this one yet (GKE and AKS run one operation per cluster).
    Conflict,
    /// The bucket still holds data; deleting it needs explicit consent.
    NotEmpty,
    /// Another run holds the hub's state lock.
    Locked {
        /// Who holds it, since when, and the lock id to clear it with.
        holder: String,
        /// The lock id, for `hubforge state unlock ID`.
        lock_id: String,
    },
    /// The credentials are valid but not allowed to do this.
    PermissionDenied,
    /// No valid credentials.
    Unauthenticated,
    /// The cloud asked us to slow down.
    Throttled {
        /// How long the cloud asked us to wait, if it said.
        retry_after: Option<Duration>,
    },
    /// An account or project quota would be exceeded.
    QuotaExceeded,
    /// The spec, or a request built from it, is invalid.
    InvalidSpec {
        /// Field path in the spec.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The provider cannot do this at all.
    Unsupported {
        /// The operation asked for.
        operation: String,
    },
    /// A request or an operation took longer than its deadline.
    Timeout,
    /// The caller cancelled the wait.
    Cancelled,
    /// A failure that is likely to pass (5xx, connection reset).
    Transient,
    /// A failure that retrying will not fix.
    Permanent,
}

/// A failed cloud or engine action: what kind, on which provider and
/// resource, and why. Boxed inside, so a `Result` stays one pointer wide.
#[derive(Debug)]
pub struct Error(Box<Inner>);

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    provider: String,
    resource: Option<String>,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    /// Whether trying again may help, where the provider knows better than
    /// the kind (see [`Error::with_temporary`]).
    temporary: Option<bool>,
}

impl Error {
    /// A new error of `kind` from `provider`.
    pub fn new(kind: ErrorKind, provider: impl Into<String>, message: impl Into<String>) -> Error {
        Error(Box::new(Inner {
            kind,
            provider: provider.into(),
            resource: None,
            message: message.into(),
            source: None,
            temporary: None,
        }))
    }

    /// Names the resource the error is about.
    pub fn with_resource(mut self, resource: impl Into<String>) -> Error {
        self.0.resource = Some(resource.into());
        self
    }

    /// Keeps the underlying error for `source()` chains.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Error {
        self.0.source = Some(Box::new(source));
        self
    }

    /// Says whether the same request may succeed later, apart from the
    /// kind: a provider that knows an error of a usually permanent kind
    /// will pass (IAM not yet showing a role it just made) or that one of a
    /// usually temporary kind will not, says so here, and
    /// [`Error::is_temporary`] answers with it.
    pub fn with_temporary(mut self, temporary: bool) -> Error {
        self.0.temporary = Some(temporary);
        self
    }

    /// The kind to act on.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// The provider that reported it (`sim`, `aws`, …).
    pub fn provider(&self) -> &str {
        &self.0.provider
    }

    /// The resource it concerns, if known.
    pub fn resource(&self) -> Option<&str> {
        self.0.resource.as_deref()
    }

    /// The human-readable detail.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// Whether the same request may succeed if tried again later: what
    /// the provider said with [`Error::with_temporary`], else what the kind
    /// says (throttling, conflicts, timeouts and transient failures pass).
    pub fn is_temporary(&self) -> bool {
        self.0.temporary.unwrap_or(matches!(
            self.0.kind,
            ErrorKind::Throttled { .. }
                | ErrorKind::Conflict
                | ErrorKind::Timeout
                | ErrorKind::Transient
        ))
    }

    /// Whether the error says the thing does not exist.
    pub fn is_not_found(&self) -> bool {
        self.0.kind == ErrorKind::NotFound
    }

    /// How long the server asked us to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.0.kind {
            ErrorKind::Throttled { retry_after } => retry_after,
            _ => None,
        }
    }
}

impl Clone for Error {
    /// Clones everything but the source chain, which is not `Clone`; its
    /// text is kept in the message.
    fn clone(&self) -> Error {
        let inner = &self.0;
        let message = match &inner.source {
            Some(source) => format!("{}: {source}", inner.message),
            None => inner.message.clone(),
        };
        let mut copy = Error::new(inner.kind.clone(), inner.provider.clone(), message);
        copy.0.resource = inner.resource.clone();
        copy.0.temporary = inner.temporary;
        copy
    }
}

/// Conveniences on results carrying [`Error`], for providers.
pub trait ResultExt<T> {
    /// `Ok(None)` where the error says the thing does not exist
    /// ([`ErrorKind::NotFound`]); the value, or any other error, as it is.
    /// A read of something that may be missing is `.optional()`, and so is
    /// a delete of something that may be gone already.
    fn optional(self) -> Result<Option<T>>;
}

impl<T> ResultExt<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(value) => Ok(Some(value)),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::NotFound => f.write_str("not found"),
            ErrorKind::AlreadyExists => f.write_str("already exists"),
            ErrorKind::Conflict => f.write_str("conflict"),
            ErrorKind::NotEmpty => f.write_str("not empty"),
            ErrorKind::Locked { holder, .. } => write!(f, "locked by {holder}"),
            ErrorKind::PermissionDenied => f.write_str("permission denied"),
            ErrorKind::Unauthenticated => f.write_str("not authenticated"),
            ErrorKind::Throttled {
                retry_after: Some(after),
            } => write!(f, "throttled (retry after {after:?})"),
            ErrorKind::Throttled { retry_after: None } => f.write_str("throttled"),
            ErrorKind::QuotaExceeded => f.write_str("quota exceeded"),
            ErrorKind::InvalidSpec { path, reason } => {
                write!(f, "invalid spec at {path}: {reason}")
            }
            ErrorKind::Unsupported { operation } => write!(f, "unsupported operation {operation}"),
            ErrorKind::Timeout => f.write_str("timed out"),
            ErrorKind::Cancelled => f.write_str("cancelled"),
            ErrorKind::Transient => f.write_str("temporary failure"),
            ErrorKind::Permanent => f.write_str("failed"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.0;
        write!(f, "{}: {}", inner.provider, inner.kind)?;
        if let Some(resource) = &inner.resource {
            write!(f, " ({resource})")?;
        }
        if !inner.message.is_empty() {
            write!(f, ": {}", inner.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_kinds_are_the_retryable_ones() {
        let throttled = Error::new(
            ErrorKind::Throttled {
                retry_after: Some(Duration::from_secs(2)),
            },
            "sim",
            "slow down",
        );
        assert!(throttled.is_temporary());
        assert_eq!(throttled.retry_after(), Some(Duration::from_secs(2)));
        assert!(!Error::new(ErrorKind::PermissionDenied, "sim", "").is_temporary());
        assert!(!Error::new(ErrorKind::QuotaExceeded, "sim", "").is_temporary());
    }

    #[test]
    fn a_provider_can_say_temporary_or_permanent_apart_from_the_kind() {
        let propagating = Error::new(
            ErrorKind::InvalidSpec {
                path: String::new(),
                reason: "role cannot be assumed".into(),
            },
            "aws",
            "not yet",
        )
        .with_temporary(true);
        assert!(propagating.is_temporary());
        assert!(
            matches!(propagating.kind(), ErrorKind::InvalidSpec { .. }),
            "the kind is kept"
        );
        assert!(propagating.clone().is_temporary(), "clones keep it");
        let final_conflict =
            Error::new(ErrorKind::Conflict, "aws", "never frees up").with_temporary(false);
        assert!(!final_conflict.is_temporary());
        assert!(!final_conflict.clone().is_temporary());
    }

    #[test]
    fn optional_turns_only_not_found_into_none() {
        let found: Result<u8> = Ok(3);
        assert_eq!(found.optional().unwrap(), Some(3));
        let missing: Result<u8> = Err(Error::new(ErrorKind::NotFound, "aws", "gone"));
        assert_eq!(missing.optional().unwrap(), None);
        let denied: Result<u8> = Err(Error::new(ErrorKind::PermissionDenied, "aws", "no"));
        assert_eq!(
            denied.optional().unwrap_err().kind(),
            &ErrorKind::PermissionDenied
        );
    }

    #[test]
    fn the_source_is_kept_and_its_text_survives_a_clone() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let error = Error::new(ErrorKind::Transient, "aws", "request failed").with_source(io);
        let source = std::error::Error::source(&error).expect("a source");
        assert_eq!(source.to_string(), "reset by peer");
        assert!(error.clone().message().contains("reset by peer"));
    }

    #[test]
    fn display_names_provider_kind_and_resource() {
        let error = Error::new(ErrorKind::NotFound, "aws", "no such cluster")
            .with_resource("cluster/openscapes");
        assert_eq!(
            error.to_string(),
            "aws: not found (cluster/openscapes): no such cluster"
        );
    }
}
