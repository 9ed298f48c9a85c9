//! S3 buckets: created in the region, encrypted (SSE-S3), public access
//! blocked, versioned and expiring as the spec says, tagged.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketVersioningStatus,
    CreateBucketConfiguration, Delete, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, ObjectIdentifier, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging, VersioningConfiguration,
};
use provider_core::operation::Operation;
use provider_core::provider::*;
use provider_core::{ErrorKind, Result};

use crate::AwsProvider;
use crate::error::{AwsResult, found, local};

const LIFECYCLE_RULE: &str = "hubforge-expiry";

impl AwsProvider {
    /// Applies every setting of `config` to an existing bucket.
    async fn configure_bucket(&self, config: &BucketConfig) -> Result<()> {
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
        let tags: Vec<Tag> = config
            .tags
            .iter()
            .map(|(k, v)| {
                Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .expect("key and value set")
            })
            .collect();
        s3.put_bucket_tagging()
            .bucket(name)
            .tagging(
                Tagging::builder()
                    .set_tag_set(Some(tags))
                    .build()
                    .expect("tag set"),
            )
            .send()
            .await
            .or_aws(name)?;
        Ok(())
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
        match found(
            self.inner
                .clients
                .s3
                .get_bucket_tagging()
                .bucket(name)
                .send()
                .await
                .or_aws(name),
        )? {
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
        if found(s3.head_bucket().bucket(name).send().await.or_aws(name))?.is_none() {
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
        let lifecycle = found(
            s3.get_bucket_lifecycle_configuration()
                .bucket(name)
                .send()
                .await
                .or_aws(name),
        )?;
        let delete_after_days = lifecycle
            .and_then(|l| {
                l.rules()
                    .iter()
                    .find(|r| r.id() == Some(LIFECYCLE_RULE))
                    .and_then(|r| r.expiration())
                    .and_then(|e| e.days())
            })
            .map(|days| days as u32);
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
            status: ResourceStatus::Ready,
            url: format!("s3://{name}"),
            empty,
        }))
    }

    /// Deletes every object version and delete marker, a page at a time.
    async fn empty_bucket(&self, name: &str) -> Result<()> {
        let s3 = &self.inner.clients.s3;
        loop {
            let page = s3
                .list_object_versions()
                .bucket(name)
                .max_keys(1000)
                .send()
                .await
                .or_aws(name)?;
            let ids: Vec<ObjectIdentifier> = page
                .versions()
                .iter()
                .map(|v| (v.key(), v.version_id()))
                .chain(
                    page.delete_markers()
                        .iter()
                        .map(|m| (m.key(), m.version_id())),
                )
                .filter_map(|(key, version)| {
                    ObjectIdentifier::builder()
                        .key(key?)
                        .set_version_id(version.map(str::to_string))
                        .build()
                        .ok()
                })
                .collect();
            if ids.is_empty() {
                return Ok(());
            }
            let delete = Delete::builder()
                .set_objects(Some(ids))
                .quiet(true)
                .build()
                .expect("objects set");
            s3.delete_objects()
                .bucket(name)
                .delete(delete)
                .send()
                .await
                .or_aws(name)?;
        }
    }
}

#[async_trait]
impl BucketOps for AwsProvider {
    async fn create_bucket(&self, config: &BucketConfig) -> Result<Operation> {
        let s3 = &self.inner.clients.s3;
        let name = config.name.as_str();
        self.check_region(&config.region, "bucket", name)?;
        let mut request = s3.create_bucket().bucket(name);
        // us-east-1 is the one region that must not be named.
        if config.region != "us-east-1" {
            let constraint = BucketLocationConstraint::from(config.region.as_str());
            request = request.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(constraint)
                    .build(),
            );
        }
        request.send().await.or_aws_create(name)?;
        self.configure_bucket(config).await?;
        Ok(Operation::completed(
            format!("create-bucket-{name}"),
            format!("bucket/{name}"),
        ))
    }

    async fn get_bucket(&self, name: &str) -> Result<Option<BucketState>> {
        self.read_bucket(name).await
    }

    async fn update_bucket(&self, config: &BucketConfig) -> Result<Operation> {
        self.configure_bucket(config).await?;
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
        // Only this region's buckets: another region's would answer with a redirect.
        let listed = self
            .inner
            .clients
            .s3
            .list_buckets()
            .bucket_region(&self.inner.region)
            .send()
            .await
            .or_aws("s3")?;
        let mut owned = Vec::new();
        for bucket in listed.buckets() {
            let Some(name) = bucket.name() else { continue };
            // Only buckets tagged as the hub's; reading the rest would be wasted calls.
            if !owned_by(&self.bucket_tags(name).await?, hub) {
                continue;
            }
            if let Some(state) = self.read_bucket(name).await? {
                owned.push(state);
            }
        }
        Ok(owned)
    }
}
