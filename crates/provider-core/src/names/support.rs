//! Names of the supporting resources a cloud needs around a hub (see
//! [`crate::facts::support_shapes`]): `<hub>` and a suffix per kind, so
//! the hub can be read back from a name.

use super::{NameError, NameKind, NameScope, storage_account};
use crate::provider::SupportKind;
use crate::spec::Cloud;

/// The hub's network: the AWS VPC `<hub>-vpc`.
pub fn network(hub: &str) -> String {
    format!("{hub}{NETWORK_SUFFIX}")
}

/// The hub's cluster OIDC issuer registered in IAM (EKS IRSA): `<hub>-oidc`.
pub fn oidc_provider(hub: &str) -> String {
    format!("{hub}{OIDC_SUFFIX}")
}

/// The role the control plane assumes: `<hub>-cluster` (only EKS has one).
pub fn cluster_role(hub: &str) -> String {
    format!("{hub}{CLUSTER_ROLE_SUFFIX}")
}

/// What the nodes run as: the EKS node role and the GKE node service
/// account `<hub>-node`, the AKS kubelet identity `<hub>-kubelet`.
pub fn node_role(cloud: Cloud, hub: &str) -> String {
    format!("{hub}{}", node_role_suffix(cloud))
}

/// The Azure resource group holding the hub: `<hub>-rg`.
pub fn resource_group(hub: &str) -> String {
    format!("{hub}{RESOURCE_GROUP_SUFFIX}")
}

const NETWORK_SUFFIX: &str = "-vpc";
const OIDC_SUFFIX: &str = "-oidc";
const CLUSTER_ROLE_SUFFIX: &str = "-cluster";
const RESOURCE_GROUP_SUFFIX: &str = "-rg";

fn node_role_suffix(cloud: Cloud) -> &'static str {
    match cloud {
        Cloud::Aws | Cloud::Gcp => "-node",
        Cloud::Azure => "-kubelet",
    }
}

/// The physical name of `hub`'s supporting resource of `kind` on `cloud`
/// (the Azure storage account's name depends on the account `scope`).
pub fn support(
    cloud: Cloud,
    kind: SupportKind,
    hub: &str,
    scope: &NameScope,
) -> Result<String, NameError> {
    Ok(match kind {
        SupportKind::Network => network(hub),
        SupportKind::OidcProvider => oidc_provider(hub),
        SupportKind::ClusterRole => cluster_role(hub),
        SupportKind::NodeRole => node_role(cloud, hub),
        SupportKind::ResourceGroup => resource_group(hub),
        SupportKind::StorageAccount => storage_account(hub, scope)?,
    })
}

/// The hub a supporting resource's name on `cloud` belongs to
/// (`openscapes-oidc` → `openscapes`); a name with no such suffix is
/// taken as the hub's own.
pub fn support_hub(cloud: Cloud, name: &str) -> &str {
    [
        CLUSTER_ROLE_SUFFIX,
        node_role_suffix(cloud),
        OIDC_SUFFIX,
        NETWORK_SUFFIX,
        RESOURCE_GROUP_SUFFIX,
    ]
    .iter()
    .find_map(|suffix| name.strip_suffix(suffix))
    .unwrap_or(name)
}

/// Names of supporting resources that share a namespace with spec-named
/// ones, so a collision with them is caught too (an identity called
/// `cluster` on AWS would take the cluster role's name).
pub fn supporting(cloud: Cloud, hub: &str) -> Vec<(NameKind, String, &'static str)> {
    match cloud {
        Cloud::Aws => vec![
            (
                NameKind::Identity,
                cluster_role(hub),
                "the EKS cluster role",
            ),
            (NameKind::Identity, node_role(cloud, hub), "the node role"),
        ],
        Cloud::Gcp => vec![(
            NameKind::Identity,
            node_role(cloud, hub),
            "the node service account",
        )],
        Cloud::Azure => vec![(
            NameKind::Identity,
            node_role(cloud, hub),
            "the kubelet identity",
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supporting_names_are_derived_here_and_lead_back_to_their_hub() {
        let scope = NameScope::known("sub");
        let name = |cloud, kind| support(cloud, kind, "openscapes", &scope).unwrap();
        for (cloud, kind, expected) in [
            (Cloud::Aws, SupportKind::Network, "openscapes-vpc"),
            (Cloud::Aws, SupportKind::OidcProvider, "openscapes-oidc"),
            (Cloud::Aws, SupportKind::ClusterRole, "openscapes-cluster"),
            (Cloud::Aws, SupportKind::NodeRole, "openscapes-node"),
            (Cloud::Gcp, SupportKind::NodeRole, "openscapes-node"),
            (Cloud::Azure, SupportKind::NodeRole, "openscapes-kubelet"),
            (Cloud::Azure, SupportKind::ResourceGroup, "openscapes-rg"),
        ] {
            assert_eq!(name(cloud, kind), expected, "{cloud:?} {kind:?}");
        }
        assert_eq!(
            name(Cloud::Azure, SupportKind::StorageAccount),
            storage_account("openscapes", &scope).unwrap()
        );
        for cloud in Cloud::ALL {
            for kind in [
                SupportKind::Network,
                SupportKind::OidcProvider,
                SupportKind::ClusterRole,
                SupportKind::NodeRole,
                SupportKind::ResourceGroup,
            ] {
                assert_eq!(support_hub(cloud, &name(cloud, kind)), "openscapes");
            }
            // Supporting names that can collide with identities are these very ones.
            for (_, physical, _) in supporting(cloud, "openscapes") {
                assert_eq!(support_hub(cloud, &physical), "openscapes");
            }
        }
        assert_eq!(support_hub(Cloud::Aws, "my-hub-node"), "my-hub");
        assert_eq!(support_hub(Cloud::Aws, "plain"), "plain");
    }
}
