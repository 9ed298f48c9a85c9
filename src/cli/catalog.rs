//! `hubforge catalog FILE`

use std::path::Path;
use std::process::ExitCode;

use hubforge::Cloud;
use hubforge::catalog::{self, RegionResolution};
use hubforge::spec::NodePoolSpec;

pub fn run(file: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let Some(spec) = super::load(file, json) else {
        return Ok(ExitCode::FAILURE);
    };
    if json {
        let pools: Vec<serde_json::Value> = spec
            .node_pools
            .iter()
            .map(|pool| {
                let per_cloud: serde_json::Map<String, serde_json::Value> = Cloud::ALL
                    .iter()
                    .map(|&cloud| {
                        let value = match catalog::resolve(cloud, pool) {
                            Ok(resolution) => serde_json::json!({
                                "instance_type": resolution.instance_type(),
                                "accelerator": resolution.accelerator().map(|(kind, count)| serde_json::json!({"kind": kind, "count": count})),
                                "source": if matches!(resolution, catalog::Resolution::Override(_)) { "override" } else { "catalog" },
                            }),
                            Err(error) => serde_json::json!({ "error": error.reason }),
                        };
                        (cloud.key().to_string(), value)
                    })
                    .collect();
                serde_json::json!({ "pool": pool.name, "requested": requested(pool), "resolved": per_cloud })
            })
            .collect();
        let regions: serde_json::Map<String, serde_json::Value> = Cloud::ALL
            .iter()
            .map(|&cloud| {
                let value = match catalog::resolve_region(cloud, &spec.region) {
                    Ok(region) => serde_json::json!(region.name()),
                    Err(reason) => serde_json::json!({ "error": reason }),
                };
                (cloud.key().to_string(), value)
            })
            .collect();
        say!(
            "{:#}",
            serde_json::json!({ "file": file, "region": spec.region, "regions": regions, "node_pools": pools })
        );
        return Ok(ExitCode::SUCCESS);
    }
    say!(
        "Instance types for hub `{}` (provider {})",
        spec.name,
        spec.provider
    );
    say!(
        "Rule: the smallest catalogued type with at least the vCPUs, memory and GPUs asked for; instance_type overrides win.\n"
    );
    for pool in &spec.node_pools {
        say!("{}  ({})", pool.name, requested(pool));
        for cloud in Cloud::ALL {
            match catalog::resolve(cloud, pool) {
                Ok(resolution) => say!("  {:<13} {resolution}", cloud.display_name()),
                Err(error) => say!("  {:<13} none: {}", cloud.display_name(), error.reason),
            }
        }
    }
    say!("\nRegion `{}`", spec.region);
    for cloud in Cloud::ALL {
        let shown = match catalog::resolve_region(cloud, &spec.region) {
            Ok(RegionResolution::Native(name)) => name,
            Ok(RegionResolution::Alias { from, to }) => format!("{to} (same metro as {from})"),
            Err(reason) => format!("none: {reason}"),
        };
        say!("  {:<13} {shown}", cloud.display_name());
    }
    Ok(ExitCode::SUCCESS)
}

fn requested(pool: &NodePoolSpec) -> String {
    let mut parts = Vec::new();
    if let Some(machine) = &pool.machine {
        let mut shape = format!("machine: {} vCPU, {} GiB", machine.cpu, machine.memory_gib);
        if let Some(gpu) = &machine.gpu {
            shape.push_str(&format!(", {}× {}", gpu.count, gpu.class));
        }
        parts.push(shape);
    }
    if let Some(overrides) = &pool.instance_type {
        let listed: Vec<String> = Cloud::ALL
            .iter()
            .filter_map(|&c| overrides.for_cloud(c).map(|t| format!("{}={t}", c.key())))
            .collect();
        parts.push(format!("instance_type: {}", listed.join(", ")));
    }
    if pool.spot {
        parts.push("spot".into());
    }
    parts.join("; ")
}
