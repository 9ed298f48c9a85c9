//! provider-aws against moto, the AWS emulator. `scripts/with-moto` starts
//! it and sets HUBFORGE_MOTO_ENDPOINT (`scripts/test-all` does this).
//! What hubforge made is checked with the SDK directly, not through
//! hubforge's own reads. Without an endpoint the tests skip, saying so,
//! except in CI (`CI` set), where a missing emulator fails them.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_s3::config::Credentials;
use hubforge::aws::{AwsBuilder, AwsProvider, StaticCredentials};
use provider_core::engine::{Desired, Engine, NodeId};
use provider_core::interrupt::Interrupter;
use provider_core::spec::{HubClusterSpec, SpecFormat};
use provider_core::state::LocalStateStore;
use serde_json::Value;

use super::example;

/// Ends the test at once when there is no moto to run it against (see
/// [`moto_endpoint`]).
macro_rules! require_moto {
    () => {
        if $crate::aws::moto_endpoint().is_none() {
            return;
        }
    };
}

mod buckets;
mod cli;
mod ensure;
mod leftovers;
mod private_nodes;

const REGION: &str = "us-west-2";

/// How to start moto, for the messages of tests that need it.
const START_MOTO: &str = "run the tests through scripts/with-moto (scripts/test-all does), which installs moto into .venv, starts it on a free port and sets HUBFORGE_MOTO_ENDPOINT";

/// Whether a test that needs moto runs: with the endpoint `endpoint`
/// (HUBFORGE_MOTO_ENDPOINT) it does; without one it is skipped, unless
/// `ci` (the `CI` variable) says this is CI, where a missing emulator is a
/// failure.
fn moto_decision(endpoint: Option<String>, ci: Option<String>) -> Result<Option<String>, String> {
    let set = |value: &Option<String>| value.as_deref().is_some_and(|v| !v.trim().is_empty());
    if set(&endpoint) {
        return Ok(endpoint);
    }
    let ci = set(&ci) && !matches!(ci.as_deref().map(str::trim), Some("false" | "0"));
    match ci {
        true => Err(format!(
            "CI is set and HUBFORGE_MOTO_ENDPOINT is not: the AWS tests need moto; {START_MOTO}"
        )),
        false => Ok(None),
    }
}

/// The moto endpoint, or `None` (the test is skipped, and says so) when
/// none is given and this is not CI; in CI a missing one fails the test.
fn moto_endpoint() -> Option<String> {
    let var = |name| std::env::var(name).ok();
    match moto_decision(var("HUBFORGE_MOTO_ENDPOINT"), var("CI")) {
        Ok(Some(endpoint)) => Some(endpoint),
        Ok(None) => {
            eprintln!("skipped: no moto endpoint (HUBFORGE_MOTO_ENDPOINT is unset); {START_MOTO}");
            None
        }
        Err(message) => panic!("{message}"),
    }
}

/// The moto endpoint, in a test that [`require_moto`] let through.
fn moto() -> String {
    moto_endpoint().expect("the test required moto")
}

#[test]
fn without_moto_the_tests_skip_except_in_ci() {
    let some = |v: &str| Some(v.to_string());
    assert_eq!(
        moto_decision(some("http://127.0.0.1:5000"), some("true")),
        Ok(some("http://127.0.0.1:5000"))
    );
    assert_eq!(moto_decision(None, None), Ok(None));
    assert_eq!(moto_decision(some(""), None), Ok(None));
    assert_eq!(moto_decision(None, some("false")), Ok(None));
    for ci in ["true", "1"] {
        let error = moto_decision(None, some(ci)).unwrap_err();
        assert!(
            error.contains("scripts/with-moto") && error.contains("HUBFORGE_MOTO_ENDPOINT"),
            "{error}"
        );
    }
}

/// The sim imitating AWS needs what provider-aws needs around a hub: the
/// same kinds, names, tags, properties and order (both take them from
/// `provider_core::facts`). Needs no moto: the provider only answers.
#[tokio::test]
async fn the_sim_imitating_aws_needs_the_supporting_resources_provider_aws_needs() {
    use provider_core::provider::{HubOutline, SupportOps};
    use provider_core::sim::SimBuilder;
    use provider_core::spec::Cloud;

    let outline = HubOutline {
        hub: "twinhub".into(),
        region: REGION.into(),
        cluster: "twinhub".into(),
        has_buckets: true,
        tags: BTreeMap::from([("team".to_string(), "hubs".to_string())]),
    };
    let provider = AwsBuilder::new()
        .region(REGION)
        .endpoint_url("http://127.0.0.1:9")
        .credentials(StaticCredentials::new("test", "test"))
        .build()
        .await
        .expect("a provider");
    let sim = SimBuilder::new().imitate(Some(Cloud::Aws)).build();
    let aws_needs = provider.supporting_resources(&outline);
    assert_eq!(sim.supporting_resources(&outline), aws_needs);
    let kinds: Vec<&str> = aws_needs.iter().map(|n| n.config.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["network", "cluster_role", "node_role", "oidc_provider"]
    );
}

fn builder(subnets: Vec<String>) -> AwsBuilder {
    AwsBuilder::new()
        .region(REGION)
        .endpoint_url(moto())
        .credentials(StaticCredentials::new("test", "test"))
        .emulator(true)
        .subnets(subnets)
}

async fn aws(subnets: Vec<String>) -> AwsProvider {
    builder(subnets).build().await.expect("provider")
}

async fn sdk() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(moto())
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .load()
        .await
}

fn s3(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    )
}

/// A VPC with two subnets made directly with the SDK: the "existing
/// subnets" a spec may name, for the conformance suite.
async fn existing_subnets() -> Vec<String> {
    let ec2 = aws_sdk_ec2::Client::new(&sdk().await);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc = vpc.vpc().and_then(|v| v.vpc_id()).unwrap().to_string();
    let mut subnets = Vec::new();
    for (zone, block) in [
        ("us-west-2a", "10.9.0.0/20"),
        ("us-west-2b", "10.9.16.0/20"),
    ] {
        let out = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(block)
            .availability_zone(zone)
            .send()
            .await
            .unwrap();
        subnets.push(
            out.subnet()
                .and_then(|s| s.subnet_id())
                .unwrap()
                .to_string(),
        );
    }
    subnets
}

/// The provider under the conformance suite, with the interrupter the
/// suite arms to stop its creates half-way.
async fn conformance_provider() -> testkit::Subject {
    let interrupter = Interrupter::new();
    let provider = builder(existing_subnets().await)
        .interrupter(interrupter.clone())
        .build()
        .await
        .expect("provider");
    testkit::Subject {
        provider: Arc::new(provider),
        interrupter,
    }
}

/// moto gives every EKS cluster the same OIDC issuer URL (AWS gives each
/// its own), so tests that register an OIDC provider take turns, with each
/// other and with the conformance cases that do (testkit's serial turn).
use testkit::SERIAL as ISSUER;

// Every conformance case runs. On moto a bucket's tags come from the
// PutBucketTagging right after CreateBucket (moto drops CreateBucket's
// tags): `interrupted_creates_are_finished` shows the half-made bucket is
// the hub's and is finished, not that CreateBucket alone tags it as S3 does.
mod conformance {
    testkit::conformance_suite!(match super::moto_endpoint() {
        Some(_) => super::conformance_provider().await,
        None => return,
    });
}

fn reference(name: &str) -> HubClusterSpec {
    let text = std::fs::read_to_string(example("reference-hub-aws.yaml")).unwrap();
    HubClusterSpec {
        name: name.into(),
        ..HubClusterSpec::parse(&text, SpecFormat::Yaml).unwrap()
    }
}

/// An engine over `provider` with state in a fresh directory, after it
/// applied `spec` successfully.
async fn applied(spec: &HubClusterSpec, provider: AwsProvider) -> (Engine, std::path::PathBuf) {
    let dir =
        std::env::temp_dir().join(format!("hubforge-aws-{}-{}", spec.name, std::process::id()));
    let engine = Engine::new(Arc::new(provider), Arc::new(LocalStateStore::new(&dir)));
    let report = engine.apply(spec).await.unwrap();
    assert!(report.succeeded(), "{:?}", report.failed);
    (engine, dir)
}

/// IAM returns policy documents URL-encoded.
fn decode(document: &str) -> Value {
    let bytes = document.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(
                u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap(), 16).unwrap(),
            );
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    serde_json::from_slice(&out).unwrap_or_else(|_| serde_json::from_str(document).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_hub_is_built_as_specified_and_leaves_nothing_behind() {
    require_moto!();
    let _turn = ISSUER.lock().await;
    let hub = "refhub";
    let spec = reference(hub);
    let (engine, dir) = applied(&spec, aws(vec![]).await).await;
    let graph = engine.graph(&spec).await.unwrap();
    let bucket = |logical: &str| match &graph.node(&NodeId::Bucket(logical.into())).unwrap().desired
    {
        Desired::Bucket(b) => b.name.clone(),
        _ => unreachable!(),
    };

    let sdk = sdk().await;
    let (eks, iam, s3, ec2) = (
        aws_sdk_eks::Client::new(&sdk),
        aws_sdk_iam::Client::new(&sdk),
        s3(&sdk),
        aws_sdk_ec2::Client::new(&sdk),
    );

    // The cluster, its version and its ownership tags.
    let cluster = eks.describe_cluster().name(hub).send().await.unwrap();
    let cluster = cluster.cluster().unwrap();
    assert_eq!(cluster.version(), Some("1.31"));
    assert_eq!(
        cluster
            .tags()
            .unwrap()
            .get("hubforge-cluster")
            .map(String::as_str),
        Some(hub)
    );
    assert_eq!(
        cluster.tags().unwrap().get("community").map(String::as_str),
        Some("openscapes")
    );
    let logging = cluster.logging().unwrap().cluster_logging();
    assert!(
        logging.iter().any(|setup| setup.enabled() == Some(true)
            && setup.types().iter().any(|t| t.as_str() == "audit")),
        "{logging:?}"
    );
    let issuer = cluster
        .identity()
        .and_then(|i| i.oidc())
        .and_then(|o| o.issuer())
        .unwrap()
        .trim_start_matches("https://")
        .to_string();

    // Node groups: scaling, instance types, labels, taints, capacity type, image.
    let expected = [
        (
            "core",
            "r5.xlarge",
            1,
            3,
            "ON_DEMAND",
            "AL2023_x86_64_STANDARD",
            vec![("hub.jupyter.org/node-purpose", "core")],
            vec![],
        ),
        (
            "user-small",
            "r5.xlarge",
            0,
            100,
            "ON_DEMAND",
            "AL2023_x86_64_STANDARD",
            vec![("hub.jupyter.org/node-purpose", "user")],
            vec![("hub.jupyter.org_dedicated", "user", "NO_SCHEDULE")],
        ),
        (
            "user-gpu",
            "g4dn.xlarge",
            0,
            10,
            "SPOT",
            "AL2023_x86_64_NVIDIA",
            vec![],
            vec![("nvidia.com/gpu", "present", "NO_SCHEDULE")],
        ),
        (
            "dask",
            "r5.4xlarge",
            0,
            200,
            "SPOT",
            "AL2023_x86_64_STANDARD",
            vec![],
            vec![],
        ),
    ];
    for (name, instance, min, max, capacity, ami, labels, taints) in expected {
        let group = eks
            .describe_nodegroup()
            .cluster_name(hub)
            .nodegroup_name(name)
            .send()
            .await
            .unwrap();
        let group = group.nodegroup().unwrap();
        let scaling = group.scaling_config().unwrap();
        assert_eq!(
            (scaling.min_size(), scaling.max_size()),
            (Some(min), Some(max)),
            "{name}"
        );
        assert_eq!(group.instance_types(), [instance.to_string()], "{name}");
        assert_eq!(
            group.capacity_type().map(|c| c.as_str()),
            Some(capacity),
            "{name}"
        );
        assert_eq!(group.ami_type().map(|a| a.as_str()), Some(ami), "{name}");
        let got_labels: BTreeMap<&str, &str> = group
            .labels()
            .map(|l| l.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
            .unwrap_or_default();
        // Every pool's nodes also carry hubforge's own pool label.
        let mut labels: BTreeMap<&str, &str> = labels.into_iter().collect();
        labels.insert("hubforge.io/pool", name);
        assert_eq!(got_labels, labels, "{name}");
        let got_taints: Vec<(&str, &str, &str)> = group
            .taints()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap(),
                    t.value().unwrap_or(""),
                    t.effect().unwrap().as_str(),
                )
            })
            .collect();
        assert_eq!(got_taints, taints, "{name}");
        assert_eq!(
            group
                .tags()
                .unwrap()
                .get("k8s.io/cluster-autoscaler/enabled")
                .map(String::as_str),
            Some("true"),
            "{name}"
        );
    }

    // Buckets: encryption, public access block, versioning, lifecycle.
    for (logical, versioned, expiry) in [("scratch", false, Some(7)), ("persistent", true, None)] {
        let name = bucket(logical);
        let sse = s3
            .get_bucket_encryption()
            .bucket(&name)
            .send()
            .await
            .unwrap();
        let rule = &sse.server_side_encryption_configuration().unwrap().rules()[0];
        assert_eq!(
            rule.apply_server_side_encryption_by_default()
                .unwrap()
                .sse_algorithm()
                .as_str(),
            "AES256"
        );
        let block = s3
            .get_public_access_block()
            .bucket(&name)
            .send()
            .await
            .unwrap();
        let block = block.public_access_block_configuration().unwrap();
        assert_eq!(
            (
                block.block_public_acls(),
                block.ignore_public_acls(),
                block.block_public_policy(),
                block.restrict_public_buckets()
            ),
            (Some(true), Some(true), Some(true), Some(true))
        );
        // moto's versioning answer is not S3's shape (the SDK cannot parse
        // it), so read its status from the raw body.
        let versioning = match s3.get_bucket_versioning().bucket(&name).send().await {
            Ok(out) => out
                .status()
                .map(|s| s.as_str() == "Enabled")
                .unwrap_or(false),
            Err(error) => {
                String::from_utf8_lossy(error.raw_response().unwrap().body().bytes().unwrap())
                    .contains("<Status>Enabled</Status>")
            }
        };
        assert_eq!(versioning, versioned, "{logical}");
        let lifecycle = s3
            .get_bucket_lifecycle_configuration()
            .bucket(&name)
            .send()
            .await
            .ok();
        let days = lifecycle.and_then(|l| {
            l.rules()
                .first()
                .and_then(|r| r.expiration())
                .and_then(|e| e.days())
        });
        assert_eq!(days, expiry, "{logical}");
    }

    // Identities: trusted by exactly one service account through the OIDC
    // provider, granted exactly their buckets.
    for (identity, namespace, read_write, read_only) in [
        (
            "staging-users",
            "staging",
            vec!["scratch", "persistent"],
            vec![],
        ),
        ("prod-users", "prod", vec!["scratch"], vec!["persistent"]),
    ] {
        let role = format!("{hub}-{identity}");
        let got = iam.get_role().role_name(&role).send().await.unwrap();
        let trust = decode(got.role().unwrap().assume_role_policy_document().unwrap());
        let statement = &trust["Statement"][0];
        assert_eq!(
            statement["Principal"]["Federated"].as_str().unwrap(),
            format!("arn:aws:iam::123456789012:oidc-provider/{issuer}")
        );
        assert_eq!(
            statement["Condition"]["StringEquals"][format!("{issuer}:sub")],
            format!("system:serviceaccount:{namespace}:user-sa")
        );
        let policy = iam
            .get_role_policy()
            .role_name(&role)
            .policy_name("hubforge-buckets")
            .send()
            .await
            .unwrap();
        let policy = decode(policy.policy_document());
        let mut writable = Vec::new();
        let mut readable = Vec::new();
        for statement in policy["Statement"].as_array().unwrap() {
            let actions = statement["Action"].to_string();
            for resource in statement["Resource"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
            {
                assert!(
                    resource.starts_with("arn:aws:s3:::") && resource != "arn:aws:s3:::*",
                    "{resource}"
                );
                if let Some(object) = resource.strip_suffix("/*") {
                    if actions.contains("s3:PutObject") {
                        writable.push(object.to_string())
                    } else {
                        readable.push(object.to_string())
                    }
                }
            }
        }
        let arns = |names: &[&str]| -> Vec<String> {
            let mut arns: Vec<String> = names
                .iter()
                .map(|n| format!("arn:aws:s3:::{}", bucket(n)))
                .collect();
            arns.sort();
            arns
        };
        writable.sort();
        readable.sort();
        assert_eq!(
            (writable, readable),
            (arns(&read_write), arns(&read_only)),
            "{identity}"
        );
    }
    let providers = iam.list_open_id_connect_providers().send().await.unwrap();
    assert!(
        providers
            .open_id_connect_provider_list()
            .iter()
            .any(|p| p.arn().unwrap().ends_with(&issuer))
    );
    let vpcs = ec2
        .describe_vpcs()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:hubforge-cluster")
                .values(hub)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(vpcs.vpcs().len(), 1);

    // Nothing left to change.
    let plan = engine.plan(&spec).await.unwrap();
    assert!(!plan.has_changes(), "{}", plan.to_string());

    // Destroy leaves nothing tagged as the hub's, VPC included.
    let (report, leaks) = engine.destroy(&spec, false).await.unwrap();
    assert!(
        report.succeeded() && leaks.leaks.is_empty(),
        "{:?} {leaks:?}",
        report.failed
    );
    let vpcs = ec2
        .describe_vpcs()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:hubforge-cluster")
                .values(hub)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(vpcs.vpcs().is_empty());
    assert!(
        !eks.list_clusters()
            .send()
            .await
            .unwrap()
            .clusters()
            .iter()
            .any(|c| c == hub)
    );
    let roles = iam.list_roles().send().await.unwrap();
    assert!(
        !roles
            .roles()
            .iter()
            .any(|r| r.role_name().starts_with(&format!("{hub}-")))
    );
    let buckets = s3.list_buckets().send().await.unwrap();
    assert!(
        !buckets
            .buckets()
            .iter()
            .any(|b| b.name().unwrap().starts_with(&format!("{hub}-")))
    );
    let providers = iam.list_open_id_connect_providers().send().await.unwrap();
    assert!(
        !providers
            .open_id_connect_provider_list()
            .iter()
            .any(|p| p.arn().unwrap().ends_with(&issuer))
    );
    let _ = std::fs::remove_dir_all(dir);
}
