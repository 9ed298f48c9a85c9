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
use provider_core::{Error, ErrorKind, Result};

use crate::AwsProvider;
use crate::error::{AwsResult, Intent, every, found, kind_of, local};

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
        // The SDK has no paginator for ListObjectVersions (it takes two
        // markers), so the pages are followed here.
        let (mut key_marker, mut version_marker) = (None, None);
        loop {
            let page = s3
                .list_object_versions()
                .bucket(name)
                .max_keys(1000)
                .set_key_marker(key_marker)
                .set_version_id_marker(version_marker)
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
            if !ids.is_empty() {
                let delete = Delete::builder()
                    .set_objects(Some(ids))
                    .quiet(true)
                    .build()
                    .expect("objects set");
                let out = s3
                    .delete_objects()
                    .bucket(name)
                    .delete(delete)
                    .send()
                    .await
                    .or_aws(name)?;
                // S3 answers 200 and lists the objects it would not delete
                // (object lock, a deny in the bucket policy): trying again
                // would fail the same way, so say which and why.
                if let Some(error) = undeleted(name, out.errors()) {
                    return Err(error);
                }
            }
            if page.is_truncated() != Some(true) {
                return Ok(());
            }
            key_marker = page.next_key_marker().map(str::to_string);
            version_marker = page.next_version_id_marker().map(str::to_string);
        }
    }
}

/// The error for the objects DeleteObjects would not delete, naming them
/// (the first ten) and S3's reason; `None` when it deleted them all.
fn undeleted(bucket: &str, errors: &[aws_sdk_s3::types::Error]) -> Option<Error> {
    let first = errors.first()?;
    let objects: Vec<String> = errors
        .iter()
        .take(10)
        .map(|e| {
            let key = e.key().unwrap_or_default();
            let reason = format!(
                "{}: {}",
                e.code().unwrap_or("unknown"),
                e.message().unwrap_or_default()
            );
            match e.version_id() {
                Some(version) => format!("{key} (version {version}): {reason}"),
                None => format!("{key}: {reason}"),
            }
        })
        .collect();
    let more = match errors.len() {
        n if n > 10 => format!(" and {} more", n - 10),
        _ => String::new(),
    };
    let kind = kind_of(
        first.code(),
        None,
        Intent::Other,
        first.message().unwrap_or_default(),
        None,
        None,
    );
    Some(local(
        kind,
        bucket,
        format!(
            "S3 would not delete {} object version(s) of the bucket: {}{more}; remove what holds them (object lock, legal hold, a bucket policy) and destroy again",
            errors.len(),
            objects.join("; ")
        ),
    ))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::double::{Answer, Double, Request, s3_error};

    #[test]
    fn a_bucket_whose_tags_are_denied_is_passed_over_and_other_errors_are_not() {
        let error = |kind| Err(Error::new(kind, "aws", "m"));
        assert_eq!(
            listed_bucket_is_hubs(error(ErrorKind::PermissionDenied), "hub").ok(),
            Some(false)
        );
        assert!(listed_bucket_is_hubs(error(ErrorKind::Transient), "hub").is_err());
        assert!(listed_bucket_is_hubs(error(ErrorKind::Unauthenticated), "hub").is_err());
        assert_eq!(
            listed_bucket_is_hubs(Ok(ownership_tags("hub")), "hub").ok(),
            Some(true)
        );
        assert_eq!(
            listed_bucket_is_hubs(Ok(ownership_tags("other")), "hub").ok(),
            Some(false)
        );
    }

    const XMLNS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

    /// S3 answering for `hub-a` (tags denied), `hub-b` (another hub's) on
    /// the first page and `hub-c` (this hub's) on the second.
    fn s3(request: &Request) -> Answer {
        let tags = |hub: &str| {
            let tags: String = ownership_tags(hub)
                .iter()
                .map(|(k, v)| format!("<Tag><Key>{k}</Key><Value>{v}</Value></Tag>"))
                .collect();
            (200, format!("<Tagging><TagSet>{tags}</TagSet></Tagging>"))
        };
        let q = |key: &str| request.query.contains_key(key);
        match request.path.trim_matches('/') {
            "" => {
                let (names, token) = match request.query.get("continuation-token") {
                    None => (
                        ["hub-a", "hub-b"].as_slice(),
                        "<ContinuationToken>page-2</ContinuationToken>",
                    ),
                    Some(token) if token == "page-2" => (["hub-c"].as_slice(), ""),
                    Some(_) => return s3_error(400, "InvalidArgument"),
                };
                let buckets: String = names
                    .iter()
                    .map(|n| format!("<Bucket><Name>{n}</Name><CreationDate>2024-01-01T00:00:00.000Z</CreationDate></Bucket>"))
                    .collect();
                (
                    200,
                    format!(
                        "<ListAllMyBucketsResult xmlns=\"{XMLNS}\"><Buckets>{buckets}</Buckets>{token}</ListAllMyBucketsResult>"
                    ),
                )
            }
            "hub-a" if q("tagging") => s3_error(403, "AccessDenied"),
            "hub-b" if q("tagging") => tags("other"),
            "hub-c" if q("tagging") => tags("hub"),
            "hub-c" if q("location") => (
                200,
                format!("<LocationConstraint xmlns=\"{XMLNS}\">us-west-2</LocationConstraint>"),
            ),
            "hub-c" if q("lifecycle") => s3_error(404, "NoSuchLifecycleConfiguration"),
            "hub-c" if q("versions") => (
                200,
                format!(
                    "<ListVersionsResult xmlns=\"{XMLNS}\"><IsTruncated>false</IsTruncated></ListVersionsResult>"
                ),
            ),
            "hub-c" if q("versioning") => {
                (200, format!("<VersioningConfiguration xmlns=\"{XMLNS}\"/>"))
            }
            "hub-c" if request.method == "HEAD" => (200, String::new()),
            _ => s3_error(404, "NoSuchBucket"),
        }
    }

    #[tokio::test]
    async fn listing_follows_every_page_and_passes_over_a_bucket_whose_tags_are_denied() {
        let double = Double::start(s3);
        let provider = crate::AwsBuilder::new()
            .region("us-west-2")
            .endpoint_url(&double.url)
            .credentials(crate::StaticCredentials::new("test", "test"))
            .subnets(vec!["subnet-1".into(), "subnet-2".into()])
            .build()
            .await
            .unwrap();
        let listed = provider.list_buckets("hub").await.unwrap();
        let names: Vec<&str> = listed.iter().map(|b| b.config.name.as_str()).collect();
        assert_eq!(names, ["hub-c"]);
        let requests = double.requests.lock().unwrap();
        let lists: Vec<_> = requests.iter().filter(|r| r.path == "/").collect();
        assert_eq!(lists.len(), 2, "{lists:?}");
        for list in lists {
            assert_eq!(list.query.get("prefix").map(String::as_str), Some("hub-"));
            assert_eq!(
                list.query.get("bucket-region").map(String::as_str),
                Some("us-west-2")
            );
        }
    }
}
