//! Validation: a pure function from a spec to *every* problem in it.
//!
//! Each problem carries the field path (`node_pools[2].max`) and a sentence
//! a new user understands, naming the fix. Nothing reaches a cloud API
//! before a spec validates cleanly.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::catalog;
use crate::names::{self, NameKind, NameScope};
use crate::spec::{Cloud, HubClusterSpec, NodePoolSpec, ProviderKind};

pub use crate::problem::Problem;

/// The clouds whose rules a spec must meet: the chosen one, the one the sim
/// imitates, or all three for a plain `provider: sim` (so that a spec that
/// passes on the sim can move to any cloud).
pub fn target_clouds(spec: &HubClusterSpec) -> Vec<Cloud> {
    match spec.provider.cloud() {
        Some(cloud) => vec![cloud],
        None => match spec.sim.as_ref().and_then(|s| s.imitate) {
            Some(cloud) => vec![cloud],
            None => Cloud::ALL.to_vec(),
        },
    }
}

/// The naming scope known from the spec alone: the GCP project, the Azure
/// subscription; the AWS account is only known after asking AWS.
pub fn spec_name_scope(spec: &HubClusterSpec, cloud: Cloud) -> NameScope {
    if spec.provider == ProviderKind::Sim {
        return NameScope::known(names::SIM_ACCOUNT);
    }
    match cloud {
        Cloud::Aws => NameScope::unknown(),
        Cloud::Gcp => spec
            .gcp
            .as_ref()
            .map_or_else(NameScope::unknown, |g| NameScope::known(&g.project)),
        Cloud::Azure => spec
            .azure
            .as_ref()
            .map_or_else(NameScope::unknown, |a| NameScope::known(&a.subscription)),
    }
}

/// Every problem in `spec`; empty means valid.
/// A spec that passed validation: what the graph builder takes, so the
/// type says the checks ran.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSpec(HubClusterSpec);

impl ValidSpec {
    /// Checks `spec`: every problem, or the spec as valid.
    pub fn check(spec: &HubClusterSpec) -> std::result::Result<ValidSpec, Vec<Problem>> {
        let problems = validate(spec);
        if problems.is_empty() {
            Ok(ValidSpec(spec.clone()))
        } else {
            Err(problems)
        }
    }

    /// The spec.
    pub fn spec(&self) -> &HubClusterSpec {
        &self.0
    }
}

impl std::ops::Deref for ValidSpec {
    type Target = HubClusterSpec;
    fn deref(&self) -> &HubClusterSpec {
        &self.0
    }
}

/// Every problem in `spec`, each with its field path.
pub fn validate(spec: &HubClusterSpec) -> Vec<Problem> {
    let mut out = Problems::default();
    let clouds = target_clouds(spec);

    check_hub(spec, &clouds, &mut out);
    check_provider_block(spec, &mut out);
    check_tags(&spec.tags, &clouds, &mut out);
    check_pools(spec, &clouds, &mut out);
    check_buckets(spec, &mut out);
    check_identities(spec, &mut out);
    check_physical_names(spec, &clouds, &mut out);
    out.0
}

#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let problem = Problem::new(path, message);
        // The sim checks all three clouds; one sentence per problem is enough.
        if !self.0.contains(&problem) {
            self.0.push(problem);
        }
    }
}

fn check_hub(spec: &HubClusterSpec, clouds: &[Cloud], out: &mut Problems) {
    if let Err(reason) = names::check_logical(&spec.name) {
        out.add("name", reason);
    }
    if spec.region.is_empty() {
        out.add(
            "region",
            "must not be empty; name the cloud region, such as `us-west-2`",
        );
    } else if spec.provider != ProviderKind::Sim {
        for &cloud in clouds {
            if let Err(reason) = catalog::resolve_region(cloud, &spec.region) {
                out.add("region", reason);
            }
        }
    }
    let version_ok = spec
        .kubernetes_version
        .split_once('.')
        .is_some_and(|(major, minor)| {
            major == "1" && !minor.is_empty() && minor.chars().all(|c| c.is_ascii_digit())
        });
    if !version_ok {
        out.add(
            "kubernetes_version",
            format!(
                "`{}` is not a Kubernetes minor version; write it like \"1.31\"",
                spec.kubernetes_version
            ),
        );
    }
}

fn check_provider_block(spec: &HubClusterSpec, out: &mut Problems) {
    let missing = |out: &mut Problems, key: &str, example: &str| {
        out.add(
            key,
            format!("`provider: {key}` needs a `{key}:` block ({example}); add it to the spec"),
        );
    };
    match spec.provider {
        ProviderKind::Sim => {}
        ProviderKind::Aws if spec.aws.is_none() => missing(out, "aws", "`aws: {}` is enough"),
        ProviderKind::Gcp if spec.gcp.is_none() => missing(out, "gcp", "with at least `project`"),
        ProviderKind::Azure if spec.azure.is_none() => {
            missing(out, "azure", "with `subscription` and `resource_group`")
        }
        _ => {}
    }
    // Blocks that are present are checked whichever provider is chosen, so a
    // spec stays ready to move.
    if let Some(aws) = &spec.aws {
        if aws.private_nodes && !aws.subnets.is_empty() {
            out.add("aws.private_nodes", "hubforge makes private subnets only in the VPC it creates; with `subnets` named, choose private subnets there instead");
        }
        if aws.subnets.len() == 1 {
            out.add("aws.subnets", "EKS needs subnets in at least two availability zones; name two or more, or none to let hubforge create a VPC");
        }
        for (i, subnet) in aws.subnets.iter().enumerate() {
            let ok = subnet
                .strip_prefix("subnet-")
                .is_some_and(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit()));
            if !ok {
                out.add(
                    format!("aws.subnets[{i}]"),
                    format!("`{subnet}` is not a subnet id like subnet-0a1b2c3d"),
                );
            }
        }
    }
    if let Some(gcp) = &spec.gcp {
        let p = &gcp.project;
        let ok = (6..=30).contains(&p.len())
            && p.starts_with(|c: char| c.is_ascii_lowercase())
            && !p.ends_with('-')
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            out.add(
                "gcp.project",
                format!("`{p}` is not a GCP project id: 6–30 lowercase letters, digits and hyphens, starting with a letter"),
            );
        }
    }
    if let Some(azure) = &spec.azure {
        if !is_uuid(&azure.subscription) {
            out.add(
                "azure.subscription",
                format!(
                    "`{}` is not a subscription id; it is a UUID like 00000000-0000-0000-0000-000000000000 (`az account show --query id`)",
                    azure.subscription
                ),
            );
        }
        let rg = &azure.resource_group;
        let ok = (1..=90).contains(&rg.len())
            && !rg.ends_with('.')
            && rg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.()".contains(c));
        if !ok {
            out.add(
                "azure.resource_group",
                format!("`{rg}` is not a resource group name: 1–90 letters, digits, `-`, `_`, `.`, `(`, `)`, not ending in `.`"),
            );
        }
    }
}

fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Room for the ownership tags hubforge adds to every resource.
const RESERVED_TAGS: usize = 3;

fn check_tags(tags: &BTreeMap<String, String>, clouds: &[Cloud], out: &mut Problems) {
    if tags.len() + RESERVED_TAGS > 50 {
        out.add(
            "tags",
            format!("{} tags is too many: clouds allow 50 per resource and hubforge adds {RESERVED_TAGS}", tags.len()),
        );
    }
    for (key, value) in tags {
        let path = format!("tags.{key}");
        if key.starts_with("hubforge") {
            out.add(
                &path,
                "tag names starting with `hubforge` are reserved for hubforge's ownership tags",
            );
            continue;
        }
        for &cloud in clouds {
            let broken = match cloud {
                Cloud::Aws if key.to_ascii_lowercase().starts_with("aws:") => {
                    Some("AWS reserves tag names starting with `aws:`".to_string())
                }
                Cloud::Aws if key.len() > 128 || value.len() > 256 => {
                    Some("AWS allows tag names up to 128 and values up to 256 characters".into())
                }
                Cloud::Gcp if !gcp_label(key, true) || !gcp_label(value, false) => Some(
                    "Google Cloud labels allow only lowercase letters, digits, `_` and `-` (up to 63, names starting with a letter); \
                     change the tag"
                        .into(),
                ),
                Cloud::Azure if key.chars().any(|c| "<>%&\\?/".contains(c)) || key.len() > 512 || value.len() > 256 => {
                    Some("Azure tag names must not contain < > % & \\ ? / and values allow up to 256 characters".into())
                }
                _ => None,
            };
            if let Some(reason) = broken {
                out.add(&path, reason);
            }
        }
    }
}

fn gcp_label(text: &str, is_key: bool) -> bool {
    text.len() <= 63
        && (!is_key || text.starts_with(|c: char| c.is_ascii_lowercase()))
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

fn check_pools(spec: &HubClusterSpec, clouds: &[Cloud], out: &mut Problems) {
    if spec.node_pools.is_empty() {
        out.add(
            "node_pools",
            "a hub needs at least one node pool; add a `core` pool with `min: 1`",
        );
        return;
    }
    let mut seen = BTreeMap::new();
    for (i, pool) in spec.node_pools.iter().enumerate() {
        let at = |field: &str| format!("node_pools[{i}].{field}");
        check_unique_name(&pool.name, &at("name"), "node_pools", i, &mut seen, out);
        if pool.max == 0 {
            out.add(
                at("max"),
                "must be at least 1, or the pool can never run a node",
            );
        } else if pool.min > pool.max {
            out.add(
                at("max"),
                format!(
                    "is {}, below min ({}); max must be at least min",
                    pool.max, pool.min
                ),
            );
        }
        check_machine(pool, clouds, &at, out);
        if let Some(disk) = pool.disk_gib
            && !(20..=2048).contains(&disk)
        {
            out.add(
                at("disk_gib"),
                format!("{disk} GiB is outside 20–2048 GiB, the range every cloud supports"),
            );
        }
        for (key, value) in &pool.labels {
            let path = at(&format!("labels.{key}"));
            if key.starts_with("hubforge.io/") {
                out.add(
                    &path,
                    format!(
                        "labels under `hubforge.io/` are set by hubforge itself (`{}: {}` selects this pool's nodes); remove this label",
                        crate::provider::POOL_LABEL,
                        pool.name
                    ),
                );
            } else if let Err(reason) = check_label_key(key) {
                out.add(&path, reason);
            } else if let Err(reason) = check_label_value(value) {
                out.add(&path, reason);
            }
        }
        for (t, taint) in pool.taints.iter().enumerate() {
            if let Err(reason) = parse_taint(taint) {
                out.add(at(&format!("taints[{t}]")), reason);
            }
        }
    }
    if !spec.node_pools.iter().any(|p| p.min >= 1 && !p.spot) {
        out.add(
            "node_pools",
            "no pool keeps a node running for the cluster's system pods (AKS requires one); \
             give one non-spot pool `min: 1` or more",
        );
    }
}

fn check_machine(
    pool: &NodePoolSpec,
    clouds: &[Cloud],
    at: &dyn Fn(&str) -> String,
    out: &mut Problems,
) {
    if let Some(machine) = &pool.machine {
        if machine.cpu == 0 {
            out.add(at("machine.cpu"), "must be at least 1 vCPU");
        }
        if machine.memory_gib == 0 {
            out.add(at("machine.memory_gib"), "must be at least 1 GiB");
        }
        if machine.gpu.as_ref().is_some_and(|g| g.count == 0) {
            out.add(
                at("machine.gpu.count"),
                "must be at least 1; remove `gpu` for a pool without GPUs",
            );
        }
    }
    if let Some(overrides) = &pool.instance_type {
        for cloud in Cloud::ALL {
            if let Some(name) = overrides.for_cloud(cloud)
                && let Err(reason) = catalog::check_instance_type_syntax(cloud, name)
            {
                out.add(at(&format!("instance_type.{}", cloud.key())), reason);
            }
        }
    }
    let shape_ok = pool.machine.as_ref().is_none_or(|m| {
        m.cpu > 0 && m.memory_gib > 0 && m.gpu.as_ref().is_none_or(|g| g.count > 0)
    });
    if shape_ok {
        for &cloud in clouds {
            if let Err(error) = catalog::resolve(cloud, pool) {
                out.add(at(error.field), error.reason);
            }
        }
    }
}

fn check_unique_name(
    name: &str,
    path: &str,
    list: &str,
    index: usize,
    seen: &mut BTreeMap<String, usize>,
    out: &mut Problems,
) {
    if let Err(reason) = names::check_logical(name) {
        out.add(path, reason);
    }
    if let Some(first) = seen.get(name) {
        out.add(
            path,
            format!("`{name}` is already the name of {list}[{first}]; names must be unique"),
        );
    } else {
        seen.insert(name.to_string(), index);
    }
}

fn check_buckets(spec: &HubClusterSpec, out: &mut Problems) {
    let mut seen = BTreeMap::new();
    for (i, bucket) in spec.buckets.iter().enumerate() {
        let at = |field: &str| format!("buckets[{i}].{field}");
        check_unique_name(&bucket.name, &at("name"), "buckets", i, &mut seen, out);
        if bucket.delete_after_days == Some(0) {
            out.add(at("delete_after_days"), "0 would delete objects as soon as they are written; use 1 or more, or remove the field");
        }
    }
}

fn check_identities(spec: &HubClusterSpec, out: &mut Problems) {
    let bucket_names: BTreeSet<&str> = spec.buckets.iter().map(|b| b.name.as_str()).collect();
    let mut seen = BTreeMap::new();
    let mut accounts = BTreeMap::new();
    for (i, identity) in spec.identities.iter().enumerate() {
        let at = |field: &str| format!("identities[{i}].{field}");
        check_unique_name(&identity.name, &at("name"), "identities", i, &mut seen, out);
        let account = &identity.service_account;
        if let Err(reason) = check_dns_label(&account.namespace) {
            out.add(
                at("service_account.namespace"),
                format!("is not a Kubernetes namespace name: {reason}"),
            );
        }
        if let Err(reason) = check_dns_subdomain(&account.name) {
            out.add(
                at("service_account.name"),
                format!("is not a Kubernetes service account name: {reason}"),
            );
        }
        if let Some(first) = accounts.insert(account.clone(), i) {
            out.add(
                at("service_account"),
                format!(
                    "{}/{} is already bound to identities[{first}]; a service account can have only one identity",
                    account.namespace, account.name
                ),
            );
        }
        for bucket in identity.buckets.keys() {
            if !bucket_names.contains(bucket.as_str()) {
                let known = if bucket_names.is_empty() {
                    "the spec has no buckets".to_string()
                } else {
                    format!(
                        "the buckets are: {}",
                        bucket_names.iter().copied().collect::<Vec<_>>().join(", ")
                    )
                };
                out.add(
                    at(&format!("buckets.{bucket}")),
                    format!("grants a bucket named `{bucket}` that does not exist; {known}"),
                );
            }
        }
    }
}

/// Every physical name must fit its cloud's limits, and two different
/// logical names must not become one physical name (`user-small` and
/// `usersmall` on AKS), nor take the name of a supporting resource.
fn check_physical_names(spec: &HubClusterSpec, clouds: &[Cloud], out: &mut Problems) {
    for &cloud in clouds {
        check_pool_twins(spec, cloud, out);
        let mut taken: BTreeMap<(NameKind, String), String> = BTreeMap::new();
        for (kind, physical, owner) in names::supporting(cloud, &spec.name) {
            taken.insert((kind, physical), owner.to_string());
        }
        for derived in names::derive_all(spec, cloud, &spec_name_scope(spec, cloud)) {
            let physical = match derived.physical {
                Ok(physical) => physical,
                Err(error) => {
                    out.add(&derived.path, error.reason);
                    continue;
                }
            };
            match taken.get(&(derived.kind, physical.clone())) {
                // Duplicate logical names are reported once, by the uniqueness check.
                Some(owner)
                    if owner.ends_with(".name")
                        && spec_name_at(spec, owner) == Some(derived.logical.as_str()) => {}
                Some(owner) => out.add(
                    &derived.path,
                    format!(
                        "gives the {} `{physical}`, which {owner} already has; rename one of them",
                        derived.kind.cloud_term(cloud)
                    ),
                ),
                None => {
                    taken.insert((derived.kind, physical), derived.path);
                }
            }
        }
    }
}

/// A pool replaced blue/green takes its twin name ([`names::alternate_pool_name`])
/// for a while, so no other pool may have that name.
fn check_pool_twins(spec: &HubClusterSpec, cloud: Cloud, out: &mut Problems) {
    let physical: Vec<Option<String>> = spec
        .node_pools
        .iter()
        .map(|p| names::node_pool(cloud, &p.name).ok())
        .collect();
    for (i, name) in physical.iter().enumerate() {
        let Some(name) = name else { continue };
        let twin = names::alternate_pool_name(cloud, name);
        if let Some(j) = physical
            .iter()
            .position(|other| other.as_deref() == Some(twin.as_str()))
            && j > i
        {
            out.add(
                    format!("node_pools[{j}].name"),
                    format!(
                        "gives the {} `{twin}`, the name hubforge uses for node_pools[{i}] (`{name}`) while replacing it blue/green; rename this pool",
                        NameKind::NodePool.cloud_term(cloud)
                    ),
                );
        }
    }
}

/// The logical name at a `…[i].name` path.
fn spec_name_at<'a>(spec: &'a HubClusterSpec, path: &str) -> Option<&'a str> {
    let (list, rest) = path.split_once('[')?;
    let index: usize = rest.split_once(']')?.0.parse().ok()?;
    match list {
        "node_pools" => spec.node_pools.get(index).map(|p| p.name.as_str()),
        "buckets" => spec.buckets.get(index).map(|b| b.name.as_str()),
        "identities" => spec.identities.get(index).map(|i| i.name.as_str()),
        _ => None,
    }
}

/// Checks a Kubernetes label key: an optional DNS-subdomain prefix and `/`,
/// then a name of up to 63 characters.
pub fn check_label_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        check_dns_subdomain(prefix)
            .map_err(|reason| format!("label prefix `{prefix}` is not a DNS name: {reason}"))?;
    }
    check_label_segment(name).map_err(|reason| format!("label name `{name}` {reason}"))
}

/// Checks a Kubernetes label value: empty, or up to 63 characters like a name.
pub fn check_label_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    check_label_segment(value).map_err(|reason| format!("label value `{value}` {reason}"))
}

fn check_label_segment(text: &str) -> Result<(), String> {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    if text.is_empty() || text.len() > 63 {
        return Err("must have 1–63 characters".into());
    }
    if !text.starts_with(alnum) || !text.ends_with(alnum) {
        return Err("must start and end with a letter or digit".into());
    }
    if let Some(bad) = text.chars().find(|c| !(alnum(*c) || "-_.".contains(*c))) {
        return Err(format!(
            "contains `{bad}`; use letters, digits, `-`, `_` and `.`"
        ));
    }
    Ok(())
}

fn check_dns_label(text: &str) -> Result<(), String> {
    if text.is_empty() || text.len() > 63 {
        return Err(format!("`{text}` must have 1–63 characters"));
    }
    let ok = text
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !text.starts_with('-')
        && !text.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{text}` must be lowercase letters, digits and `-`, starting and ending with a letter or digit"
        ))
    }
}

fn check_dns_subdomain(text: &str) -> Result<(), String> {
    if text.is_empty() || text.len() > 253 {
        return Err(format!("`{text}` must have 1–253 characters"));
    }
    text.split('.').try_for_each(check_dns_label)
}

/// A taint as Kubernetes writes it: `key=value:Effect` or `key:Effect`.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Taint {
    /// Taint key (a label key).
    pub key: String,
    /// Taint value (a label value; may be empty).
    pub value: String,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
}

impl fmt::Display for Taint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.value.is_empty() {
            write!(f, "{}:{}", self.key, self.effect)
        } else {
            write!(f, "{}={}:{}", self.key, self.value, self.effect)
        }
    }
}

/// Parses and checks a taint string.
pub fn parse_taint(text: &str) -> Result<Taint, String> {
    let Some((key_value, effect)) = text.rsplit_once(':') else {
        return Err(format!(
            "`{text}` has no effect; write `key=value:NoSchedule` (or PreferNoSchedule, NoExecute)"
        ));
    };
    if !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect) {
        return Err(format!(
            "`{effect}` is not a taint effect; use NoSchedule, PreferNoSchedule or NoExecute"
        ));
    }
    let (key, value) = key_value.split_once('=').unwrap_or((key_value, ""));
    check_label_key(key).map_err(|reason| format!("taint key: {reason}"))?;
    check_label_value(value).map_err(|reason| format!("taint value: {reason}"))?;
    Ok(Taint {
        key: key.into(),
        value: value.into(),
        effect: effect.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::SpecFormat;

    const REFERENCE: &str = include_str!("../../../examples/hubs/reference-hub.yaml");

    fn spec_with(provider: &str) -> HubClusterSpec {
        let text = REFERENCE.replace("provider: sim", &format!("provider: {provider}"));
        HubClusterSpec::parse(&text, SpecFormat::Yaml).unwrap()
    }

    #[test]
    fn reference_spec_is_valid_on_every_provider() {
        for provider in ["sim", "aws", "gcp", "azure"] {
            assert_eq!(
                validate(&spec_with(provider)),
                vec![],
                "provider {provider}"
            );
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut spec = spec_with("gcp");
        spec.node_pools[0].max = 0;
        spec.node_pools[1]
            .labels
            .insert("bad key!".into(), "x".into());
        spec.identities[0]
            .buckets
            .insert("nope".into(), crate::spec::BucketAccess::ReadOnly);
        let paths: Vec<String> = validate(&spec).into_iter().map(|p| p.path).collect();
        assert!(paths.contains(&"node_pools[0].max".into()), "{paths:?}");
        assert!(
            paths.contains(&"node_pools[1].labels.bad key!".into()),
            "{paths:?}"
        );
        assert!(
            paths.contains(&"identities[0].buckets.nope".into()),
            "{paths:?}"
        );
    }

    #[test]
    fn aks_name_collision_after_derivation() {
        let mut spec = spec_with("azure");
        spec.node_pools[1].name = "usersmall".into();
        spec.node_pools[0].name = "user-small".into();
        let problems = validate(&spec);
        assert!(
            problems
                .iter()
                .any(|p| p.path == "node_pools[1].name" && p.message.contains("`usersmall`")),
            "{problems:?}"
        );
        // The same spec is fine on GCP, where hyphens survive.
        let mut gcp = spec.clone();
        gcp.provider = ProviderKind::Gcp;
        assert_eq!(validate(&gcp), vec![]);
    }

    #[test]
    fn taints_parse_both_forms() {
        assert_eq!(
            parse_taint("nvidia.com/gpu=present:NoSchedule")
                .unwrap()
                .value,
            "present"
        );
        assert_eq!(parse_taint("dedicated:NoExecute").unwrap().value, "");
        assert!(parse_taint("a=b:Never").unwrap_err().contains("effect"));
        assert!(parse_taint("a=b").unwrap_err().contains("no effect"));
    }

    #[test]
    fn label_keys_follow_kubernetes() {
        assert!(check_label_key("hub.jupyter.org/node-purpose").is_ok());
        assert!(check_label_key("Purpose").is_ok());
        assert!(check_label_key("-x").is_err());
        assert!(check_label_key("UPPER.example/x").is_err());
        assert!(check_label_value("").is_ok());
        assert!(check_label_value(&"v".repeat(64)).is_err());
    }
}
