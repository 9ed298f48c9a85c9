//! Clusters: made as asked, owned, listed for their hub, upgraded in place,
//! one operation at a time where the cloud says so, with progress while
//! they run; creating one again is an ensure.

use std::collections::BTreeMap;

use provider_core::ErrorKind;
use provider_core::provider::*;

use crate::Harness;

/// A cluster is created with what was asked, carries its ownership tags,
/// is listed for its hub only, and is gone after delete.
pub async fn cluster_lifecycle(h: Harness) {
    let p = &h.provider;
    let cluster = h.ready_cluster().await;
    let state = p
        .get_cluster(&cluster.name)
        .await
        .unwrap()
        .expect("cluster exists after create");
    assert_eq!(state.status, ResourceStatus::Ready);
    assert_eq!(state.config.kubernetes_version, "1.30");
    assert!(
        owned_by(&state.config.tags, &h.hub),
        "ownership tags: {:?}",
        state.config.tags
    );
    assert_eq!(
        state.config.tags.get("suite").map(String::as_str),
        Some("conformance")
    );
    assert!(
        state.endpoint.is_some() && state.oidc_issuer.is_some(),
        "a ready cluster has an endpoint and an OIDC issuer"
    );
    let listed: Vec<String> = p
        .list_clusters(&h.hub)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.config.name)
        .collect();
    assert_eq!(listed, vec![cluster.name.clone()]);
    assert!(
        p.list_clusters("some-other-hub")
            .await
            .unwrap()
            .iter()
            .all(|c| c.config.name != cluster.name)
    );
    h.remove_cluster(&cluster.name).await;
    assert!(p.get_cluster(&cluster.name).await.unwrap().is_none());
    assert!(p.list_clusters(&h.hub).await.unwrap().is_empty());
}

/// Creating what exists is an ensure: the hub's own resource is finished
/// and returned, never copied; a resource by that name that is another
/// hub's is refused with `AlreadyExists` and left as it is.
pub async fn duplicates_are_ensured_and_foreign_names_refused(h: Harness) {
    let p = &h.provider;
    let cluster = h.ready_cluster().await;
    h.wait(p.create_cluster(&cluster, &[]).await.unwrap()).await;
    assert_eq!(p.list_clusters(&h.hub).await.unwrap().len(), 1);

    let bucket = h.bucket("dup");
    h.wait(p.create_bucket(&bucket).await.unwrap()).await;
    h.wait(p.create_bucket(&bucket).await.unwrap()).await;
    let identity = h.identity("dup");
    h.wait(p.create_identity(&identity).await.unwrap()).await;
    h.wait(p.create_identity(&identity).await.unwrap()).await;
    assert_eq!(p.list_buckets(&h.hub).await.unwrap().len(), 1);
    assert_eq!(p.list_identities(&h.hub).await.unwrap().len(), 1);

    // The same names, claimed for another hub: refused, and nothing changes.
    let foreign = |tags: &BTreeMap<String, String>| {
        let mut tags = tags.clone();
        tags.insert(TAG_CLUSTER.into(), format!("{}-other", h.hub));
        tags
    };
    let refused = p
        .create_cluster(
            &ClusterConfig {
                tags: foreign(&cluster.tags),
                ..cluster.clone()
            },
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), &ErrorKind::AlreadyExists, "{refused}");
    let refused = p
        .create_bucket(&BucketConfig {
            tags: foreign(&bucket.tags),
            ..bucket.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), &ErrorKind::AlreadyExists, "{refused}");
    let refused = p
        .create_identity(&IdentityConfig {
            tags: foreign(&identity.tags),
            ..identity.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), &ErrorKind::AlreadyExists, "{refused}");
    let kept = p.get_bucket(&bucket.name).await.unwrap().unwrap();
    assert!(
        owned_by(&kept.config.tags, &h.hub),
        "{:?}",
        kept.config.tags
    );

    h.wait(
        p.delete_bucket(&bucket.name, BucketDeletion::RefuseIfNotEmpty)
            .await
            .unwrap(),
    )
    .await;
    h.wait(p.delete_identity(&identity.name).await.unwrap())
        .await;
    h.remove_cluster(&cluster.name).await;
}

/// Reading what does not exist is `None`; changing it is `NotFound`.
pub async fn missing_resources(h: Harness) {
    let p = &h.provider;
    let cluster = h.cluster();
    assert!(p.get_cluster(&cluster.name).await.unwrap().is_none());
    assert_eq!(
        p.delete_cluster(&cluster.name).await.unwrap_err().kind(),
        &ErrorKind::NotFound
    );
    assert_eq!(
        p.update_cluster(&cluster).await.unwrap_err().kind(),
        &ErrorKind::NotFound
    );
    assert_eq!(
        p.create_node_pool(&cluster.name, &h.pool("core"))
            .await
            .unwrap_err()
            .kind(),
        &ErrorKind::NotFound
    );
    let bucket = h.bucket("nothing");
    assert!(p.get_bucket(&bucket.name).await.unwrap().is_none());
    assert_eq!(
        p.delete_bucket(&bucket.name, BucketDeletion::RefuseIfNotEmpty)
            .await
            .unwrap_err()
            .kind(),
        &ErrorKind::NotFound
    );
    let identity = h.identity("nobody");
    assert!(p.get_identity(&identity.name).await.unwrap().is_none());
    assert_eq!(
        p.delete_identity(&identity.name).await.unwrap_err().kind(),
        &ErrorKind::NotFound
    );
}

/// On clouds that run one operation per cluster, a second one is refused
/// with a temporary `Conflict` while the first runs.
pub async fn one_operation_per_cluster(h: Harness) {
    let p = &h.provider;
    let caps = p.capabilities();
    if !(caps.one_operation_per_cluster && caps.operations_take_time) {
        return h.skip("operations on this provider's clusters run side by side, or at once");
    }
    let cluster = h.ready_cluster().await;
    let first = p
        .create_node_pool(&cluster.name, &h.pool("core"))
        .await
        .unwrap();
    let second = p
        .create_node_pool(&cluster.name, &h.pool("user"))
        .await
        .unwrap_err();
    assert_eq!(second.kind(), &ErrorKind::Conflict, "{second}");
    assert!(second.is_temporary());
    h.wait(first).await;
    h.wait(
        p.create_node_pool(&cluster.name, &h.pool("user"))
            .await
            .unwrap(),
    )
    .await;
    h.remove_cluster(&cluster.name).await;
}

/// Operations that take time say so while they run.
pub async fn operations_report_progress(h: Harness) {
    let p = &h.provider;
    if !p.capabilities().operations_take_time {
        return h.skip("this provider's operations finish at once");
    }
    let cluster = h.cluster();
    let operation = p.create_cluster(&cluster, &[]).await.unwrap();
    assert_eq!(
        p.get_cluster(&cluster.name).await.unwrap().unwrap().status,
        ResourceStatus::Creating
    );
    let progress = h.wait(operation).await;
    assert!(
        !progress.is_empty(),
        "a cluster create that takes time reports progress"
    );
    assert!(progress.iter().all(|p| !p.status.is_empty()));
    h.remove_cluster(&cluster.name).await;
}

/// The Kubernetes version upgrades in place.
pub async fn cluster_version_upgrade(h: Harness) {
    let p = &h.provider;
    if !p.capabilities().cluster_version_upgrade {
        return h.skip("this provider cannot upgrade a cluster in place");
    }
    let mut cluster = h.ready_cluster().await;
    cluster.kubernetes_version = "1.31".into();
    h.wait(p.update_cluster(&cluster).await.unwrap()).await;
    let state = p.get_cluster(&cluster.name).await.unwrap().unwrap();
    assert_eq!(
        (state.config.kubernetes_version.as_str(), state.status),
        ("1.31", ResourceStatus::Ready)
    );
    h.remove_cluster(&cluster.name).await;
}
