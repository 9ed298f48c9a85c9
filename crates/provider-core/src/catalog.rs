//! Portable machine shapes and regions, resolved per cloud.
//!
//! **The rule.** A pool's `machine: {cpu, memory_gib, gpu}` resolves to the
//! *smallest* catalogued type on the cloud that meets every requirement:
//! fewest GPUs, then fewest vCPUs, then least memory, then the table's order
//! (current general-purpose generations first). A type with GPUs is never
//! chosen for a pool that asked for none. `instance_type.<cloud>` in the spec
//! wins over the rule. Every resolution is shown (`hubforge catalog`), never
//! silent.
//!
//! The table covers the general-purpose, memory-optimised and compute
//! families hubs use, and the GPU families for T4, L4, A10G, A100 and H100.
//! Figures are vCPUs and GiB as the clouds publish them.

use std::fmt;

use crate::spec::{Cloud, GpuClass, MachineSpec, NodePoolSpec};

/// One catalogued instance type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceType {
    /// Cloud that sells it.
    pub cloud: Cloud,
    /// The cloud's name for it (`r5.xlarge`, `n2-highmem-4`, `Standard_E4s_v5`).
    pub name: String,
    /// vCPUs.
    pub cpu: u32,
    /// Memory in GiB.
    pub memory_gib: u32,
    /// GPUs per node, if any.
    pub gpu: Option<(GpuClass, u32)>,
    /// On GCP, T4 GPUs are attached to an N1 machine as accelerators: the
    /// accelerator type to request (`nvidia-tesla-t4`).
    pub accelerator: Option<&'static str>,
}

impl fmt::Display for InstanceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        if let (Some(accelerator), Some((_, count))) = (self.accelerator, self.gpu) {
            write!(f, " + {count}× {accelerator}")?;
        }
        Ok(())
    }
}

/// How a pool's instance type was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// From the spec's `instance_type.<cloud>`.
    Override(String),
    /// By the catalog rule, from `machine`.
    Catalog(InstanceType),
}

impl Resolution {
    /// The instance type name to request from the cloud.
    pub fn instance_type(&self) -> &str {
        match self {
            Resolution::Override(name) => name,
            Resolution::Catalog(entry) => &entry.name,
        }
    }

    /// GCP accelerator to attach, if any.
    pub fn accelerator(&self) -> Option<(&'static str, u32)> {
        match self {
            Resolution::Catalog(InstanceType {
                accelerator: Some(kind),
                gpu: Some((_, count)),
                ..
            }) => Some((kind, *count)),
            _ => None,
        }
    }
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resolution::Override(name) => write!(f, "{name} (instance_type override)"),
            Resolution::Catalog(entry) => {
                write!(f, "{entry} ({} vCPU, {} GiB", entry.cpu, entry.memory_gib)?;
                if let Some((class, count)) = entry.gpu {
                    write!(f, ", {count}× {class}")?;
                }
                f.write_str(")")
            }
        }
    }
}

/// Why a pool has no instance type on a cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveError {
    /// Field the problem belongs to, relative to the pool (`machine.gpu.class`).
    pub field: &'static str,
    /// A sentence with the fix.
    pub reason: String,
}

/// Resolves a pool's instance type on `cloud`.
pub fn resolve(cloud: Cloud, pool: &NodePoolSpec) -> Result<Resolution, ResolveError> {
    if let Some(name) = pool.instance_type.as_ref().and_then(|o| o.for_cloud(cloud)) {
        return Ok(Resolution::Override(name.to_string()));
    }
    let Some(machine) = &pool.machine else {
        return Err(ResolveError {
            field: "instance_type",
            reason: format!(
                "has no `machine` and no `instance_type.{}`; add one so hubforge knows what to run on {cloud}",
                cloud.key()
            ),
        });
    };
    resolve_machine(cloud, machine).map(Resolution::Catalog)
}

/// The smallest catalogued type on `cloud` that meets `machine`.
pub fn resolve_machine(cloud: Cloud, machine: &MachineSpec) -> Result<InstanceType, ResolveError> {
    let wanted_gpu = machine.gpu.as_ref().map(|g| (g.class, g.count));
    if let Some((class, _)) = wanted_gpu
        && !gpu_classes(cloud).contains(&class)
    {
        let offered: Vec<&str> = gpu_classes(cloud).iter().map(|c| c.as_str()).collect();
        return Err(ResolveError {
            field: "machine.gpu.class",
            reason: format!(
                "{cloud} offers no {class} GPUs in hubforge's catalog; choose one of {} or set `instance_type.{}`",
                offered.join(", "),
                cloud.key()
            ),
        });
    }
    table()
        .into_iter()
        .filter(|t| t.cloud == cloud && t.cpu >= machine.cpu && t.memory_gib >= machine.memory_gib)
        .filter(|t| match (wanted_gpu, t.gpu) {
            (None, None) => true,
            (Some((class, count)), Some((offered, available))) => {
                class == offered && available >= count
            }
            _ => false,
        })
        .enumerate()
        .min_by_key(|(order, t)| (t.gpu.map_or(0, |g| g.1), t.cpu, t.memory_gib, *order))
        .map(|(_, t)| t)
        .ok_or_else(|| ResolveError {
            field: "machine",
            reason: format!(
                "no {cloud} instance type in hubforge's catalog has at least {} vCPU and {} GiB{}; \
                 ask for less or set `instance_type.{}`",
                machine.cpu,
                machine.memory_gib,
                wanted_gpu
                    .map(|(c, n)| format!(" with {n}× {c}"))
                    .unwrap_or_default(),
                cloud.key()
            ),
        })
}

/// GPU classes a cloud can supply.
pub fn gpu_classes(cloud: Cloud) -> Vec<GpuClass> {
    let mut classes: Vec<GpuClass> = table()
        .into_iter()
        .filter(|t| t.cloud == cloud)
        .filter_map(|t| t.gpu.map(|g| g.0))
        .collect();
    classes.sort();
    classes.dedup();
    classes
}

/// Whether an explicit instance type is spelled like one of `cloud`'s.
/// Only the shape is checked; the cloud has the final word on existence.
pub fn check_instance_type_syntax(cloud: Cloud, name: &str) -> Result<(), String> {
    let ok = match cloud {
        // family.size: r5.4xlarge, g4dn.xlarge, m7i-flex.large
        Cloud::Aws => name.split_once('.').is_some_and(|(family, size)| {
            family.starts_with(|c: char| c.is_ascii_lowercase())
                && family
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !size.is_empty()
                && size
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        }),
        // series-type-size: n2-highmem-16, e2-medium, a2-highgpu-1g
        Cloud::Gcp => {
            name.contains('-')
                && name.starts_with(|c: char| c.is_ascii_lowercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        }
        // Standard_E16s_v5
        Cloud::Azure => name.strip_prefix("Standard_").is_some_and(|rest| {
            !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }),
    };
    if ok {
        Ok(())
    } else {
        let example = match cloud {
            Cloud::Aws => "r5.4xlarge",
            Cloud::Gcp => "n2-highmem-16",
            Cloud::Azure => "Standard_E16s_v5",
        };
        Err(format!(
            "`{name}` is not spelled like a {cloud} instance type (for example `{example}`)"
        ))
    }
}

/// The catalog table.
pub fn table() -> Vec<InstanceType> {
    let mut rows = Vec::new();
    let mut add =
        |cloud, name: String, cpu, memory_gib, gpu: Option<(GpuClass, u32)>, accelerator| {
            rows.push(InstanceType {
                cloud,
                name,
                cpu,
                memory_gib,
                gpu,
                accelerator,
            })
        };

    // AWS: m5 (4 GiB/vCPU), r5 (8), c5 (2); sizes share a ladder.
    let aws_sizes = [
        ("large", 2),
        ("xlarge", 4),
        ("2xlarge", 8),
        ("4xlarge", 16),
        ("8xlarge", 32),
        ("12xlarge", 48),
        ("16xlarge", 64),
        ("24xlarge", 96),
    ];
    for (family, per_cpu) in [("m5", 4), ("r5", 8)] {
        for (size, cpu) in aws_sizes {
            add(
                Cloud::Aws,
                format!("{family}.{size}"),
                cpu,
                cpu * per_cpu,
                None,
                None,
            );
        }
    }
    for (size, cpu) in [
        ("large", 2),
        ("xlarge", 4),
        ("2xlarge", 8),
        ("4xlarge", 16),
        ("9xlarge", 36),
        ("12xlarge", 48),
        ("18xlarge", 72),
        ("24xlarge", 96),
    ] {
        add(Cloud::Aws, format!("c5.{size}"), cpu, cpu * 2, None, None);
    }
    let aws_gpu: [(&str, u32, u32, GpuClass, u32); 17] = [
        ("g4dn.xlarge", 4, 16, GpuClass::T4, 1),
        ("g4dn.2xlarge", 8, 32, GpuClass::T4, 1),
        ("g4dn.4xlarge", 16, 64, GpuClass::T4, 1),
        ("g4dn.8xlarge", 32, 128, GpuClass::T4, 1),
        ("g4dn.12xlarge", 48, 192, GpuClass::T4, 4),
        ("g6.xlarge", 4, 16, GpuClass::L4, 1),
        ("g6.2xlarge", 8, 32, GpuClass::L4, 1),
        ("g6.4xlarge", 16, 64, GpuClass::L4, 1),
        ("g6.8xlarge", 32, 128, GpuClass::L4, 1),
        ("g6.12xlarge", 48, 192, GpuClass::L4, 4),
        ("g5.xlarge", 4, 16, GpuClass::A10g, 1),
        ("g5.2xlarge", 8, 32, GpuClass::A10g, 1),
        ("g5.4xlarge", 16, 64, GpuClass::A10g, 1),
        ("g5.8xlarge", 32, 128, GpuClass::A10g, 1),
        ("g5.12xlarge", 48, 192, GpuClass::A10g, 4),
        ("p4d.24xlarge", 96, 1152, GpuClass::A100, 8),
        ("p5.48xlarge", 192, 2048, GpuClass::H100, 8),
    ];
    for (name, cpu, memory, class, count) in aws_gpu {
        add(
            Cloud::Aws,
            name.to_string(),
            cpu,
            memory,
            Some((class, count)),
            None,
        );
    }

    // GCP: n2-standard (4 GB/vCPU), n2-highmem (8), n2-highcpu (1).
    for (family, per_cpu) in [("standard", 4), ("highmem", 8), ("highcpu", 1)] {
        for cpu in [2, 4, 8, 16, 32, 48, 64, 80, 96] {
            add(
                Cloud::Gcp,
                format!("n2-{family}-{cpu}"),
                cpu,
                cpu * per_cpu,
                None,
                None,
            );
        }
    }
    // T4s attach to N1 machines: n1-standard has 3.75 GB/vCPU, n1-highmem 6.5.
    for (family, memory_of) in [("standard", 375u32), ("highmem", 650u32)] {
        for cpu in [4u32, 8, 16, 32] {
            for count in [1u32, 2, 4] {
                add(
                    Cloud::Gcp,
                    format!("n1-{family}-{cpu}"),
                    cpu,
                    cpu * memory_of / 100,
                    Some((GpuClass::T4, count)),
                    Some("nvidia-tesla-t4"),
                );
            }
        }
    }
    let gcp_gpu: [(&str, u32, u32, GpuClass, u32); 12] = [
        ("g2-standard-4", 4, 16, GpuClass::L4, 1),
        ("g2-standard-8", 8, 32, GpuClass::L4, 1),
        ("g2-standard-12", 12, 48, GpuClass::L4, 1),
        ("g2-standard-16", 16, 64, GpuClass::L4, 1),
        ("g2-standard-24", 24, 96, GpuClass::L4, 2),
        ("g2-standard-32", 32, 128, GpuClass::L4, 1),
        ("g2-standard-48", 48, 192, GpuClass::L4, 4),
        ("a2-highgpu-1g", 12, 85, GpuClass::A100, 1),
        ("a2-highgpu-2g", 24, 170, GpuClass::A100, 2),
        ("a2-highgpu-4g", 48, 340, GpuClass::A100, 4),
        ("a2-highgpu-8g", 96, 680, GpuClass::A100, 8),
        ("a3-highgpu-8g", 208, 1872, GpuClass::H100, 8),
    ];
    for (name, cpu, memory, class, count) in gcp_gpu {
        add(
            Cloud::Gcp,
            name.to_string(),
            cpu,
            memory,
            Some((class, count)),
            None,
        );
    }

    // Azure: Dsv5 (4 GiB/vCPU), Esv5 (8), Fsv2 (2).
    for cpu in [2, 4, 8, 16, 32, 48, 64, 96] {
        add(
            Cloud::Azure,
            format!("Standard_D{cpu}s_v5"),
            cpu,
            cpu * 4,
            None,
            None,
        );
        add(
            Cloud::Azure,
            format!("Standard_E{cpu}s_v5"),
            cpu,
            cpu * 8,
            None,
            None,
        );
        add(
            Cloud::Azure,
            format!("Standard_F{cpu}s_v2"),
            cpu,
            cpu * 2,
            None,
            None,
        );
    }
    let azure_gpu: [(&str, u32, u32, GpuClass, u32); 9] = [
        ("Standard_NC4as_T4_v3", 4, 28, GpuClass::T4, 1),
        ("Standard_NC8as_T4_v3", 8, 56, GpuClass::T4, 1),
        ("Standard_NC16as_T4_v3", 16, 110, GpuClass::T4, 1),
        ("Standard_NC64as_T4_v3", 64, 440, GpuClass::T4, 4),
        ("Standard_NC24ads_A100_v4", 24, 220, GpuClass::A100, 1),
        ("Standard_NC48ads_A100_v4", 48, 440, GpuClass::A100, 2),
        ("Standard_NC96ads_A100_v4", 96, 880, GpuClass::A100, 4),
        ("Standard_NC40ads_H100_v5", 40, 320, GpuClass::H100, 1),
        ("Standard_NC80adis_H100_v5", 80, 640, GpuClass::H100, 2),
    ];
    for (name, cpu, memory, class, count) in azure_gpu {
        add(
            Cloud::Azure,
            name.to_string(),
            cpu,
            memory,
            Some((class, count)),
            None,
        );
    }
    rows
}

/// Regions that are the same metro on more than one cloud. A spec may name
/// its region in any cloud's spelling from this table; hubforge maps it.
const REGION_ALIASES: &[[Option<&str>; 3]] = &[
    // [aws, gcp, azure]
    [Some("us-east-1"), Some("us-east4"), Some("eastus")], // N. Virginia
    [Some("us-east-2"), Some("us-east5"), None],           // Ohio
    [Some("us-west-1"), Some("us-west2"), Some("westus")], // California
    [Some("us-west-2"), Some("us-west1"), Some("westus2")], // Oregon / Washington
    [
        Some("ca-central-1"),
        Some("northamerica-northeast1"),
        Some("canadaeast"),
    ], // Montréal / Québec
    [Some("eu-west-1"), None, Some("northeurope")],        // Ireland
    [Some("eu-west-2"), Some("europe-west2"), Some("uksouth")], // London
    [
        Some("eu-central-1"),
        Some("europe-west3"),
        Some("germanywestcentral"),
    ], // Frankfurt
    [
        Some("eu-north-1"),
        Some("europe-north2"),
        Some("swedencentral"),
    ], // Sweden
    [Some("ap-south-1"), Some("asia-south1"), Some("westindia")], // Mumbai
    [
        Some("ap-southeast-1"),
        Some("asia-southeast1"),
        Some("southeastasia"),
    ], // Singapore
    [
        Some("ap-southeast-2"),
        Some("australia-southeast1"),
        Some("australiaeast"),
    ], // Sydney
    [
        Some("ap-northeast-1"),
        Some("asia-northeast1"),
        Some("japaneast"),
    ], // Tokyo
    [
        Some("sa-east-1"),
        Some("southamerica-east1"),
        Some("brazilsouth"),
    ], // São Paulo
];

fn column(cloud: Cloud) -> usize {
    match cloud {
        Cloud::Aws => 0,
        Cloud::Gcp => 1,
        Cloud::Azure => 2,
    }
}

/// How the spec's region maps onto a cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionResolution {
    /// Already the cloud's own name.
    Native(String),
    /// Mapped from another cloud's name for the same metro.
    Alias {
        /// What the spec said.
        from: String,
        /// The cloud's name.
        to: String,
    },
}

impl RegionResolution {
    /// The region name to send to the cloud.
    pub fn name(&self) -> &str {
        match self {
            RegionResolution::Native(name) => name,
            RegionResolution::Alias { to, .. } => to,
        }
    }
}

/// Maps a spec region onto `cloud`.
pub fn resolve_region(cloud: Cloud, region: &str) -> Result<RegionResolution, String> {
    let own = column(cloud);
    if let Some(row) = REGION_ALIASES
        .iter()
        .find(|row| row.contains(&Some(region)))
    {
        return match row[own] {
            Some(native) if native == region => Ok(RegionResolution::Native(region.into())),
            Some(native) => Ok(RegionResolution::Alias {
                from: region.into(),
                to: native.into(),
            }),
            None => Err(format!(
                "`{region}` has no {cloud} region in the same metro in hubforge's table; use a {cloud} region name"
            )),
        };
    }
    if looks_native(cloud, region) {
        Ok(RegionResolution::Native(region.into()))
    } else {
        let example = REGION_ALIASES[3][own].unwrap_or_default();
        Err(format!(
            "`{region}` is not a region name on {cloud} (for example `{example}`)"
        ))
    }
}

/// The shape of a cloud's region names, so new regions work without a table
/// update: `us-west-2`, `us-west1`, `westus2`.
fn looks_native(cloud: Cloud, region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase());
    match cloud {
        Cloud::Aws => {
            parts.len() >= 3
                && parts[..parts.len() - 1].iter().all(|p| word(p))
                && parts[parts.len() - 1].parse::<u8>().is_ok()
        }
        Cloud::Gcp => {
            parts.len() == 2
                && word(parts[0])
                && parts[1].starts_with(|c: char| c.is_ascii_lowercase())
                && parts[1].ends_with(|c: char| c.is_ascii_digit())
                && parts[1]
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        }
        Cloud::Azure => {
            parts.len() == 1
                && region.starts_with(|c: char| c.is_ascii_lowercase())
                && region
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::GpuSpec;

    fn machine(cpu: u32, memory_gib: u32, gpu: Option<(GpuClass, u32)>) -> MachineSpec {
        MachineSpec {
            cpu,
            memory_gib,
            gpu: gpu.map(|(class, count)| GpuSpec { class, count }),
        }
    }

    #[test]
    fn reference_core_pool_resolves_to_the_design_examples() {
        let core = machine(4, 32, None);
        assert_eq!(
            resolve_machine(Cloud::Aws, &core).unwrap().name,
            "r5.xlarge"
        );
        assert_eq!(
            resolve_machine(Cloud::Gcp, &core).unwrap().name,
            "n2-highmem-4"
        );
        assert_eq!(
            resolve_machine(Cloud::Azure, &core).unwrap().name,
            "Standard_E4s_v5"
        );
    }

    #[test]
    fn t4_pool_resolves_on_every_cloud() {
        let gpu = machine(4, 16, Some((GpuClass::T4, 1)));
        assert_eq!(
            resolve_machine(Cloud::Aws, &gpu).unwrap().name,
            "g4dn.xlarge"
        );
        let gcp = resolve_machine(Cloud::Gcp, &gpu).unwrap();
        // n1-standard-4 has only 15 GB, so the rule takes the highmem one.
        assert_eq!(
            (gcp.name.as_str(), gcp.accelerator),
            ("n1-highmem-4", Some("nvidia-tesla-t4"))
        );
        assert_eq!(
            resolve_machine(Cloud::Azure, &gpu).unwrap().name,
            "Standard_NC4as_T4_v3"
        );
    }

    #[test]
    fn gpu_is_never_chosen_for_a_cpu_pool_and_counts_are_met() {
        let many = machine(1, 1, Some((GpuClass::T4, 3)));
        assert_eq!(
            resolve_machine(Cloud::Aws, &many).unwrap().name,
            "g4dn.12xlarge"
        );
        assert!(
            resolve_machine(Cloud::Aws, &machine(1, 1, None))
                .unwrap()
                .gpu
                .is_none()
        );
    }

    #[test]
    fn missing_gpu_class_names_alternatives() {
        let error =
            resolve_machine(Cloud::Azure, &machine(4, 16, Some((GpuClass::L4, 1)))).unwrap_err();
        assert_eq!(error.field, "machine.gpu.class");
        assert!(error.reason.contains("t4"), "{}", error.reason);
    }

    #[test]
    fn too_big_is_an_error_not_a_guess() {
        let error = resolve_machine(Cloud::Gcp, &machine(4096, 16, None)).unwrap_err();
        assert_eq!(error.field, "machine");
    }

    #[test]
    fn regions_alias_by_metro() {
        assert_eq!(
            resolve_region(Cloud::Gcp, "us-west-2").unwrap().name(),
            "us-west1"
        );
        assert_eq!(
            resolve_region(Cloud::Azure, "us-west-2").unwrap().name(),
            "westus2"
        );
        assert_eq!(
            resolve_region(Cloud::Aws, "us-west-2").unwrap(),
            RegionResolution::Native("us-west-2".into())
        );
        assert_eq!(
            resolve_region(Cloud::Gcp, "me-central2").unwrap().name(),
            "me-central2"
        );
        assert!(resolve_region(Cloud::Azure, "us-east-2").is_err());
        assert_eq!(
            resolve_region(Cloud::Aws, "westus2").unwrap().name(),
            "us-west-2"
        );
        assert!(resolve_region(Cloud::Aws, "mars_base").is_err());
    }

    #[test]
    fn instance_type_spelling() {
        assert!(check_instance_type_syntax(Cloud::Aws, "r5.4xlarge").is_ok());
        assert!(check_instance_type_syntax(Cloud::Aws, "r5-4xlarge").is_err());
        assert!(check_instance_type_syntax(Cloud::Gcp, "n2-highmem-16").is_ok());
        assert!(check_instance_type_syntax(Cloud::Azure, "Standard_E16s_v5").is_ok());
        assert!(check_instance_type_syntax(Cloud::Azure, "E16s_v5").is_err());
    }
}
