//! Facts about each cloud that the sim and the real providers both state,
//! written once so the sim cannot drift from the provider it imitates.

use std::collections::BTreeMap;

use crate::provider::WorkloadIdentity;
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
