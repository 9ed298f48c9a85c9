//! Buckets: versioning and lifecycle, both changeable in place.

use provider_core::provider::*;

use crate::Harness;

/// A bucket keeps its versioning and lifecycle; both change in place.
pub async fn bucket_lifecycle(h: Harness) {
    let p = &h.provider;
    let bucket = h.bucket("scratch");
    h.wait(p.create_bucket(&bucket).await.unwrap()).await;
    let state = p
        .get_bucket(&bucket.name)
        .await
        .unwrap()
        .expect("bucket exists after create");
    assert_eq!(
        (state.config.versioning, state.config.delete_after_days),
        (true, Some(7))
    );
    assert!(state.empty);
    assert!(
        state
            .url
            .contains(bucket.name.split('/').next_back().unwrap()),
        "{}",
        state.url
    );
    let changed = BucketConfig {
        versioning: false,
        delete_after_days: Some(30),
        ..bucket.clone()
    };
    h.wait(p.update_bucket(&changed).await.unwrap()).await;
    let state = p.get_bucket(&bucket.name).await.unwrap().unwrap();
    assert_eq!(
        (state.config.versioning, state.config.delete_after_days),
        (false, Some(30))
    );
    assert_eq!(p.list_buckets(&h.hub).await.unwrap().len(), 1);
    h.wait(
        p.delete_bucket(&bucket.name, BucketDeletion::RefuseIfNotEmpty)
            .await
            .unwrap(),
    )
    .await;
    assert!(p.get_bucket(&bucket.name).await.unwrap().is_none());
}
