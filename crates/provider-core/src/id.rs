//! Naming a hub's resources by their place in the spec, and the resource
//! tag that carries that name on every cloud resource.
//!
//! The tag is how a cloud resource is matched to the spec without any
//! state, so its format is defined here once: [`NodeId::tag`] writes it,
//! [`NodeId::from_tag`] reads it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::provider::{SupportKind, TAG_RESOURCE};

/// One resource of a hub, named by its place in the spec.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum NodeId {
    /// A supporting resource (there is at most one of each kind per hub).
    Support(SupportKind),
    /// The cluster.
    Cluster,
    /// A node pool, by logical name.
    NodePool(String),
    /// A bucket, by logical name.
    Bucket(String),
    /// The cloud part of an identity, by logical name.
    Identity(String),
    /// Who may assume an identity and what it reaches, by logical name.
    Binding(String),
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeId::Support(kind) => write!(f, "support/{}", kind.as_str()),
            NodeId::Cluster => f.write_str("cluster"),
            NodeId::NodePool(name) => write!(f, "node_pool/{name}"),
            NodeId::Bucket(name) => write!(f, "bucket/{name}"),
            NodeId::Identity(name) => write!(f, "identity/{name}"),
            NodeId::Binding(name) => write!(f, "binding/{name}"),
        }
    }
}

impl From<NodeId> for String {
    fn from(id: NodeId) -> String {
        id.to_string()
    }
}

impl TryFrom<String> for NodeId {
    type Error = String;
    fn try_from(text: String) -> std::result::Result<NodeId, String> {
        let (kind, name) = text.split_once('/').unwrap_or((text.as_str(), ""));
        let name = name.to_string();
        Ok(match kind {
            "cluster" => NodeId::Cluster,
            "node_pool" => NodeId::NodePool(name),
            "bucket" => NodeId::Bucket(name),
            "identity" => NodeId::Identity(name),
            "binding" => NodeId::Binding(name),
            "support" => NodeId::Support(
                SupportKind::ALL
                    .into_iter()
                    .find(|k| k.as_str() == name)
                    .ok_or_else(|| format!("unknown support kind {name}"))?,
            ),
            _ => return Err(format!("not a node id: {text}")),
        })
    }
}

impl NodeId {
    /// The value of the resource tag ([`TAG_RESOURCE`]) that marks this
    /// node's cloud resource; bindings live on their identity and have none.
    pub fn tag(&self) -> Option<String> {
        match self {
            NodeId::Support(kind) => Some(format!("support--{}", kind.as_str().replace('_', "-"))),
            NodeId::Cluster => Some("cluster".into()),
            NodeId::NodePool(name) => Some(format!("nodepool--{name}")),
            NodeId::Bucket(name) => Some(format!("bucket--{name}")),
            NodeId::Identity(name) => Some(format!("identity--{name}")),
            NodeId::Binding(_) => None,
        }
    }

    /// The node a resource's tags name in their resource tag, if any.
    pub fn of_tags(tags: &BTreeMap<String, String>) -> Option<NodeId> {
        tags.get(TAG_RESOURCE).and_then(|tag| NodeId::from_tag(tag))
    }

    /// The node a resource tag names.
    pub fn from_tag(tag: &str) -> Option<NodeId> {
        let (kind, name) = tag.split_once("--").unwrap_or((tag, ""));
        let name = name.to_string();
        match kind {
            "cluster" => Some(NodeId::Cluster),
            "nodepool" => Some(NodeId::NodePool(name)),
            "bucket" => Some(NodeId::Bucket(name)),
            "identity" => Some(NodeId::Identity(name)),
            "support" => SupportKind::ALL
                .into_iter()
                .find(|k| k.as_str().replace('_', "-") == name)
                .map(NodeId::Support),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_round_trip_through_text_and_tags() {
        for id in [
            NodeId::Cluster,
            NodeId::NodePool("user-small".into()),
            NodeId::Bucket("scratch".into()),
            NodeId::Identity("prod-users".into()),
            NodeId::Support(SupportKind::StorageAccount),
        ] {
            assert_eq!(NodeId::try_from(id.to_string()).unwrap(), id);
            assert_eq!(NodeId::from_tag(&id.tag().unwrap()), Some(id.clone()));
            let tags = BTreeMap::from([(TAG_RESOURCE.to_string(), id.tag().unwrap())]);
            assert_eq!(NodeId::of_tags(&tags), Some(id.clone()));
            // Tag values must be valid GCP label values.
            assert!(
                id.tag()
                    .unwrap()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            );
        }
        assert_eq!(NodeId::of_tags(&BTreeMap::new()), None);
        for kind in SupportKind::ALL {
            let tag = NodeId::Support(kind).tag().unwrap();
            assert_eq!(NodeId::from_tag(&tag), Some(NodeId::Support(kind)), "{tag}");
        }
    }
}
