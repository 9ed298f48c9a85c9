//! hubforge provider for AWS: EKS clusters and managed node groups, a VPC
//! with public subnets (feature `vpc`, on by default), IAM roles for the
//! cluster, the nodes and each workload identity (IRSA through the
//! cluster's OIDC provider), S3 buckets, and an S3 state store whose lock
//! uses S3's conditional writes.
//!
//! The files mirror the other providers: `builder`, `credential`, `client`,
//! `error`, `cluster`, `node_pool`, `bucket`, `identity`, `state`, plus
//! `support` (roles, OIDC provider, network) and `policy` (IAM documents).

mod arn;
mod bucket;
mod builder;
mod client;
mod cluster;
mod credential;
#[cfg(test)]
mod double;
mod error;
mod fresh;
mod identity;
#[cfg(feature = "vpc")]
mod network;
mod node_pool;
mod oidc;
mod policy;
mod state;
mod support;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use provider_core::interrupt::Interrupter;
use provider_core::provider::*;
use provider_core::{Cloud, Result};

pub use builder::AwsBuilder;
pub use credential::StaticCredentials;
pub use state::S3StateStore;

use client::Clients;
use error::AwsResult;

/// The provider name used in spec files.
pub const PROVIDER_NAME: &str = "aws";

/// AWS as a hubforge [`Provider`]. Cheap to clone.
#[derive(Clone)]
pub struct AwsProvider {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub clients: Clients,
    pub region: String,
    /// The region's partition (`aws`, `aws-cn`, `aws-us-gov`), for ARNs.
    pub partition: &'static str,
    pub account: tokio::sync::OnceCell<String>,
    pub subnets: Vec<String>,
    pub private_nodes: bool,
    pub emulator: bool,
    pub poll_interval: Duration,
    /// Roles and OIDC providers this provider made, and when.
    pub fresh: fresh::Fresh,
    /// Where multi-step creates report their steps.
    pub interrupter: Interrupter,
}

impl AwsProvider {
    /// A provider configured from the environment (see [`AwsBuilder::from_env`]).
    pub async fn from_env() -> Result<AwsProvider> {
        AwsBuilder::from_env().build().await
    }

    pub(crate) async fn connect(builder: AwsBuilder) -> Result<AwsProvider> {
        let region = builder.region.clone().expect("checked by the builder");
        let clients = Clients::load(&builder, &region).await;
        let poll_interval = builder.poll_interval.unwrap_or(if builder.emulator {
            Duration::from_millis(20)
        } else {
            Duration::from_secs(10)
        });
        Ok(AwsProvider {
            inner: Arc::new(Inner {
                clients,
                partition: arn::partition(&region),
                region,
                account: tokio::sync::OnceCell::new(),
                subnets: builder.subnets,
                private_nodes: builder.private_nodes,
                emulator: builder.emulator,
                poll_interval,
                fresh: fresh::Fresh::default(),
                interrupter: builder.interrupter.clone(),
            }),
        })
    }

    /// The region this provider works in.
    pub fn region(&self) -> &str {
        &self.inner.region
    }
}

impl Inner {
    /// The account id, asked of STS once.
    pub async fn account(&self) -> Result<String> {
        self.account
            .get_or_try_init(|| async {
                let identity = self
                    .clients
                    .sts
                    .get_caller_identity()
                    .send()
                    .await
                    .or_aws("sts")?;
                Ok(identity.account().unwrap_or_default().to_string())
            })
            .await
            .cloned()
    }

    /// Subnet ids for the hub's cluster (`for_nodes: false`) or its nodes:
    /// the spec's own, or the hub VPC's (its private ones for nodes when
    /// nodes are private).
    pub async fn subnet_ids(
        &self,
        provider: &AwsProvider,
        hub: &str,
        for_nodes: bool,
    ) -> Result<Vec<String>> {
        if !self.subnets.is_empty() {
            return Ok(self.subnets.clone());
        }
        #[cfg(feature = "vpc")]
        return provider
            .vpc_subnet_ids(hub, for_nodes && self.private_nodes)
            .await;
        #[cfg(not(feature = "vpc"))]
        {
            let _ = (provider, for_nodes);
            Err(error::local(
                provider_core::ErrorKind::InvalidSpec {
                    path: "aws.subnets".into(),
                    reason: "no subnets".into(),
                },
                hub,
                "name the subnets in the spec's `aws.subnets`",
            ))
        }
    }

    pub fn role_arn(&self, account: &str, role: &str) -> String {
        arn::role(self.partition, account, role)
    }
}

/// Checks that a resource a create found by its name is the very hub
/// resource `desired` tags describe; anything else is refused with
/// `AlreadyExists`, and left as it is.
pub(crate) fn same_or_refuse(
    what: &str,
    name: &str,
    existing: &std::collections::BTreeMap<String, String>,
    desired: &std::collections::BTreeMap<String, String>,
) -> Result<()> {
    claim_existing(PROVIDER_NAME, what, name, existing, desired)
}

/// What a create that may have been made already answered: made now, or
/// `AlreadyExists` (by an earlier run, or by this one before an answer was
/// lost). Then `read` reads it (its tags and status): this very hub
/// resource is waited for, unless it is going; anything else is refused,
/// untouched.
pub(crate) async fn made_or_adopted<T, F, Fut>(
    what: &str,
    name: &str,
    created: Result<T>,
    desired: &std::collections::BTreeMap<String, String>,
    read: F,
) -> Result<()>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<
            Output = Result<Option<(std::collections::BTreeMap<String, String>, ResourceStatus)>>,
        >,
{
    let error = match created {
        Ok(_) => return Ok(()),
        Err(error) if error.kind() == &provider_core::ErrorKind::AlreadyExists => error,
        Err(error) => return Err(error),
    };
    let (tags, status) = read().await?.ok_or(error)?;
    same_or_refuse(what, name, &tags, desired)?;
    if status == ResourceStatus::Deleting {
        return Err(error::local(
            provider_core::ErrorKind::Conflict,
            name,
            format!("the {what} is being deleted; it is made again once it is gone"),
        ));
    }
    Ok(())
}

/// The steps of one multi-step create, reported to the interrupter (see
/// [`provider_core::interrupt`]); an update reports none.
pub(crate) struct Steps<'a> {
    interrupter: Option<&'a Interrupter>,
    kind: &'a str,
    name: &'a str,
}

impl<'a> Steps<'a> {
    /// The steps of creating `name`, a `kind` (`bucket`, or a support
    /// kind as [`SupportKind::as_str`] spells it).
    pub fn of(inner: &'a Inner, kind: &'a str, name: &'a str) -> Steps<'a> {
        Steps {
            interrupter: Some(&inner.interrupter),
            kind,
            name,
        }
    }

    /// No create: nothing to report.
    pub fn none() -> Steps<'static> {
        Steps {
            interrupter: None,
            kind: "",
            name: "",
        }
    }

    /// Step `step` (1-based) is done; an armed interrupter stops here.
    pub fn done(&self, step: usize, what: &str) -> Result<()> {
        match self.interrupter {
            Some(interrupter) => {
                interrupter.step_done(PROVIDER_NAME, self.kind, self.name, step, what)
            }
            None => Ok(()),
        }
    }
}

#[async_trait]
impl Provider for AwsProvider {
    fn name(&self) -> &str {
        PROVIDER_NAME
    }

    fn capabilities(&self) -> Capabilities {
        let real = !self.inner.emulator;
        Capabilities {
            one_operation_per_cluster: false,
            pools_in_cluster_create: false,
            operations_take_time: real,
            // moto does not implement UpdateClusterVersion.
            cluster_version_upgrade: real,
            pool_labels_in_place: true,
            // EKS refuses to delete a cluster that still has node groups.
            cluster_delete_removes_pools: false,
            system_pools: false,
            poll_interval: self.inner.poll_interval,
            ..Capabilities::default()
        }
    }

    fn naming_cloud(&self) -> Cloud {
        Cloud::Aws
    }

    async fn account_scope(&self) -> Result<String> {
        self.inner.account().await
    }

    fn workload_identity(&self, identity: &IdentityState) -> WorkloadIdentity {
        provider_core::facts::workload_identity(Cloud::Aws, &identity.principal)
    }

    fn cloud_node_label(&self, pool: &str) -> (String, String) {
        (
            provider_core::facts::node_pool_label(Cloud::Aws).into(),
            pool.into(),
        )
    }

    /// EKS takes several operations on one cluster at once.
    fn serialization_keys(&self, _mutation: &Mutation<'_>) -> Vec<String> {
        Vec::new()
    }

    /// The user runs `aws eks get-token`, so the kubeconfig holds no token.
    fn kubeconfig(&self, cluster: &ClusterState) -> String {
        let name = &cluster.config.name;
        let server = cluster.endpoint.clone().unwrap_or_default();
        let ca = cluster.ca_data.clone().unwrap_or_default();
        let region = &self.inner.region;
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\ncontexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\ncurrent-context: {name}\nusers:\n- name: {name}\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: aws\n      args: [eks, get-token, --cluster-name, {name}, --region, {region}, --output, json]\n      interactiveMode: Never\n"
        )
    }
}
