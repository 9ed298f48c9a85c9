//! What an operator relies on, through the real CLI on a persisted sim:
//! hubforge leaves alone what is not the hub's, says when the cloud failed,
//! never changes the cloud unasked, keeps pod selectors stable across a
//! blue/green replacement, and its unlock hint works from where the user is.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::engine_cli::Workspace;
use super::{stderr, stdout};

/// 1/1000 of real time: the reference hub takes about a second.
const FAST: f64 = 0.001;

/// Edits the persisted sim world, as another tool would change the cloud.
fn edit_world(ws: &Workspace, change: impl FnOnce(&mut Value)) {
    let path = ws.sim_dir().join("world.json");
    let mut world: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    change(&mut world);
    std::fs::write(&path, serde_json::to_vec_pretty(&world).unwrap()).unwrap();
}

fn pool_names(ws: &Workspace) -> Vec<String> {
    let path = ws.sim_dir().join("world.json");
    let world: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    world["clusters"]["openscapes"]["pools"]
        .as_object()
        .map(|pools| pools.keys().cloned().collect())
        .unwrap_or_default()
}

fn applied(label: &str) -> Workspace {
    let ws = Workspace::new(label);
    let apply = ws.run(&["apply", "--auto-approve"], FAST);
    assert_eq!(apply.status.code(), Some(0), "{}", stderr(&apply));
    ws
}

#[test]
fn destroy_leaves_a_foreign_clusters_pools_alone() {
    let ws = applied("foreign-cluster");
    edit_world(&ws, |world| {
        let cluster = &mut world["clusters"]["openscapes"];
        cluster["config"]["tags"] = serde_json::json!({ "owner": "eksctl" });
        for pool in cluster["pools"].as_object_mut().unwrap().values_mut() {
            pool["config"]["tags"] = serde_json::json!({ "owner": "eksctl" });
        }
    });
    let plan = ws.run(&["plan"], FAST);
    assert_eq!(plan.status.code(), Some(1), "{}", stdout(&plan));
    assert!(stdout(&plan).contains("owner=eksctl"), "{}", stdout(&plan));

    let destroy = ws.run(&["destroy", "--auto-approve"], FAST);
    let told = stderr(&destroy);
    assert_eq!(destroy.status.code(), Some(0), "{told}");
    assert_eq!(pool_names(&ws).len(), 4, "{told}");
    assert!(
        told.contains("Left alone, because they are not hub openscapes's:")
            && told.contains("node pool dask in cluster openscapes (owner=eksctl)"),
        "{told}"
    );
}

#[test]
fn a_foreign_twin_survives_a_blue_green_replacement_which_blocks_saying_why() {
    let ws = applied("foreign-twin");
    edit_world(&ws, |world| {
        let pools = world["clusters"]["openscapes"]["pools"]
            .as_object_mut()
            .unwrap();
        let mut twin = pools["dask"].clone();
        twin["config"]["name"] = "dask-b".into();
        twin["config"]["tags"] = serde_json::json!({});
        pools.insert("dask-b".into(), twin);
    });
    let text = std::fs::read_to_string(&ws.spec)
        .unwrap()
        .replace("aws: r5.4xlarge", "aws: r5.8xlarge");
    std::fs::write(&ws.spec, text).unwrap();

    let apply = ws.run(&["apply", "--auto-approve"], FAST);
    let shown = stdout(&apply);
    assert_eq!(apply.status.code(), Some(1), "{shown}{}", stderr(&apply));
    assert!(
        shown.contains(
            "node pool `dask-b` in cluster openscapes is not this hub's pool dask (no tags)"
        ) && shown.contains("delete or rename it"),
        "{shown}"
    );
    assert!(pool_names(&ws).contains(&"dask-b".to_string()));
}

#[test]
fn a_pool_the_cloud_fails_fails_the_apply_and_is_planned_again() {
    let ws = Workspace::new("failed-pool");
    let apply = ws
        .command(&["apply", "--auto-approve"], FAST)
        .env("HUBFORGE_SIM_FAIL", "node_pool/dask")
        .output()
        .unwrap();
    let told = stderr(&apply);
    assert_eq!(apply.status.code(), Some(1), "{told}");
    assert!(
        told.contains("failed: node_pool/dask (dask)") && told.contains("NodeCreationFailure"),
        "{told}"
    );
    let plan = ws
        .command(&["plan", "--detailed-exitcode"], FAST)
        .env("HUBFORGE_SIM_FAIL", "node_pool/dask")
        .output()
        .unwrap();
    let shown = stdout(&plan);
    assert_eq!(plan.status.code(), Some(2), "{shown}");
    assert!(
        !shown.contains("No changes") && shown.contains("dask → dask-b"),
        "{shown}"
    );

    let typo = ws
        .command(&["plan"], FAST)
        .env("HUBFORGE_SIM_FAIL", "nodepool/dask")
        .output()
        .unwrap();
    assert_eq!(typo.status.code(), Some(1));
    assert!(
        stderr(&typo).contains("HUBFORGE_SIM_FAIL") && stderr(&typo).contains("node_pool/dask"),
        "{}",
        stderr(&typo)
    );
}

#[test]
fn apply_and_destroy_without_a_terminal_ask_for_auto_approve_and_change_nothing() {
    let ws = Workspace::new("no-terminal");
    let apply = ws.run(&["apply"], FAST);
    assert_eq!(apply.status.code(), Some(1));
    assert!(
        stderr(&apply).contains("--auto-approve"),
        "{}",
        stderr(&apply)
    );
    assert!(!ws.sim_dir().join("world.json").exists() || pool_names(&ws).is_empty());

    let apply = ws.run(&["apply", "--auto-approve"], FAST);
    assert_eq!(apply.status.code(), Some(0), "{}", stderr(&apply));
    // stdin is /dev/null here: no terminal, nobody to say yes.
    let destroy = ws.run(&["destroy"], FAST);
    assert_eq!(destroy.status.code(), Some(1));
    assert!(
        stderr(&destroy).contains("--auto-approve"),
        "{}",
        stderr(&destroy)
    );
    let plan = ws.run(&["plan", "--detailed-exitcode"], FAST);
    assert_eq!(
        plan.status.code(),
        Some(0),
        "everything is still there: {}",
        stdout(&plan)
    );
}

#[test]
fn the_node_selector_of_a_pool_is_the_same_before_and_after_a_blue_green_change() {
    let ws = applied("selector");
    let selector = |ws: &Workspace| {
        let output = ws.run(&["output", "--json"], FAST);
        let outputs: Value = serde_json::from_str(&stdout(&output)).unwrap();
        (
            outputs["node_selectors"]["dask"].clone(),
            outputs["cloud_node_labels"]["dask"].clone(),
        )
    };
    let (before, cloud_before) = selector(&ws);
    assert_eq!(before, serde_json::json!({ "hubforge.io/pool": "dask" }));
    let text = std::fs::read_to_string(&ws.spec)
        .unwrap()
        .replace("aws: r5.4xlarge", "aws: r5.8xlarge");
    std::fs::write(&ws.spec, text).unwrap();
    let apply = ws.run(&["apply", "--auto-approve"], FAST);
    assert_eq!(apply.status.code(), Some(0), "{}", stderr(&apply));
    assert!(pool_names(&ws).contains(&"dask-b".to_string()));
    let (after, cloud_after) = selector(&ws);
    assert_eq!(after, before, "pods selecting dask keep scheduling");
    assert_eq!(
        cloud_after,
        serde_json::json!({ "eks.amazonaws.com/nodegroup": "dask-b" })
    );
    assert_ne!(cloud_after, cloud_before);
}

#[test]
fn the_unlock_command_in_a_locked_message_works_from_where_it_was_given() {
    let ws = Workspace::new("unlock-elsewhere");
    // A live holder: this test process, on this host.
    let holder = hubforge::state::LockInfo::for_this_process("apply", Duration::from_secs(600));
    let lock = ws.state_dir().join("openscapes/lock.json");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    std::fs::write(&lock, serde_json::to_vec(&holder).unwrap()).unwrap();

    let parent = ws.dir.parent().unwrap();
    let spec = ws.spec.strip_prefix(parent).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hubforge"))
            .args(args)
            .current_dir(parent)
            .env("HUBFORGE_SIM_TIME_SCALE", FAST.to_string())
            .env_remove("HUBFORGE_SIM_DIR")
            .output()
            .unwrap()
    };
    let refused = run(&["apply", "--auto-approve", spec.to_str().unwrap()]);
    let told = stderr(&refused);
    assert_eq!(refused.status.code(), Some(1), "{told}");
    let command = told
        .split('`')
        .find(|part| part.starts_with("hubforge state unlock"))
        .unwrap_or_else(|| panic!("no unlock command in: {told}"));
    assert!(command.contains(&holder.id), "{command}");
    let words: Vec<&str> = command.split_whitespace().skip(1).collect();
    let unlocked = run(&words);
    assert_eq!(unlocked.status.code(), Some(0), "{}", stderr(&unlocked));
    assert!(!lock.exists(), "the lock the message named is cleared");
}
