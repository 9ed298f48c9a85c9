//! Hub state in S3, shared by a team: `<prefix><hub>/state.json` and
//! `<prefix><hub>/lock.json`, kept by provider-core's [`ObjectStateStore`]
//! over S3's conditional writes: `If-None-Match: *` creates, `If-Match` on
//! the ETag replaces and deletes. S3's `412 PreconditionFailed` and
//! `409 ConditionalRequestConflict` (and `404 NoSuchKey` where a version
//! was expected) are failed conditions, which the store acts on.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use provider_core::error::ResultExt;
use provider_core::state::{Object, ObjectBacked, ObjectStateStore, ObjectStore, Outcome, Version};
use provider_core::{ErrorKind, Result};

use crate::AwsProvider;
use crate::error::{AwsResult, Intent, classify, local};

/// A [`StateStore`](provider_core::state::StateStore) in an S3 bucket.
#[derive(Clone, Debug)]
pub struct S3StateStore {
    store: ObjectStateStore,
}

impl S3StateStore {
    /// State in `bucket` (which must exist), under `prefix` (may be empty).
    pub fn new(
        provider: &AwsProvider,
        bucket: impl Into<String>,
        prefix: impl Into<String>,
    ) -> S3StateStore {
        let objects = S3Objects {
            provider: provider.clone(),
            bucket: bucket.into(),
        };
        S3StateStore {
            store: ObjectStateStore::new(Arc::new(objects), prefix),
        }
    }
}

/// The objects of one bucket.
struct S3Objects {
    provider: AwsProvider,
    bucket: String,
}

/// What a conditional request did: S3 refuses it when the object is not as
/// the condition says (`absent_fails`: also when it is not there at all).
fn outcome<T, E>(
    result: std::result::Result<T, SdkError<E, HttpResponse>>,
    key: &str,
    absent_fails: bool,
) -> Result<Outcome>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(Outcome::Done),
        Err(error) => match error.code() {
            Some("PreconditionFailed" | "ConditionalRequestConflict") => {
                Ok(Outcome::ConditionFailed)
            }
            Some("NoSuchKey") if absent_fails => Ok(Outcome::ConditionFailed),
            _ => Err(classify(error, Intent::Other, key, None)),
        },
    }
}

impl S3Objects {
    fn put(
        &self,
        key: &str,
        body: &[u8],
    ) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder {
        self.provider
            .inner
            .clients
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body.to_vec()))
    }
}

#[async_trait]
impl ObjectStore for S3Objects {
    async fn get(&self, key: &str) -> Result<Option<Object>> {
        let s3 = &self.provider.inner.clients.s3;
        let request = s3.get_object().bucket(&self.bucket).key(key).send().await;
        let Some(out) = request.or_aws(key).optional()? else {
            return Ok(None);
        };
        // An empty If-Match would be no condition at all.
        let version = match out.e_tag() {
            Some(etag) if !etag.is_empty() => Version::new(etag),
            _ => return Err(local(ErrorKind::Permanent, key, "S3 gave no ETag")),
        };
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| local(ErrorKind::Transient, key, format!("reading {key}: {e}")))?
            .into_bytes()
            .to_vec();
        Ok(Some(Object { body, version }))
    }

    async fn create(&self, key: &str, body: &[u8]) -> Result<Outcome> {
        let request = self.put(key, body).if_none_match("*").send().await;
        outcome(request, key, false)
    }

    async fn replace(&self, key: &str, version: &Version, body: &[u8]) -> Result<Outcome> {
        let request = self.put(key, body).if_match(version.as_str()).send().await;
        outcome(request, key, true)
    }

    async fn delete(&self, key: &str, version: &Version) -> Result<Outcome> {
        let s3 = &self.provider.inner.clients.s3;
        let request = s3
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .if_match(version.as_str())
            .send()
            .await;
        outcome(request, key, true)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let s3 = &self.provider.inner.clients.s3;
        let mut keys = Vec::new();
        let mut pages = s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.or_aws(&self.bucket)?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key())
                    .map(str::to_string),
            );
        }
        keys.sort();
        Ok(keys)
    }

    fn location(&self) -> String {
        format!("s3://{}", self.bucket)
    }
}

impl ObjectBacked for S3StateStore {
    fn object_state_store(&self) -> &ObjectStateStore {
        &self.store
    }
}
