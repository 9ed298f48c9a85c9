//! Node pools: machine, scaling, labels, taints and capacity as asked;
//! scaling in place, the machine never; inside the cluster's create where
//! the cloud allows it.

use provider_core::ErrorKind;
use provider_core::catalog;
use provider_core::provider::*;
use provider_core::spec::MachineSpec;

use crate::Harness;

/// A pool has the instance type, scaling, labels, taints and capacity type
/// asked for; scaling changes in place; its machine type does not.
pub async fn node_pool_lifecycle(h: Harness) {
    let p = &h.provider;
    let cluster = h.ready_cluster().await;
    let pool = h.pool("user-small");
    h.wait(p.create_node_pool(&cluster.name, &pool).await.unwrap())
        .await;
    let observed = p
        .get_node_pool(&cluster.name, &pool.name)
        .await
        .unwrap()
        .expect("pool exists after create");
    assert_eq!(observed.status, ResourceStatus::Ready);
    assert_eq!(observed.config.instance_type, pool.instance_type);
    assert_eq!(
        (
            observed.config.min,
            observed.config.max,
            observed.config.spot
        ),
        (0, 5, true)
    );
    assert_eq!(observed.config.labels, pool.labels);
    assert_eq!(observed.config.taints, pool.taints);

    let mut scaled = pool.clone();
    scaled.max = 20;
    if p.capabilities().pool_labels_in_place {
        scaled.labels.insert("team".into(), "climate".into());
    }
    h.wait(p.update_node_pool(&cluster.name, &scaled).await.unwrap())
        .await;
    let observed = p
        .get_node_pool(&cluster.name, &pool.name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(observed.config.max, 20);
    assert_eq!(observed.config.labels, scaled.labels);

    let mut bigger = scaled.clone();
    bigger.instance_type = catalog::resolve_machine(
        h.cloud(),
        &MachineSpec {
            cpu: 16,
            memory_gib: 64,
            gpu: None,
        },
    )
    .unwrap()
    .name;
    let refused = p
        .update_node_pool(&cluster.name, &bigger)
        .await
        .unwrap_err();
    assert!(
        matches!(refused.kind(), ErrorKind::Unsupported { .. }),
        "a machine-type change must be refused in place: {refused}"
    );

    let listed: Vec<String> = p
        .list_node_pools(&cluster.name)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.config.name)
        .collect();
    assert_eq!(listed, vec![pool.name.clone()]);
    h.wait(p.delete_node_pool(&cluster.name, &pool.name).await.unwrap())
        .await;
    assert!(
        p.get_node_pool(&cluster.name, &pool.name)
            .await
            .unwrap()
            .is_none()
    );
    h.remove_cluster(&cluster.name).await;
}

/// Where the cloud allows it, pools are created inside the cluster-create
/// operation (one GKE/AKS operation, not several serialized ones);
/// elsewhere asking for it is refused rather than silently dropped.
pub async fn pools_with_the_cluster(h: Harness) {
    let p = &h.provider;
    let cluster = h.cluster();
    let pools = [h.pool("core"), h.pool("user")];
    if p.capabilities().pools_in_cluster_create {
        h.wait(p.create_cluster(&cluster, &pools).await.unwrap())
            .await;
        let listed = p.list_node_pools(&cluster.name).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed.iter().all(|s| s.status == ResourceStatus::Ready));
        h.remove_cluster(&cluster.name).await;
    } else {
        let refused = p.create_cluster(&cluster, &pools).await.unwrap_err();
        assert!(
            matches!(refused.kind(), ErrorKind::Unsupported { .. }),
            "{refused}"
        );
        assert!(
            p.get_cluster(&cluster.name).await.unwrap().is_none(),
            "a refused create leaves nothing behind"
        );
    }
}
