//! How long the imitated clouds take for each kind of operation.

use std::time::Duration;

use crate::spec::Cloud;

/// How long each kind of operation takes on a cloud, before scaling.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyModel {
    /// Create a cluster.
    pub cluster_create: Duration,
    /// Upgrade a cluster.
    pub cluster_update: Duration,
    /// Delete a cluster.
    pub cluster_delete: Duration,
    /// Create a node pool.
    pub pool_create: Duration,
    /// Change a node pool.
    pub pool_update: Duration,
    /// Delete a node pool.
    pub pool_delete: Duration,
    /// Create a bucket.
    pub bucket_create: Duration,
    /// Delete a bucket.
    pub bucket_delete: Duration,
    /// Create an identity.
    pub identity_create: Duration,
    /// Bind an identity (trust + grants, including propagation).
    pub identity_bind: Duration,
    /// Delete an identity.
    pub identity_delete: Duration,
    /// Create a supporting resource (network, role, resource group, storage account).
    pub support_create: Duration,
    /// Delete a supporting resource.
    pub support_delete: Duration,
}

impl LatencyModel {
    /// Typical figures for each cloud, as operators see them.
    pub fn of(cloud: Cloud) -> LatencyModel {
        let s = Duration::from_secs;
        match cloud {
            Cloud::Aws => LatencyModel {
                cluster_create: s(600),
                cluster_update: s(900),
                cluster_delete: s(300),
                pool_create: s(180),
                pool_update: s(120),
                pool_delete: s(240),
                bucket_create: s(2),
                bucket_delete: s(2),
                identity_create: s(3),
                identity_bind: s(10),
                identity_delete: s(3),
                support_create: s(30),
                support_delete: s(20),
            },
            Cloud::Gcp => LatencyModel {
                cluster_create: s(330),
                cluster_update: s(600),
                cluster_delete: s(240),
                pool_create: s(150),
                pool_update: s(120),
                pool_delete: s(150),
                bucket_create: s(2),
                bucket_delete: s(2),
                identity_create: s(3),
                identity_bind: s(5),
                identity_delete: s(3),
                support_create: s(5),
                support_delete: s(5),
            },
            Cloud::Azure => LatencyModel {
                cluster_create: s(360),
                cluster_update: s(600),
                cluster_delete: s(300),
                pool_create: s(240),
                pool_update: s(180),
                pool_delete: s(200),
                bucket_create: s(20),
                bucket_delete: s(5),
                identity_create: s(5),
                identity_bind: s(30),
                identity_delete: s(5),
                support_create: s(25),
                support_delete: s(15),
            },
        }
    }
}
