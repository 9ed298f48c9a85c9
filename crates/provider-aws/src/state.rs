//! Hub state in S3, shared by a team: `<prefix><hub>/state.json` and
//! `<prefix><hub>/lock.json`.
//!
//! The lock is an object created with `If-None-Match: *`, so of two runs
//! exactly one creates it; it is renewed and released with `If-Match` on
//! its ETag, so a run never removes a lock it does not hold.

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use provider_core::state::{HubState, LockInfo, StateStore, locked_error as locked, unix_now};
use provider_core::{Error, ErrorKind, Result};

use crate::AwsProvider;
use crate::error::{AwsResult, found, local};

/// A [`StateStore`] in an S3 bucket.
#[derive(Clone)]
pub struct S3StateStore {
    provider: AwsProvider,
    bucket: String,
    prefix: String,
}

impl S3StateStore {
    /// State in `bucket` (which must exist), under `prefix` (may be empty).
    pub fn new(
        provider: &AwsProvider,
        bucket: impl Into<String>,
        prefix: impl Into<String>,
    ) -> S3StateStore {
        let mut prefix = prefix.into();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        S3StateStore {
            provider: provider.clone(),
            bucket: bucket.into(),
            prefix,
        }
    }

    fn key(&self, hub: &str, file: &str) -> String {
        format!("{}{hub}/{file}", self.prefix)
    }

    /// An object's bytes and ETag; `None` if it does not exist.
    async fn get(&self, key: &str) -> Result<Option<(Vec<u8>, String)>> {
        let s3 = &self.provider.inner.clients.s3;
        let Some(out) = found(
            s3.get_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .or_aws(key),
        )?
        else {
            return Ok(None);
        };
        let etag = out.e_tag().unwrap_or_default().to_string();
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| local(ErrorKind::Transient, key, format!("reading {key}: {e}")))?
            .into_bytes()
            .to_vec();
        Ok(Some((bytes, etag)))
    }

    async fn read_lock(&self, hub: &str) -> Result<Option<(LockInfo, String)>> {
        let key = self.key(hub, "lock.json");
        match self.get(&key).await? {
            None => Ok(None),
            Some((bytes, etag)) => {
                let lock = serde_json::from_slice(&bytes).map_err(|e| {
                    local(
                        ErrorKind::Permanent,
                        &key,
                        format!("the lock object is not a hubforge lock: {e}"),
                    )
                })?;
                Ok(Some((lock, etag)))
            }
        }
    }

    fn body<T: serde::Serialize>(value: &T) -> ByteStream {
        ByteStream::from(serde_json::to_vec_pretty(value).expect("state serializes"))
    }
}

/// Whether an error is S3's "your condition did not hold".
fn precondition_failed(error: &Error) -> bool {
    error.kind() == &ErrorKind::Conflict
}

#[async_trait]
impl StateStore for S3StateStore {
    async fn read(&self, hub: &str) -> Result<Option<HubState>> {
        let key = self.key(hub, "state.json");
        match self.get(&key).await? {
            None => Ok(None),
            Some((bytes, _)) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                local(
                    ErrorKind::Permanent,
                    &key,
                    format!("the state object is not hubforge state: {e}"),
                )
            }),
        }
    }

    async fn write(&self, state: &HubState) -> Result<()> {
        let mut state = state.clone();
        state.updated_at = unix_now();
        let key = self.key(&state.hub, "state.json");
        let s3 = &self.provider.inner.clients.s3;
        s3.put_object()
            .bucket(&self.bucket)
            .key(&key)
            .body(Self::body(&state))
            .content_type("application/json")
            .send()
            .await
            .or_aws(&key)?;
        Ok(())
    }

    async fn remove(&self, hub: &str) -> Result<()> {
        let key = self.key(hub, "state.json");
        self.provider
            .inner
            .clients
            .s3
            .delete_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .or_aws(&key)?;
        Ok(())
    }

    async fn hubs(&self) -> Result<Vec<String>> {
        let s3 = &self.provider.inner.clients.s3;
        let mut hubs = Vec::new();
        let mut pages = s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&self.prefix)
            .delimiter("/")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.or_aws(&self.bucket)?;
            hubs.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix())
                    .map(|p| {
                        p.trim_start_matches(&self.prefix)
                            .trim_end_matches('/')
                            .to_string()
                    }),
            );
        }
        hubs.sort();
        Ok(hubs)
    }

    async fn lock(&self, hub: &str, request: &LockInfo) -> Result<Option<LockInfo>> {
        let key = self.key(hub, "lock.json");
        let s3 = &self.provider.inner.clients.s3;
        let mut taken_over = None;
        for _ in 0..2 {
            let created = s3
                .put_object()
                .bucket(&self.bucket)
                .key(&key)
                .if_none_match("*")
                .body(Self::body(request))
                .send()
                .await
                .or_aws(&key);
            match created {
                Ok(_) => return Ok(taken_over),
                Err(error) if precondition_failed(&error) => {}
                Err(error) => return Err(error),
            }
            let Some((holder, etag)) = self.read_lock(hub).await? else {
                continue;
            };
            if !holder.is_stale() || taken_over.is_some() {
                return Err(locked(hub, &holder));
            }
            // Remove the stale lock only if nobody replaced it meanwhile.
            match s3
                .delete_object()
                .bucket(&self.bucket)
                .key(&key)
                .if_match(&etag)
                .send()
                .await
                .or_aws(&key)
            {
                Ok(_) => taken_over = Some(holder),
                Err(error) if precondition_failed(&error) => {}
                Err(error) => return Err(error),
            }
        }
        match self.read_lock(hub).await? {
            Some((holder, _)) => Err(locked(hub, &holder)),
            None => Err(local(
                ErrorKind::Conflict,
                &key,
                "the lock changed hands while being taken; try again",
            )),
        }
    }

    async fn renew(&self, hub: &str, lock: &LockInfo) -> Result<()> {
        let key = self.key(hub, "lock.json");
        match self.read_lock(hub).await? {
            Some((current, etag)) if current.id == lock.id => {
                let lease = lock.expires_at.saturating_sub(lock.created_at);
                let renewed = LockInfo {
                    expires_at: unix_now() + lease,
                    ..current
                };
                let s3 = &self.provider.inner.clients.s3;
                s3.put_object()
                    .bucket(&self.bucket)
                    .key(&key)
                    .if_match(&etag)
                    .body(Self::body(&renewed))
                    .send()
                    .await
                    .or_aws(&key)?;
                Ok(())
            }
            Some((current, _)) => Err(locked(hub, &current)),
            None => Err(local(
                ErrorKind::NotFound,
                &key,
                format!("the lock of hub {hub} is gone; another run may have cleared it"),
            )),
        }
    }

    async fn unlock(&self, hub: &str, id: &str) -> Result<()> {
        let key = self.key(hub, "lock.json");
        match self.read_lock(hub).await? {
            Some((current, etag)) if current.id == id => {
                let s3 = &self.provider.inner.clients.s3;
                s3.delete_object()
                    .bucket(&self.bucket)
                    .key(&key)
                    .if_match(&etag)
                    .send()
                    .await
                    .or_aws(&key)?;
                Ok(())
            }
            Some((current, _)) => Err(local(
                ErrorKind::Conflict,
                &key,
                format!("hub {hub} is locked with id {}, not {id}", current.id),
            )),
            None => Err(local(
                ErrorKind::NotFound,
                &key,
                format!("hub {hub} is not locked"),
            )),
        }
    }

    async fn current_lock(&self, hub: &str) -> Result<Option<LockInfo>> {
        Ok(self.read_lock(hub).await?.map(|(lock, _)| lock))
    }
}
