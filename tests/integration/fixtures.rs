//! Every file under `tests/fixtures/invalid/` must be rejected by
//! `hubforge validate` with exit code 1 and a problem at the field path and
//! with the message its header names:
//!
//! ```yaml
//! # expect-path: node_pools[2].max
//! # expect-message: below min (5)
//! ```

use super::{hubforge, root, stderr, stdout};

struct Fixture {
    file: std::path::PathBuf,
    path: String,
    message: String,
}

fn fixtures() -> Vec<Fixture> {
    let dir = root().join("tests/fixtures/invalid");
    let mut out: Vec<Fixture> = std::fs::read_dir(&dir)
        .expect("fixtures directory")
        .map(|entry| entry.expect("fixture entry").path())
        .map(|file| {
            let text = std::fs::read_to_string(&file).expect("fixture text");
            let header = |key: &str| {
                text.lines()
                    .find_map(|line| line.strip_prefix(&format!("# {key}:")))
                    .map(|v| v.trim().to_string())
                    .unwrap_or_else(|| panic!("{} has no `# {key}:` line", file.display()))
            };
            Fixture {
                path: header("expect-path"),
                message: header("expect-message"),
                file,
            }
        })
        .collect();
    out.sort_by(|a, b| a.file.cmp(&b.file));
    out
}

#[test]
fn every_invalid_fixture_is_rejected_at_its_path_with_its_message() {
    let fixtures = fixtures();
    assert!(
        fixtures.len() >= 30,
        "only {} invalid fixtures",
        fixtures.len()
    );
    let mut failures = Vec::new();
    for fixture in &fixtures {
        let output = hubforge(&["validate", "--json", fixture.file.to_str().unwrap()]);
        let report: serde_json::Value =
            serde_json::from_str(&stdout(&output)).expect("validate --json prints JSON");
        let problems = report["problems"].as_array().expect("problems array");
        let found = problems.iter().any(|p| {
            p["path"].as_str() == Some(fixture.path.as_str())
                && p["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(&fixture.message))
        });
        if output.status.code() != Some(1) || report["valid"] != false || !found {
            failures.push(format!(
                "{}: exit {:?}, expected `{}: …{}…`, got {}",
                fixture.file.display(),
                output.status.code(),
                fixture.path,
                fixture.message,
                serde_json::to_string(problems).unwrap()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixtures not rejected as expected:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn human_output_lists_every_problem_on_stderr() {
    let file = root().join("tests/fixtures/invalid/gke-cluster-name-too-long.yaml");
    let output = hubforge(&["validate", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.contains("4 problems"), "{text}");
    for path in [
        "name:",
        "buckets[1].name:",
        "identities[0].name:",
        "identities[1].name:",
    ] {
        assert!(
            text.lines().any(|line| line.trim_start().starts_with(path)),
            "no `{path}` line in:\n{text}"
        );
    }
    assert!(stdout(&output).is_empty());
}
