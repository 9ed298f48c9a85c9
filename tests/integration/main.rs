//! hubforge's integration tests: one binary, one module per concern.

mod aws;
mod cli;
mod conformance;
mod crash;
mod critical_path;
mod dependencies;
mod engine_cli;
mod fixtures;
mod safety;
mod state_store;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the `hubforge` binary built for these tests.
fn hubforge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hubforge"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run hubforge")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn example(name: &str) -> PathBuf {
    root().join("examples/hubs").join(name)
}
