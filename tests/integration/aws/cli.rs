//! The CLI against moto: the reference hub applied, shown and destroyed,
//! and two processes contending for the S3 state lock.

use serde_json::Value;

use super::super::engine_cli::Workspace;
use super::super::{example, stderr, stdout};
use super::{ISSUER, REGION, moto, s3, sdk};

fn aws_env(command: &mut std::process::Command) -> &mut std::process::Command {
    command
        .env("AWS_ENDPOINT_URL", moto())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", REGION)
        .env("HUBFORGE_AWS_EMULATOR", "moto")
        .env_remove("AWS_PROFILE")
}

#[test]
fn cli_applies_the_reference_hub_on_aws_with_the_progress_view() {
    require_moto!();
    let _turn = ISSUER.blocking_lock();
    let ws = Workspace::new("aws-cli");
    let text = std::fs::read_to_string(example("reference-hub-aws.yaml"))
        .unwrap()
        .replace("name: openscapes\n", "name: clihub\n");
    std::fs::write(&ws.spec, text).unwrap();
    let apply = aws_env(&mut ws.command(&["apply", "--auto-approve"], 0.0))
        .output()
        .unwrap();
    assert_eq!(apply.status.code(), Some(0), "{}", stderr(&apply));
    assert!(
        stdout(&apply).contains("Plan: 15 to create"),
        "{}",
        stdout(&apply)
    );
    assert!(
        stderr(&apply).contains("cluster (clihub): Creation complete"),
        "{}",
        stderr(&apply)
    );
    assert!(
        stderr(&apply).contains("support/network (clihub-vpc): Creation complete"),
        "{}",
        stderr(&apply)
    );

    let output = aws_env(&mut ws.command(&["output", "--json"], 0.0))
        .output()
        .unwrap();
    let outputs: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let kubeconfig = outputs["kubeconfig"].as_str().unwrap();
    assert!(
        kubeconfig.contains("certificate-authority-data: ") && kubeconfig.contains("command: aws"),
        "{kubeconfig}"
    );
    assert!(
        kubeconfig.contains(
            "args: [eks, get-token, --cluster-name, clihub, --region, us-west-2, --output, json]"
        ),
        "{kubeconfig}"
    );
    assert_eq!(
        outputs["identities"]["prod-users"]["annotations"]["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::123456789012:role/clihub-prod-users"
    );
    let file = ws.dir.join("kubeconfig");
    std::fs::write(&file, kubeconfig).unwrap();
    match std::process::Command::new("kubectl")
        .args(["config", "view", "--kubeconfig"])
        .arg(&file)
        .args([
            "-o",
            "jsonpath={.users[0].user.exec.command} {.clusters[0].cluster.server}",
        ])
        .output()
    {
        Ok(view) => {
            assert!(
                view.status.success(),
                "kubectl rejects the kubeconfig: {}",
                stderr(&view)
            );
            let shown = stdout(&view);
            assert!(
                shown.starts_with("aws https://") && shown.contains(".eks.amazonaws.com"),
                "{shown}"
            );
        }
        Err(_) => {
            eprintln!("kubectl is not installed here: the kubeconfig was checked by its text only")
        }
    }

    let plan = aws_env(&mut ws.command(&["plan", "--detailed-exitcode"], 0.0))
        .output()
        .unwrap();
    assert_eq!(
        plan.status.code(),
        Some(0),
        "{}{}",
        stdout(&plan),
        stderr(&plan)
    );

    let destroy = aws_env(&mut ws.command(&["destroy", "--auto-approve"], 0.0))
        .output()
        .unwrap();
    assert_eq!(destroy.status.code(), Some(0), "{}", stderr(&destroy));
    assert!(
        stderr(&destroy).contains("Leak check: nothing tagged for hub clihub remains."),
        "{}",
        stderr(&destroy)
    );
}

#[test]
fn two_processes_contend_for_the_s3_state_lock() {
    require_moto!();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bucket = format!("hubforge-state-{}", std::process::id());
    runtime.block_on(async {
        let s3 = s3(&sdk().await);
        let location = aws_sdk_s3::types::CreateBucketConfiguration::builder()
            .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::UsWest2)
            .build();
        s3.create_bucket()
            .bucket(&bucket)
            .create_bucket_configuration(location)
            .send()
            .await
            .unwrap();
    });
    // A sim hub (fast, local) whose state and lock live in S3.
    let ws = Workspace::new("s3-lock");
    let state = format!("s3://{bucket}/team");
    let spawn = || {
        aws_env(&mut ws.command(&["apply", "--auto-approve", "--state", &state], 0.003))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(), spawn());
    let outputs = [
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    ];
    let codes: Vec<Option<i32>> = outputs.iter().map(|o| o.status.code()).collect();
    assert!(
        codes.contains(&Some(0)) && codes.contains(&Some(1)),
        "{codes:?}: {} / {}",
        stderr(&outputs[0]),
        stderr(&outputs[1])
    );
    let loser = outputs.iter().find(|o| o.status.code() == Some(1)).unwrap();
    assert!(
        stderr(loser).contains("hub openscapes is locked by"),
        "{}",
        stderr(loser)
    );

    let mut list = std::process::Command::new(env!("CARGO_BIN_EXE_hubforge"));
    list.args(["state", "list", "--state", &state]);
    let listed = aws_env(&mut list).output().unwrap();
    let listed = stdout(&listed);
    assert!(
        listed.contains("openscapes: 15 resources") && !listed.contains("locked by"),
        "{listed}"
    );
}
