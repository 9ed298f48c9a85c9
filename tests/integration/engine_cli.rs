//! The engine through the real CLI, as separate processes on a persisted sim.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use super::{example, stderr, stdout};

/// A fresh directory holding a copy of the reference spec.
pub struct Workspace {
    pub dir: PathBuf,
    pub spec: PathBuf,
}

impl Workspace {
    pub fn new(label: &str) -> Workspace {
        let dir = std::env::temp_dir().join(format!(
            "hubforge-cli-{label}-{}-{}",
            std::process::id(),
            unique()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let spec = dir.join("hub.yaml");
        std::fs::copy(example("reference-hub.yaml"), &spec).unwrap();
        Workspace { dir, spec }
    }

    pub fn command(&self, args: &[&str], time_scale: f64) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hubforge"));
        command
            .args(args)
            .arg(&self.spec)
            .current_dir(&self.dir)
            .env("HUBFORGE_SIM_TIME_SCALE", time_scale.to_string())
            .env_remove("HUBFORGE_SIM_DIR")
            .env_remove("HUBFORGE_SIM_FAULT_RATE")
            .stdin(Stdio::null());
        command
    }

    pub fn run(&self, args: &[&str], time_scale: f64) -> Output {
        self.command(args, time_scale)
            .output()
            .expect("run hubforge")
    }

    pub fn spawn(&self, args: &[&str], time_scale: f64) -> Child {
        self.command(args, time_scale)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hubforge")
    }

    pub fn sim_dir(&self) -> PathBuf {
        self.dir.join(".hubforge/sim")
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.join(".hubforge/state")
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn lock_id(state_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(state_dir.join("openscapes/lock.json")).ok()?;
    let lock: serde_json::Value = serde_json::from_str(&text).ok()?;
    lock["id"].as_str().map(str::to_string)
}

#[test]
fn apply_then_plan_shows_no_changes_then_destroy_is_clean() {
    let ws = Workspace::new("cycle");
    let apply = ws.run(&["apply", "--auto-approve"], 0.001);
    assert_eq!(apply.status.code(), Some(0), "{}", stderr(&apply));
    assert!(
        stdout(&apply).contains("Plan: 15 to create"),
        "{}",
        stdout(&apply)
    );
    assert!(
        stderr(&apply).contains("cluster (openscapes): Creation complete"),
        "{}",
        stderr(&apply)
    );

    let plan = ws.run(&["plan", "--detailed-exitcode"], 0.001);
    assert_eq!(
        plan.status.code(),
        Some(0),
        "{}{}",
        stdout(&plan),
        stderr(&plan)
    );
    assert!(stdout(&plan).contains("No changes."));

    let graph = ws.run(&["graph"], 0.001);
    let mermaid = stdout(&graph);
    assert!(
        mermaid.starts_with("flowchart TD") && mermaid.contains("[\"= cluster<br/>openscapes\"]"),
        "{mermaid}"
    );
    let cluster_to_pool = mermaid.lines().filter(|l| l.contains(" --> ")).count();
    assert!(cluster_to_pool >= 10, "{mermaid}");
    let dot = stdout(&ws.run(&["graph", "--format", "dot"], 0.001));
    assert!(
        dot.starts_with("digraph hub {") && dot.trim_end().ends_with('}'),
        "{dot}"
    );

    let output = ws.run(&["output", "--json"], 0.001);
    let outputs: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(
        outputs["identities"]["prod-users"]["service_account"],
        "prod/user-sa"
    );

    let destroy = ws.run(&["destroy", "--auto-approve"], 0.001);
    assert_eq!(destroy.status.code(), Some(0), "{}", stderr(&destroy));
    assert!(
        stderr(&destroy).contains("Leak check: nothing tagged for hub openscapes remains."),
        "{}",
        stderr(&destroy)
    );

    let after = ws.run(&["plan", "--detailed-exitcode"], 0.001);
    assert_eq!(
        after.status.code(),
        Some(2),
        "after destroy everything is to create again"
    );
}

#[test]
fn json_mode_prints_events_as_json_lines() {
    let ws = Workspace::new("json");
    let apply = ws.run(&["apply", "--auto-approve", "--json"], 0.0005);
    assert_eq!(apply.status.code(), Some(0), "{}", stderr(&apply));
    let lines: Vec<serde_json::Value> = stdout(&apply)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["event"] == "started" && l["node"] == "cluster")
    );
    assert!(lines.iter().any(|l| l["event"] == "done"));
    assert!(lines.iter().any(|l| l.get("plan").is_some()));
}

#[test]
fn two_concurrent_applies_one_proceeds_one_is_told_who_holds_the_lock() {
    let ws = Workspace::new("race");
    let first = ws.spawn(&["apply", "--auto-approve"], 0.003);
    let second = ws.spawn(&["apply", "--auto-approve"], 0.003);
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
    let message = stderr(loser);
    assert!(
        message.contains("hub openscapes is locked by")
            && message.contains("(pid ")
            && message.contains(" since "),
        "{message}"
    );
    assert!(message.contains("hubforge state unlock"), "{message}");
}

#[test]
fn a_lock_left_by_a_killed_process_can_be_cleared() {
    let ws = Workspace::new("killed-lock");
    let mut apply = ws.spawn(&["apply", "--auto-approve"], 0.01);
    let id = wait_for(|| lock_id(&ws.state_dir()), Duration::from_secs(20))
        .expect("the apply takes the lock");
    apply.kill().unwrap();
    apply.wait().unwrap();

    let listed = Command::new(env!("CARGO_BIN_EXE_hubforge"))
        .args(["state", "list", "--state"])
        .arg(ws.state_dir())
        .output()
        .unwrap();
    assert!(
        stdout(&listed).contains(&format!("lock id {id}")),
        "{}",
        stdout(&listed)
    );
    let unlock = Command::new(env!("CARGO_BIN_EXE_hubforge"))
        .args(["state", "unlock", &id, "--state"])
        .arg(ws.state_dir())
        .output()
        .unwrap();
    assert_eq!(unlock.status.code(), Some(0), "{}", stderr(&unlock));
    assert!(lock_id(&ws.state_dir()).is_none());

    // A stale lock on this host is also taken over by the next run, with a warning.
    let mut again = ws.spawn(&["apply", "--auto-approve"], 0.01);
    wait_for(|| lock_id(&ws.state_dir()), Duration::from_secs(20))
        .expect("the apply takes the lock");
    again.kill().unwrap();
    again.wait().unwrap();
    let resumed = ws.run(&["apply", "--auto-approve"], 0.001);
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    assert!(
        stderr(&resumed).contains("took over a stale lock"),
        "{}",
        stderr(&resumed)
    );
}

pub fn wait_for<T>(mut probe: impl FnMut() -> Option<T>, limit: Duration) -> Option<T> {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if let Some(found) = probe() {
            return Some(found);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}
