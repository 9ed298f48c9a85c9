//! Layers around a provider: one wrapper that forwards every request of
//! every trait through an [`Intercept`], so retrying, rate limiting (and
//! later metrics or tracing) are each a small interceptor, not another copy
//! of forty forwarding methods.
//!
//! ```
//! # use std::sync::Arc;
//! use provider_core::retry::{RetryLayer, RetryPolicy};
//! use provider_core::sim::SimCloud;
//! let provider = Arc::new(SimCloud::in_memory());
//! let retried = RetryLayer::new(provider, RetryPolicy::default());
//! # let _ = retried;
//! ```

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::Result;
use crate::operation::Operation;
use crate::provider::*;

/// One request a layer sees: its name and whether it changes the cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// The trait method (`create_cluster`, `list_buckets`).
    pub name: &'static str,
    /// Whether it changes the cloud (clouds budget writes apart).
    pub writes: bool,
}

impl Request {
    const fn read(name: &'static str) -> Request {
        Request {
            name,
            writes: false,
        }
    }

    const fn write(name: &'static str) -> Request {
        Request { name, writes: true }
    }
}

/// What a layer does around each request. `call` sends the request to the
/// wrapped provider; an interceptor may call it again (retry), wait before
/// it (rate limit), or just watch.
pub trait Intercept: Send + Sync + 'static {
    /// Runs one request through the layer.
    fn around<T, F, Fut>(
        &self,
        request: Request,
        call: F,
    ) -> impl Future<Output = Result<T>> + Send
    where
        T: Send,
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = Result<T>> + Send;

    /// A long-running operation a request started: its polls are requests
    /// too (a rate limit counts them).
    fn operation(&self, operation: Operation) -> Operation {
        operation
    }
}

/// An answer coming back through a layer: operations meet
/// [`Intercept::operation`], everything else passes as it is.
trait Through {
    fn through<L: Intercept>(self, layer: &L) -> Self;
}

impl Through for Operation {
    fn through<L: Intercept>(self, layer: &L) -> Operation {
        layer.operation(self)
    }
}

macro_rules! passes_through {
    ($($ty:ty),*) => {$(
        impl Through for $ty {
            fn through<L: Intercept>(self, _: &L) -> $ty {
                self
            }
        }
    )*};
}
passes_through!(
    String,
    Option<ClusterState>,
    Vec<ClusterState>,
    Option<NodePoolState>,
    Vec<NodePoolState>,
    Option<BucketState>,
    Vec<BucketState>,
    Option<IdentityState>,
    Vec<IdentityState>,
    Option<SupportState>,
    Vec<SupportState>
);

/// A provider seen through a layer; itself a provider.
pub struct Layered<L> {
    inner: Arc<dyn Provider>,
    layer: L,
}

impl<L: Intercept> Layered<L> {
    /// `inner` seen through `layer`.
    pub fn with(inner: Arc<dyn Provider>, layer: L) -> Layered<L> {
        Layered { inner, layer }
    }

    /// The layer.
    pub fn layer(&self) -> &L {
        &self.layer
    }
}

/// Implements `$trait` for `Layered<L>`: the methods listed go to `inner`
/// through the layer; the items in braces are written out as they are.
macro_rules! layered {
    ($trait:ident { $($plain:tt)* } $($kind:ident $name:ident($($arg:ident: $ty:ty),*) -> $out:ty;)*) => {
        #[async_trait]
        impl<L: Intercept> $trait for Layered<L> {
            $($plain)*
            $(
                async fn $name(&self, $($arg: $ty),*) -> Result<$out> {
                    self.layer
                        .around(Request::$kind(stringify!($name)), || self.inner.$name($($arg),*))
                        .await
                        .map(|out| out.through(&self.layer))
                }
            )*
        }
    };
}

layered! { ClusterOps {}
    write create_cluster(config: &ClusterConfig, initial_pools: &[NodePoolConfig]) -> Operation;
    read get_cluster(name: &str) -> Option<ClusterState>;
    write update_cluster(config: &ClusterConfig) -> Operation;
    write delete_cluster(name: &str) -> Operation;
    read list_clusters(hub: &str) -> Vec<ClusterState>;
}

layered! { NodePoolOps {}
    write create_node_pool(cluster: &str, config: &NodePoolConfig) -> Operation;
    read get_node_pool(cluster: &str, name: &str) -> Option<NodePoolState>;
    write update_node_pool(cluster: &str, config: &NodePoolConfig) -> Operation;
    write delete_node_pool(cluster: &str, name: &str) -> Operation;
    read list_node_pools(cluster: &str) -> Vec<NodePoolState>;
}

layered! { BucketOps {}
    write create_bucket(config: &BucketConfig) -> Operation;
    read get_bucket(name: &str) -> Option<BucketState>;
    write update_bucket(config: &BucketConfig) -> Operation;
    write delete_bucket(name: &str, deletion: BucketDeletion) -> Operation;
    read list_buckets(hub: &str) -> Vec<BucketState>;
}

layered! { IdentityOps {}
    write create_identity(config: &IdentityConfig) -> Operation;
    read get_identity(name: &str) -> Option<IdentityState>;
    write update_identity(config: &IdentityConfig) -> Operation;
    write bind_identity(name: &str, binding: &IdentityBinding) -> Operation;
    write delete_identity(name: &str) -> Operation;
    read list_identities(hub: &str) -> Vec<IdentityState>;
}

layered! { SupportOps {
        fn supporting_resources(&self, hub: &HubOutline) -> Vec<SupportRequirement> {
            self.inner.supporting_resources(hub)
        }
    }
    write create_support(config: &SupportConfig) -> Operation;
    read get_support(kind: SupportKind, name: &str) -> Option<SupportState>;
    write update_support(config: &SupportConfig) -> Operation;
    write delete_support(kind: SupportKind, name: &str) -> Operation;
    read list_support(hub: &str) -> Vec<SupportState>;
}

layered! { Provider {
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
    }
    read account_scope() -> String;
}
