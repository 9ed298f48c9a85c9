//! What an EKS hub needs around it: a VPC (unless the spec names subnets),
//! the cluster role, the node role, and — once the cluster exists — its OIDC
//! issuer registered in IAM for IRSA. All tagged as the hub's.

use std::collections::BTreeMap;

use async_trait::async_trait;
use provider_core::names;
use provider_core::operation::Operation;
use provider_core::provider::*;
use provider_core::{Cloud, ErrorKind, Result};

use crate::error::{AwsResult, every, found, local, stale_tag_keys};
use crate::fresh::Principal;
use crate::identity::iam_tags;
use crate::policy;
use crate::{AwsProvider, arn};

/// The policies AWS manages that each supporting role needs, by name
/// (their ARNs name the partition).
const CLUSTER_POLICIES: &[&str] = &["AmazonEKSClusterPolicy"];
const NODE_POLICIES: &[&str] = &[
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
];

/// The hub a supporting resource's name belongs to (`openscapes-node`).
fn hub_of(name: &str) -> &str {
    ["-cluster", "-node", "-oidc", "-vpc"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(name)
}

impl AwsProvider {
    /// Roles whose names say they may be `hub`'s (`<hub>-…`); callers check tags.
    pub(crate) async fn owned_roles(&self, hub: &str) -> Result<Vec<String>> {
        let roles = every!(self.inner.clients.iam.list_roles(), "iam").await?;
        let prefix = format!("{hub}-");
        let mut owned = Vec::new();
        for name in roles
            .iter()
            .map(|r| r.role_name())
            .filter(|n| n.starts_with(&prefix))
        {
            if owned_by(&self.role_tags(name).await?, hub) {
                owned.push(name.to_string());
            }
        }
        Ok(owned)
    }

    async fn create_role(
        &self,
        config: &SupportConfig,
        service: &str,
        policies: &[&str],
    ) -> Result<()> {
        let iam = &self.inner.clients.iam;
        iam.create_role()
            .role_name(&config.name)
            .assume_role_policy_document(policy::trust_service(service))
            .description("hubforge supporting role")
            .set_tags(Some(iam_tags(&config.tags)))
            .send()
            .await
            .or_aws_create(&config.name)?;
        self.inner.fresh.made(Principal::Role(&config.name));
        for policy in policies {
            iam.attach_role_policy()
                .role_name(&config.name)
                .policy_arn(arn::managed_policy(self.inner.partition, policy))
                .send()
                .await
                .or_aws(&config.name)?;
        }
        Ok(())
    }

    async fn read_role_support(
        &self,
        kind: SupportKind,
        name: &str,
    ) -> Result<Option<SupportState>> {
        let role = found(
            self.inner
                .clients
                .iam
                .get_role()
                .role_name(name)
                .send()
                .await
                .or_aws(name),
        )?;
        if role.is_none() {
            return Ok(None);
        }
        let tags = self.role_tags(name).await?;
        Ok(Some(SupportState {
            config: SupportConfig {
                kind,
                name: name.into(),
                region: self.inner.region.clone(),
                tags,
                properties: BTreeMap::new(),
            },
            status: ResourceStatus::Ready,
        }))
    }

    /// The OIDC providers tagged as `hub`'s: (ARN, tags).
    async fn oidc_providers(&self, hub: &str) -> Result<Vec<(String, BTreeMap<String, String>)>> {
        let iam = &self.inner.clients.iam;
        // ListOpenIDConnectProviders has no pages: it answers with all of them.
        let listed = iam
            .list_open_id_connect_providers()
            .send()
            .await
            .or_aws("iam")?;
        let mut owned = Vec::new();
        for arn in listed
            .open_id_connect_provider_list()
            .iter()
            .filter_map(|p| p.arn())
        {
            let tags = every!(
                iam.list_open_id_connect_provider_tags()
                    .open_id_connect_provider_arn(arn),
                arn
            )
            .await?;
            let tags: BTreeMap<String, String> = tags
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            if owned_by(&tags, hub) {
                owned.push((arn.to_string(), tags));
            }
        }
        Ok(owned)
    }

    fn oidc_state(&self, name: &str, tags: BTreeMap<String, String>) -> SupportState {
        SupportState {
            config: SupportConfig {
                kind: SupportKind::OidcProvider,
                name: name.into(),
                region: self.inner.region.clone(),
                tags,
                properties: BTreeMap::new(),
            },
            status: ResourceStatus::Ready,
        }
    }

    /// Refuses to delete what a live cluster of the hub still needs, as AWS
    /// itself would for a VPC with network interfaces in it; names the
    /// hub's cluster otherwise.
    async fn refuse_while_cluster_exists(
        &self,
        config_name: &str,
        kind: SupportKind,
    ) -> Result<String> {
        let hub = hub_of(config_name);
        let cluster = names::cluster(Cloud::Aws, hub).unwrap_or_else(|e| e.physical);
        let in_use = match kind {
            SupportKind::NodeRole => match self.describe_cluster(&cluster).await? {
                Some(_) => !self.nodegroup_names(&cluster).await?.is_empty(),
                None => false,
            },
            _ => self.describe_cluster(&cluster).await?.is_some(),
        };
        if in_use {
            return Err(local(
                ErrorKind::Conflict,
                config_name,
                format!("the EKS cluster {cluster} still uses it"),
            ));
        }
        Ok(cluster)
    }

    /// What the hub's cluster made on its own and left once it is gone,
    /// where no network of the hub's shows it. With the spec's own subnets
    /// its load balancers (for `LoadBalancer` Services), their security
    /// groups and interfaces sit in a VPC hubforge did not make, and carry
    /// no hubforge tag: hubforge does not delete them, it names them, so the
    /// leak check does (delete the Services before destroying, or these by
    /// hand). The control-plane log group goes with the cluster's deletion
    /// and is named here only if that failed. In the hub's own VPC all of
    /// it is deleted with the network, which is listed while it is there.
    async fn left_by_cluster(&self, hub: &str) -> Result<Option<SupportState>> {
        if cfg!(feature = "vpc") && self.inner.subnets.is_empty() {
            return Ok(None);
        }
        let cluster = names::cluster(Cloud::Aws, hub).unwrap_or_else(|e| e.physical);
        if self.describe_cluster(&cluster).await?.is_some() {
            return Ok(None);
        }
        let mut left = Vec::new();
        #[cfg(feature = "vpc")]
        left.extend(self.cluster_leftovers(&cluster, None).await?.describe());
        left.extend(
            self.log_group(&cluster)
                .await?
                .map(|group| format!("log group {group}")),
        );
        if left.is_empty() {
            return Ok(None);
        }
        Ok(Some(SupportState {
            config: SupportConfig {
                kind: SupportKind::Network,
                name: format!("left by cluster {cluster}: {}", left.join(", ")),
                region: self.inner.region.clone(),
                // The cluster's tag, not hubforge's: the engine leaves it alone.
                tags: BTreeMap::from([(
                    format!("kubernetes.io/cluster/{cluster}"),
                    "owned".to_string(),
                )]),
                properties: BTreeMap::new(),
            },
            status: ResourceStatus::Ready,
        }))
    }
}

#[async_trait]
impl SupportOps for AwsProvider {
    fn supporting_resources(&self, hub: &HubOutline) -> Vec<SupportRequirement> {
        use ResourceClass::*;
        use SupportKind::*;
        let config =
            |kind: SupportKind, name: String, properties: BTreeMap<String, String>| SupportConfig {
                kind,
                name,
                region: hub.region.clone(),
                tags: resource_tags(
                    &hub.hub,
                    &format!("support--{}", kind.as_str().replace('_', "-")),
                    &hub.tags,
                ),
                properties,
            };
        let need = |config, needed_by: &[ResourceClass]| SupportRequirement {
            config,
            needed_by: needed_by.to_vec(),
            after: vec![],
            after_cluster: false,
        };
        let roles = names::supporting(Cloud::Aws, &hub.hub);
        let mut needs = Vec::new();
        if cfg!(feature = "vpc") && self.inner.subnets.is_empty() {
            let properties = BTreeMap::from([
                ("cidr".to_string(), "10.0.0.0/16".to_string()),
                ("cluster".to_string(), hub.cluster.clone()),
                (
                    "private_nodes".to_string(),
                    self.inner.private_nodes.to_string(),
                ),
            ]);
            needs.push(need(
                config(Network, format!("{}-vpc", hub.hub), properties),
                &[Cluster, NodePool],
            ));
        }
        needs.push(need(
            config(ClusterRole, roles[0].1.clone(), BTreeMap::new()),
            &[Cluster],
        ));
        needs.push(need(
            config(NodeRole, roles[1].1.clone(), BTreeMap::new()),
            &[NodePool],
        ));
        needs.push(SupportRequirement {
            config: config(
                OidcProvider,
                format!("{}-oidc", hub.hub),
                BTreeMap::from([("cluster".to_string(), hub.cluster.clone())]),
            ),
            needed_by: vec![Binding],
            after: vec![],
            after_cluster: true,
        });
        needs
    }

    async fn create_support(&self, config: &SupportConfig) -> Result<Operation> {
        let name = config.name.as_str();
        match config.kind {
            SupportKind::ClusterRole => {
                self.create_role(config, arn::EKS_SERVICE, CLUSTER_POLICIES)
                    .await?
            }
            SupportKind::NodeRole => {
                let ec2 = arn::ec2_service(self.inner.partition);
                self.create_role(config, ec2, NODE_POLICIES).await?
            }
            SupportKind::OidcProvider => {
                let cluster = config
                    .properties
                    .get("cluster")
                    .map(String::as_str)
                    .unwrap_or(hub_of(name));
                let issuer = self
                    .cluster_issuer(cluster, ErrorKind::Conflict, name)
                    .await?;
                if !self.oidc_providers(hub_of(name)).await?.is_empty() {
                    return Err(local(
                        ErrorKind::AlreadyExists,
                        name,
                        "the hub's OIDC provider is registered",
                    ));
                }
                self.inner
                    .clients
                    .iam
                    .create_open_id_connect_provider()
                    .url(format!("https://{issuer}"))
                    .client_id_list("sts.amazonaws.com")
                    .set_tags(Some(iam_tags(&config.tags)))
                    .send()
                    .await
                    .or_aws_create(name)?;
                self.inner.fresh.made(Principal::OidcProvider(&issuer));
            }
            SupportKind::Network => {
                #[cfg(feature = "vpc")]
                self.ensure_network(config).await?;
            }
            SupportKind::ResourceGroup | SupportKind::StorageAccount => {
                return Err(local(
                    ErrorKind::Unsupported {
                        operation: format!("create {}", config.kind.as_str()),
                    },
                    name,
                    "AWS has no such resource",
                ));
            }
        }
        Ok(Operation::completed(
            format!("create-{}-{name}", config.kind.as_str()),
            format!("support/{name}"),
        ))
    }

    async fn get_support(&self, kind: SupportKind, name: &str) -> Result<Option<SupportState>> {
        match kind {
            SupportKind::ClusterRole | SupportKind::NodeRole => {
                self.read_role_support(kind, name).await
            }
            SupportKind::OidcProvider => Ok(self
                .oidc_providers(hub_of(name))
                .await?
                .into_iter()
                .next()
                .map(|(_, tags)| self.oidc_state(name, tags))),
            #[cfg(feature = "vpc")]
            SupportKind::Network => self.read_network(name).await,
            _ => Ok(None),
        }
    }

    async fn update_support(&self, config: &SupportConfig) -> Result<Operation> {
        let name = config.name.as_str();
        match config.kind {
            SupportKind::ClusterRole | SupportKind::NodeRole => {
                self.retag_role(name, &config.tags).await?
            }
            SupportKind::OidcProvider => {
                let iam = &self.inner.clients.iam;
                for (arn, current) in self.oidc_providers(hub_of(name)).await? {
                    let stale = stale_tag_keys(&current, &config.tags);
                    if !stale.is_empty() {
                        iam.untag_open_id_connect_provider()
                            .open_id_connect_provider_arn(&arn)
                            .set_tag_keys(Some(stale))
                            .send()
                            .await
                            .or_aws(name)?;
                    }
                    iam.tag_open_id_connect_provider()
                        .open_id_connect_provider_arn(&arn)
                        .set_tags(Some(iam_tags(&config.tags)))
                        .send()
                        .await
                        .or_aws(name)?;
                }
            }
            #[cfg(feature = "vpc")]
            SupportKind::Network => self.update_network(config).await?,
            _ => {}
        }
        Ok(Operation::completed(
            format!("update-{}-{name}", config.kind.as_str()),
            format!("support/{name}"),
        ))
    }

    async fn delete_support(&self, kind: SupportKind, name: &str) -> Result<Operation> {
        match kind {
            SupportKind::ClusterRole | SupportKind::NodeRole => {
                if self.read_role_support(kind, name).await?.is_none() {
                    return Err(local(ErrorKind::NotFound, name, "no such role"));
                }
                self.refuse_while_cluster_exists(name, kind).await?;
                self.delete_role(name).await?;
            }
            SupportKind::OidcProvider => {
                let providers = self.oidc_providers(hub_of(name)).await?;
                if providers.is_empty() {
                    return Err(local(
                        ErrorKind::NotFound,
                        name,
                        "no OIDC provider is registered for the hub",
                    ));
                }
                for (arn, _) in providers {
                    self.inner
                        .clients
                        .iam
                        .delete_open_id_connect_provider()
                        .open_id_connect_provider_arn(&arn)
                        .send()
                        .await
                        .or_aws(name)?;
                }
            }
            #[cfg(feature = "vpc")]
            SupportKind::Network => {
                let cluster = self.refuse_while_cluster_exists(name, kind).await?;
                self.delete_network(name, &cluster).await?;
            }
            _ => return Err(local(ErrorKind::NotFound, name, "AWS has no such resource")),
        }
        Ok(Operation::completed(
            format!("delete-{}-{name}", kind.as_str()),
            format!("support/{name}"),
        ))
    }

    async fn list_support(&self, hub: &str) -> Result<Vec<SupportState>> {
        let mut owned = Vec::new();
        for role in self.owned_roles(hub).await? {
            let tags = self.role_tags(&role).await?;
            let kind = match tags.get(TAG_RESOURCE).map(String::as_str) {
                Some("support--cluster-role") => SupportKind::ClusterRole,
                Some("support--node-role") => SupportKind::NodeRole,
                _ => continue,
            };
            owned.extend(self.read_role_support(kind, &role).await?);
        }
        for (_, tags) in self.oidc_providers(hub).await? {
            owned.push(self.oidc_state(&format!("{hub}-oidc"), tags));
        }
        #[cfg(feature = "vpc")]
        owned.extend(self.owned_networks(hub).await?);
        owned.extend(self.left_by_cluster(hub).await?);
        Ok(owned)
    }
}
