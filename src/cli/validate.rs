//! `hubforge validate FILE`

use std::path::Path;
use std::process::ExitCode;

use hubforge::names::{self, NameKind};
use hubforge::validate::{spec_name_scope, target_clouds};
use hubforge::{Cloud, HubClusterSpec};

pub fn run(file: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let Some(spec) = super::load(file, json) else {
        return Ok(ExitCode::FAILURE);
    };
    let problems = hubforge::validate(&spec);
    if !problems.is_empty() {
        super::print_problems(file, &problems, json);
        return Ok(ExitCode::FAILURE);
    }
    let clouds = target_clouds(&spec);
    if json {
        let names: serde_json::Map<String, serde_json::Value> = clouds
            .iter()
            .map(|&cloud| (cloud.key().to_string(), serde_json::Value::Array(physical_names(&spec, cloud).into_iter().map(|(kind, logical, physical)| serde_json::json!({"kind": kind, "logical": logical, "physical": physical})).collect())))
            .collect();
        let report = serde_json::json!({ "file": file, "valid": true, "provider": spec.provider, "problems": [], "physical_names": names });
        say!("{report:#}");
        return Ok(ExitCode::SUCCESS);
    }
    let checked: Vec<&str> = clouds.iter().map(|c| c.display_name()).collect();
    say!(
        "✓ {}: hub `{}` is valid for provider {}",
        file.display(),
        spec.name,
        spec.provider
    );
    say!(
        "  checked against the naming rules and machine catalog of {}",
        checked.join(", ")
    );
    say!(
        "  1 cluster, {} node pools, {} buckets, {} identities",
        spec.node_pools.len(),
        spec.buckets.len(),
        spec.identities.len()
    );
    for cloud in clouds {
        say!("\n  physical names on {cloud}:");
        for (kind, logical, physical) in physical_names(&spec, cloud) {
            say!("    {kind:<22} {logical:<16} {physical}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// (what, logical name, physical name) for every named resource.
fn physical_names(spec: &HubClusterSpec, cloud: Cloud) -> Vec<(&'static str, String, String)> {
    let scope = spec_name_scope(spec, cloud);
    names::derive_all(spec, cloud, &scope)
        .into_iter()
        .map(|derived| {
            let physical = match derived.physical {
                Ok(name) if name.contains("xxxxxxxx") && derived.kind == NameKind::Bucket => {
                    format!("{name} (suffix from the AWS account id, known at plan time)")
                }
                Ok(name) => name,
                Err(error) => format!("(none: {error})"),
            };
            (derived.kind.cloud_term(cloud), derived.logical, physical)
        })
        .collect()
}
