//! Creates stopped half-way are finished by creating again.

use std::collections::BTreeMap;

use provider_core::provider::*;

use crate::Harness;

/// A create stopped after its first cloud call (a 5xx, Ctrl-C or a killed
/// process between two calls) leaves a resource that lists as the hub's and
/// reads as incomplete; creating it again finishes it. Held for a bucket
/// and the node role, which are several calls on every cloud.
pub async fn interrupted_creates_are_finished(h: Harness) {
    let p = &h.provider;
    let bucket = h.bucket("halfway");
    h.interrupter.arm("bucket", 1);
    let stopped = p.create_bucket(&bucket).await.err();
    assert!(
        !h.interrupter.is_armed(),
        "the provider never reported a create step to its interrupter: wire the harness's interrupter through the provider's builder"
    );
    let stopped = stopped.expect("the interrupted create reports an error");
    assert!(stopped.is_temporary(), "{stopped}");
    assert!(
        p.list_buckets(&h.hub)
            .await
            .unwrap()
            .iter()
            .any(|b| b.config.name == bucket.name),
        "after its first call the bucket is already recognisable as the hub's"
    );
    let half = p.get_bucket(&bucket.name).await.unwrap().unwrap();
    assert!(
        matches!(half.status, ResourceStatus::Incomplete(_)),
        "a half-made bucket reads as incomplete, not {:?}",
        half.status
    );
    h.wait(p.create_bucket(&bucket).await.unwrap()).await;
    let done = p.get_bucket(&bucket.name).await.unwrap().unwrap();
    assert_eq!(done.status, ResourceStatus::Ready);
    assert_eq!(
        (done.config.versioning, done.config.delete_after_days),
        (bucket.versioning, bucket.delete_after_days)
    );
    assert_eq!(done.config.tags, bucket.tags);
    h.wait(
        p.delete_bucket(&bucket.name, BucketDeletion::RefuseIfNotEmpty)
            .await
            .unwrap(),
    )
    .await;

    let outline = HubOutline {
        hub: h.hub.clone(),
        region: h.region.clone(),
        cluster: h.cluster().name,
        has_buckets: false,
        tags: BTreeMap::new(),
    };
    let needs = p.supporting_resources(&outline);
    let role = needs
        .iter()
        .find(|n| n.config.kind == SupportKind::NodeRole)
        .expect("every cloud has a node role or service account");
    let mut made = Vec::new();
    for need in needs.iter().filter(|n| role.after.contains(&n.config.kind)) {
        h.wait(p.create_support(&need.config).await.unwrap()).await;
        made.push(need);
    }
    h.interrupter.arm(SupportKind::NodeRole.as_str(), 1);
    let stopped = p.create_support(&role.config).await.err();
    assert!(
        !h.interrupter.is_armed(),
        "the node role's create reported no step"
    );
    assert!(stopped.expect("interrupted").is_temporary());
    let half = p
        .get_support(SupportKind::NodeRole, &role.config.name)
        .await
        .unwrap()
        .expect("the half-made role exists");
    assert!(
        owned_by(&half.config.tags, &h.hub),
        "{:?}",
        half.config.tags
    );
    assert!(
        matches!(half.status, ResourceStatus::Incomplete(_)),
        "a role without its policies reads as incomplete, not {:?}",
        half.status
    );
    h.wait(p.create_support(&role.config).await.unwrap()).await;
    let done = p
        .get_support(SupportKind::NodeRole, &role.config.name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.status, ResourceStatus::Ready);
    made.push(role);
    for need in made.iter().rev() {
        h.wait(
            p.delete_support(need.config.kind, &need.config.name)
                .await
                .unwrap(),
        )
        .await;
    }
}
