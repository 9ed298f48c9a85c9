//! The conformance suite against the simulated cloud, in each of its
//! flavours, and once more with seeded faults behind the retry layer.

use std::sync::Arc;
use std::time::Duration;

use provider_core::Cloud;
use provider_core::interrupt::Interrupter;
use provider_core::operation::Backoff;
use provider_core::provider::{ClusterOps, Provider};
use provider_core::retry::{RetryLayer, RetryPolicy};
use provider_core::sim::{FaultPlan, SimBuilder};

/// 0.0005: a 10-minute EKS cluster create takes 300 ms.
const TIME_SCALE: f64 = 0.0005;

/// A sim with the harness's interrupter wired in, so the conformance case
/// on interrupted creates can stop its creates half-way.
fn sim(imitate: Option<Cloud>) -> testkit::Subject {
    let interrupter = Interrupter::new();
    let provider: Arc<dyn Provider> = Arc::new(
        SimBuilder::new()
            .imitate(imitate)
            .time_scale(TIME_SCALE)
            .interrupter(interrupter.clone())
            .build(),
    );
    testkit::Subject {
        provider,
        interrupter,
    }
}

mod sim_default {
    testkit::conformance_suite!(super::sim(None));
}

mod sim_as_aws {
    testkit::conformance_suite!(super::sim(Some(provider_core::Cloud::Aws)));
}

mod sim_as_gcp {
    testkit::conformance_suite!(super::sim(Some(provider_core::Cloud::Gcp)));
}

mod sim_as_azure {
    testkit::conformance_suite!(super::sim(Some(provider_core::Cloud::Azure)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_holds_with_seeded_faults_behind_the_retry_layer() {
    let faulty = SimBuilder::new()
        .imitate(Some(Cloud::Gcp))
        .time_scale(TIME_SCALE)
        .faults(FaultPlan {
            rate: 0.1,
            seed: 20261121,
            // The retry layer alone cannot make a create idempotent; lost
            // answers are the engine's to survive (see the engine tests).
            lose_answers: false,
        })
        .build();
    let policy = RetryPolicy {
        max_attempts: Some(10),
        backoff: Backoff::new(Duration::from_millis(2), Duration::from_millis(50), 2.0)
            .with_seed(5),
    };
    let layered: Arc<dyn Provider> = Arc::new(RetryLayer::new(Arc::new(faulty.clone()), policy));
    testkit::lifecycle_cases(layered).await;
    assert!(
        faulty.injected_faults() > 0,
        "the seeded plan injected no fault, so this test proved nothing"
    );
}

#[tokio::test]
async fn without_the_retry_layer_a_seeded_fault_surfaces_as_temporary() {
    let faulty = SimBuilder::new()
        .time_scale(0.0)
        .faults(FaultPlan {
            rate: 1.0,
            seed: 1,
            lose_answers: false,
        })
        .build();
    let error = faulty.get_cluster("any").await.unwrap_err();
    assert!(error.is_temporary(), "{error}");
    assert_eq!(faulty.injected_faults(), 1);
}
