//! EKS managed node groups: scaling, instance type, spot capacity, Amazon
//! Linux 2023 images (the NVIDIA variant for GPU types), labels, taints,
//! disk size, the node role, and the cluster-autoscaler discovery tags.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_eks::types::{
    AmiTypes, CapacityTypes, Nodegroup, NodegroupScalingConfig, NodegroupStatus, Taint as EksTaint,
    TaintEffect, UpdateLabelsPayload, UpdateTaintsPayload,
};
use provider_core::error::ResultExt;
use provider_core::names;
use provider_core::operation::{Observed, Operation, PollFn, Until, Watch};
use provider_core::provider::*;
use provider_core::tags::TagDiff;
use provider_core::validate::Taint;
use provider_core::{Cloud, ErrorKind, Result};

use crate::cluster::joined;
use crate::error::{AwsResult, Intent, PROVIDER, every, local};
use crate::fresh::Principal;
use crate::{AwsProvider, made_or_adopted};

/// Instance families with NVIDIA GPUs, which need the NVIDIA AMI.
const GPU_FAMILIES: &[&str] = &["g4dn", "g5", "g6", "g6e", "p3", "p4d", "p5"];

/// Tags the cluster autoscaler discovers node groups by. Added on create
/// and left out when reading, so they never show as drift.
fn autoscaler_tags(cluster: &str) -> [(String, String); 2] {
    [
        ("k8s.io/cluster-autoscaler/enabled".into(), "true".into()),
        (
            format!("k8s.io/cluster-autoscaler/{cluster}"),
            "owned".into(),
        ),
    ]
}

fn ami_for(instance_type: &str) -> AmiTypes {
    let family = instance_type.split('.').next().unwrap_or_default();
    if GPU_FAMILIES.contains(&family) {
        AmiTypes::Al2023X8664Nvidia
    } else {
        AmiTypes::Al2023X8664Standard
    }
}

fn eks_taint(taint: &Taint) -> EksTaint {
    let effect = match taint.effect.as_str() {
        "NoExecute" => TaintEffect::NoExecute,
        "PreferNoSchedule" => TaintEffect::PreferNoSchedule,
        _ => TaintEffect::NoSchedule,
    };
    EksTaint::builder()
        .key(&taint.key)
        .value(&taint.value)
        .effect(effect)
        .build()
}

fn core_taint(taint: &EksTaint) -> Taint {
    let effect = match taint.effect() {
        Some(TaintEffect::NoExecute) => "NoExecute",
        Some(TaintEffect::PreferNoSchedule) => "PreferNoSchedule",
        _ => "NoSchedule",
    };
    Taint {
        key: taint.key().unwrap_or_default().into(),
        value: taint.value().unwrap_or_default().into(),
        effect: effect.into(),
    }
}

fn status_of(status: Option<&NodegroupStatus>) -> ResourceStatus {
    match status {
        Some(NodegroupStatus::Active) => ResourceStatus::Ready,
        Some(NodegroupStatus::Creating) => ResourceStatus::Creating,
        Some(NodegroupStatus::Updating) => ResourceStatus::Updating,
        Some(NodegroupStatus::Deleting) => ResourceStatus::Deleting,
        Some(other) => ResourceStatus::Failed(other.as_str().to_string()),
        None => ResourceStatus::Failed("no status".into()),
    }
}

impl AwsProvider {
    async fn describe_nodegroup(&self, cluster: &str, name: &str) -> Result<Option<Nodegroup>> {
        let out = self
            .inner
            .clients
            .eks
            .describe_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .send()
            .await
            .or_aws(name)
            .optional()?;
        Ok(out.and_then(|o| o.nodegroup().cloned()))
    }

    /// Starts moving a node group's nodes to Kubernetes `version` (the
    /// latest image for it); the poller follows the update.
    async fn update_pool_version(
        &self,
        cluster: &str,
        name: &str,
        version: &str,
    ) -> Result<PollFn> {
        let update = self
            .inner
            .clients
            .eks
            .update_nodegroup_version()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .version(version)
            .send()
            .await
            .or_aws(name)?;
        Ok(self.started_update(cluster, Some(name), update.update()))
    }

    /// The names of every node group of `cluster`.
    pub(crate) async fn nodegroup_names(&self, cluster: &str) -> Result<Vec<String>> {
        every!(
            self.inner
                .clients
                .eks
                .list_nodegroups()
                .cluster_name(cluster),
            cluster
        )
        .await
    }

    fn pool_state(&self, cluster: &str, group: &Nodegroup) -> NodePoolState {
        let scaling = group.scaling_config();
        let hidden: Vec<String> = autoscaler_tags(cluster)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let tags: BTreeMap<String, String> = group
            .tags()
            .map(|t| {
                t.iter()
                    .filter(|(k, _)| !hidden.contains(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let mut taints: Vec<Taint> = group.taints().iter().map(core_taint).collect();
        taints.sort();
        NodePoolState {
            config: NodePoolConfig {
                name: group.nodegroup_name().unwrap_or_default().into(),
                // EKS has no system pools.
                role: PoolRole::User,
                kubernetes_version: group.version().unwrap_or_default().into(),
                instance_type: group.instance_types().first().cloned().unwrap_or_default(),
                accelerator: None,
                min: scaling
                    .and_then(|s| s.min_size())
                    .unwrap_or_default()
                    .max(0) as u32,
                max: scaling
                    .and_then(|s| s.max_size())
                    .unwrap_or_default()
                    .max(0) as u32,
                spot: group.capacity_type() == Some(&CapacityTypes::Spot),
                disk_gib: group.disk_size().map(|d| d as u32),
                labels: group
                    .labels()
                    .map(|l| l.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default(),
                taints,
                tags,
            },
            status: status_of(group.status()),
        }
    }

    /// Watches a node group until it is ready or gone; a failed one is
    /// reported with the health issues EKS names.
    fn pool_watch(&self, cluster: &str, name: &str, until: Until) -> PollFn {
        let (provider, cluster, name) = (self.clone(), cluster.to_string(), name.to_string());
        let watch = Watch::new(PROVIDER, name.clone(), "the node group", "EKS", until);
        watch.poll(move || {
            let (provider, cluster, name) = (provider.clone(), cluster.clone(), name.clone());
            async move {
                let group = provider.describe_nodegroup(&cluster, &name).await?;
                Ok(group.as_ref().map(observed))
            }
        })
    }
}

/// A node group as a watch sees it: a failed one with its health issues.
fn observed(group: &Nodegroup) -> Observed {
    let status = match status_of(group.status()) {
        ResourceStatus::Failed(reason) => {
            let issues = group
                .health()
                .map(|h| joined(h.issues().iter().map(|i| i.message())))
                .unwrap_or_default();
            ResourceStatus::Failed(format!("{reason}: {issues}"))
        }
        status => status,
    };
    Observed::new(status, group.status().map_or("UNKNOWN", |s| s.as_str()))
}

fn scaling(min: u32, max: u32, desired: u32) -> NodegroupScalingConfig {
    NodegroupScalingConfig::builder()
        .min_size(min as i32)
        .max_size(max as i32)
        .desired_size(desired.clamp(min, max) as i32)
        .build()
}

#[async_trait]
impl NodePoolOps for AwsProvider {
    async fn create_node_pool(&self, cluster: &str, config: &NodePoolConfig) -> Result<Operation> {
        let name = config.name.as_str();
        if config.max == 0 || config.min > config.max {
            return Err(local(
                ErrorKind::InvalidSpec {
                    path: "max".into(),
                    reason: "max must be at least 1 and at least min".into(),
                },
                name,
                "invalid scaling",
            ));
        }
        // On AWS the cluster's physical name is the hub's name.
        let subnets = self.inner.subnet_ids(self, cluster, true).await?;
        let account = self.inner.account().await?;
        let role_name = &names::node_role(Cloud::Aws, cluster);
        let node_role = self.inner.role_arn(&account, role_name);
        let mut tags = config.tags.clone();
        tags.extend(autoscaler_tags(cluster));
        let capacity = if config.spot {
            CapacityTypes::Spot
        } else {
            CapacityTypes::OnDemand
        };
        let created = self
            .inner
            .clients
            .eks
            .create_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .scaling_config(scaling(config.min, config.max, config.min))
            .instance_types(&config.instance_type)
            .ami_type(ami_for(&config.instance_type))
            .capacity_type(capacity)
            .node_role(node_role)
            .version(&config.kubernetes_version)
            .set_subnets(Some(subnets))
            .set_disk_size(config.disk_gib.map(|d| d as i32))
            .set_labels(Some(config.labels.clone().into_iter().collect()))
            .set_taints(Some(config.taints.iter().map(eks_taint).collect()))
            .set_tags(Some(tags.into_iter().collect()))
            .send()
            .await
            .or_aws_naming(
                Intent::Create,
                name,
                self.inner.fresh.age(&[Principal::Role(role_name)]),
            );
        let read = || async {
            let existing = self.describe_nodegroup(cluster, name).await?;
            let found = existing.map(|g| self.pool_state(cluster, &g));
            Ok(found.map(|f| (f.config.tags, f.status)))
        };
        made_or_adopted("node group", name, created, &config.tags, read).await?;
        Ok(Operation::pending(
            format!("create-nodegroup-{name}"),
            format!("node_pool/{cluster}/{name}"),
            Box::new(self.pool_watch(cluster, name, Until::Ready)),
        ))
    }

    async fn get_node_pool(&self, cluster: &str, name: &str) -> Result<Option<NodePoolState>> {
        Ok(self
            .describe_nodegroup(cluster, name)
            .await?
            .map(|g| self.pool_state(cluster, &g)))
    }

    async fn update_node_pool(&self, cluster: &str, config: &NodePoolConfig) -> Result<Operation> {
        let name = config.name.as_str();
        let group = self
            .describe_nodegroup(cluster, name)
            .await?
            .ok_or_else(|| local(ErrorKind::NotFound, name, "no such node group"))?;
        let current = self.pool_state(cluster, &group).config;
        let fixed = [
            (
                "instance_type",
                current.instance_type != config.instance_type,
            ),
            ("spot", current.spot != config.spot),
            (
                "disk_gib",
                config.disk_gib.is_some() && current.disk_gib != config.disk_gib,
            ),
        ];
        if let Some((field, _)) = fixed.iter().find(|(_, changed)| *changed) {
            return Err(local(
                ErrorKind::Unsupported {
                    operation: format!("change {field} of a node group in place"),
                },
                name,
                format!("{field} is fixed when a node group is created; replace it instead"),
            ));
        }
        self.retag_eks(
            group.nodegroup_arn().unwrap_or_default(),
            &current.tags,
            &config.tags,
        )
        .await?;

        let desired = group
            .scaling_config()
            .and_then(|s| s.desired_size())
            .unwrap_or_default()
            .max(0) as u32;
        let mut request = self
            .inner
            .clients
            .eks
            .update_nodegroup_config()
            .cluster_name(cluster)
            .nodegroup_name(name);
        let mut changed = false;
        if (current.min, current.max) != (config.min, config.max) {
            request = request.scaling_config(scaling(config.min, config.max, desired));
            changed = true;
        }
        if current.labels != config.labels {
            let removed = TagDiff::between(&current.labels, &config.labels).remove;
            let payload = UpdateLabelsPayload::builder()
                .set_add_or_update_labels(Some(config.labels.clone().into_iter().collect()))
                .set_remove_labels((!removed.is_empty()).then_some(removed));
            request = request.labels(payload.build());
            changed = true;
        }
        let mut wanted = config.taints.clone();
        wanted.sort();
        if current.taints != wanted {
            let removed: Vec<EksTaint> = current
                .taints
                .iter()
                .filter(|t| {
                    !wanted
                        .iter()
                        .any(|w| w.key == t.key && w.effect == t.effect)
                })
                .map(eks_taint)
                .collect();
            let payload = UpdateTaintsPayload::builder()
                .set_add_or_update_taints(Some(wanted.iter().map(eks_taint).collect()))
                .set_remove_taints((!removed.is_empty()).then_some(removed));
            request = request.taints(payload.build());
            changed = true;
        }
        let resource = format!("node_pool/{cluster}/{name}");
        let configured = match changed {
            true => {
                let update = request.send().await.or_aws(name)?;
                Some(self.started_update(cluster, Some(name), update.update()))
            }
            false => None,
        };
        // The nodes' Kubernetes version is an update of its own, and EKS
        // runs one update of a node group at a time, so it starts once the
        // configuration update is done. moto has no UpdateNodegroupVersion;
        // its pools never change version, as its clusters cannot upgrade
        // (`capabilities().cluster_version_upgrade`).
        let version = (current.kubernetes_version != config.kubernetes_version)
            .then(|| config.kubernetes_version.clone());
        let poll = match (configured, version) {
            (None, None) => {
                return Ok(Operation::completed(
                    format!("tag-nodegroup-{name}"),
                    resource,
                ));
            }
            (Some(configured), None) => configured,
            (None, Some(version)) => self.update_pool_version(cluster, name, &version).await?,
            (Some(configured), Some(version)) => {
                let (provider, cluster, name) =
                    (self.clone(), cluster.to_string(), name.to_string());
                configured.then(move || {
                    let (provider, cluster, name, version) = (
                        provider.clone(),
                        cluster.clone(),
                        name.clone(),
                        version.clone(),
                    );
                    async move {
                        provider
                            .update_pool_version(&cluster, &name, &version)
                            .await
                    }
                })
            }
        };
        Ok(Operation::pending(
            format!("update-nodegroup-{name}"),
            resource,
            Box::new(poll),
        ))
    }

    async fn delete_node_pool(&self, cluster: &str, name: &str) -> Result<Operation> {
        self.inner
            .clients
            .eks
            .delete_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .send()
            .await
            .or_aws(name)?;
        Ok(Operation::pending(
            format!("delete-nodegroup-{name}"),
            format!("node_pool/{cluster}/{name}"),
            Box::new(self.pool_watch(cluster, name, Until::Gone)),
        ))
    }

    async fn list_node_pools(&self, cluster: &str) -> Result<Vec<NodePoolState>> {
        let mut pools = Vec::new();
        for name in self.nodegroup_names(cluster).await? {
            if let Some(group) = self.describe_nodegroup(cluster, &name).await? {
                pools.push(self.pool_state(cluster, &group));
            }
        }
        Ok(pools)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use provider_core::operation::{Backoff, Waiter};

    use super::*;
    use crate::double::{Answer, Double, Request};

    const GROUP: &str = "/clusters/hub/node-groups/core";

    /// EKS with one node group at 1.30: a configuration update that runs
    /// for one poll, and a version update done at once.
    fn eks(config_polls: Arc<AtomicUsize>) -> impl Fn(&Request) -> Answer + Send + Sync {
        move |request| {
            let update = |id: &str, status: &str| {
                (
                    200,
                    format!(r#"{{"update": {{"id": "{id}", "status": "{status}"}}}}"#),
                )
            };
            match (request.method.as_str(), request.path.as_str()) {
                ("GET", GROUP) => (
                    200,
                    r#"{"nodegroup": {"nodegroupName": "core", "clusterName": "hub",
                        "nodegroupArn": "arn:aws:eks:us-west-2:1:nodegroup/hub/core/x",
                        "version": "1.30", "status": "ACTIVE", "instanceTypes": ["r5.xlarge"],
                        "capacityType": "ON_DEMAND",
                        "scalingConfig": {"minSize": 1, "maxSize": 3, "desiredSize": 1},
                        "tags": {"hubforge-cluster": "hub", "hubforge-managed": "true"}}}"#
                        .into(),
                ),
                ("POST", path) if path == format!("{GROUP}/update-config") => {
                    update("config", "InProgress")
                }
                ("POST", path) if path == format!("{GROUP}/update-version") => {
                    update("version", "InProgress")
                }
                ("GET", "/clusters/hub/updates/config") => {
                    match config_polls.fetch_add(1, Ordering::SeqCst) {
                        0 => update("config", "InProgress"),
                        _ => update("config", "Successful"),
                    }
                }
                ("GET", "/clusters/hub/updates/version") => update("version", "Successful"),
                _ => (404, r#"{"message": "not here"}"#.into()),
            }
        }
    }

    #[tokio::test]
    async fn a_new_kubernetes_version_is_its_own_update_after_the_configuration_one() {
        let config_polls = Arc::new(AtomicUsize::new(0));
        let double = Double::start(eks(config_polls.clone()));
        let provider = double.provider().await;
        let wanted = NodePoolConfig {
            name: "core".into(),
            role: PoolRole::User,
            kubernetes_version: "1.31".into(),
            instance_type: "r5.xlarge".into(),
            accelerator: None,
            min: 2,
            max: 3,
            spot: false,
            disk_gib: None,
            labels: BTreeMap::new(),
            taints: Vec::new(),
            tags: ownership_tags("hub"),
        };
        let operation = provider.update_node_pool("hub", &wanted).await.unwrap();
        Waiter::new(
            Backoff::new(Duration::from_millis(1), Duration::from_millis(5), 1.5),
            Duration::from_secs(30),
        )
        .wait(&operation, |_| {})
        .await
        .unwrap();

        let requests = double.requests.lock().unwrap();
        let seen: Vec<String> = requests
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .filter(|r| !r.ends_with(GROUP))
            .collect();
        assert_eq!(
            seen,
            [
                format!("POST {GROUP}/update-config"),
                "GET /clusters/hub/updates/config".into(),
                "GET /clusters/hub/updates/config".into(),
                format!("POST {GROUP}/update-version"),
                "GET /clusters/hub/updates/version".into(),
            ],
            "the version update starts only once the configuration update is done"
        );
        let version = requests
            .iter()
            .find(|r| r.path.ends_with("/update-version"))
            .unwrap();
        assert!(
            version.body.contains(r#""version":"1.31""#),
            "{}",
            version.body
        );
    }
}
