//! Engine behaviour on the simulated cloud.

use std::sync::{Arc, Mutex};

use super::*;
use crate::events::Change;
use crate::sim::{FaultPlan, SimBuilder, SimCloud};
use crate::spec::{Cloud, SpecFormat};
use crate::state::LocalStateStore;

const REFERENCE: &str = include_str!("../../../../../examples/hubs/reference-hub.yaml");

fn spec() -> HubClusterSpec {
    HubClusterSpec::parse(REFERENCE, SpecFormat::Yaml).unwrap()
}

fn temp_dir(label: &str) -> std::path::PathBuf {
    use rand::{Rng, SeedableRng};
    let n: u32 = rand::rngs::StdRng::from_os_rng().random();
    std::env::temp_dir().join(format!(
        "hubforge-engine-{label}-{}-{n:x}",
        std::process::id()
    ))
}

struct Rig {
    sim: SimCloud,
    engine: Engine,
    dir: std::path::PathBuf,
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A sim at 1/5000 of real time (a 10-minute cluster create takes 120 ms).
fn sim_builder(imitate: Option<Cloud>) -> SimBuilder {
    SimBuilder::new().imitate(imitate).time_scale(0.0002)
}

fn rig(imitate: Option<Cloud>, faults: Option<FaultPlan>) -> Rig {
    let mut builder = sim_builder(imitate);
    if let Some(plan) = faults {
        builder = builder.faults(plan);
    }
    rig_with(builder)
}

fn rig_with(builder: SimBuilder) -> Rig {
    let dir = temp_dir("rig");
    let sim = builder.build();
    let engine = Engine::new(Arc::new(sim.clone()), Arc::new(LocalStateStore::new(&dir)));
    Rig { sim, engine, dir }
}

async fn converge(engine: &Engine, spec: &HubClusterSpec) {
    let report = engine.apply(spec).await.unwrap();
    assert!(report.succeeded(), "apply failed: {:?}", report.failed);
}

#[tokio::test]
async fn apply_then_no_changes_then_destroy_leaves_nothing() {
    for imitate in [None, Some(Cloud::Aws), Some(Cloud::Gcp), Some(Cloud::Azure)] {
        let rig = rig(imitate, None);
        let spec = spec();
        let first = rig.engine.plan(&spec).await.unwrap();
        assert!(
            first.actions.iter().all(|a| a.change == Change::Create),
            "{imitate:?}: {}",
            first
        );
        converge(&rig.engine, &spec).await;

        let again = rig.engine.plan(&spec).await.unwrap();
        assert!(!again.has_changes(), "{imitate:?}: second plan:\n{}", again);
        let state = rig
            .engine
            .state()
            .read("openscapes")
            .await
            .unwrap()
            .unwrap();
        assert!(
            state.resources.contains_key("cluster")
                && state.resources.contains_key("node_pool/user-gpu"),
            "{state:?}"
        );

        let (report, leaks) = rig.engine.destroy(&spec, false).await.unwrap();
        assert!(
            report.succeeded(),
            "{imitate:?}: destroy failed: {:?}",
            report.failed
        );
        assert_eq!(leaks, LeakCheck::default(), "{imitate:?}");
        assert!(
            rig.engine
                .state()
                .read("openscapes")
                .await
                .unwrap()
                .is_none(),
            "state is removed after a clean destroy"
        );
    }
}

#[tokio::test]
async fn gke_style_cluster_gets_its_pools_in_one_operation() {
    let rig = rig(Some(Cloud::Gcp), None);
    let plan = rig.engine.plan(&spec()).await.unwrap();
    let create = plan
        .actions
        .iter()
        .find(|a| a.node == NodeId::Cluster)
        .unwrap();
    match &create.step {
        Step::CreateCluster { initial_pools, .. } => assert_eq!(initial_pools.len(), 4),
        other => panic!("{other:?}"),
    }
    assert!(
        !plan
            .actions
            .iter()
            .any(|a| matches!(a.step, Step::CreatePool { .. }))
    );
    converge(&rig.engine, &spec()).await;
    assert_eq!(rig.sim.api_calls().get("create_node_pool"), None);
}

#[tokio::test]
async fn a_no_change_plan_reads_each_resource_at_most_once() {
    let rig = rig(None, None);
    converge(&rig.engine, &spec()).await;
    let graph = rig.engine.graph(&spec()).await.unwrap();
    let before = rig.sim.api_calls();
    let observed = observe(rig.engine.provider(), &graph, 8).await.unwrap();
    let after = rig.sim.api_calls();
    let reads: u64 = after
        .iter()
        .map(|(call, n)| n - before.get(call).copied().unwrap_or(0))
        .sum();
    let resources = graph
        .nodes
        .iter()
        .filter(|n| !matches!(n.id, NodeId::Binding(_)))
        .count() as u64;
    assert_eq!(reads, observed.reads as u64);
    assert!(
        reads <= resources,
        "{reads} reads for {resources} resources"
    );
}

#[tokio::test]
async fn drift_shows_in_the_plan_and_apply_corrects_it() {
    let rig = rig(None, None);
    let spec = spec();
    converge(&rig.engine, &spec).await;
    rig.sim
        .tamper_node_pool_scaling("openscapes", "user-small", 0, 7)
        .unwrap();
    let plan = rig.engine.plan(&spec).await.unwrap();
    assert_eq!(plan.actions.len(), 1, "{}", plan);
    let action = &plan.actions[0];
    assert_eq!(
        (action.change, &action.node),
        (Change::Update, &NodeId::NodePool("user-small".into()))
    );
    assert_eq!(
        action.diffs,
        vec![FieldDiff {
            field: "max".into(),
            before: "7".into(),
            after: "100".into()
        }]
    );
    converge(&rig.engine, &spec).await;
    assert!(!rig.engine.plan(&spec).await.unwrap().has_changes());
}

#[tokio::test]
async fn a_machine_change_is_blue_green_and_a_version_change_is_in_place() {
    let rig = rig(Some(Cloud::Azure), None);
    let mut spec = spec();
    converge(&rig.engine, &spec).await;

    spec.node_pools[3].instance_type.as_mut().unwrap().azure = Some("Standard_E32s_v5".into());
    spec.kubernetes_version = "1.33".into();
    let plan = rig.engine.plan(&spec).await.unwrap();
    let rendered = plan.to_string();
    // One control-plane step per minor version, the pools following each.
    let cluster: Vec<&Action> = plan
        .actions
        .iter()
        .filter(|a| a.node == NodeId::Cluster)
        .collect();
    assert_eq!(cluster.len(), 2, "{rendered}");
    for (step, version) in cluster.iter().zip(["1.32", "1.33"]) {
        assert_eq!(step.change, Change::Update);
        assert!(
            matches!(&step.step, Step::UpdateCluster { versions, .. } if versions == &[version.to_string()]),
            "{rendered}"
        );
    }
    let pool_upgrades: Vec<&Action> = plan
        .actions
        .iter()
        .filter(|a| matches!(&a.step, Step::UpdatePool { config, .. } if config.kubernetes_version == "1.32"))
        .collect();
    assert_eq!(pool_upgrades.len(), 4, "{rendered}");
    assert!(
        pool_upgrades
            .iter()
            .all(|u| u.depends_on.contains(&cluster[0].id) && cluster[1].depends_on.contains(&u.id)),
        "pools follow the first step and the second waits for them:\n{rendered}"
    );

    let dask: Vec<&Action> = plan
        .actions
        .iter()
        .filter(|a| a.node == NodeId::NodePool("dask".into()) && a.change != Change::Update)
        .collect();
    assert_eq!(dask.len(), 2, "{rendered}");
    let (create, delete) = (dask[0], dask[1]);
    assert_eq!(
        (create.change, create.physical.as_str()),
        (Change::Create, "daskb")
    );
    assert_eq!(create.replaces.as_ref().unwrap().forced_by, "instance_type");
    assert_eq!(
        (delete.change, delete.physical.as_str()),
        (Change::Delete, "dask")
    );
    assert!(
        delete.depends_on.contains(&create.id),
        "the old pool goes only after the new one is up"
    );
    assert!(
        create.depends_on.contains(&cluster[1].id),
        "the new pool comes up on the upgraded control plane"
    );
    assert!(
        rendered.contains("-/+") && rendered.contains("dask → daskb"),
        "{rendered}"
    );
    assert_eq!(plan.counts(), (0, 10, 1, 0));

    converge(&rig.engine, &spec).await;
    let pools: Vec<String> = rig
        .sim
        .list_node_pools("openscapes")
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.config.name)
        .collect();
    assert!(
        pools.contains(&"daskb".to_string()) && !pools.contains(&"dask".to_string()),
        "{pools:?}"
    );
    assert_eq!(
        rig.sim
            .get_cluster("openscapes")
            .await
            .unwrap()
            .unwrap()
            .config
            .kubernetes_version,
        "1.33"
    );
    let versions: Vec<String> = rig
        .sim
        .list_node_pools("openscapes")
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.config.kubernetes_version)
        .collect();
    assert!(versions.iter().all(|v| v == "1.33"), "{versions:?}");
    assert!(!rig.engine.plan(&spec).await.unwrap().has_changes());
}

#[tokio::test]
async fn converges_with_seeded_faults_and_lost_answers_in_fifty_seeds() {
    for seed in 0..50 {
        let rig = rig(
            if seed % 2 == 0 {
                None
            } else {
                Some(Cloud::Gcp)
            },
            Some(FaultPlan {
                rate: 0.1,
                seed,
                lose_answers: true,
            }),
        );
        let spec = spec();
        let report = rig
            .engine
            .apply(&spec)
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert!(report.succeeded(), "seed {seed}: {:?}", report.failed);
        let plan = rig
            .engine
            .plan(&spec)
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert!(!plan.has_changes(), "seed {seed}: not converged:\n{}", plan);
        assert!(
            rig.sim.injected_faults() > 0,
            "seed {seed} injected nothing"
        );
    }
}

#[tokio::test]
async fn destroy_keeps_buckets_with_data_unless_told() {
    let rig = rig(None, None);
    let spec = spec();
    converge(&rig.engine, &spec).await;
    let scratch = rig.engine.graph(&spec).await.unwrap();
    let Some(Desired::Bucket(bucket)) = scratch
        .node(&NodeId::Bucket("scratch".into()))
        .map(|n| n.desired.clone())
    else {
        panic!()
    };
    rig.sim.put_object(&bucket.name, "notebook.ipynb").unwrap();

    let plan = rig.engine.plan_destroy(&spec, false).await.unwrap();
    assert_eq!(plan.blocked.len(), 1, "{}", plan);
    let refused = rig.engine.destroy(&spec, false).await.unwrap_err();
    assert!(refused.message().contains("need a person"), "{refused}");
    assert!(rig.sim.get_bucket(&bucket.name).await.unwrap().is_some());

    let (report, leaks) = rig.engine.destroy(&spec, true).await.unwrap();
    assert!(
        report.succeeded() && leaks.leaks.is_empty(),
        "{:?} {leaks:?}",
        report.failed
    );
}

#[tokio::test]
async fn a_second_run_is_refused_while_the_first_holds_the_lock() {
    let rig = rig(None, None);
    let lock = rig.engine.lock("openscapes", "apply").await.unwrap();
    let error = rig.engine.apply(&spec()).await.unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::Locked { .. }), "{error}");
    assert!(error.message().contains(&lock.info().id), "{error}");
    lock.release().await.unwrap();
    converge(&rig.engine, &spec()).await;
}

#[tokio::test]
async fn events_tell_the_story_of_an_apply() {
    let rig = rig(None, None);
    let seen: Arc<Mutex<Vec<Event>>> = Arc::default();
    let sink = seen.clone();
    let engine = rig.engine.clone().with_events(Arc::new(move |e: &Event| {
        sink.lock().unwrap().push(e.clone())
    }));
    converge(&engine, &spec()).await;
    let events = seen.lock().unwrap();
    let started = events
        .iter()
        .filter(|e| matches!(e, Event::Started { .. }))
        .count();
    let done = events
        .iter()
        .filter(|e| matches!(e, Event::Done { .. }))
        .count();
    assert_eq!(started, done);
    assert!(started >= 12, "{started} actions");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Progress { status, .. } if status == "CREATING"))
    );
}

#[tokio::test]
async fn lost_state_is_rediscovered_by_tags() {
    let rig = rig(None, None);
    let spec = spec();
    converge(&rig.engine, &spec).await;
    rig.engine.state().remove("openscapes").await.unwrap();
    assert!(
        !rig.engine.plan(&spec).await.unwrap().has_changes(),
        "tags alone tell hubforge what it owns"
    );
    let (report, leaks) = rig.engine.destroy(&spec, false).await.unwrap();
    assert!(report.succeeded() && leaks.leaks.is_empty());
}

#[tokio::test]
async fn outputs_give_what_the_hub_needs() {
    let rig = rig(Some(Cloud::Aws), None);
    let spec = spec();
    converge(&rig.engine, &spec).await;
    let outputs = rig.engine.outputs(&spec).await.unwrap();
    assert!(
        outputs
            .kubeconfig
            .as_deref()
            .unwrap()
            .contains("server: https://openscapes.")
    );
    assert_eq!(outputs.buckets.len(), 2);
    assert!(outputs.buckets["scratch"].starts_with("s3://openscapes-scratch-"));
    assert_eq!(
        outputs.identities["prod-users"].service_account,
        "prod/user-sa"
    );
    assert!(
        outputs.identities["prod-users"]
            .annotations
            .contains_key("eks.amazonaws.com/role-arn")
    );
    assert!(outputs.identities["prod-users"].pod_labels.is_empty());
    assert_eq!(
        outputs.node_selectors["user-small"],
        BTreeMap::from([("hubforge.io/pool".to_string(), "user-small".to_string())])
    );
    assert_eq!(
        outputs.cloud_node_labels["user-small"]["eks.amazonaws.com/nodegroup"],
        "user-small"
    );
}

#[tokio::test]
async fn a_cancelled_apply_leaves_state_that_the_next_run_completes() {
    let dir = temp_dir("cancel");
    let sim = SimBuilder::new().time_scale(0.001).build();
    let store = Arc::new(LocalStateStore::new(&dir));
    let cancel = crate::operation::Cancellation::new();
    let options = EngineOptions {
        cancel: cancel.clone(),
        ..EngineOptions::default()
    };
    let engine = Engine::new(Arc::new(sim.clone()), store.clone()).with_options(options);
    let spec = spec();

    // Cancel while the cluster (600 ms here) is still being created.
    let trigger = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        cancel.cancel();
    });
    let report = engine.apply(&spec).await.unwrap();
    trigger.await.unwrap();
    assert!(!report.succeeded(), "the run stopped early");
    assert!(
        !report.skipped.is_empty(),
        "pools and bindings never started"
    );
    let state = store.read("openscapes").await.unwrap().unwrap();
    assert!(
        !state.resources.contains_key("cluster"),
        "an unfinished create is not recorded as done"
    );
    assert!(
        store.current_lock("openscapes").await.unwrap().is_none(),
        "the lock is released"
    );

    // The next run waits for the cluster the cancelled run started, and finishes.
    let resumed = Engine::new(Arc::new(sim), store);
    let plan = resumed.plan(&spec).await.unwrap();
    assert!(
        plan.actions
            .iter()
            .any(|a| a.node == NodeId::Cluster && a.change == Change::Wait),
        "{}",
        plan.to_string()
    );
    converge(&resumed, &spec).await;
    assert!(!resumed.plan(&spec).await.unwrap().has_changes());
    let _ = std::fs::remove_dir_all(dir);
}

mod consistency;
mod lease;
mod ownership;
mod recovery;
mod serialization;
mod upgrade;
