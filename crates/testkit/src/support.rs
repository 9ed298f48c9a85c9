//! Supporting resources: made in their order, owned, retagged in place,
//! refused deletion while the cluster uses them.

use std::collections::BTreeMap;

use provider_core::ErrorKind;
use provider_core::provider::*;

use crate::Harness;

/// The supporting resources a provider asks for can be created in their
/// order, are tagged and listed for the hub, retagged in place, and refuse
/// deletion while the cluster uses them; they go in reverse order.
pub async fn supporting_resources(h: Harness) {
    let p = &h.provider;
    let cluster_name = h.cluster().name;
    let tags = BTreeMap::from([("suite".to_string(), "conformance".to_string())]);
    let outline = HubOutline {
        hub: h.hub.clone(),
        region: h.region.clone(),
        cluster: cluster_name,
        has_buckets: true,
        tags,
    };
    let needs = p.supporting_resources(&outline);
    assert!(
        needs.iter().all(|n| owned_by(&n.config.tags, &h.hub)),
        "supporting resources carry the ownership tags"
    );
    let (before, after): (Vec<&SupportRequirement>, Vec<&SupportRequirement>) =
        needs.iter().partition(|n| !n.after_cluster);
    let mut created: Vec<SupportKind> = Vec::new();
    for need in &before {
        assert!(
            need.after.iter().all(|k| created.contains(k)),
            "{:?} is listed before what it needs",
            need.config.kind
        );
        h.wait(p.create_support(&need.config).await.unwrap()).await;
        created.push(need.config.kind);
    }
    if let Some(first) = before.first() {
        let mut retagged = first.config.clone();
        retagged.tags.insert("team".into(), "climate".into());
        h.wait(p.update_support(&retagged).await.unwrap()).await;
        let observed = p
            .get_support(first.config.kind, &first.config.name)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(observed.config.tags, retagged.tags);
    }
    // What needs the cluster is refused until the cluster exists.
    if let Some(need) = after.first() {
        let refused = p.create_support(&need.config).await.unwrap_err();
        assert!(
            refused.is_temporary() || refused.kind() == &ErrorKind::NotFound,
            "{refused}"
        );
    }
    let cluster = h.ready_cluster().await;
    for need in &after {
        h.wait(p.create_support(&need.config).await.unwrap()).await;
    }
    let listed = p.list_support(&h.hub).await.unwrap();
    assert_eq!(listed.len(), needs.len());
    assert!(listed.iter().all(|s| s.status == ResourceStatus::Ready));
    // While a cluster depends on them, what the cluster needs cannot go.
    if let Some(need) = before
        .iter()
        .find(|n| n.needed_by.contains(&ResourceClass::Cluster))
    {
        let refused = p
            .delete_support(need.config.kind, &need.config.name)
            .await
            .unwrap_err();
        assert_eq!(refused.kind(), &ErrorKind::Conflict, "{refused}");
    }
    for need in after.iter().rev() {
        h.wait(
            p.delete_support(need.config.kind, &need.config.name)
                .await
                .unwrap(),
        )
        .await;
    }
    h.remove_cluster(&cluster.name).await;
    for need in before.iter().rev() {
        h.wait(
            p.delete_support(need.config.kind, &need.config.name)
                .await
                .unwrap(),
        )
        .await;
        assert!(
            p.get_support(need.config.kind, &need.config.name)
                .await
                .unwrap()
                .is_none()
        );
    }
}
