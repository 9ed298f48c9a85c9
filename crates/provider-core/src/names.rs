//! Physical cloud names, derived deterministically from logical spec names.
//!
//! Derivation never truncates or hashes a name the user chose: a physical
//! name is the logical name, reshaped to the cloud's alphabet (AKS pools
//! drop hyphens) and, where the cloud's namespace is global (S3/GCS buckets,
//! Azure storage accounts), given the hub name and a stable 8-character
//! suffix computed from the account scope (AWS account id, GCP project,
//! Azure subscription). So the same spec in a different account gets
//! different bucket names, the same spec in the same account always gets
//! the same ones, and a lost state can be rediscovered.
//!
//! A name that breaks a cloud's limits after derivation is a validation
//! problem that says how to shorten it; nothing is silently cut.

use std::fmt;

use crate::spec::{Cloud, HubClusterSpec};

mod support;

pub use support::{
    cluster_role, network, node_role, oidc_provider, resource_group, support, support_hub,
    supporting,
};

/// What kind of cloud resource a name is for; names collide only within one
/// kind (and one namespace on the cloud).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NameKind {
    /// The Kubernetes cluster (EKS / GKE / AKS).
    Cluster,
    /// A node pool in the cluster.
    NodePool,
    /// A bucket (S3, GCS) or blob container (Azure).
    Bucket,
    /// The Azure storage account that holds the hub's containers.
    StorageAccount,
    /// A workload identity: IAM role, GCP service account, Azure managed identity.
    Identity,
}

impl NameKind {
    /// How the resource is called on `cloud`.
    pub fn cloud_term(self, cloud: Cloud) -> &'static str {
        match (self, cloud) {
            (NameKind::Cluster, Cloud::Aws) => "EKS cluster",
            (NameKind::Cluster, Cloud::Gcp) => "GKE cluster",
            (NameKind::Cluster, Cloud::Azure) => "AKS cluster",
            (NameKind::NodePool, Cloud::Aws) => "EKS node group",
            (NameKind::NodePool, Cloud::Gcp) => "GKE node pool",
            (NameKind::NodePool, Cloud::Azure) => "AKS node pool",
            (NameKind::Bucket, Cloud::Aws) => "S3 bucket",
            (NameKind::Bucket, Cloud::Gcp) => "GCS bucket",
            (NameKind::Bucket, Cloud::Azure) => "blob container",
            (NameKind::StorageAccount, _) => "Azure storage account",
            (NameKind::Identity, Cloud::Aws) => "IAM role",
            (NameKind::Identity, Cloud::Gcp) => "service account id",
            (NameKind::Identity, Cloud::Azure) => "managed identity",
        }
    }
}

/// Why a physical name cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError {
    /// The physical name that was derived.
    pub physical: String,
    /// A sentence naming the broken rule and the fix.
    pub reason: String,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// The account-level scope that makes global names unique: AWS account id,
/// GCP project id, Azure subscription id, or the sim's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameScope(Option<String>);

impl NameScope {
    /// A known scope.
    pub fn known(scope: impl Into<String>) -> NameScope {
        NameScope(Some(scope.into()))
    }

    /// A scope that is only known after asking the cloud (the AWS account id):
    /// the suffix is shown as `xxxxxxxx`, which has the final length, so
    /// length checks still hold.
    pub fn unknown() -> NameScope {
        NameScope(None)
    }

    /// The 8-character suffix for `parts` in this scope.
    pub fn suffix(&self, parts: &[&str]) -> String {
        match &self.0 {
            None => "x".repeat(SUFFIX_LEN),
            Some(scope) => {
                let mut hash = Fnv64::default();
                hash.write(scope.as_bytes());
                for part in parts {
                    hash.write(&[0]);
                    hash.write(part.as_bytes());
                }
                format!("{:016x}", hash.0)[..SUFFIX_LEN].to_string()
            }
        }
    }
}

/// The simulated cloud's account id: the scope of its global names.
pub const SIM_ACCOUNT: &str = "sim-000000000000";

/// Length of the stable suffix on global names.
pub const SUFFIX_LEN: usize = 8;

/// FNV-1a: tiny, stable across releases and platforms (unlike std's hasher),
/// which is what a name that must never change needs.
struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv64 {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The portable rule every logical name follows: lowercase letters, digits
/// and single hyphens, starting with a letter and ending with a letter or
/// digit. Returns the sentence to show when it is broken.
pub fn check_logical(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!("`{name}` must start with a lowercase letter"));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "`{name}` contains `{bad}`; use only lowercase letters, digits and hyphens"
        ));
    }
    if name.ends_with('-') {
        return Err(format!("`{name}` must end with a letter or digit"));
    }
    if name.contains("--") {
        return Err(format!("`{name}` must not contain two hyphens in a row"));
    }
    Ok(())
}

/// Physical cluster name.
pub fn cluster(cloud: Cloud, hub: &str) -> Result<String, NameError> {
    let limit = match cloud {
        Cloud::Aws => 100,
        Cloud::Gcp => 40,
        Cloud::Azure => 63,
    };
    within(
        hub.to_string(),
        1,
        limit,
        || format!("shorten the hub `name` to at most {limit} characters"),
        NameKind::Cluster,
        cloud,
    )
}

/// Physical node-pool name (scoped to its cluster, so no prefix). The
/// cloud's limit less the room for [`alternate_pool_name`]: a pool that must
/// be replaced blue/green gets its twin name while the old one drains.
pub fn node_pool(cloud: Cloud, pool: &str) -> Result<String, NameError> {
    let (physical, limit) = match cloud {
        Cloud::Aws => (pool.to_string(), 63),
        Cloud::Gcp => (pool.to_string(), 40),
        Cloud::Azure => (pool.chars().filter(|c| *c != '-').collect(), 12),
    };
    let room = alternate_pool_name(cloud, "").len();
    let max = limit - room;
    within(
        physical,
        1,
        max,
        || {
            let dropped = if cloud == Cloud::Azure {
                "hyphens are dropped, and "
            } else {
                ""
            };
            format!(
                "{dropped}of the {limit} characters the cloud allows, hubforge keeps {room} for the blue/green replacement name; shorten the pool name"
            )
        },
        NameKind::NodePool,
        cloud,
    )
}

/// The twin of a pool name, used while a pool is replaced blue/green; the
/// twin of the twin is the base name again.
pub fn alternate_pool_name(cloud: Cloud, name: &str) -> String {
    let suffix = if cloud == Cloud::Azure { "b" } else { "-b" };
    match name.strip_suffix(suffix) {
        Some(base) if !base.is_empty() => base.to_string(),
        _ => format!("{name}{suffix}"),
    }
}

/// Physical bucket name: `<hub>-<bucket>-<suffix>` on AWS and GCP (global
/// namespace); `<storage account>/<bucket>` on Azure, a blob container in
/// the hub's storage account.
pub fn bucket(
    cloud: Cloud,
    hub: &str,
    bucket: &str,
    scope: &NameScope,
) -> Result<String, NameError> {
    match cloud {
        Cloud::Aws | Cloud::Gcp => {
            let physical = format!("{hub}-{bucket}-{}", scope.suffix(&[hub, bucket]));
            let room = 63 - SUFFIX_LEN - 2;
            let checked = within(
                physical,
                3,
                63,
                || {
                    format!(
                        "the hub name and bucket name together may have at most {room} characters; shorten either"
                    )
                },
                NameKind::Bucket,
                cloud,
            )?;
            reserved_bucket_words(cloud, checked)
        }
        Cloud::Azure => {
            let container = within(
                bucket.to_string(),
                3,
                63,
                || "lengthen or shorten the bucket name".into(),
                NameKind::Bucket,
                cloud,
            )?;
            let account = storage_account(hub, scope)?;
            Ok(format!("{account}/{container}"))
        }
    }
}

fn reserved_bucket_words(cloud: Cloud, physical: String) -> Result<String, NameError> {
    let broken = match cloud {
        Cloud::Aws => ["xn--", "sthree-", "amzn-s3-demo-"]
            .iter()
            .find(|prefix| physical.starts_with(**prefix))
            .map(|prefix| format!("S3 bucket names must not start with `{prefix}`")),
        Cloud::Gcp if physical.starts_with("goog") || physical.contains("google") => {
            Some("GCS bucket names must not start with `goog` or contain `google`".to_string())
        }
        _ => None,
    };
    match broken {
        Some(reason) => Err(NameError {
            reason: format!(
                "gives the {} `{physical}`: {reason}; rename the hub or the bucket",
                NameKind::Bucket.cloud_term(cloud)
            ),
            physical,
        }),
        None => Ok(physical),
    }
}

/// Physical Azure storage account: the hub name without hyphens plus the
/// stable suffix; 3–24 lowercase letters and digits, globally unique.
pub fn storage_account(hub: &str, scope: &NameScope) -> Result<String, NameError> {
    let physical = format!("{}{}", hub.replace('-', ""), scope.suffix(&[hub]));
    within(
        physical,
        3,
        24,
        || {
            format!(
                "lowercase letters and digits only; use a hub name of at most {} letters and digits (hyphens do not count)",
                24 - SUFFIX_LEN
            )
        },
        NameKind::StorageAccount,
        Cloud::Azure,
    )
}

/// Physical identity name: `<hub>-<identity>` (IAM role, GCP service
/// account id, Azure managed identity).
pub fn identity(cloud: Cloud, hub: &str, identity: &str) -> Result<String, NameError> {
    let physical = format!("{hub}-{identity}");
    let (min, max) = match cloud {
        Cloud::Aws => (1, 64),
        Cloud::Gcp => (6, 30),
        Cloud::Azure => (3, 128),
    };
    within(
        physical,
        min,
        max,
        || "rename the identity or the hub so `<hub>-<identity>` fits".into(),
        NameKind::Identity,
        cloud,
    )
}

/// One physical name derived from a spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedName {
    /// What the name is for.
    pub kind: NameKind,
    /// Where the logical name is in the spec (`node_pools[1].name`).
    pub path: String,
    /// The logical name.
    pub logical: String,
    /// The physical name, or why there can be none.
    pub physical: Result<String, NameError>,
}

/// Every physical name of `spec` on `cloud`. Logical names that break the
/// portable rule ([`check_logical`]) are left out: validation reports them
/// as they are.
pub fn derive_all(spec: &HubClusterSpec, cloud: Cloud, scope: &NameScope) -> Vec<DerivedName> {
    let hub = spec.name.as_str();
    if check_logical(hub).is_err() {
        return Vec::new();
    }
    let entry = |kind, path: String, logical: &str, physical| DerivedName {
        kind,
        path,
        logical: logical.to_string(),
        physical,
    };
    let mut out = vec![entry(
        NameKind::Cluster,
        "name".into(),
        hub,
        cluster(cloud, hub),
    )];
    if cloud == Cloud::Azure && !spec.buckets.is_empty() {
        out.push(entry(
            NameKind::StorageAccount,
            "name".into(),
            hub,
            storage_account(hub, scope),
        ));
    }
    let valid = |name: &str| check_logical(name).is_ok();
    for (i, pool) in spec
        .node_pools
        .iter()
        .enumerate()
        .filter(|(_, p)| valid(&p.name))
    {
        out.push(entry(
            NameKind::NodePool,
            format!("node_pools[{i}].name"),
            &pool.name,
            node_pool(cloud, &pool.name),
        ));
    }
    for (i, b) in spec
        .buckets
        .iter()
        .enumerate()
        .filter(|(_, b)| valid(&b.name))
    {
        out.push(entry(
            NameKind::Bucket,
            format!("buckets[{i}].name"),
            &b.name,
            bucket(cloud, hub, &b.name, scope),
        ));
    }
    for (i, id) in spec
        .identities
        .iter()
        .enumerate()
        .filter(|(_, id)| valid(&id.name))
    {
        out.push(entry(
            NameKind::Identity,
            format!("identities[{i}].name"),
            &id.name,
            identity(cloud, hub, &id.name),
        ));
    }
    out
}

/// Checks a physical name against the cloud's own rules. Providers (and the
/// sim) use it as a last guard; names from this module always pass it.
pub fn check_physical(cloud: Cloud, kind: NameKind, name: &str) -> Result<(), String> {
    let lower_digit = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let alnum = |c: char| c.is_ascii_alphanumeric();
    let lower = |c: char| c.is_ascii_lowercase();
    type Class = fn(char) -> bool;
    // (min, max, allowed, first, last)
    let rule: (usize, usize, Class, Class, Class) = match (kind, cloud) {
        (NameKind::Cluster, Cloud::Aws) => (
            1,
            100,
            |c| c.is_ascii_alphanumeric() || c == '-' || c == '_',
            alnum,
            |_| true,
        ),
        (NameKind::Cluster | NameKind::NodePool, Cloud::Gcp) => (
            1,
            40,
            |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
            lower,
            lower_digit,
        ),
        (NameKind::Cluster, Cloud::Azure) => (
            1,
            63,
            |c| c.is_ascii_alphanumeric() || c == '-' || c == '_',
            alnum,
            alnum,
        ),
        (NameKind::NodePool, Cloud::Aws) => (
            1,
            63,
            |c| c.is_ascii_alphanumeric() || c == '-' || c == '_',
            alnum,
            |_| true,
        ),
        (NameKind::NodePool, Cloud::Azure) => (1, 12, lower_digit, lower, lower_digit),
        (NameKind::Bucket, Cloud::Aws | Cloud::Gcp) => (
            3,
            63,
            |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.',
            lower_digit,
            lower_digit,
        ),
        (NameKind::Bucket, Cloud::Azure) => {
            let Some((account, container)) = name.split_once('/') else {
                return Err(format!("`{name}` is not `<storage account>/<container>`"));
            };
            check_physical(cloud, NameKind::StorageAccount, account)?;
            if container.contains("--") {
                return Err(format!("container `{container}` must not contain `--`"));
            }
            return check_rule(
                container,
                (
                    3,
                    63,
                    |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
                    lower_digit,
                    lower_digit,
                ),
            );
        }
        (NameKind::StorageAccount, _) => (3, 24, lower_digit, lower_digit, lower_digit),
        (NameKind::Identity, Cloud::Aws) => (
            1,
            64,
            |c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c),
            |_| true,
            |_| true,
        ),
        (NameKind::Identity, Cloud::Gcp) => (
            6,
            30,
            |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
            lower,
            lower_digit,
        ),
        (NameKind::Identity, Cloud::Azure) => (
            3,
            128,
            |c| c.is_ascii_alphanumeric() || c == '-' || c == '_',
            alnum,
            |_| true,
        ),
    };
    check_rule(name, rule).map_err(|reason| format!("{} {reason}", kind.cloud_term(cloud)))
}

#[allow(clippy::type_complexity)]
fn check_rule(
    name: &str,
    (min, max, allowed, first, last): (
        usize,
        usize,
        fn(char) -> bool,
        fn(char) -> bool,
        fn(char) -> bool,
    ),
) -> Result<(), String> {
    let length = name.chars().count();
    let ok = (min..=max).contains(&length)
        && name.chars().all(allowed)
        && name.chars().next().is_some_and(first)
        && name.chars().last().is_some_and(last);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` breaks the naming rule ({min}–{max} characters of the allowed alphabet)"
        ))
    }
}

fn within(
    physical: String,
    min: usize,
    max: usize,
    fix: impl FnOnce() -> String,
    kind: NameKind,
    cloud: Cloud,
) -> Result<String, NameError> {
    let length = physical.chars().count();
    if (min..=max).contains(&length) {
        return Ok(physical);
    }
    let term = kind.cloud_term(cloud);
    Err(NameError {
        reason: format!(
            "gives the {term} `{physical}` ({length} characters), but {cloud} allows {min}–{max}: {}",
            fix()
        ),
        physical,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aks_pools_drop_hyphens() {
        assert_eq!(node_pool(Cloud::Azure, "user-small").unwrap(), "usersmall");
        assert_eq!(node_pool(Cloud::Gcp, "user-small").unwrap(), "user-small");
        let error = node_pool(Cloud::Azure, "user-highmem-large").unwrap_err();
        assert_eq!(error.physical, "userhighmemlarge");
        assert!(error.reason.contains("1–11"), "{}", error.reason);
        // 11 characters leave room for the blue/green twin.
        assert_eq!(
            node_pool(Cloud::Azure, "user-highmem").unwrap(),
            "userhighmem"
        );
        assert_eq!(
            alternate_pool_name(Cloud::Azure, "userhighmem"),
            "userhighmemb"
        );
        assert_eq!(alternate_pool_name(Cloud::Gcp, "core"), "core-b");
        assert_eq!(alternate_pool_name(Cloud::Gcp, "core-b"), "core");
    }

    #[test]
    fn bucket_suffix_is_stable_and_scoped() {
        let a = bucket(
            Cloud::Aws,
            "openscapes",
            "scratch",
            &NameScope::known("111111111111"),
        )
        .unwrap();
        let again = bucket(
            Cloud::Aws,
            "openscapes",
            "scratch",
            &NameScope::known("111111111111"),
        )
        .unwrap();
        let other_account = bucket(
            Cloud::Aws,
            "openscapes",
            "scratch",
            &NameScope::known("222222222222"),
        )
        .unwrap();
        assert_eq!(a, again);
        assert_ne!(a, other_account);
        assert!(
            a.starts_with("openscapes-scratch-")
                && a.len() == "openscapes-scratch-".len() + SUFFIX_LEN
        );
        let unknown = bucket(Cloud::Aws, "openscapes", "scratch", &NameScope::unknown()).unwrap();
        assert_eq!(unknown, "openscapes-scratch-xxxxxxxx");
    }

    #[test]
    fn gcp_service_account_limit_is_thirty() {
        assert_eq!(
            identity(Cloud::Gcp, "openscapes", "staging-users").unwrap(),
            "openscapes-staging-users"
        );
        let error = identity(Cloud::Gcp, "openscapes", "staging-users-longer").unwrap_err();
        assert!(error.reason.contains("6–30"), "{}", error.reason);
    }

    #[test]
    fn storage_account_fits_or_explains() {
        let account = storage_account("openscapes", &NameScope::known("sub")).unwrap();
        assert_eq!(account.len(), "openscapes".len() + SUFFIX_LEN);
        assert!(
            account
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
        assert!(storage_account("a-very-long-community-name", &NameScope::known("sub")).is_err());
    }

    #[test]
    fn gcs_rejects_google_in_names() {
        let error = bucket(Cloud::Gcp, "google-hub", "data", &NameScope::known("p")).unwrap_err();
        assert!(error.reason.contains("google"));
        assert!(bucket(Cloud::Aws, "google-hub", "data", &NameScope::known("p")).is_ok());
    }

    #[test]
    fn derived_names_pass_the_physical_rules() {
        let scope = NameScope::known("00000000-0000-0000-0000-000000000000");
        for cloud in Cloud::ALL {
            check_physical(
                cloud,
                NameKind::Cluster,
                &cluster(cloud, "openscapes").unwrap(),
            )
            .unwrap();
            check_physical(
                cloud,
                NameKind::NodePool,
                &node_pool(cloud, "user-small").unwrap(),
            )
            .unwrap();
            check_physical(
                cloud,
                NameKind::Bucket,
                &bucket(cloud, "openscapes", "scratch", &scope).unwrap(),
            )
            .unwrap();
            check_physical(
                cloud,
                NameKind::Identity,
                &identity(cloud, "openscapes", "prod-users").unwrap(),
            )
            .unwrap();
        }
        assert!(check_physical(Cloud::Azure, NameKind::NodePool, "user-small").is_err());
        assert!(check_physical(Cloud::Gcp, NameKind::Identity, "short").is_err());
    }

    #[test]
    fn logical_rule_explains_itself() {
        assert!(check_logical("user-small").is_ok());
        assert!(
            check_logical("User")
                .unwrap_err()
                .contains("lowercase letter")
        );
        assert!(check_logical("user_small").unwrap_err().contains("`_`"));
        assert!(check_logical("user-").is_err());
    }
}
