//! Nothing is deleted, updated, replaced or adopted unless its tags say
//! this hub owns it; what is in the way blocks, named with its tags.

use std::collections::BTreeMap;

use super::*;

fn eksctl() -> BTreeMap<String, String> {
    BTreeMap::from([("owner".to_string(), "eksctl".to_string())])
}

#[tokio::test]
async fn destroy_leaves_the_pools_of_a_cluster_that_is_not_the_hubs() {
    let rig = rig(Some(Cloud::Aws), None);
    let spec = spec();
    converge(&rig.engine, &spec).await;
    rig.sim.tamper_cluster_tags("openscapes", eksctl()).unwrap();
    for pool in rig.sim.list_node_pools("openscapes").await.unwrap() {
        rig.sim
            .tamper_node_pool_tags("openscapes", &pool.config.name, eksctl())
            .unwrap();
    }
    let plan = rig.engine.plan(&spec).await.unwrap();
    assert!(
        plan.blocked
            .iter()
            .any(|b| b.node == NodeId::Cluster && b.reason.contains("owner=eksctl")),
        "{}",
        plan.to_string()
    );

    let (report, check) = rig.engine.destroy(&spec, false).await.unwrap();
    assert!(report.succeeded(), "{:?}", report.failed);
    assert_eq!(
        rig.sim.list_node_pools("openscapes").await.unwrap().len(),
        4,
        "the pools of a cluster that is not the hub's survive destroy"
    );
    assert!(rig.sim.get_cluster("openscapes").await.unwrap().is_some());
    assert!(check.leaks.is_empty(), "{:?}", check.leaks);
    let left: Vec<String> = check.left_alone.iter().map(ToString::to_string).collect();
    assert!(
        left.iter()
            .any(|l| l.starts_with("cluster openscapes") && l.contains("owner=eksctl")),
        "{left:?}"
    );
    assert_eq!(
        left.iter().filter(|l| l.starts_with("node pool")).count(),
        4,
        "{left:?}"
    );
}

#[tokio::test]
async fn a_foreign_pool_under_the_twin_name_blocks_a_replacement_and_survives() {
    let rig = rig(Some(Cloud::Aws), None);
    let mut spec = spec();
    converge(&rig.engine, &spec).await;
    let dask = rig
        .sim
        .get_node_pool("openscapes", "dask")
        .await
        .unwrap()
        .unwrap();
    rig.sim
        .tamper_add_node_pool(
            "openscapes",
            NodePoolConfig {
                name: "dask-b".into(),
                tags: BTreeMap::new(),
                ..dask.config
            },
        )
        .unwrap();
    spec.node_pools[3].instance_type.as_mut().unwrap().aws = Some("r5.8xlarge".into());

    let plan = rig.engine.plan(&spec).await.unwrap();
    let rendered = plan.to_string();
    let blocker = plan
        .blocked
        .iter()
        .find(|b| b.node == NodeId::NodePool("dask".into()))
        .unwrap_or_else(|| panic!("the replacement must block:\n{rendered}"));
    assert!(
        blocker.reason.contains("`dask-b`") && blocker.reason.contains("no tags"),
        "{}",
        blocker.reason
    );
    assert!(
        !plan
            .actions
            .iter()
            .any(|a| matches!(&a.step, Step::DeletePool { name, .. } if name == "dask-b")),
        "{rendered}"
    );
    let refused = rig.engine.apply(&spec).await.unwrap_err();
    assert!(
        matches!(refused.kind(), ErrorKind::InvalidSpec { .. }),
        "{refused}"
    );
    assert!(
        rig.sim
            .get_node_pool("openscapes", "dask-b")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_create_that_finds_another_hubs_resource_fails_and_leaves_it() {
    let rig = rig(Some(Cloud::Aws), None);
    let spec = spec();
    let lock = rig.engine.lock("openscapes", "apply").await.unwrap();
    let plan = rig.engine.plan(&spec).await.unwrap();
    let create = plan
        .actions
        .iter()
        .find(|a| matches!(a.step, Step::CreateBucket(_)))
        .unwrap();
    let Step::CreateBucket(config) = &create.step else {
        unreachable!()
    };
    // Between the plan and its execution, another hub's bucket appears
    // under the name, with the same resource tag.
    let mut theirs = config.tags.clone();
    theirs.insert(TAG_CLUSTER.into(), "another-hub".into());
    rig.sim
        .create_bucket(&BucketConfig {
            tags: theirs.clone(),
            ..config.clone()
        })
        .await
        .unwrap();

    let report = rig.engine.execute(&lock, &plan).await.unwrap();
    let (_, error) = report
        .failed
        .iter()
        .find(|(id, _)| *id == create.id)
        .expect("the bucket's create fails");
    assert!(
        error.message().contains("not this hub's")
            && error.message().contains("hubforge-cluster=another-hub"),
        "{error}"
    );
    let kept = rig.sim.get_bucket(&config.name).await.unwrap().unwrap();
    assert_eq!(
        kept.config.tags, theirs,
        "the other hub's bucket is untouched"
    );
    lock.release().await.unwrap();
}

#[tokio::test]
async fn a_second_supporting_resource_of_a_kind_is_destroyed_with_the_first() {
    let rig = rig(Some(Cloud::Aws), None);
    let spec = spec();
    converge(&rig.engine, &spec).await;
    let graph = rig.engine.graph(&spec).await.unwrap();
    let role = graph
        .nodes
        .iter()
        .find_map(|n| match &n.desired {
            Desired::Support(c) if c.kind == SupportKind::NodeRole => Some(c.clone()),
            _ => None,
        })
        .unwrap();
    // An older node role of the hub's, under another name (a renamed
    // scheme, a run of an older hubforge): listed for the hub too.
    let old = SupportConfig {
        name: "openscapes-node-old".into(),
        ..role
    };
    rig.sim.create_support(&old).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(!rig.engine.plan(&spec).await.unwrap().has_changes());

    let (report, check) = rig.engine.destroy(&spec, true).await.unwrap();
    assert!(report.succeeded(), "{:?}", report.failed);
    assert!(check.leaks.is_empty(), "both roles go: {:?}", check.leaks);
    assert!(
        rig.sim
            .get_support(SupportKind::NodeRole, "openscapes-node-old")
            .await
            .unwrap()
            .is_none()
    );
}

fn scratch_bucket(graph: &DesiredGraph) -> String {
    graph
        .nodes
        .iter()
        .find_map(|n| match (&n.id, &n.desired) {
            (NodeId::Bucket(b), Desired::Bucket(c)) if b == "scratch" => Some(c.name.clone()),
            _ => None,
        })
        .unwrap()
}

#[tokio::test]
async fn a_bucket_name_held_by_another_account_blocks_the_plan_saying_so() {
    let rig = rig(Some(Cloud::Aws), None);
    let spec = spec();
    let graph = rig.engine.graph(&spec).await.unwrap();
    rig.sim
        .tamper_bucket_of_another_account(&scratch_bucket(&graph))
        .unwrap();
    let plan = rig
        .engine
        .plan(&spec)
        .await
        .expect("a name someone else holds is a blocker, not a failed plan");
    let blocker = plan
        .blocked
        .iter()
        .find(|b| b.node == NodeId::Bucket("scratch".into()))
        .unwrap_or_else(|| panic!("{plan}"));
    assert!(
        blocker.reason.contains("may not read") && blocker.reason.contains("another account"),
        "{}",
        blocker.reason
    );
}

#[tokio::test]
async fn a_create_that_finds_a_name_it_may_not_read_says_it_is_taken() {
    let rig = rig(Some(Cloud::Aws), None);
    let spec = spec();
    let lock = rig.engine.lock("openscapes", "apply").await.unwrap();
    let plan = rig.engine.plan(&spec).await.unwrap();
    let graph = rig.engine.graph(&spec).await.unwrap();
    let name = scratch_bucket(&graph);
    // Taken by another account between the plan and its execution.
    rig.sim.tamper_bucket_of_another_account(&name).unwrap();
    let report = rig.engine.execute(&lock, &plan).await.unwrap();
    let error = report
        .failed
        .iter()
        .map(|(_, e)| e)
        .find(|e| e.resource() == Some(name.as_str()))
        .unwrap_or_else(|| panic!("the create of {name} fails: {:?}", report.failed));
    assert_eq!(error.kind(), &ErrorKind::AlreadyExists, "{error}");
    assert!(error.message().contains("may not read"), "{error}");
    lock.release().await.unwrap();
}
