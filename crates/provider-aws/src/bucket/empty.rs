//! Emptying a bucket before it is deleted (`--delete-data`).

use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use provider_core::{Error, Result};

use crate::AwsProvider;
use crate::error::{AwsResult, Intent, kind_of, local};

impl AwsProvider {
    /// Deletes every object version and delete marker, a page at a time.
    pub(super) async fn empty_bucket(&self, name: &str) -> Result<()> {
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
