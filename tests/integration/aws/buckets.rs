//! Emptying a bucket on moto: objects S3 will not delete are named.

use std::collections::BTreeMap;

use super::{REGION, aws, s3, sdk};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emptying_a_bucket_names_the_objects_s3_will_not_delete() {
    require_moto!();
    use aws_sdk_s3::types::{
        ObjectLockConfiguration, ObjectLockEnabled, ObjectLockLegalHoldStatus,
    };
    use provider_core::provider::{BucketConfig, BucketDeletion, BucketOps, resource_tags};

    let provider = aws(vec![]).await;
    let name = format!("lockhub-data-{}", std::process::id());
    let config = BucketConfig {
        name: name.clone(),
        region: REGION.into(),
        versioning: true,
        delete_after_days: None,
        tags: resource_tags("lockhub", "bucket--data", &BTreeMap::new()),
    };
    provider.create_bucket(&config).await.unwrap();
    let s3 = s3(&sdk().await);
    s3.put_object_lock_configuration()
        .bucket(&name)
        .object_lock_configuration(
            ObjectLockConfiguration::builder()
                .object_lock_enabled(ObjectLockEnabled::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    for (key, hold) in [
        ("held.txt", ObjectLockLegalHoldStatus::On),
        ("free.txt", ObjectLockLegalHoldStatus::Off),
    ] {
        s3.put_object()
            .bucket(&name)
            .key(key)
            .body(b"data".to_vec().into())
            .object_lock_legal_hold_status(hold)
            .send()
            .await
            .unwrap();
    }

    let error = provider
        .delete_bucket(&name, BucketDeletion::DeleteObjects)
        .await
        .unwrap_err();
    assert_eq!(
        error.kind(),
        &provider_core::ErrorKind::PermissionDenied,
        "{error}"
    );
    assert!(
        error.message().contains("held.txt") && error.message().contains("AccessDenied"),
        "{error}"
    );
    assert!(!error.message().contains("free.txt"), "{error}");
    let left = s3
        .list_object_versions()
        .bucket(&name)
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = left.versions().iter().filter_map(|v| v.key()).collect();
    assert_eq!(
        keys,
        ["held.txt"],
        "the free object went, the held one stays"
    );
}
