use std::time::Duration;

use super::*;
use crate::operation::{Backoff, Waiter};

fn cluster(name: &str) -> ClusterConfig {
    ClusterConfig {
        name: name.into(),
        region: "us-west-2".into(),
        kubernetes_version: "1.31".into(),
        tags: ownership_tags(name),
    }
}

fn pool(name: &str) -> NodePoolConfig {
    NodePoolConfig {
        name: name.into(),
        role: PoolRole::User,
        kubernetes_version: "1.31".into(),
        instance_type: "r5.xlarge".into(),
        accelerator: None,
        min: 0,
        max: 3,
        spot: false,
        disk_gib: None,
        labels: BTreeMap::new(),
        taints: vec![],
        tags: ownership_tags("hub"),
    }
}

fn waiter() -> Waiter {
    Waiter::new(
        Backoff::new(Duration::from_millis(5), Duration::from_millis(20), 2.0).with_seed(3),
        Duration::from_secs(30),
    )
}

#[tokio::test]
async fn operations_take_time_and_report_progress() {
    let sim = SimBuilder::new().time_scale(0.0005).build(); // cluster create: 300 ms
    let operation = sim.create_cluster(&cluster("hub"), &[]).await.unwrap();
    assert_eq!(
        sim.get_cluster("hub").await.unwrap().unwrap().status,
        ResourceStatus::Creating
    );
    let mut seen = Vec::new();
    waiter()
        .wait(&operation, |p| seen.push(p.clone()))
        .await
        .unwrap();
    assert!(
        !seen.is_empty() && seen.iter().all(|p| p.status == "CREATING"),
        "{seen:?}"
    );
    assert_eq!(
        sim.get_cluster("hub").await.unwrap().unwrap().status,
        ResourceStatus::Ready
    );
}

#[tokio::test]
async fn a_directory_is_one_cloud_for_every_handle() {
    let dir = std::env::temp_dir().join(format!("hubforge-sim-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let first = SimBuilder::new().directory(&dir).time_scale(0.0).build();
    first.create_cluster(&cluster("shared"), &[]).await.unwrap();
    let second = SimBuilder::new().directory(&dir).time_scale(0.0).build();
    let seen = second
        .get_cluster("shared")
        .await
        .unwrap()
        .expect("the second handle sees the first one's cluster");
    assert_eq!(seen.status, ResourceStatus::Ready);
    // The same hub's create is an ensure; another hub's is refused.
    second
        .create_cluster(&cluster("shared"), &[])
        .await
        .unwrap();
    let mut other = cluster("shared");
    other.tags = ownership_tags("another-hub");
    assert_eq!(
        second.create_cluster(&other, &[]).await.unwrap_err().kind(),
        &ErrorKind::AlreadyExists
    );
    assert_eq!(second.list_clusters("shared").await.unwrap().len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn gke_style_clusters_take_one_operation_at_a_time() {
    let sim = SimBuilder::new()
        .imitate(Some(Cloud::Gcp))
        .time_scale(0.001)
        .build();
    waiter()
        .wait(
            &sim.create_cluster(&cluster("hub"), &[]).await.unwrap(),
            |_| {},
        )
        .await
        .unwrap();
    let gke_pool = |name| NodePoolConfig {
        instance_type: "n2-highmem-4".into(),
        ..pool(name)
    };
    let first = sim
        .create_node_pool("hub", &gke_pool("core"))
        .await
        .unwrap();
    let second = sim
        .create_node_pool("hub", &gke_pool("user"))
        .await
        .unwrap_err();
    assert_eq!(second.kind(), &ErrorKind::Conflict);
    assert!(second.is_temporary());
    waiter().wait(&first, |_| {}).await.unwrap();
    sim.create_node_pool("hub", &gke_pool("user"))
        .await
        .unwrap();
}

#[tokio::test]
async fn eks_style_clusters_run_pool_operations_side_by_side() {
    let sim = SimBuilder::new()
        .imitate(Some(Cloud::Aws))
        .time_scale(0.001)
        .build();
    waiter()
        .wait(
            &sim.create_cluster(&cluster("hub"), &[]).await.unwrap(),
            |_| {},
        )
        .await
        .unwrap();
    sim.create_node_pool("hub", &pool("core")).await.unwrap();
    sim.create_node_pool("hub", &pool("user")).await.unwrap();
    // But EKS refuses node groups inside the cluster create.
    let error = sim
        .create_cluster(&cluster("other"), &[pool("core")])
        .await
        .unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Unsupported { .. }));
}

#[tokio::test]
async fn seeded_faults_repeat_exactly_and_are_temporary() {
    async fn outcomes(seed: u64) -> Vec<Option<ErrorKind>> {
        let sim = SimBuilder::new()
            .time_scale(0.0)
            .faults(FaultPlan {
                rate: 0.3,
                seed,
                lose_answers: false,
            })
            .build();
        let mut out = Vec::new();
        for _ in 0..40 {
            out.push(sim.get_cluster("none").await.err().map(|e| {
                assert!(e.is_temporary(), "{e}");
                e.kind().clone()
            }));
        }
        out
    }
    let a = outcomes(42).await;
    assert_eq!(a, outcomes(42).await);
    assert_ne!(a, outcomes(43).await);
    let failures = a.iter().filter(|o| o.is_some()).count();
    assert!(
        (4..=24).contains(&failures),
        "30% of 40 calls, got {failures}"
    );
}

#[tokio::test]
async fn quotas_and_naming_limits_are_enforced() {
    let sim = SimBuilder::new()
        .time_scale(0.0)
        .quotas(Quotas {
            clusters: 1,
            ..Quotas::default()
        })
        .build();
    sim.create_cluster(&cluster("one"), &[]).await.unwrap();
    assert_eq!(
        sim.create_cluster(&cluster("two"), &[])
            .await
            .unwrap_err()
            .kind(),
        &ErrorKind::QuotaExceeded
    );

    let aks = SimBuilder::new()
        .imitate(Some(Cloud::Azure))
        .time_scale(0.0)
        .build();
    aks.create_cluster(&cluster("hub"), &[]).await.unwrap();
    let error = aks
        .create_node_pool(
            "hub",
            &NodePoolConfig {
                instance_type: "Standard_E4s_v5".into(),
                ..pool("user-small")
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::InvalidSpec { .. }),
        "{error}"
    );
}

#[tokio::test]
async fn non_empty_buckets_are_kept_unless_data_may_go() {
    let sim = SimBuilder::new().time_scale(0.0).build();
    let bucket = BucketConfig {
        name: "hub-data-12345678".into(),
        region: "us-west-2".into(),
        versioning: false,
        delete_after_days: None,
        tags: ownership_tags("hub"),
    };
    sim.create_bucket(&bucket).await.unwrap();
    sim.put_object(&bucket.name, "results.nc").unwrap();
    assert!(!sim.get_bucket(&bucket.name).await.unwrap().unwrap().empty);
    let refused = sim
        .delete_bucket(&bucket.name, BucketDeletion::RefuseIfNotEmpty)
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), &ErrorKind::NotEmpty);
    sim.delete_bucket(&bucket.name, BucketDeletion::DeleteObjects)
        .await
        .unwrap();
    assert!(sim.get_bucket(&bucket.name).await.unwrap().is_none());
}

#[tokio::test]
async fn upgrades_go_one_minor_version_at_a_time() {
    let sim = SimBuilder::new().time_scale(0.0).build();
    sim.create_cluster(&cluster("hub"), &[]).await.unwrap();
    let skip = ClusterConfig {
        kubernetes_version: "1.33".into(),
        ..cluster("hub")
    };
    assert!(matches!(
        sim.update_cluster(&skip).await.unwrap_err().kind(),
        ErrorKind::InvalidSpec { .. }
    ));
    let next = ClusterConfig {
        kubernetes_version: "1.32".into(),
        ..cluster("hub")
    };
    sim.update_cluster(&next).await.unwrap();
    assert_eq!(
        sim.get_cluster("hub")
            .await
            .unwrap()
            .unwrap()
            .config
            .kubernetes_version,
        "1.32"
    );
}
