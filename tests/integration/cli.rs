//! The CLI's promises: valid specs pass on every provider, the catalog shows
//! every resolution, the schema is usable, errors exit 1.

use super::{example, hubforge, root, stderr, stdout};

#[test]
fn reference_spec_validates_on_every_provider() {
    for (file, provider) in [
        ("reference-hub.yaml", "sim"),
        ("reference-hub-aws.yaml", "aws"),
        ("reference-hub-gcp.yaml", "gcp"),
        ("reference-hub-azure.yaml", "azure"),
        ("reference-hub.toml", "sim"),
    ] {
        let output = hubforge(&["validate", example(file).to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(0), "{file}: {}", stderr(&output));
        assert!(
            stdout(&output).contains(&format!("is valid for provider {provider}")),
            "{file}: {}",
            stdout(&output)
        );
    }
}

/// The examples are the shared reference spec, with only `provider` changed.
#[test]
fn examples_are_the_shared_reference_spec() {
    let shared = root().join("../shared/reference-hub.yaml");
    let Ok(reference) = std::fs::read_to_string(&shared) else {
        // Outside the workplace checkout there is no shared/ to compare with.
        return;
    };
    for (file, provider) in [
        ("reference-hub.yaml", "sim"),
        ("reference-hub-aws.yaml", "aws"),
        ("reference-hub-gcp.yaml", "gcp"),
        ("reference-hub-azure.yaml", "azure"),
    ] {
        let text = std::fs::read_to_string(example(file)).unwrap();
        assert_eq!(
            text,
            reference.replace("provider: sim", &format!("provider: {provider}")),
            "{file} drifted from shared/reference-hub.yaml"
        );
    }
}

#[test]
fn physical_names_are_shown_per_cloud() {
    let output = hubforge(&[
        "validate",
        example("reference-hub-azure.yaml").to_str().unwrap(),
    ]);
    let text = stdout(&output);
    assert!(
        text.contains("AKS node pool          user-small       usersmall"),
        "{text}"
    );
    assert!(text.contains("/scratch"), "{text}");
}

#[test]
fn catalog_prints_resolved_types_on_all_three_clouds() {
    let output = hubforge(&["catalog", example("reference-hub.yaml").to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    for expected in [
        "AWS           r5.xlarge (4 vCPU, 32 GiB)",
        "Google Cloud  n2-highmem-4 (4 vCPU, 32 GiB)",
        "Azure         Standard_E4s_v5 (4 vCPU, 32 GiB)",
        "AWS           g4dn.xlarge",
        "Google Cloud  n1-highmem-4 + 1× nvidia-tesla-t4",
        "Azure         Standard_NC4as_T4_v3",
        "AWS           r5.4xlarge (instance_type override)",
        "Google Cloud  us-west1 (same metro as us-west-2)",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }

    let json = hubforge(&[
        "catalog",
        "--json",
        example("reference-hub.yaml").to_str().unwrap(),
    ]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(
        report["node_pools"][2]["resolved"]["gcp"]["accelerator"]["kind"],
        "nvidia-tesla-t4"
    );
    assert_eq!(
        report["node_pools"][3]["resolved"]["azure"]["source"],
        "override"
    );
}

#[test]
fn schema_is_json_that_forbids_unknown_fields() {
    let output = hubforge(&["schema"]);
    assert_eq!(output.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("schema is JSON");
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(
        schema["$defs"]["NodePoolSpec"]["additionalProperties"],
        false
    );
    let required = schema["required"].as_array().unwrap();
    for field in ["name", "provider", "region", "kubernetes_version"] {
        assert!(
            required.iter().any(|r| r == field),
            "{field} should be required"
        );
    }
}

#[test]
fn errors_exit_with_one() {
    let missing = hubforge(&["validate", "no/such/spec.yaml"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("cannot read no/such/spec.yaml"),
        "{}",
        stderr(&missing)
    );
    let usage = hubforge(&["validate"]);
    assert_eq!(usage.status.code(), Some(1));
    let help = hubforge(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
}

#[test]
fn clouds_without_a_provider_yet_stop_with_a_clear_message() {
    let state = std::env::temp_dir().join("hubforge-no-provider");
    let output = hubforge(&[
        "plan",
        example("reference-hub-gcp.yaml").to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("provisioning on gcp is not built yet"),
        "{}",
        stderr(&output)
    );
}
