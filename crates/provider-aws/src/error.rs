//! AWS errors, classified into the core error kinds.
//!
//! Every SDK error goes through [`classify`]: the service's error code (and
//! the HTTP status when there is no code) decides the kind a caller acts on.
//! No AWS type leaves this crate.

use std::time::Duration;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use provider_core::{Error, ErrorKind};

pub(crate) const PROVIDER: &str = "aws";

/// Codes AWS services use to say "slow down".
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// How long IAM may take to show a new role or OIDC provider to other
/// services. Terraform and eksctl retry such errors for about two minutes.
pub(crate) const IAM_PROPAGATION: Duration = Duration::from_secs(120);

/// Errors IAM's eventual consistency gives right after a role or OIDC
/// provider is made: (code, words of its message). They are the same
/// errors a truly wrong spec gives, so they are temporary only while what
/// the request names is younger than [`IAM_PROPAGATION`].
const NOT_PROPAGATED: &[(&str, &str)] = &[
    // EKS CreateCluster / CreateNodegroup naming a role it cannot see yet.
    ("InvalidParameterException", "could not be assumed"),
    ("InvalidParameterException", "Error in role params"),
    (
        "InvalidParameterException",
        "doesn't have the Amazon EKS Managed Policies",
    ),
    // IAM: a trust policy naming an OIDC provider or role made moments ago.
    ("MalformedPolicyDocument", "Invalid principal in policy"),
];

/// Whether an error is IAM not having caught up with something this
/// provider made `fresh` ago.
fn not_propagated(code: &str, message: &str, fresh: Option<Duration>) -> bool {
    fresh.is_some_and(|age| age <= IAM_PROPAGATION)
        && NOT_PROPAGATED
            .iter()
            .any(|(c, words)| *c == code && message.contains(words))
}

/// What the request was doing, where the same code means different things
/// (`ResourceInUseException` is "exists" on create and "busy" on delete).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Intent {
    Create,
    Other,
}

/// Maps an SDK error into the core error. `fresh` is how long ago this
/// provider made the youngest role or OIDC provider the request names.
pub(crate) fn classify<E>(
    error: SdkError<E, HttpResponse>,
    intent: Intent,
    resource: &str,
    fresh: Option<Duration>,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = error.raw_response().map(|r| r.status().as_u16());
    let retry_after = error.raw_response().and_then(retry_after);
    let code = error.code().map(str::to_string);
    let message = error
        .message()
        .map(str::to_string)
        .unwrap_or_else(|| describe(&error));
    let kind = match &error {
        SdkError::TimeoutError(_) => ErrorKind::Timeout,
        SdkError::DispatchFailure(failure) if failure.is_timeout() => ErrorKind::Timeout,
        SdkError::DispatchFailure(failure) if failure.is_io() => ErrorKind::Transient,
        SdkError::ConstructionFailure(_) => ErrorKind::Permanent,
        _ => kind_of(
            code.as_deref(),
            status,
            intent,
            &message,
            retry_after,
            fresh,
        ),
    };
    let mut shown = match (&code, status) {
        (Some(code), _) => format!("{code}: {message}"),
        (None, Some(status)) => format!("HTTP {status}: {message}"),
        (None, None) => message.clone(),
    };
    if not_propagated(code.as_deref().unwrap_or_default(), &message, fresh) {
        shown.push_str(
            " (IAM has not yet spread a role or OIDC provider hubforge just made; trying again)",
        );
    }
    Error::new(kind, PROVIDER, shown)
        .with_resource(resource)
        .with_source(error)
}

/// The core kind for an AWS error code and HTTP status; `fresh` as for
/// [`classify`].
pub(crate) fn kind_of(
    code: Option<&str>,
    status: Option<u16>,
    intent: Intent,
    message: &str,
    retry_after: Option<Duration>,
    fresh: Option<Duration>,
) -> ErrorKind {
    let code = code.unwrap_or_default();
    if not_propagated(code, message, fresh) {
        return ErrorKind::Transient;
    }
    if THROTTLING.contains(&code) || status == Some(429) {
        return ErrorKind::Throttled { retry_after };
    }
    match code {
        "ResourceInUseException" if intent == Intent::Create => ErrorKind::AlreadyExists,
        "ResourceInUseException"
        | "DependencyViolation"
        | "DeleteConflict"
        | "ConcurrentModification"
        | "OperationAborted"
        | "ConditionalRequestConflict"
        | "PreconditionFailed" => ErrorKind::Conflict,
        "EntityAlreadyExists"
        | "BucketAlreadyOwnedByYou"
        | "AlreadyExistsException"
        | "InvalidGroup.Duplicate" => ErrorKind::AlreadyExists,
        "BucketNotEmpty" => ErrorKind::NotEmpty,
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" | "Forbidden" => {
            ErrorKind::PermissionDenied
        }
        "ExpiredToken"
        | "ExpiredTokenException"
        | "InvalidClientTokenId"
        | "UnrecognizedClientException"
        | "SignatureDoesNotMatch"
        | "AuthFailure"
        | "InvalidAccessKeyId" => ErrorKind::Unauthenticated,
        "LimitExceeded"
        | "LimitExceededException"
        | "ResourceLimitExceededException"
        | "VpcLimitExceeded"
        | "TooManyBuckets" => ErrorKind::QuotaExceeded,
        "InvalidParameterException"
        | "InvalidRequestException"
        | "ValidationError"
        | "ValidationException"
        | "MalformedPolicyDocument"
        | "InvalidParameterValue"
        | "InvalidParameterCombination"
        | "IllegalLocationConstraintException" => ErrorKind::InvalidSpec {
            path: String::new(),
            reason: message.to_string(),
        },
        "BucketAlreadyExists" => ErrorKind::Permanent,
        "InternalError"
        | "InternalFailure"
        | "ServiceUnavailable"
        | "ServiceUnavailableException"
        | "ServerException"
        | "RequestTimeout"
        | "RequestTimeoutException" => ErrorKind::Transient,
        code if code.ends_with("NotFound")
            || code.ends_with("NotFoundException")
            || code.starts_with("NoSuch") =>
        {
            ErrorKind::NotFound
        }
        _ => match status {
            Some(404) => ErrorKind::NotFound,
            Some(401) => ErrorKind::Unauthenticated,
            Some(403) => ErrorKind::PermissionDenied,
            Some(409) => ErrorKind::Conflict,
            Some(412) => ErrorKind::Conflict,
            Some(status) if status >= 500 => ErrorKind::Transient,
            _ => ErrorKind::Permanent,
        },
    }
}

/// `x-amz-retry-after` (milliseconds) or `Retry-After` (seconds).
fn retry_after(response: &HttpResponse) -> Option<Duration> {
    let headers = response.headers();
    if let Some(ms) = headers
        .get("x-amz-retry-after")
        .and_then(|v| v.parse::<u64>().ok())
    {
        return Some(Duration::from_millis(ms));
    }
    headers
        .get("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

fn describe<E: std::error::Error + 'static>(error: &SdkError<E, HttpResponse>) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// Every item of a paginated AWS listing: the SDK's paginator follows the
/// continuation tokens, and an error is classified for `resource`.
/// `every!(iam.list_roles(), "iam")` is a `Result<Vec<Role>>` (await it).
macro_rules! every {
    ($request:expr, $resource:expr) => {
        async {
            use $crate::error::AwsResult as _;
            $request
                .into_paginator()
                .items()
                .send()
                .collect::<::std::result::Result<Vec<_>, _>>()
                .await
                .or_aws($resource)
        }
    };
}
pub(crate) use every;

/// `.or_aws(resource)` on any SDK result: classify the error, keep the value.
pub(crate) trait AwsResult<T> {
    /// Classifies an error of a request that is not a create.
    fn or_aws(self, resource: &str) -> Result<T, Error>;
    /// Classifies an error of a create (`ResourceInUse` means "exists").
    fn or_aws_create(self, resource: &str) -> Result<T, Error>;
    /// Classifies an error of a request naming a role or OIDC provider
    /// this provider made `fresh` ago (see [`IAM_PROPAGATION`]).
    fn or_aws_naming(
        self,
        intent: Intent,
        resource: &str,
        fresh: Option<Duration>,
    ) -> Result<T, Error>;
}

impl<T, E> AwsResult<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn or_aws(self, resource: &str) -> Result<T, Error> {
        self.map_err(|e| classify(e, Intent::Other, resource, None))
    }

    fn or_aws_create(self, resource: &str) -> Result<T, Error> {
        self.map_err(|e| classify(e, Intent::Create, resource, None))
    }

    fn or_aws_naming(
        self,
        intent: Intent,
        resource: &str,
        fresh: Option<Duration>,
    ) -> Result<T, Error> {
        self.map_err(|e| classify(e, intent, resource, fresh))
    }
}

/// An error made here, not by AWS.
pub(crate) fn local(kind: ErrorKind, resource: &str, message: impl Into<String>) -> Error {
    Error::new(kind, PROVIDER, message).with_resource(resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_kinds_callers_act_on() {
        let k = |code, status| kind_of(Some(code), Some(status), Intent::Other, "m", None, None);
        assert!(matches!(
            k("ThrottlingException", 400),
            ErrorKind::Throttled { .. }
        ));
        assert!(matches!(k("SlowDown", 503), ErrorKind::Throttled { .. }));
        assert_eq!(k("ResourceNotFoundException", 404), ErrorKind::NotFound);
        assert_eq!(k("NoSuchEntity", 404), ErrorKind::NotFound);
        assert_eq!(k("InvalidVpcID.NotFound", 400), ErrorKind::NotFound);
        assert_eq!(k("ResourceInUseException", 409), ErrorKind::Conflict);
        assert_eq!(
            kind_of(
                Some("ResourceInUseException"),
                Some(409),
                Intent::Create,
                "m",
                None,
                None
            ),
            ErrorKind::AlreadyExists
        );
        assert_eq!(k("EntityAlreadyExists", 409), ErrorKind::AlreadyExists);
        assert_eq!(k("BucketNotEmpty", 409), ErrorKind::NotEmpty);
        assert_eq!(k("DependencyViolation", 400), ErrorKind::Conflict);
        assert_eq!(k("AccessDenied", 403), ErrorKind::PermissionDenied);
        assert_eq!(k("ExpiredToken", 400), ErrorKind::Unauthenticated);
        assert_eq!(k("LimitExceededException", 400), ErrorKind::QuotaExceeded);
        assert_eq!(k("InternalError", 500), ErrorKind::Transient);
        assert!(matches!(
            k("MalformedPolicyDocument", 400),
            ErrorKind::InvalidSpec { .. }
        ));
        assert_eq!(
            kind_of(None, Some(404), Intent::Other, "Not Found", None, None),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind_of(None, Some(503), Intent::Other, "", None, None),
            ErrorKind::Transient
        );
        assert_eq!(
            kind_of(Some("Weird"), Some(400), Intent::Other, "", None, None),
            ErrorKind::Permanent
        );
    }

    #[test]
    fn iam_propagation_errors_are_temporary_only_just_after_hubforge_made_the_principal() {
        let cases = [
            (
                "InvalidParameterException",
                "Role with arn: arn:aws:iam::1:role/hub-cluster, could not be assumed because it does not exist or the trusted entity is not correct",
            ),
            ("InvalidParameterException", "Error in role params"),
            (
                "InvalidParameterException",
                "The provided role doesn't have the Amazon EKS Managed Policies associated with it.",
            ),
            (
                "MalformedPolicyDocument",
                "Invalid principal in policy: \"FEDERATED\":\"arn:aws:iam::1:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/X\"",
            ),
        ];
        let kind = |code, message, fresh| {
            kind_of(Some(code), Some(400), Intent::Create, message, None, fresh)
        };
        for (code, message) in cases {
            let just_made = Some(Duration::from_secs(5));
            assert_eq!(
                kind(code, message, just_made),
                ErrorKind::Transient,
                "{message}"
            );
            let at_the_edge = Some(IAM_PROPAGATION);
            assert_eq!(
                kind(code, message, at_the_edge),
                ErrorKind::Transient,
                "{message}"
            );
            let long_ago = Some(IAM_PROPAGATION + Duration::from_secs(1));
            assert!(
                matches!(kind(code, message, long_ago), ErrorKind::InvalidSpec { .. }),
                "{message}"
            );
            // Made by someone else, or by an earlier run: a wrong spec.
            assert!(
                matches!(kind(code, message, None), ErrorKind::InvalidSpec { .. }),
                "{message}"
            );
        }
        // Other invalid parameters stay invalid even right after.
        for (code, message) in [
            (
                "InvalidParameterException",
                "unsupported Kubernetes version 1.99",
            ),
            ("MalformedPolicyDocument", "Syntax errors in policy."),
        ] {
            let just_made = Some(Duration::from_secs(1));
            assert!(
                matches!(
                    kind(code, message, just_made),
                    ErrorKind::InvalidSpec { .. }
                ),
                "{message}"
            );
        }
    }
}
