//! Creates that stopped half-way are finished; resources the cloud reports
//! failed or degraded are never up to date.

use super::*;
use crate::interrupt::Interrupter;

#[tokio::test]
async fn a_half_made_role_and_bucket_are_finished_not_left_as_they_are() {
    let interrupter = Interrupter::new();
    let rig = rig_with(sim_builder(Some(Cloud::Aws)).interrupter(interrupter.clone()));
    let spec = spec();
    let graph = rig.engine.graph(&spec).await.unwrap();
    let role = graph
        .nodes
        .iter()
        .find_map(|n| match &n.desired {
            Desired::Support(c) if c.kind == SupportKind::NodeRole => Some(c.clone()),
            _ => None,
        })
        .unwrap();
    let bucket = graph
        .nodes
        .iter()
        .find_map(|n| match &n.desired {
            Desired::Bucket(c) if c.delete_after_days.is_some() => Some(c.clone()),
            _ => None,
        })
        .unwrap();
    // A previous run died right after the first call of each create.
    interrupter.arm("node_role", 1);
    interrupter.arm("bucket", 1);
    assert!(rig.sim.create_support(&role).await.is_err());
    assert!(rig.sim.create_bucket(&bucket).await.is_err());
    assert!(!interrupter.is_armed());

    let plan = rig.engine.plan(&spec).await.unwrap();
    let rendered = plan.to_string();
    for node in [
        NodeId::Support(SupportKind::NodeRole),
        NodeId::Bucket("scratch".into()),
    ] {
        let finish = plan
            .actions
            .iter()
            .find(|a| a.node == node)
            .unwrap_or_else(|| panic!("{node} is planned:\n{rendered}"));
        assert_eq!(finish.change, Change::Update, "{rendered}");
        assert!(
            finish
                .note
                .as_deref()
                .is_some_and(|n| n.contains("finish its create")),
            "{rendered}"
        );
    }
    converge(&rig.engine, &spec).await;
    let role = rig
        .sim
        .get_support(SupportKind::NodeRole, &role.name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(role.status, ResourceStatus::Ready);
    let bucket = rig.sim.get_bucket(&bucket.name).await.unwrap().unwrap();
    assert_eq!(bucket.status, ResourceStatus::Ready);
    assert_eq!(bucket.config.delete_after_days, Some(7));
    let again = rig.engine.plan(&spec).await.unwrap();
    assert!(!again.has_changes(), "{}", again.to_string());
}

#[tokio::test]
async fn a_failed_pool_fails_the_apply_and_is_replaced_by_the_next() {
    let world = temp_dir("failed-pool-world");
    let state = temp_dir("failed-pool-state");
    let engine = |builder: SimBuilder| {
        let sim = builder.directory(&world).build();
        (
            sim.clone(),
            Engine::new(Arc::new(sim), Arc::new(LocalStateStore::new(&state))),
        )
    };
    let spec = spec();
    let (_, failing) = engine(sim_builder(Some(Cloud::Aws)).fail("node_pool/dask"));
    let report = failing.apply(&spec).await.unwrap();
    let failed: Vec<String> = report.failed.iter().map(|(_, e)| e.to_string()).collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0].contains("dask") && failed[0].contains("NodeCreationFailure"),
        "{failed:?}"
    );

    let plan = failing.plan(&spec).await.unwrap();
    let rendered = plan.to_string();
    assert!(plan.has_changes(), "a failed pool is never up to date");
    let replace = plan
        .actions
        .iter()
        .find(|a| a.node == NodeId::NodePool("dask".into()) && a.change == Change::Create)
        .unwrap_or_else(|| panic!("{rendered}"));
    assert_eq!(replace.physical, "dask-b", "{rendered}");
    assert_eq!(
        replace.replaces.as_ref().map(|r| r.forced_by.as_str()),
        Some("status"),
        "{rendered}"
    );
    assert!(rendered.contains("NodeCreationFailure"), "{rendered}");

    // The cause is gone (quota raised, zone back): the next run converges.
    let (sim, healthy) = engine(sim_builder(Some(Cloud::Aws)));
    converge(&healthy, &spec).await;
    let pools: Vec<String> = sim
        .list_node_pools("openscapes")
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.config.name)
        .collect();
    assert!(
        pools.contains(&"dask-b".to_string()) && !pools.contains(&"dask".to_string()),
        "{pools:?}"
    );
    assert!(!healthy.plan(&spec).await.unwrap().has_changes());
    let _ = std::fs::remove_dir_all(&world);
    let _ = std::fs::remove_dir_all(&state);
}

#[tokio::test]
async fn a_pool_that_degrades_later_is_replaced_blue_green() {
    let rig = rig_with(sim_builder(Some(Cloud::Aws)).degrade("node_pool/user-small"));
    let spec = spec();
    converge(&rig.engine, &spec).await;
    // It degrades one pool-create latency after it became ready.
    tokio::time::sleep(std::time::Duration::from_millis(120)).await;
    let pool = rig
        .sim
        .get_node_pool("openscapes", "user-small")
        .await
        .unwrap()
        .unwrap();
    assert!(
        pool.status
            .failure()
            .is_some_and(|r| r.contains("DEGRADED")),
        "{:?}",
        pool.status
    );
    let plan = rig.engine.plan(&spec).await.unwrap();
    let rendered = plan.to_string();
    assert!(
        plan.actions.iter().any(|a| a.physical == "user-small-b"
            && a.change == Change::Create
            && a.replaces.is_some()),
        "{rendered}"
    );
    let retire = plan
        .actions
        .iter()
        .find(|a| a.physical == "user-small" && a.change == Change::Delete)
        .unwrap_or_else(|| panic!("{rendered}"));
    assert!(
        retire
            .note
            .as_deref()
            .is_some_and(|n| n.contains("DEGRADED")),
        "{rendered}"
    );
}
