//! The portable hub spec: one file that describes a whole hub cluster.
//!
//! Names in the spec are *logical*: each provider derives the physical cloud
//! name from them ([`crate::names`]). Machine shapes are portable too
//! ([`crate::catalog`]). The same file therefore stands up the same hub on
//! any cloud; only the block of the chosen provider has to be present.
//!
//! Parsing is strict: an unknown field is an error (a typo must never be
//! silently ignored), and every structural problem is reported with its
//! field path. Semantic checks live in [`crate::validate`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use crate::problem::Problem;

/// A whole hub cluster: the Kubernetes cluster, its node pools, buckets and
/// workload identities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct HubClusterSpec {
    /// Logical name of the hub cluster: lowercase letters, digits and
    /// hyphens, starting with a letter. Physical cloud names derive from it.
    pub name: String,
    /// Which cloud runs this hub: `sim` (the built-in simulated cloud), `aws`,
    /// `gcp` or `azure`.
    pub provider: ProviderKind,
    /// Region, in the chosen cloud's own naming (`us-west2`, `westus2`) or in
    /// another cloud's naming that hubforge maps to the same metro
    /// (`us-west-2` on GCP becomes `us-west1`, Oregon).
    pub region: String,
    /// Kubernetes minor version, quoted: `"1.31"`.
    #[serde(deserialize_with = "quoted_version")]
    pub kubernetes_version: String,
    /// Tags (AWS, Azure) or labels (GCP) put on every resource, besides the
    /// ownership tags hubforge adds itself.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Settings used only when `provider: aws`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsSettings>,
    /// Settings used only when `provider: gcp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp: Option<GcpSettings>,
    /// Settings used only when `provider: azure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureSettings>,
    /// Settings used only when `provider: sim`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim: Option<SimSettings>,
    /// Node pools; at least one must keep a non-spot node for system pods.
    #[serde(default)]
    pub node_pools: Vec<NodePoolSpec>,
    /// Object-storage buckets (S3 buckets, GCS buckets, Azure blob containers).
    #[serde(default)]
    pub buckets: Vec<BucketSpec>,
    /// Workload identities: a Kubernetes service account that may reach
    /// exactly the listed buckets.
    #[serde(default)]
    pub identities: Vec<IdentitySpec>,
}

/// The provider a spec targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// The built-in simulated cloud: no account needed.
    Sim,
    /// Amazon Web Services (EKS, S3, IAM).
    Aws,
    /// Google Cloud (GKE, GCS, IAM).
    Gcp,
    /// Microsoft Azure (AKS, Blob storage, managed identities).
    Azure,
}

impl ProviderKind {
    /// The real cloud this provider is, or `None` for the sim.
    pub fn cloud(self) -> Option<Cloud> {
        match self {
            ProviderKind::Sim => None,
            ProviderKind::Aws => Some(Cloud::Aws),
            ProviderKind::Gcp => Some(Cloud::Gcp),
            ProviderKind::Azure => Some(Cloud::Azure),
        }
    }

    /// The name used in spec files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Sim => "sim",
            ProviderKind::Aws => "aws",
            ProviderKind::Gcp => "gcp",
            ProviderKind::Azure => "azure",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// One of the three real clouds. Naming rules, the machine catalog and
/// region names differ per cloud; the sim imitates one or all of them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    /// Amazon Web Services.
    Aws,
    /// Google Cloud.
    Gcp,
    /// Microsoft Azure.
    Azure,
}

impl Cloud {
    /// All three clouds, in display order.
    pub const ALL: [Cloud; 3] = [Cloud::Aws, Cloud::Gcp, Cloud::Azure];

    /// Lowercase key as used in spec files (`aws`, `gcp`, `azure`).
    pub fn key(self) -> &'static str {
        match self {
            Cloud::Aws => "aws",
            Cloud::Gcp => "gcp",
            Cloud::Azure => "azure",
        }
    }

    /// The name a person reads (`AWS`, `Google Cloud`, `Azure`).
    pub fn display_name(self) -> &'static str {
        match self {
            Cloud::Aws => "AWS",
            Cloud::Gcp => "Google Cloud",
            Cloud::Azure => "Azure",
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.display_name())
    }
}

/// AWS-only settings. Credentials never go here: hubforge uses the standard
/// AWS credential chain.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct AwsSettings {
    /// Existing subnets (at least two, in different availability zones) for
    /// the cluster and nodes. Empty: hubforge creates a VPC with public
    /// subnets for the hub.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<String>,
    /// Run nodes in private subnets that reach the internet through a NAT
    /// gateway (which AWS bills by the hour and by the gigabyte). Default:
    /// nodes in public subnets, no NAT bill.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub private_nodes: bool,
}

/// Google Cloud-only settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct GcpSettings {
    /// The project id that owns every resource of this hub.
    pub project: String,
}

/// Azure-only settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct AzureSettings {
    /// Subscription id (a UUID).
    pub subscription: String,
    /// Resource group that holds every resource of this hub; hubforge
    /// creates it if it does not exist.
    pub resource_group: String,
}

/// Simulated-cloud settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SimSettings {
    /// The cloud the sim imitates: its naming limits, machine catalog,
    /// latencies and one-operation-at-a-time rule. Unset: the sim checks
    /// names and machines against all three clouds, so a spec that passes on
    /// the sim can move to any of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imitate: Option<Cloud>,
}

/// A node pool (EKS managed node group, GKE node pool, AKS agent pool).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct NodePoolSpec {
    /// Logical pool name, unique in the hub.
    pub name: String,
    /// Portable machine shape, resolved per cloud to an instance type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<MachineSpec>,
    /// Explicit instance type per cloud; wins over `machine` on that cloud.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<InstanceTypeOverride>,
    /// Fewest nodes; 0 lets the pool scale to zero.
    pub min: u32,
    /// Most nodes the autoscaler may start.
    pub max: u32,
    /// Use spot / preemptible capacity (cheaper, may be reclaimed).
    #[serde(default)]
    pub spot: bool,
    /// Boot disk size in GiB; the cloud's default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_gib: Option<u32>,
    /// Kubernetes labels on every node of the pool.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Kubernetes taints, as `key=value:Effect` or `key:Effect`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<String>,
}

/// A portable machine shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct MachineSpec {
    /// vCPUs, at least.
    pub cpu: u32,
    /// Memory in GiB, at least.
    pub memory_gib: u32,
    /// GPUs, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<GpuSpec>,
}

/// GPUs attached to each node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct GpuSpec {
    /// GPU model.
    pub class: GpuClass,
    /// GPUs per node, at least.
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

/// GPU models hubforge's catalog knows. Not every cloud offers every class.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum GpuClass {
    /// NVIDIA T4 (16 GB): inexpensive inference and teaching.
    T4,
    /// NVIDIA L4 (24 GB).
    L4,
    /// NVIDIA A10G (24 GB), AWS only.
    A10g,
    /// NVIDIA A100.
    A100,
    /// NVIDIA H100 (80 GB).
    H100,
}

impl GpuClass {
    /// Every class, in catalog order.
    pub const ALL: [GpuClass; 5] = [
        GpuClass::T4,
        GpuClass::L4,
        GpuClass::A10g,
        GpuClass::A100,
        GpuClass::H100,
    ];

    /// The spelling used in spec files.
    pub fn as_str(self) -> &'static str {
        match self {
            GpuClass::T4 => "t4",
            GpuClass::L4 => "l4",
            GpuClass::A10g => "a10g",
            GpuClass::A100 => "a100",
            GpuClass::H100 => "h100",
        }
    }
}

impl fmt::Display for GpuClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Instance types chosen by hand, per cloud.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct InstanceTypeOverride {
    /// EC2 instance type, e.g. `r5.4xlarge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<String>,
    /// Compute Engine machine type, e.g. `n2-highmem-16`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp: Option<String>,
    /// Azure VM size, e.g. `Standard_E16s_v5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<String>,
}

impl InstanceTypeOverride {
    /// The override for one cloud.
    pub fn for_cloud(&self, cloud: Cloud) -> Option<&str> {
        match cloud {
            Cloud::Aws => self.aws.as_deref(),
            Cloud::Gcp => self.gcp.as_deref(),
            Cloud::Azure => self.azure.as_deref(),
        }
    }
}

/// An object-storage bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct BucketSpec {
    /// Logical bucket name, unique in the hub. The physical name adds the hub
    /// name and a stable suffix, because bucket names are global.
    pub name: String,
    /// Keep old versions of overwritten and deleted objects.
    #[serde(default)]
    pub versioning: bool,
    /// Delete objects this many days after they were written (scratch space).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_after_days: Option<u32>,
}

/// A workload identity: what one Kubernetes service account may reach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct IdentitySpec {
    /// Logical identity name, unique in the hub.
    pub name: String,
    /// The Kubernetes service account that assumes this identity.
    pub service_account: ServiceAccountRef,
    /// Buckets (by logical name) and the access granted to each.
    #[serde(default)]
    pub buckets: BTreeMap<String, BucketAccess>,
}

/// A Kubernetes service account.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[schemars(deny_unknown_fields)]
pub struct ServiceAccountRef {
    /// Namespace of the service account.
    pub namespace: String,
    /// Name of the service account.
    pub name: String,
}

/// Access an identity has to one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BucketAccess {
    /// List and read objects.
    ReadOnly,
    /// List, read, write and delete objects.
    ReadWrite,
}

/// YAML reads an unquoted `1.30` as the number 1.3, so a version must be a
/// string; say so instead of serde's generic "invalid type".
fn quoted_version<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(version) => Ok(version),
        other => Err(serde::de::Error::custom(format!(
            "must be a quoted string such as \"1.31\", not the number {other} \
             (YAML reads an unquoted 1.30 as 1.3)"
        ))),
    }
}

/// File formats a spec can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecFormat {
    /// YAML (`.yaml`, `.yml`).
    Yaml,
    /// TOML (`.toml`).
    Toml,
    /// JSON (`.json`).
    Json,
}

impl SpecFormat {
    /// Chooses the format from a file extension; YAML when unknown.
    pub fn from_path(path: &Path) -> SpecFormat {
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => SpecFormat::Toml,
            Some("json") => SpecFormat::Json,
            _ => SpecFormat::Yaml,
        }
    }
}

impl HubClusterSpec {
    /// Parses a spec, reporting every unknown field and the first type error,
    /// each with its field path. Semantic checks are [`crate::validate::validate`].
    pub fn parse(text: &str, format: SpecFormat) -> Result<HubClusterSpec, Vec<Problem>> {
        let document =
            parse_document(text, format).map_err(|message| vec![Problem::root(message)])?;
        from_document(document)
    }

    /// Reads and parses a spec file; the format follows the extension.
    pub fn load(path: &Path) -> Result<HubClusterSpec, Vec<Problem>> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            vec![Problem::root(format!(
                "cannot read {}: {error}",
                path.display()
            ))]
        })?;
        HubClusterSpec::parse(&text, SpecFormat::from_path(path))
    }

    /// The JSON Schema of spec files, for editors and CI linters.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(HubClusterSpec))
            .expect("a generated schema is always valid JSON")
    }
}

/// Any format into one neutral tree, so unknown-field and type checks are
/// written once.
fn parse_document(text: &str, format: SpecFormat) -> Result<serde_json::Value, String> {
    let document = match format {
        SpecFormat::Yaml => serde_saphyr::from_str::<serde_json::Value>(text)
            .map_err(|error| format!("the file is not valid YAML: {error}"))?,
        SpecFormat::Toml => toml::from_str::<serde_json::Value>(text)
            .map_err(|error| format!("the file is not valid TOML: {error}"))?,
        SpecFormat::Json => serde_json::from_str::<serde_json::Value>(text)
            .map_err(|error| format!("the file is not valid JSON: {error}"))?,
    };
    if !document.is_object() {
        return Err("a hub spec must be a mapping of fields (name, provider, region, …)".into());
    }
    Ok(document)
}

fn from_document(document: serde_json::Value) -> Result<HubClusterSpec, Vec<Problem>> {
    let schema = HubClusterSpec::json_schema();
    let mut problems = Vec::new();
    let parsed = {
        let mut on_unknown = |path: serde_ignored::Path<'_>| {
            let segments = ignored_segments(&path);
            let field = segments.last().cloned().unwrap_or_default();
            let known = known_fields(&schema, &segments[..segments.len().saturating_sub(1)]);
            let hint = match closest(&field, &known) {
                Some(candidate) => format!("; did you mean `{candidate}`?"),
                None if known.is_empty() => String::new(),
                None => format!("; known fields here: {}", known.join(", ")),
            };
            problems.push(Problem::new(
                render_path(&segments),
                format!("unknown field `{field}`{hint}"),
            ));
        };
        let ignored = serde_ignored::Deserializer::new(&document, &mut on_unknown);
        serde_path_to_error::deserialize::<_, HubClusterSpec>(ignored)
    };
    match parsed {
        Ok(spec) if problems.is_empty() => Ok(spec),
        Ok(_) => Err(problems),
        Err(error) => {
            let mut segments: Vec<String> = error
                .path()
                .iter()
                .map(|segment| match segment {
                    serde_path_to_error::Segment::Seq { index } => format!("[{index}]"),
                    serde_path_to_error::Segment::Map { key } => key.clone(),
                    serde_path_to_error::Segment::Enum { variant } => variant.clone(),
                    serde_path_to_error::Segment::Unknown => "?".into(),
                })
                .collect();
            let message = error.inner().to_string();
            // Point at the field that is missing, not at its parent.
            if let Some(field) = message
                .strip_prefix("missing field `")
                .and_then(|m| m.strip_suffix('`'))
            {
                segments.push(field.to_string());
            }
            problems.push(Problem::new(
                render_path(&segments),
                friendly_serde_message(&message),
            ));
            Err(problems)
        }
    }
}

/// serde's messages name Rust-ish things ("invalid type: string, expected
/// u32"); turn the common ones into words a spec author knows.
fn friendly_serde_message(message: &str) -> String {
    let message = message
        .replace("expected u32", "expected a whole number (0 or more)")
        .replace("expected a boolean", "expected true or false")
        .replace("expected a sequence", "expected a list")
        .replace("expected a map", "expected a mapping of fields");
    match message.strip_prefix("missing field ") {
        Some(_) => "is required but missing".to_string(),
        None => message,
    }
}

fn ignored_segments(path: &serde_ignored::Path<'_>) -> Vec<String> {
    let mut segments = Vec::new();
    collect_ignored(path, &mut segments);
    segments
}

fn collect_ignored(path: &serde_ignored::Path<'_>, out: &mut Vec<String>) {
    use serde_ignored::Path as P;
    match path {
        P::Root => {}
        P::Seq { parent, index } => {
            collect_ignored(parent, out);
            out.push(format!("[{index}]"));
        }
        P::Map { parent, key } => {
            collect_ignored(parent, out);
            out.push(key.clone());
        }
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
            collect_ignored(parent, out)
        }
    }
}

/// Joins segments into `node_pools[2].machine.cpu`.
fn render_path(segments: &[String]) -> String {
    let mut rendered = String::new();
    for segment in segments {
        if !segment.starts_with('[') && !rendered.is_empty() {
            rendered.push('.');
        }
        rendered.push_str(segment);
    }
    rendered
}

/// Field names the schema allows at `segments` (object properties only).
fn known_fields(schema: &serde_json::Value, segments: &[String]) -> Vec<String> {
    let mut node = resolve(schema, schema);
    for segment in segments {
        let next = if segment.starts_with('[') {
            node.get("items")
        } else {
            node.get("properties").and_then(|p| p.get(segment))
        };
        match next {
            Some(next) => node = resolve(schema, next),
            None => return Vec::new(),
        }
    }
    node.get("properties")
        .and_then(|p| p.as_object())
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// Follows `$ref` and the `anyOf: [T, null]` that `Option<T>` generates.
fn resolve<'a>(root: &'a serde_json::Value, node: &'a serde_json::Value) -> &'a serde_json::Value {
    if let Some(reference) = node.get("$ref").and_then(|r| r.as_str()) {
        let pointer = reference.trim_start_matches('#');
        if let Some(target) = root.pointer(pointer) {
            return resolve(root, target);
        }
    }
    if let Some(options) = node.get("anyOf").and_then(|a| a.as_array())
        && let Some(object) = options
            .iter()
            .find(|o| o.get("type") != Some(&"null".into()))
    {
        return resolve(root, object);
    }
    node
}

/// The known name nearest to a typo, if it is near enough to be a typo.
fn closest(typo: &str, known: &[String]) -> Option<String> {
    known
        .iter()
        .map(|candidate| (edit_distance(typo, candidate), candidate))
        .filter(|(distance, candidate)| {
            let near = *distance <= 2.max(candidate.len() / 3);
            // `maximum` for `max`, `mem` for `memory_gib`
            let prefix = candidate.len().min(typo.len()) >= 3
                && (typo.starts_with(candidate.as_str()) || candidate.starts_with(typo));
            near || prefix
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate.clone())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFERENCE: &str = include_str!("../../../examples/hubs/reference-hub.yaml");

    #[test]
    fn reference_spec_parses_with_every_section() {
        let spec = HubClusterSpec::parse(REFERENCE, SpecFormat::Yaml).unwrap();
        assert_eq!(spec.name, "openscapes");
        assert_eq!(spec.node_pools.len(), 4);
        assert_eq!(
            spec.node_pools[2]
                .machine
                .as_ref()
                .unwrap()
                .gpu
                .as_ref()
                .unwrap()
                .class,
            GpuClass::T4
        );
        assert_eq!(
            spec.node_pools[3]
                .instance_type
                .as_ref()
                .unwrap()
                .azure
                .as_deref(),
            Some("Standard_E16s_v5")
        );
        assert_eq!(spec.buckets[0].delete_after_days, Some(7));
        assert_eq!(
            spec.identities[1].buckets["persistent"],
            BucketAccess::ReadOnly
        );
        assert_eq!(
            spec.node_pools[0].labels["hub.jupyter.org/node-purpose"],
            "core"
        );
    }

    #[test]
    fn toml_and_json_give_the_same_spec_as_yaml() {
        let spec = HubClusterSpec::parse(REFERENCE, SpecFormat::Yaml).unwrap();
        let toml_text = toml::to_string(&spec).unwrap();
        assert_eq!(
            HubClusterSpec::parse(&toml_text, SpecFormat::Toml).unwrap(),
            spec
        );
        let json_text = serde_json::to_string(&spec).unwrap();
        assert_eq!(
            HubClusterSpec::parse(&json_text, SpecFormat::Json).unwrap(),
            spec
        );
    }

    #[test]
    fn every_unknown_field_is_reported_with_a_suggestion() {
        let text = REFERENCE
            .replace(
                "    machine: { cpu: 4, memory_gib: 32 }\n    min: 1",
                "    machin: { cpu: 4, memory_gib: 32 }\n    min: 1",
            )
            .replace("    versioning: true", "    versionning: true");
        let problems = HubClusterSpec::parse(&text, SpecFormat::Yaml).unwrap_err();
        let rendered: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert!(
            rendered.contains(
                &"node_pools[0].machin: unknown field `machin`; did you mean `machine`?"
                    .to_string()
            ),
            "{rendered:?}"
        );
        assert!(
            rendered.contains(
                &"buckets[1].versionning: unknown field `versionning`; did you mean `versioning`?"
                    .to_string()
            ),
            "{rendered:?}"
        );
    }

    #[test]
    fn unquoted_version_gets_a_clear_message() {
        let text = REFERENCE.replace("kubernetes_version: \"1.31\"", "kubernetes_version: 1.30");
        let problems = HubClusterSpec::parse(&text, SpecFormat::Yaml).unwrap_err();
        assert_eq!(problems[0].path, "kubernetes_version");
        assert!(
            problems[0].message.contains("quoted string"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn type_errors_name_the_field() {
        let text = REFERENCE.replace("    max: 10\n", "    max: ten\n");
        let problems = HubClusterSpec::parse(&text, SpecFormat::Yaml).unwrap_err();
        assert_eq!(problems[0].path, "node_pools[2].max");
        assert!(
            problems[0].message.contains("whole number"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn schema_forbids_unknown_fields_and_lists_providers() {
        let schema = HubClusterSpec::json_schema();
        assert_eq!(schema["additionalProperties"], false);
        let text = schema.to_string();
        for provider in ["sim", "aws", "gcp", "azure"] {
            assert!(text.contains(&format!("\"{provider}\"")));
        }
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("machin", "machine"), 1);
        assert_eq!(edit_distance("mni", "min"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
