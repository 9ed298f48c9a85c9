//! The cloud's answers lag behind its changes: a new identity is unknown
//! to IAM for a while, and listings by tag miss what was just made. The
//! engine retries the first and reads directly past the second.

use std::time::Duration;

use super::*;
use crate::sim::Consistency;

#[tokio::test]
async fn bindings_wait_for_a_new_identity_to_propagate() {
    // At this time scale IAM needs 400 ms; the cluster takes 120 ms.
    let rig = rig_with(sim_builder(Some(Cloud::Azure)).consistency(Consistency {
        iam_propagation: Duration::from_secs(2000),
        list_lag: Duration::ZERO,
    }));
    let retries = Arc::new(Mutex::new(Vec::new()));
    let engine = rig.engine.clone().with_events({
        let retries = retries.clone();
        Arc::new(move |event: &Event| {
            if let Event::Retrying { error, .. } = event {
                retries.lock().unwrap().push(error.clone());
            }
        })
    });
    let report = engine.apply(&spec()).await.unwrap();
    assert!(report.succeeded(), "{:?}", report.failed);
    let retries = retries.lock().unwrap().clone();
    assert!(
        retries.iter().any(|e| e.contains("PrincipalNotFound")),
        "the sim must make the binding wait: {retries:?}"
    );
    assert!(!rig.engine.plan(&spec()).await.unwrap().has_changes());
}

#[tokio::test]
async fn what_listings_do_not_show_yet_is_found_by_reading_it() {
    let rig = rig_with(sim_builder(Some(Cloud::Aws)).consistency(Consistency {
        iam_propagation: Duration::ZERO,
        list_lag: Duration::from_secs(3600),
    }));
    let spec = spec();
    converge(&rig.engine, &spec).await;
    assert!(
        rig.sim.list_buckets("openscapes").await.unwrap().is_empty(),
        "the listings lag"
    );
    // The state is lost, and the listings show nothing yet: the plan must
    // still find every resource, and create nothing twice.
    rig.engine.state().remove("openscapes").await.unwrap();
    let plan = rig.engine.plan(&spec).await.unwrap();
    assert!(!plan.has_changes(), "{}", plan.to_string());
    converge(&rig.engine, &spec).await;
    let (report, _) = rig.engine.destroy(&spec, true).await.unwrap();
    assert!(report.succeeded(), "{:?}", report.failed);
    assert!(rig.sim.get_cluster("openscapes").await.unwrap().is_none());
}
