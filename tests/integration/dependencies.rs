//! provider-core must stay cloud-agnostic: no cloud SDK, and no HTTP stack
//! that would drag one in, anywhere in its dependency tree.

use std::process::Command;

const FORBIDDEN_PREFIXES: &[&str] = &[
    "aws-",
    "aws_",
    "azure",
    "google-",
    "gcloud",
    "gcp",
    "yup-oauth2",
    "rusoto",
    "reqwest",
    "hyper",
];

#[test]
fn provider_core_has_no_cloud_sdk_in_its_dependency_tree() {
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-p",
            "provider-core",
            "--edges",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(super::root())
        .output()
        .expect("run cargo tree");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8_lossy(&output.stdout);
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert!(
        crates.contains(&"provider-core") && crates.contains(&"serde"),
        "cargo tree printed something unexpected:\n{tree}"
    );
    let offending: Vec<&&str> = crates
        .iter()
        .filter(|name| FORBIDDEN_PREFIXES.iter().any(|p| name.starts_with(p)))
        .collect();
    assert!(
        offending.is_empty(),
        "provider-core depends on {offending:?}"
    );
}
