//! S3 buckets: created in the region, encrypted (SSE-S3), public access
//! blocked, versioned and expiring as the spec says, tagged.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketVersioningStatus,
    CreateBucketConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging, VersioningConfiguration,
};
use provider_core::error::ResultExt;
use provider_core::operation::Operation;
use provider_core::provider::*;
use provider_core::tags::{self, Tags};
use provider_core::{ErrorKind, Result};

use crate::error::{AwsResult, every, local};
use crate::{AwsProvider, Steps, same_or_refuse};

mod empty;
#[cfg(test)]
mod tests;

const LIFECYCLE_RULE: &str = "hubforge-expiry";

/// Tags as S3 takes them.
fn s3_tags(tags: &Tags) -> Vec<Tag> {
    tags::each(tags, |k, v| {
        let tag = Tag::builder().key(k).value(v).build();
        tag.expect("key and value set")
    })
}

impl AwsProvider {
    /// Applies every setting of `config` to a bucket that exists,
    /// reporting each step to `steps` (step 1 made and tagged it); with
    /// `retag`, its tags too.
    async fn configure_bucket(
        &self,
        config: &BucketConfig,
        steps: &Steps<'_>,
        retag: bool,
    ) -> Result<()> {
        let s3 = &self.inner.clients.s3;
        let name = config.name.as_str();
        let sse = ServerSideEncryptionConfiguration::builder()
            .rules(
                ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(
                        ServerSideEncryptionByDefault::builder()
                            .sse_algorithm(ServerSideEncryption::Aes256)
                            .build()
                            .expect("algorithm set"),
                    )
                    .build(),
            )
            .build()
            .expect("rules set");
        s3.put_bucket_encryption()
            .bucket(name)
            .server_side_encryption_configuration(sse)
            .send()
            .await
            .or_aws(name)?;
        steps.done(2, "default encryption")?;
        let block = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        s3.put_public_access_block()
            .bucket(name)
            .public_access_block_configuration(block)
            .send()
            .await
            .or_aws(name)?;
        steps.done(3, "public access block")?;

        let current = self.bucket_versioning(name).await?;
        if config.versioning || current {
            // A bucket that was versioned can only be suspended, not unversioned.
            let status = if config.versioning {
                BucketVersioningStatus::Enabled
            } else {
                BucketVersioningStatus::Suspended
            };
            s3.put_bucket_versioning()
                .bucket(name)
                .versioning_configuration(VersioningConfiguration::builder().status(status).build())
                .send()
                .await
                .or_aws(name)?;
        }
        steps.done(4, "versioning")?;
        match config.delete_after_days {
            Some(days) => {
                let rule = LifecycleRule::builder()
                    .id(LIFECYCLE_RULE)
                    .status(ExpirationStatus::Enabled)
                    .filter(LifecycleRuleFilter::builder().prefix("").build())
                    .expiration(LifecycleExpiration::builder().days(days as i32).build())
                    .build()
                    .expect("status set");
                let lifecycle = BucketLifecycleConfiguration::builder()
                    .rules(rule)
                    .build()
                    .expect("rules set");
                s3.put_bucket_lifecycle_configuration()
                    .bucket(name)
                    .lifecycle_configuration(lifecycle)
                    .send()
                    .await
                    .or_aws(name)?;
            }
            None => {
                s3.delete_bucket_lifecycle()
                    .bucket(name)
                    .send()
                    .await
                    .or_aws(name)?;
            }
        }
        steps.done(5, "lifecycle")?;
        if retag {
            self.tag_bucket(config).await?;
        }
        Ok(())
    }

    /// Replaces the bucket's tags with `config`'s.
    async fn tag_bucket(&self, config: &BucketConfig) -> Result<()> {
        let tagging = Tagging::builder()
            .set_tag_set(Some(s3_tags(&config.tags)))
            .build()
            .expect("tag set");
        self.inner
            .clients
            .s3
            .put_bucket_tagging()
            .bucket(&config.name)
            .tagging(tagging)
            .send()
            .await
            .or_aws(&config.name)?;
        Ok(())
    }

    /// Makes the bucket, tagged in the same call. Step 1 of its create.
    async fn make_bucket(&self, config: &BucketConfig) -> Result<()> {
        let name = config.name.as_str();
        let mut settings =
            CreateBucketConfiguration::builder().set_tags(Some(s3_tags(&config.tags)));
        // us-east-1 is the one region that must not be named.
        if config.region != "us-east-1" {
            settings = settings
                .location_constraint(BucketLocationConstraint::from(config.region.as_str()));
        }
        self.inner
            .clients
            .s3
            .create_bucket()
            .bucket(name)
            .create_bucket_configuration(settings.build())
            .send()
            .await
            .or_aws_create(name)?;
        // S3 keeps the tags given to CreateBucket; moto 5.2.5 (the newest)
        // drops them, and so may S3-compatible stores. Tagging again at
        // once is harmless where they were kept and makes the bucket the
        // hub's where they were not. On moto a crash between the two calls
        // would leave an untagged bucket that S3 would have tagged: the
        // tests cannot show S3's side of that.
        self.tag_bucket(config).await
    }

    /// Finishes a bucket that exists by `config`'s name, if it is this
    /// very hub bucket; refuses it otherwise, untouched.
    async fn finish_bucket(&self, config: &BucketConfig, steps: &Steps<'_>) -> Result<()> {
        let tags = self.bucket_tags(&config.name).await?;
        same_or_refuse("bucket", &config.name, &tags, &config.tags)?;
        self.configure_bucket(config, steps, true).await
    }

    /// What a bucket still lacks of what every create gives it.
    async fn bucket_gaps(&self, name: &str) -> Result<Vec<&'static str>> {
        let s3 = &self.inner.clients.s3;
        let mut gaps = Vec::new();
        let encryption = s3.get_bucket_encryption().bucket(name).send().await;
        if encryption.or_aws(name).optional()?.is_none() {
            gaps.push("default encryption");
        }
        let block = s3
            .get_public_access_block()
            .bucket(name)
            .send()
            .await
            .or_aws(name)
            .optional()?;
        let blocked = block
            .as_ref()
            .and_then(|b| b.public_access_block_configuration())
            .is_some_and(|b| {
                [
                    b.block_public_acls(),
                    b.ignore_public_acls(),
                    b.block_public_policy(),
                    b.restrict_public_buckets(),
                ]
                .iter()
                .all(|on| *on == Some(true))
            });
        if !blocked {
            gaps.push("public access block");
        }
        Ok(gaps)
    }

    async fn bucket_versioning(&self, name: &str) -> Result<bool> {
        match self
            .inner
            .clients
            .s3
            .get_bucket_versioning()
            .bucket(name)
            .send()
            .await
        {
            Ok(out) => Ok(out.status() == Some(&BucketVersioningStatus::Enabled)),
            // moto answers with a `GetBucketVersioningResponse` document,
            // which is not S3's shape and which the SDK cannot parse; its
            // `<Status>` still says whether versioning is on.
            Err(error)
                if error
                    .raw_response()
                    .is_some_and(|r| r.status().as_u16() == 200)
                    && format!("{error:?}").contains("GetBucketVersioningResponse") =>
            {
                let body = error
                    .raw_response()
                    .and_then(|r| r.body().bytes())
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                Ok(body.contains("<Status>Enabled</Status>"))
            }
            Err(error) => Err(error).or_aws(name),
        }
    }

    async fn bucket_tags(&self, name: &str) -> Result<BTreeMap<String, String>> {
        let tagging = self.inner.clients.s3.get_bucket_tagging().bucket(name);
        match tagging.send().await.or_aws(name).optional()? {
            Some(out) => Ok(out
                .tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect()),
            None => Ok(BTreeMap::new()),
        }
    }

    async fn read_bucket(&self, name: &str) -> Result<Option<BucketState>> {
        let s3 = &self.inner.clients.s3;
        if s3
            .head_bucket()
            .bucket(name)
            .send()
            .await
            .or_aws(name)
            .optional()?
            .is_none()
        {
            return Ok(None);
        }
        let location = s3
            .get_bucket_location()
            .bucket(name)
            .send()
            .await
            .or_aws(name)?;
        let region = match location.location_constraint() {
            None => "us-east-1".to_string(),
            Some(constraint) if constraint.as_str().is_empty() => "us-east-1".to_string(),
            Some(constraint) => constraint.as_str().to_string(),
        };
        let lifecycle = s3
            .get_bucket_lifecycle_configuration()
            .bucket(name)
            .send()
            .await
            .or_aws(name)
            .optional()?;
        let delete_after_days = lifecycle
            .and_then(|l| {
                l.rules()
                    .iter()
                    .find(|r| r.id() == Some(LIFECYCLE_RULE))
                    .and_then(|r| r.expiration())
                    .and_then(|e| e.days())
            })
            .map(|days| days as u32);
        // One version or delete marker is enough to know: no more pages.
        let objects = s3
            .list_object_versions()
            .bucket(name)
            .max_keys(1)
            .send()
            .await
            .or_aws(name)?;
        let empty = objects.versions().is_empty() && objects.delete_markers().is_empty();
        Ok(Some(BucketState {
            config: BucketConfig {
                name: name.into(),
                region,
                versioning: self.bucket_versioning(name).await?,
                delete_after_days,
                tags: self.bucket_tags(name).await?,
            },
            status: match self.bucket_gaps(name).await?.as_slice() {
                [] => ResourceStatus::Ready,
                gaps => ResourceStatus::Incomplete(format!("no {}", gaps.join(", no "))),
            },
            url: format!("s3://{name}"),
            empty,
        }))
    }
}

/// Whether a bucket found by name is `hub`'s, from the answer to reading
/// its tags. A bucket whose tags this account may not read (a foreign
/// bucket with a deny in its policy) is not one hubforge made — hubforge
/// can always read its own — so it is passed over, not a failed listing.
fn listed_bucket_is_hubs(tags: Result<BTreeMap<String, String>>, hub: &str) -> Result<bool> {
    match tags {
        Ok(tags) => Ok(owned_by(&tags, hub)),
        Err(error) if error.kind() == &ErrorKind::PermissionDenied => {
            tracing::debug!("passing over a bucket whose tags cannot be read: {error}");
            Ok(false)
        }
        Err(error) => Err(error),
    }
}

#[async_trait]
impl BucketOps for AwsProvider {
    async fn create_bucket(&self, config: &BucketConfig) -> Result<Operation> {
        let name = config.name.as_str();
        self.check_region(&config.region, "bucket", name)?;
        let steps = Steps::of(&self.inner, "bucket", name);
        // Looked for first: in us-east-1 S3 answers CreateBucket of a
        // bucket the account owns with success, not with an error.
        let head = self
            .inner
            .clients
            .s3
            .head_bucket()
            .bucket(name)
            .send()
            .await;
        let exists = match head.or_aws(name).optional() {
            Ok(found) => found.is_some(),
            // Another account's: CreateBucket says so plainly.
            Err(error) if error.kind() == &ErrorKind::PermissionDenied => false,
            Err(error) => return Err(error),
        };
        let made = !exists
            && match self.make_bucket(config).await {
                Ok(()) => true,
                // Made meanwhile, by another run.
                Err(error) if error.kind() == &ErrorKind::AlreadyExists => false,
                Err(error) => return Err(error),
            };
        if made {
            steps.done(1, "create, tagged")?;
            self.configure_bucket(config, &steps, false).await?;
        } else {
            self.finish_bucket(config, &steps).await?;
        }
        Ok(Operation::completed(
            format!("create-bucket-{name}"),
            format!("bucket/{name}"),
        ))
    }

    async fn get_bucket(&self, name: &str) -> Result<Option<BucketState>> {
        self.read_bucket(name).await
    }

    async fn update_bucket(&self, config: &BucketConfig) -> Result<Operation> {
        self.configure_bucket(config, &Steps::none(), true).await?;
        Ok(Operation::completed(
            format!("update-bucket-{}", config.name),
            format!("bucket/{}", config.name),
        ))
    }

    async fn delete_bucket(&self, name: &str, deletion: BucketDeletion) -> Result<Operation> {
        let Some(state) = self.read_bucket(name).await? else {
            return Err(local(ErrorKind::NotFound, name, "no such bucket"));
        };
        if !state.empty {
            match deletion {
                BucketDeletion::RefuseIfNotEmpty => {
                    return Err(local(ErrorKind::NotEmpty, name, "the bucket holds objects"));
                }
                BucketDeletion::DeleteObjects => self.empty_bucket(name).await?,
            }
        }
        self.inner
            .clients
            .s3
            .delete_bucket()
            .bucket(name)
            .send()
            .await
            .or_aws(name)?;
        Ok(Operation::completed(
            format!("delete-bucket-{name}"),
            format!("bucket/{name}"),
        ))
    }

    async fn list_buckets(&self, hub: &str) -> Result<Vec<BucketState>> {
        // The hub's buckets are all named `<hub>-…` (names::bucket), and
        // only this region's: another region's would answer with a redirect.
        let listed = every!(
            self.inner
                .clients
                .s3
                .list_buckets()
                .prefix(format!("{hub}-"))
                .bucket_region(&self.inner.region),
            "s3"
        )
        .await?;
        let mut owned = Vec::new();
        for name in listed.iter().filter_map(|b| b.name()) {
            if !listed_bucket_is_hubs(self.bucket_tags(name).await, hub)? {
                continue;
            }
            if let Some(state) = self.read_bucket(name).await? {
                owned.push(state);
            }
        }
        Ok(owned)
    }
}
