//! EKS clusters: created with the cluster role, the hub's subnets,
//! control-plane logging and tags; waited for by describing until ACTIVE.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_eks::config::http::HttpResponse;
use aws_sdk_eks::error::SdkError;
use aws_sdk_eks::operation::create_cluster::CreateClusterError;
use aws_sdk_eks::types::{
    Cluster, ClusterStatus, LogSetup, LogType, Logging, UpdateStatus, VpcConfigRequest,
};
use provider_core::error::ResultExt;
use provider_core::names;
use provider_core::operation::{
    Observed, Operation, OperationStatus, PollFn, Progress, Until, Watch,
};
use provider_core::provider::*;
use provider_core::tags::{self, TagDiff, Tags};
use provider_core::{ErrorKind, Result};

use crate::error::{AwsResult, Intent, PROVIDER, every, local};
use crate::fresh::Principal;
use crate::{AwsProvider, made_or_adopted};

/// The control-plane logs a hub operator needs to answer "who did what".
const LOGS: [LogType; 3] = [LogType::Api, LogType::Audit, LogType::Authenticator];

/// The zones EKS named when it refused the cluster's subnets for being in
/// a zone it does not support.
fn refused_zones(error: &SdkError<CreateClusterError, HttpResponse>) -> Option<Vec<String>> {
    match error.as_service_error()? {
        CreateClusterError::UnsupportedAvailabilityZoneException(refusal) => {
            Some(refusal.valid_zones().to_vec())
        }
        _ => None,
    }
}

/// The log group EKS writes a cluster's control-plane logs to.
fn log_group_name(cluster: &str) -> String {
    format!("/aws/eks/{cluster}/cluster")
}

pub(crate) fn status_of(status: Option<&ClusterStatus>) -> ResourceStatus {
    match status {
        Some(ClusterStatus::Active) => ResourceStatus::Ready,
        Some(ClusterStatus::Creating) | Some(ClusterStatus::Pending) => ResourceStatus::Creating,
        Some(ClusterStatus::Updating) => ResourceStatus::Updating,
        Some(ClusterStatus::Deleting) => ResourceStatus::Deleting,
        Some(other) => ResourceStatus::Failed(other.as_str().to_string()),
        None => ResourceStatus::Failed("no status".into()),
    }
}

/// The messages EKS gives (an update's errors, a node group's health
/// issues), in one line.
pub(crate) fn joined<'a>(messages: impl Iterator<Item = Option<&'a str>>) -> String {
    messages.flatten().collect::<Vec<_>>().join("; ")
}

/// A running update (`describe_update`) as an operation status.
pub(crate) fn update_status(status: Option<&UpdateStatus>, errors: String) -> OperationStatus {
    match status {
        Some(UpdateStatus::Successful) => OperationStatus::Succeeded,
        Some(UpdateStatus::Failed) | Some(UpdateStatus::Cancelled) => {
            OperationStatus::Failed(local(
                ErrorKind::Permanent,
                "update",
                format!("the update failed: {errors}"),
            ))
        }
        other => OperationStatus::Running(Progress {
            status: other.map_or("InProgress", |s| s.as_str()).to_string(),
            percent: None,
            retry_after: None,
        }),
    }
}

impl AwsProvider {
    pub(crate) async fn describe_cluster(&self, name: &str) -> Result<Option<Cluster>> {
        let out = self
            .inner
            .clients
            .eks
            .describe_cluster()
            .name(name)
            .send()
            .await
            .or_aws(name)
            .optional()?;
        Ok(out.and_then(|o| o.cluster().cloned()))
    }

    fn cluster_state(&self, cluster: &Cluster) -> ClusterState {
        let tags: BTreeMap<String, String> = cluster
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        ClusterState {
            config: ClusterConfig {
                name: cluster.name().unwrap_or_default().to_string(),
                region: self.inner.region.clone(),
                kubernetes_version: cluster.version().unwrap_or_default().to_string(),
                tags,
            },
            status: status_of(cluster.status()),
            endpoint: cluster.endpoint().map(str::to_string),
            oidc_issuer: cluster
                .identity()
                .and_then(|i| i.oidc())
                .and_then(|o| o.issuer())
                .map(str::to_string),
            ca_data: cluster
                .certificate_authority()
                .and_then(|c| c.data())
                .map(str::to_string),
        }
    }

    /// Watches a cluster until it is ready or gone; once gone, its
    /// control-plane log group goes too (EKS leaves it behind).
    fn cluster_watch(&self, name: &str, until: Until) -> PollFn {
        let (provider, name) = (self.clone(), name.to_string());
        let watch = Watch::new(PROVIDER, name.clone(), "the cluster", "EKS", until);
        watch.poll(move || {
            let (provider, name) = (provider.clone(), name.clone());
            async move {
                let cluster = provider.describe_cluster(&name).await?;
                if cluster.is_none() && until == Until::Gone {
                    provider.delete_log_group(&name).await?;
                }
                Ok(cluster.map(|c| {
                    let word = c.status().map_or("UNKNOWN", |s| s.as_str());
                    Observed::new(status_of(c.status()), word)
                }))
            }
        })
    }

    /// The cluster's OIDC issuer without `https://`. A missing cluster is
    /// `missing` (NotFound for a binding, Conflict for what may wait for it).
    pub(crate) async fn cluster_issuer(
        &self,
        cluster: &str,
        missing: ErrorKind,
        resource: &str,
    ) -> Result<String> {
        let described = self.describe_cluster(cluster).await?.ok_or_else(|| {
            local(
                missing,
                resource,
                format!("the cluster {cluster} does not exist"),
            )
        })?;
        let issuer = described
            .identity()
            .and_then(|i| i.oidc())
            .and_then(|o| o.issuer());
        let issuer = issuer.ok_or_else(|| {
            local(
                ErrorKind::Conflict,
                resource,
                "the cluster has no OIDC issuer yet",
            )
        })?;
        Ok(issuer.trim_start_matches("https://").to_string())
    }

    /// The control-plane log group EKS makes for a cluster with logging on
    /// (it outlives the cluster), if it is there.
    pub(crate) async fn log_group(&self, cluster: &str) -> Result<Option<String>> {
        let name = log_group_name(cluster);
        let groups = every!(
            self.inner
                .clients
                .logs
                .describe_log_groups()
                .log_group_name_prefix(&name),
            &name
        )
        .await?;
        Ok(groups
            .iter()
            .any(|g| g.log_group_name() == Some(name.as_str()))
            .then_some(name))
    }

    /// Deletes the cluster's control-plane log group, if it is there.
    pub(crate) async fn delete_log_group(&self, cluster: &str) -> Result<()> {
        let name = log_group_name(cluster);
        self.inner
            .clients
            .logs
            .delete_log_group()
            .log_group_name(&name)
            .send()
            .await
            .or_aws(&name)
            .optional()?;
        Ok(())
    }

    /// Subnets for the cluster in the zones EKS named as `valid` when it
    /// refused one of the first ones: the hub's VPC gets subnets there; the
    /// spec's own subnets are the spec's to change.
    async fn subnets_in_zones(
        &self,
        hub: &str,
        cluster: &str,
        valid: &[String],
    ) -> Result<Vec<String>> {
        #[cfg(feature = "vpc")]
        if self.inner.subnets.is_empty() {
            return self.rezone_network(hub, cluster, valid).await;
        }
        #[cfg(not(feature = "vpc"))]
        let _ = hub;
        Err(local(
            ErrorKind::InvalidSpec {
                path: "aws.subnets".into(),
                reason: "a subnet is in an availability zone EKS does not support".into(),
            },
            cluster,
            format!(
                "EKS cannot place the cluster in the availability zone of one of the spec's `aws.subnets`; name subnets in at least two of {}",
                valid.join(", ")
            ),
        ))
    }

    /// Refuses a resource for another region than the provider's.
    pub(crate) fn check_region(&self, region: &str, what: &str, name: &str) -> Result<()> {
        if region == self.inner.region {
            return Ok(());
        }
        Err(local(
            ErrorKind::InvalidSpec {
                path: "region".into(),
                reason: "region mismatch".into(),
            },
            name,
            format!(
                "the provider works in {}, the {what} asks for {region}",
                self.inner.region
            ),
        ))
    }

    /// Polls an EKS update (`describe_update`) of a cluster or, with
    /// `nodegroup`, of one of its node groups.
    pub(crate) fn update_poller(
        &self,
        cluster: &str,
        nodegroup: Option<&str>,
        update_id: &str,
    ) -> PollFn {
        let (provider, cluster, nodegroup, update_id) = (
            self.clone(),
            cluster.to_string(),
            nodegroup.map(str::to_string),
            update_id.to_string(),
        );
        PollFn::new(move || {
            let (provider, cluster, nodegroup, update_id) = (
                provider.clone(),
                cluster.clone(),
                nodegroup.clone(),
                update_id.clone(),
            );
            async move {
                let resource = nodegroup.clone().unwrap_or_else(|| cluster.clone());
                let out = provider
                    .inner
                    .clients
                    .eks
                    .describe_update()
                    .name(&cluster)
                    .set_nodegroup_name(nodegroup)
                    .update_id(&update_id)
                    .send()
                    .await
                    .or_aws(&resource)?;
                let update = out.update();
                let errors = update
                    .map(|u| joined(u.errors().iter().map(|e| e.error_message())))
                    .unwrap_or_default();
                Ok(update_status(update.and_then(|u| u.status()), errors))
            }
        })
    }

    /// Follows an EKS update just started (of a cluster, or of its
    /// `nodegroup`). moto answers updates as already successful and has no
    /// DescribeUpdate, so one that is done is not asked about.
    pub(crate) fn started_update(
        &self,
        cluster: &str,
        nodegroup: Option<&str>,
        update: Option<&aws_sdk_eks::types::Update>,
    ) -> PollFn {
        if update.and_then(|u| u.status()) == Some(&UpdateStatus::Successful) {
            return PollFn::succeeded();
        }
        let id = update.and_then(|u| u.id()).unwrap_or_default();
        self.update_poller(cluster, nodegroup, id)
    }

    /// Changes an EKS resource's tags from `current` to `tags`.
    pub(crate) async fn retag_eks(&self, arn: &str, current: &Tags, tags: &Tags) -> Result<()> {
        let eks = &self.inner.clients.eks;
        let untag = |keys| async move {
            let request = eks.untag_resource().resource_arn(arn);
            request.set_tag_keys(Some(keys)).send().await.or_aws(arn)
        };
        let tag = |set: Tags| async move {
            let request = eks.tag_resource().resource_arn(arn);
            let set = Some(set.into_iter().collect());
            request.set_tags(set).send().await.or_aws(arn)
        };
        TagDiff::between(current, tags).apply(untag, tag).await
    }
}

#[async_trait]
impl ClusterOps for AwsProvider {
    async fn create_cluster(
        &self,
        config: &ClusterConfig,
        initial_pools: &[NodePoolConfig],
    ) -> Result<Operation> {
        let name = config.name.as_str();
        if !initial_pools.is_empty() {
            return Err(local(
                ErrorKind::Unsupported {
                    operation: "create node groups with the cluster".into(),
                },
                name,
                "EKS creates node groups only after the cluster",
            ));
        }
        self.check_region(&config.region, "cluster", name)?;
        let hub = config
            .tags
            .get(TAG_CLUSTER)
            .cloned()
            .unwrap_or_else(|| name.to_string());
        let subnets = self.inner.subnet_ids(self, &hub, false).await?;
        let account = self.inner.account().await?;
        let role_name = &names::cluster_role(&hub);
        let role = self.inner.role_arn(&account, role_name);
        let logging = Logging::builder()
            .cluster_logging(
                LogSetup::builder()
                    .set_types(Some(LOGS.to_vec()))
                    .enabled(true)
                    .build(),
            )
            .build();
        let create = |subnets: Vec<String>| {
            self.inner
                .clients
                .eks
                .create_cluster()
                .name(name)
                .version(&config.kubernetes_version)
                .role_arn(&role)
                .resources_vpc_config(
                    VpcConfigRequest::builder()
                        .set_subnet_ids(Some(subnets))
                        .endpoint_public_access(true)
                        .build(),
                )
                .logging(logging.clone())
                .set_tags(Some(config.tags.clone().into_iter().collect()))
                .send()
        };
        let created = match create(subnets).await {
            Err(error) => match refused_zones(&error) {
                Some(valid) => create(self.subnets_in_zones(&hub, name, &valid).await?).await,
                None => Err(error),
            },
            created => created,
        };
        let created = created.or_aws_naming(
            Intent::Create,
            name,
            self.inner.fresh.age(&[Principal::Role(role_name)]),
        );
        let read = || async {
            let existing = self.describe_cluster(name).await?;
            let found = existing.map(|c| self.cluster_state(&c));
            Ok(found.map(|f| (f.config.tags, f.status)))
        };
        made_or_adopted("cluster", name, created, &config.tags, read).await?;
        Ok(Operation::pending(
            format!("create-cluster-{name}"),
            format!("cluster/{name}"),
            Box::new(self.cluster_watch(name, Until::Ready)),
        ))
    }

    async fn get_cluster(&self, name: &str) -> Result<Option<ClusterState>> {
        Ok(self
            .describe_cluster(name)
            .await?
            .map(|c| self.cluster_state(&c)))
    }

    async fn update_cluster(&self, config: &ClusterConfig) -> Result<Operation> {
        let name = config.name.as_str();
        let cluster = self
            .describe_cluster(name)
            .await?
            .ok_or_else(|| local(ErrorKind::NotFound, name, "no such cluster"))?;
        let current = self.cluster_state(&cluster);
        self.retag_eks(
            cluster.arn().unwrap_or_default(),
            &current.config.tags,
            &config.tags,
        )
        .await?;
        if current.config.kubernetes_version == config.kubernetes_version {
            return Ok(Operation::completed(
                format!("tag-cluster-{name}"),
                format!("cluster/{name}"),
            ));
        }
        let update = self
            .inner
            .clients
            .eks
            .update_cluster_version()
            .name(name)
            .version(&config.kubernetes_version)
            .send()
            .await
            .or_aws(name)?;
        let id = update
            .update()
            .and_then(|u| u.id())
            .unwrap_or_default()
            .to_string();
        let poll = self.started_update(name, None, update.update());
        Ok(Operation::pending(
            id,
            format!("cluster/{name}"),
            Box::new(poll),
        ))
    }

    async fn delete_cluster(&self, name: &str) -> Result<Operation> {
        self.inner
            .clients
            .eks
            .delete_cluster()
            .name(name)
            .send()
            .await
            .or_aws(name)?;
        Ok(Operation::pending(
            format!("delete-cluster-{name}"),
            format!("cluster/{name}"),
            Box::new(self.cluster_watch(name, Until::Gone)),
        ))
    }

    async fn list_clusters(&self, hub: &str) -> Result<Vec<ClusterState>> {
        let names = every!(self.inner.clients.eks.list_clusters(), "eks").await?;
        let owned = tags::owned(hub, names, |name| async move {
            let cluster = self.describe_cluster(&name).await?;
            Ok(cluster.map(|c| {
                let state = self.cluster_state(&c);
                let tags = state.config.tags.clone();
                (state, tags)
            }))
        })
        .await?;
        Ok(owned.into_iter().map(|(state, _)| state).collect())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_eks::types::error::{
        InvalidParameterException, UnsupportedAvailabilityZoneException,
    };

    use super::*;

    fn answer(error: CreateClusterError) -> SdkError<CreateClusterError, HttpResponse> {
        let body = aws_sdk_s3::primitives::ByteStream::from_static(b"").into_inner();
        SdkError::service_error(error, HttpResponse::new(400u16.try_into().unwrap(), body))
    }

    #[test]
    fn the_zones_eks_names_when_it_refuses_one_are_taken() {
        let refusal = UnsupportedAvailabilityZoneException::builder()
            .message("Cannot create cluster because us-east-1e does not currently have sufficient capacity")
            .valid_zones("us-east-1a")
            .valid_zones("us-east-1b")
            .build();
        assert_eq!(
            refused_zones(&answer(
                CreateClusterError::UnsupportedAvailabilityZoneException(refusal)
            )),
            Some(vec!["us-east-1a".to_string(), "us-east-1b".to_string()])
        );
        let other = InvalidParameterException::builder().message("no").build();
        assert_eq!(
            refused_zones(&answer(CreateClusterError::InvalidParameterException(
                other
            ))),
            None
        );
    }
}
