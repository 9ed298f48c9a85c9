//! Facts about each cloud that the sim and the real providers both state,
//! written once so the sim cannot drift from the provider it imitates.

use std::collections::BTreeMap;

use crate::id::NodeId;
use crate::names::{self, NameScope};
use crate::provider::{
    HubOutline, ResourceClass, SupportConfig, SupportKind, SupportRequirement, WorkloadIdentity,
    resource_tags,
};
use crate::spec::Cloud;

/// The cloud's own node label naming a pool (valued with its physical name).
pub fn node_pool_label(cloud: Cloud) -> &'static str {
    match cloud {
        Cloud::Aws => "eks.amazonaws.com/nodegroup",
        Cloud::Gcp => "cloud.google.com/gke-nodepool",
        Cloud::Azure => "kubernetes.azure.com/agentpool",
    }
}

/// What a Kubernetes service account and its pods need to act as the cloud
/// identity `principal` (role ARN, service-account email, client id).
pub fn workload_identity(cloud: Cloud, principal: &str) -> WorkloadIdentity {
    let annotation = match cloud {
        Cloud::Aws => "eks.amazonaws.com/role-arn",
        Cloud::Gcp => "iam.gke.io/gcp-service-account",
        Cloud::Azure => "azure.workload.identity/client-id",
    };
    let pod_labels = match cloud {
        // Azure's admission webhook only injects the token into pods that
        // carry this label.
        Cloud::Azure => BTreeMap::from([(
            "azure.workload.identity/use".to_string(),
            "true".to_string(),
        )]),
        Cloud::Aws | Cloud::Gcp => BTreeMap::new(),
    };
    WorkloadIdentity {
        annotations: BTreeMap::from([(annotation.to_string(), principal.to_string())]),
        pod_labels,
    }
}

/// How many minor versions a pool's nodes may lag the control plane
/// (EKS: none before the next control-plane upgrade; GKE: two; AKS:
/// three since Kubernetes 1.28). Nodes never lead the control plane.
pub fn pool_version_skew(cloud: Cloud) -> u32 {
    match cloud {
        Cloud::Aws => 0,
        Cloud::Gcp => 2,
        Cloud::Azure => 3,
    }
}

/// When a hub needs a supporting resource of a [`SupportShape`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needed {
    /// Always.
    Always,
    /// Only if the hub has buckets (the Azure storage account).
    WithBuckets,
    /// Only if the spec names no subnets of its own (the AWS VPC).
    WithoutOwnSubnets,
}

/// One supporting resource a cloud needs around a hub: its kind, when it
/// is needed, what needs it and what it comes after. Its name comes from
/// [`names::support`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportShape {
    /// What it is.
    pub kind: SupportKind,
    /// When a hub needs it.
    pub needed: Needed,
    /// Hub resources that can only be created once it exists.
    pub needed_by: &'static [ResourceClass],
    /// Supporting resources that must exist first.
    pub after: &'static [SupportKind],
    /// It can only be made once the cluster exists.
    pub after_cluster: bool,
    /// Properties it always has: (key, value); [`CLUSTER_PROPERTY`] valued
    /// with the cluster's physical name.
    pub properties: &'static [(&'static str, &'static str)],
}

/// The property naming the physical cluster a supporting resource is for.
pub const CLUSTER_PROPERTY: &str = "cluster";
/// Stands for the cluster's physical name in [`SupportShape::properties`].
const THE_CLUSTER: &str = "<cluster>";

/// The AWS VPC's address block.
pub const AWS_VPC_CIDR: &str = "10.0.0.0/16";
/// The AWS VPC's property saying whether nodes sit in private subnets
/// behind a NAT gateway; a provider setting, off unless the provider says.
pub const PRIVATE_NODES_PROPERTY: &str = "private_nodes";

/// What each cloud needs around a hub, in creation order: on AWS a VPC
/// (unless the spec names subnets), the cluster and node roles and, once
/// the cluster exists, its OIDC issuer registered in IAM (IRSA); on GCP
/// the node service account; on Azure a resource group, the kubelet
/// identity and, with buckets, a storage account. The sim imitates these
/// and the providers make them.
pub fn support_shapes(cloud: Cloud) -> &'static [SupportShape] {
    use ResourceClass::*;
    use SupportKind::*;
    const fn shape(
        kind: SupportKind,
        needed: Needed,
        needed_by: &'static [ResourceClass],
        after: &'static [SupportKind],
    ) -> SupportShape {
        SupportShape {
            kind,
            needed,
            needed_by,
            after,
            after_cluster: false,
            properties: &[],
        }
    }
    const AWS: &[SupportShape] = &[
        SupportShape {
            properties: &[
                ("cidr", AWS_VPC_CIDR),
                (CLUSTER_PROPERTY, THE_CLUSTER),
                (PRIVATE_NODES_PROPERTY, "false"),
            ],
            ..shape(
                Network,
                Needed::WithoutOwnSubnets,
                &[Cluster, NodePool],
                &[],
            )
        },
        shape(ClusterRole, Needed::Always, &[Cluster], &[]),
        shape(NodeRole, Needed::Always, &[NodePool], &[]),
        SupportShape {
            after_cluster: true,
            properties: &[(CLUSTER_PROPERTY, THE_CLUSTER)],
            ..shape(OidcProvider, Needed::Always, &[Binding], &[])
        },
    ];
    const GCP: &[SupportShape] = &[shape(NodeRole, Needed::Always, &[Cluster, NodePool], &[])];
    const AZURE: &[SupportShape] = &[
        shape(
            ResourceGroup,
            Needed::Always,
            &[Cluster, NodePool, Bucket, Identity],
            &[],
        ),
        shape(
            NodeRole,
            Needed::Always,
            &[Cluster, NodePool],
            &[ResourceGroup],
        ),
        shape(
            StorageAccount,
            Needed::WithBuckets,
            &[Bucket],
            &[ResourceGroup],
        ),
    ];
    match cloud {
        Cloud::Aws => AWS,
        Cloud::Gcp => GCP,
        Cloud::Azure => AZURE,
    }
}

/// The supporting resources `hub` needs on `cloud` ([`support_shapes`]),
/// named ([`names::support`] in the account `scope`), tagged as the hub's
/// with their resource tag, with the properties every implementation of
/// the cloud states. `own_subnets`: the spec names subnets of its own.
pub fn supporting_resources(
    cloud: Cloud,
    hub: &HubOutline,
    own_subnets: bool,
    scope: &NameScope,
) -> Vec<SupportRequirement> {
    support_shapes(cloud)
        .iter()
        .filter(|shape| match shape.needed {
            Needed::Always => true,
            Needed::WithBuckets => hub.has_buckets,
            Needed::WithoutOwnSubnets => !own_subnets,
        })
        .map(|shape| SupportRequirement {
            config: SupportConfig {
                kind: shape.kind,
                name: names::support(cloud, shape.kind, &hub.hub, scope)
                    .unwrap_or_else(|error| error.physical),
                region: hub.region.clone(),
                tags: resource_tags(
                    &hub.hub,
                    &NodeId::Support(shape.kind)
                        .tag()
                        .expect("supporting resources are tagged"),
                    &hub.tags,
                ),
                properties: shape
                    .properties
                    .iter()
                    .map(|(key, value)| {
                        let value = match *value {
                            THE_CLUSTER => hub.cluster.clone(),
                            value => value.to_string(),
                        };
                        (key.to_string(), value)
                    })
                    .collect(),
            },
            needed_by: shape.needed_by.to_vec(),
            after: shape.after.to_vec(),
            after_cluster: shape.after_cluster,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{TAG_RESOURCE, owned_by};

    fn outline(has_buckets: bool) -> HubOutline {
        HubOutline {
            hub: "openscapes".into(),
            region: "us-west-2".into(),
            cluster: "openscapes".into(),
            has_buckets,
            tags: BTreeMap::from([("team".to_string(), "data".to_string())]),
        }
    }

    fn kinds(needs: &[SupportRequirement]) -> Vec<SupportKind> {
        needs.iter().map(|n| n.config.kind).collect()
    }

    #[test]
    fn aws_needs_a_vpc_unless_subnets_are_given_and_the_oidc_provider_after_the_cluster() {
        use SupportKind::*;
        let scope = NameScope::known("1");
        let needs = supporting_resources(Cloud::Aws, &outline(false), false, &scope);
        assert_eq!(
            kinds(&needs),
            [Network, ClusterRole, NodeRole, OidcProvider]
        );
        let names: Vec<&str> = needs.iter().map(|n| n.config.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "openscapes-vpc",
                "openscapes-cluster",
                "openscapes-node",
                "openscapes-oidc"
            ]
        );
        let network = &needs[0].config;
        assert_eq!(
            network.properties,
            BTreeMap::from([
                ("cidr".to_string(), "10.0.0.0/16".to_string()),
                ("cluster".to_string(), "openscapes".to_string()),
                ("private_nodes".to_string(), "false".to_string()),
            ])
        );
        let oidc = &needs[3];
        assert!(oidc.after_cluster && oidc.needed_by == [ResourceClass::Binding]);
        assert_eq!(
            oidc.config
                .properties
                .get(CLUSTER_PROPERTY)
                .map(String::as_str),
            Some("openscapes")
        );
        let with_subnets = supporting_resources(Cloud::Aws, &outline(false), true, &scope);
        assert_eq!(kinds(&with_subnets), [ClusterRole, NodeRole, OidcProvider]);
        for need in &needs {
            let tags = &need.config.tags;
            assert!(owned_by(tags, "openscapes"), "{tags:?}");
            assert_eq!(tags.get("team").map(String::as_str), Some("data"));
            assert_eq!(
                NodeId::of_tags(tags),
                Some(NodeId::Support(need.config.kind)),
                "{:?}",
                tags.get(TAG_RESOURCE)
            );
        }
    }

    #[test]
    fn azure_needs_a_storage_account_only_with_buckets_and_everything_after_its_group() {
        use SupportKind::*;
        let scope = NameScope::known("sub");
        let without = supporting_resources(Cloud::Azure, &outline(false), false, &scope);
        assert_eq!(kinds(&without), [ResourceGroup, NodeRole]);
        let with = supporting_resources(Cloud::Azure, &outline(true), false, &scope);
        assert_eq!(kinds(&with), [ResourceGroup, NodeRole, StorageAccount]);
        assert!(with[1..].iter().all(|n| n.after == [ResourceGroup]));
        assert_eq!(
            with[2].config.name,
            names::storage_account("openscapes", &scope).unwrap()
        );
        let gcp = supporting_resources(Cloud::Gcp, &outline(true), false, &scope);
        assert_eq!(kinds(&gcp), [NodeRole]);
        assert_eq!(gcp[0].config.name, "openscapes-node");
    }

    #[test]
    fn every_shape_comes_in_the_order_support_kinds_are_created() {
        for cloud in Cloud::ALL {
            let order: Vec<usize> = support_shapes(cloud)
                .iter()
                .map(|s| SupportKind::ALL.iter().position(|k| *k == s.kind).unwrap())
                .collect();
            assert!(
                order.windows(2).all(|w| w[0] < w[1]),
                "{cloud:?}: {order:?}"
            );
            for shape in support_shapes(cloud) {
                for before in shape.after {
                    assert!(
                        support_shapes(cloud).iter().any(|s| s.kind == *before),
                        "{cloud:?}: {:?} comes after a kind the cloud lacks",
                        shape.kind
                    );
                }
            }
        }
    }
}
