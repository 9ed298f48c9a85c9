//! Workload identities: bound to one service account and exactly the
//! buckets granted.

use std::collections::BTreeMap;

use provider_core::ErrorKind;
use provider_core::provider::*;
use provider_core::spec::{BucketAccess, ServiceAccountRef};

use crate::Harness;

/// An identity is bound to one service account and exactly the buckets
/// granted; a grant of a bucket that does not exist is refused.
pub async fn identity_binding(h: Harness) {
    let p = &h.provider;
    let cluster = h.ready_cluster().await;
    let (scratch, persistent) = (h.bucket("scratch"), h.bucket("persistent"));
    h.wait(p.create_bucket(&scratch).await.unwrap()).await;
    h.wait(p.create_bucket(&persistent).await.unwrap()).await;
    let identity = h.identity("users");
    h.wait(p.create_identity(&identity).await.unwrap()).await;
    let unbound = p
        .get_identity(&identity.name)
        .await
        .unwrap()
        .expect("identity exists after create");
    assert!(unbound.binding.is_none() && !unbound.principal.is_empty());

    let issuer = p
        .get_cluster(&cluster.name)
        .await
        .unwrap()
        .and_then(|c| c.oidc_issuer)
        .expect("a ready cluster has an OIDC issuer");
    let binding = IdentityBinding {
        cluster: cluster.name.clone(),
        issuer,
        service_account: ServiceAccountRef {
            namespace: "prod".into(),
            name: "user-sa".into(),
        },
        grants: BTreeMap::from([
            (scratch.name.clone(), BucketAccess::ReadWrite),
            (persistent.name.clone(), BucketAccess::ReadOnly),
        ]),
    };
    // A new identity propagates through the cloud's IAM before it can be
    // trusted; the engine retries meanwhile, and so does this case.
    h.wait(
        h.eventually(|| p.bind_identity(&identity.name, &binding))
            .await
            .unwrap(),
    )
    .await;
    let bound = p.get_identity(&identity.name).await.unwrap().unwrap();
    assert_eq!(bound.binding.as_ref(), Some(&binding));

    let mut wrong = binding.clone();
    wrong
        .grants
        .insert(h.bucket("missing").name, BucketAccess::ReadOnly);
    assert_eq!(
        p.bind_identity(&identity.name, &wrong)
            .await
            .unwrap_err()
            .kind(),
        &ErrorKind::NotFound
    );

    let mut retagged = identity.clone();
    retagged.tags.insert("team".into(), "climate".into());
    h.wait(p.update_identity(&retagged).await.unwrap()).await;
    let after = p.get_identity(&identity.name).await.unwrap().unwrap();
    assert_eq!(after.config.tags, retagged.tags);
    assert_eq!(
        after.binding.as_ref(),
        Some(&binding),
        "retagging keeps the binding"
    );

    h.wait(p.delete_identity(&identity.name).await.unwrap())
        .await;
    assert!(p.get_identity(&identity.name).await.unwrap().is_none());
    for bucket in [scratch, persistent] {
        h.wait(
            p.delete_bucket(&bucket.name, BucketDeletion::RefuseIfNotEmpty)
                .await
                .unwrap(),
        )
        .await;
    }
    h.remove_cluster(&cluster.name).await;
}
