//! Listing buckets against an HTTP double of S3 (moto cannot page
//! ListBuckets or deny a read).

use provider_core::Error;

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
    let provider = double.provider().await;
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
