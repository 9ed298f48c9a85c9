//! Retrying single requests, as a layer around any provider.
//!
//! [`RetryLayer`] wraps an `Arc<dyn Provider>` and is one itself: every
//! request that fails with a temporary error (throttling, a 5xx, a timeout,
//! a busy cluster) is tried again after a jittered backoff that honours the
//! server's retry-after, up to a number of attempts. Callers and the engine
//! never write their own backoff loops.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::Result;
use crate::operation::{Backoff, Operation};
use crate::provider::*;

/// How hard to retry.
#[derive(Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Delays between attempts.
    pub backoff: Backoff,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 8,
            backoff: Backoff::default(),
        }
    }
}

/// A provider whose requests are retried on temporary errors.
pub struct RetryLayer {
    inner: Arc<dyn Provider>,
    policy: RetryPolicy,
}

impl RetryLayer {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Provider>, policy: RetryPolicy) -> RetryLayer {
        RetryLayer { inner, policy }
    }

    async fn retry<T, F, Fut>(&self, what: &str, mut request: F) -> Result<T>
    where
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = Result<T>> + Send,
        T: Send,
    {
        let mut attempt = 0;
        loop {
            match request().await {
                Err(error) if error.is_temporary() && attempt + 1 < self.policy.max_attempts => {
                    let delay = error
                        .retry_after()
                        .unwrap_or_default()
                        .max(self.policy.backoff.delay(attempt));
                    tracing::debug!(request = what, attempt, ?delay, %error, "retrying");
                    attempt += 1;
                    tokio::time::sleep(delay).await;
                }
                outcome => return outcome,
            }
        }
    }
}

#[async_trait]
impl ClusterOps for RetryLayer {
    async fn create_cluster(
        &self,
        config: &ClusterConfig,
        initial_pools: &[NodePoolConfig],
    ) -> Result<Operation> {
        self.retry("create_cluster", || {
            self.inner.create_cluster(config, initial_pools)
        })
        .await
    }
    async fn get_cluster(&self, name: &str) -> Result<Option<ClusterState>> {
        self.retry("get_cluster", || self.inner.get_cluster(name))
            .await
    }
    async fn update_cluster(&self, config: &ClusterConfig) -> Result<Operation> {
        self.retry("update_cluster", || self.inner.update_cluster(config))
            .await
    }
    async fn delete_cluster(&self, name: &str) -> Result<Operation> {
        self.retry("delete_cluster", || self.inner.delete_cluster(name))
            .await
    }
    async fn list_clusters(&self, hub: &str) -> Result<Vec<ClusterState>> {
        self.retry("list_clusters", || self.inner.list_clusters(hub))
            .await
    }
}

#[async_trait]
impl NodePoolOps for RetryLayer {
    async fn create_node_pool(&self, cluster: &str, config: &NodePoolConfig) -> Result<Operation> {
        self.retry("create_node_pool", || {
            self.inner.create_node_pool(cluster, config)
        })
        .await
    }
    async fn get_node_pool(&self, cluster: &str, name: &str) -> Result<Option<NodePoolState>> {
        self.retry("get_node_pool", || self.inner.get_node_pool(cluster, name))
            .await
    }
    async fn update_node_pool(&self, cluster: &str, config: &NodePoolConfig) -> Result<Operation> {
        self.retry("update_node_pool", || {
            self.inner.update_node_pool(cluster, config)
        })
        .await
    }
    async fn delete_node_pool(&self, cluster: &str, name: &str) -> Result<Operation> {
        self.retry("delete_node_pool", || {
            self.inner.delete_node_pool(cluster, name)
        })
        .await
    }
    async fn list_node_pools(&self, cluster: &str) -> Result<Vec<NodePoolState>> {
        self.retry("list_node_pools", || self.inner.list_node_pools(cluster))
            .await
    }
}

#[async_trait]
impl BucketOps for RetryLayer {
    async fn create_bucket(&self, config: &BucketConfig) -> Result<Operation> {
        self.retry("create_bucket", || self.inner.create_bucket(config))
            .await
    }
    async fn get_bucket(&self, name: &str) -> Result<Option<BucketState>> {
        self.retry("get_bucket", || self.inner.get_bucket(name))
            .await
    }
    async fn update_bucket(&self, config: &BucketConfig) -> Result<Operation> {
        self.retry("update_bucket", || self.inner.update_bucket(config))
            .await
    }
    async fn delete_bucket(&self, name: &str, deletion: BucketDeletion) -> Result<Operation> {
        self.retry("delete_bucket", || self.inner.delete_bucket(name, deletion))
            .await
    }
    async fn list_buckets(&self, hub: &str) -> Result<Vec<BucketState>> {
        self.retry("list_buckets", || self.inner.list_buckets(hub))
            .await
    }
}

#[async_trait]
impl IdentityOps for RetryLayer {
    async fn create_identity(&self, config: &IdentityConfig) -> Result<Operation> {
        self.retry("create_identity", || self.inner.create_identity(config))
            .await
    }
    async fn get_identity(&self, name: &str) -> Result<Option<IdentityState>> {
        self.retry("get_identity", || self.inner.get_identity(name))
            .await
    }
    async fn update_identity(&self, config: &IdentityConfig) -> Result<Operation> {
        self.retry("update_identity", || self.inner.update_identity(config))
            .await
    }
    async fn bind_identity(&self, name: &str, binding: &IdentityBinding) -> Result<Operation> {
        self.retry("bind_identity", || self.inner.bind_identity(name, binding))
            .await
    }
    async fn delete_identity(&self, name: &str) -> Result<Operation> {
        self.retry("delete_identity", || self.inner.delete_identity(name))
            .await
    }
    async fn list_identities(&self, hub: &str) -> Result<Vec<IdentityState>> {
        self.retry("list_identities", || self.inner.list_identities(hub))
            .await
    }
}

#[async_trait]
impl SupportOps for RetryLayer {
    fn supporting_resources(&self, hub: &HubOutline) -> Vec<SupportRequirement> {
        self.inner.supporting_resources(hub)
    }
    async fn create_support(&self, config: &SupportConfig) -> Result<Operation> {
        self.retry("create_support", || self.inner.create_support(config))
            .await
    }
    async fn get_support(&self, kind: SupportKind, name: &str) -> Result<Option<SupportState>> {
        self.retry("get_support", || self.inner.get_support(kind, name))
            .await
    }
    async fn update_support(&self, config: &SupportConfig) -> Result<Operation> {
        self.retry("update_support", || self.inner.update_support(config))
            .await
    }
    async fn delete_support(&self, kind: SupportKind, name: &str) -> Result<Operation> {
        self.retry("delete_support", || self.inner.delete_support(kind, name))
            .await
    }
    async fn list_support(&self, hub: &str) -> Result<Vec<SupportState>> {
        self.retry("list_support", || self.inner.list_support(hub))
            .await
    }
}

#[async_trait]
impl Provider for RetryLayer {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn naming_cloud(&self) -> crate::spec::Cloud {
        self.inner.naming_cloud()
    }
    fn workload_identity(&self, identity: &IdentityState) -> WorkloadIdentity {
        self.inner.workload_identity(identity)
    }
    fn cloud_node_label(&self, pool: &str) -> (String, String) {
        self.inner.cloud_node_label(pool)
    }
    fn serialization_keys(&self, mutation: &Mutation<'_>) -> Vec<String> {
        self.inner.serialization_keys(mutation)
    }
    fn kubeconfig(&self, cluster: &ClusterState) -> String {
        self.inner.kubeconfig(cluster)
    }
    async fn account_scope(&self) -> Result<String> {
        self.retry("account_scope", || self.inner.account_scope())
            .await
    }
}
