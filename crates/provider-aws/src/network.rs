//! The hub's VPC: public subnets in two availability zones (EKS needs two),
//! an internet gateway and a route table — no NAT gateway, so no NAT bill.
//! With `private_nodes`, also private subnets whose route to the internet
//! is a NAT gateway in the first public subnet; node groups go there.
//!
//! Creating is an *ensure*: it finds the VPC by its tags and adds whatever
//! is missing, so a run killed half-way through is completed by the next.
//! A network missing parts reads as `Failed`, which the planner repairs.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, ResourceType, RouteTable, Subnet, Tag, TagSpecification, Vpc,
};
use provider_core::provider::*;
use provider_core::{ErrorKind, Result};

use crate::AwsProvider;
use crate::error::{AwsResult, every, local};

/// Subnet blocks inside the VPC's /16, one per availability zone.
const SUBNET_BLOCKS: [&str; 2] = ["10.0.0.0/19", "10.0.32.0/19"];
/// Private subnet blocks, with `private_nodes`.
const PRIVATE_BLOCKS: [&str; 2] = ["10.0.64.0/19", "10.0.96.0/19"];
/// Which subnets are private: a tag hubforge puts on every subnet it makes.
const SUBNET_ROLE: &str = "hubforge-subnet";

fn tag_spec(
    kind: ResourceType,
    name: &str,
    tags: &BTreeMap<String, String>,
    extra: &[(String, String)],
) -> TagSpecification {
    let mut all: Vec<Tag> = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    all.push(Tag::builder().key("Name").value(name).build());
    all.extend(
        extra
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build()),
    );
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(all))
        .build()
}

/// Public subnets route through the internet gateway; private ones
/// through the NAT gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SubnetRole {
    Public,
    Private,
}

impl SubnetRole {
    fn tag(self) -> &'static str {
        match self {
            SubnetRole::Public => "public",
            SubnetRole::Private => "private",
        }
    }
}

/// Where a route table's default route goes.
enum RouteTarget<'a> {
    InternetGateway(&'a str),
    NatGateway(&'a str),
}

/// What is there of a network.
struct NetworkFacts {
    /// What a half-made network lacks.
    gaps: Result<(), String>,
    /// It has private subnets or a NAT gateway.
    private: bool,
}

/// `public` or `private`, from the tag hubforge puts on its subnets.
fn subnet_role(subnet: &Subnet) -> Option<&str> {
    subnet
        .tags()
        .iter()
        .find(|t| t.key() == Some(SUBNET_ROLE))
        .and_then(|t| t.value())
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

fn tags_of(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .filter(|(k, _)| k != "Name" && k != SUBNET_ROLE)
        .collect()
}

impl AwsProvider {
    /// The VPCs matching every filter.
    async fn vpcs(&self, filters: [Filter; 2], resource: &str) -> Result<Vec<Vpc>> {
        let request = self
            .inner
            .clients
            .ec2
            .describe_vpcs()
            .set_filters(Some(filters.to_vec()));
        every!(request, resource).await
    }

    async fn vpc_named(&self, name: &str) -> Result<Option<Vpc>> {
        let filters = [
            filter("tag:Name", name),
            filter("tag:hubforge-managed", "true"),
        ];
        Ok(self.vpcs(filters, name).await?.into_iter().next())
    }

    async fn subnets_of(&self, vpc_id: &str) -> Result<Vec<Subnet>> {
        every!(
            self.inner
                .clients
                .ec2
                .describe_subnets()
                .filters(filter("vpc-id", vpc_id)),
            vpc_id
        )
        .await
    }

    /// The ids of the internet gateways attached to the VPC.
    async fn internet_gateways(&self, vpc_id: &str) -> Result<Vec<String>> {
        let gateways = every!(
            self.inner
                .clients
                .ec2
                .describe_internet_gateways()
                .filters(filter("attachment.vpc-id", vpc_id)),
            vpc_id
        )
        .await?;
        Ok(gateways
            .iter()
            .filter_map(|g| g.internet_gateway_id().map(str::to_string))
            .collect())
    }

    /// The route tables of the VPC (only those named `name`, if given).
    async fn route_tables(&self, vpc_id: &str, name: Option<&str>) -> Result<Vec<RouteTable>> {
        let mut request = self
            .inner
            .clients
            .ec2
            .describe_route_tables()
            .filters(filter("vpc-id", vpc_id));
        if let Some(name) = name {
            request = request.filters(filter("tag:Name", name));
        }
        every!(request, vpc_id).await
    }

    /// The hub VPC's subnet ids: every subnet, or only the private ones.
    pub(crate) async fn vpc_subnet_ids(
        &self,
        hub: &str,
        private_only: bool,
    ) -> Result<Vec<String>> {
        let name = format!("{hub}-vpc");
        let vpc = self.vpc_named(&name).await?.ok_or_else(|| {
            local(
                ErrorKind::Conflict,
                &name,
                "the hub's VPC does not exist yet",
            )
        })?;
        let ids: Vec<String> = self
            .subnets_of(vpc.vpc_id().unwrap_or_default())
            .await?
            .iter()
            .filter(|s| !private_only || subnet_role(s) == Some("private"))
            .filter_map(|s| s.subnet_id().map(str::to_string))
            .collect();
        if ids.len() < 2 {
            return Err(local(
                ErrorKind::Conflict,
                &name,
                "the hub's VPC has fewer than two such subnets yet",
            ));
        }
        Ok(ids)
    }

    /// Creates the VPC and every missing part of it.
    pub(crate) async fn ensure_network(&self, config: &SupportConfig) -> Result<()> {
        let ec2 = &self.inner.clients.ec2;
        let name = config.name.as_str();
        let vpc_id = match self.vpc_named(name).await? {
            Some(vpc) => vpc.vpc_id().unwrap_or_default().to_string(),
            None => {
                let cidr = config
                    .properties
                    .get("cidr")
                    .map(String::as_str)
                    .unwrap_or("10.0.0.0/16");
                let out = ec2
                    .create_vpc()
                    .cidr_block(cidr)
                    .tag_specifications(tag_spec(ResourceType::Vpc, name, &config.tags, &[]))
                    .send()
                    .await
                    .or_aws_create(name)?;
                out.vpc()
                    .and_then(|v| v.vpc_id())
                    .unwrap_or_default()
                    .to_string()
            }
        };
        let on = AttributeBooleanValue::builder().value(true).build();
        ec2.modify_vpc_attribute()
            .vpc_id(&vpc_id)
            .enable_dns_support(on.clone())
            .send()
            .await
            .or_aws(name)?;
        ec2.modify_vpc_attribute()
            .vpc_id(&vpc_id)
            .enable_dns_hostnames(on.clone())
            .send()
            .await
            .or_aws(name)?;

        let gateway = match self.internet_gateways(&vpc_id).await?.into_iter().next() {
            Some(id) => id,
            None => {
                let created = ec2
                    .create_internet_gateway()
                    .tag_specifications(tag_spec(
                        ResourceType::InternetGateway,
                        name,
                        &config.tags,
                        &[],
                    ))
                    .send()
                    .await
                    .or_aws(name)?;
                let id = created
                    .internet_gateway()
                    .and_then(|g| g.internet_gateway_id())
                    .unwrap_or_default()
                    .to_string();
                ec2.attach_internet_gateway()
                    .internet_gateway_id(&id)
                    .vpc_id(&vpc_id)
                    .send()
                    .await
                    .or_aws(name)?;
                id
            }
        };
        let table = self
            .ensure_route_table(
                &vpc_id,
                name,
                &config.tags,
                RouteTarget::InternetGateway(&gateway),
            )
            .await?;

        // DescribeAvailabilityZones has no pages.
        let zones = ec2
            .describe_availability_zones()
            .filters(filter("state", "available"))
            .send()
            .await
            .or_aws(name)?;
        let zones: Vec<String> = zones
            .availability_zones()
            .iter()
            .filter_map(|z| z.zone_name().map(str::to_string))
            .take(SUBNET_BLOCKS.len())
            .collect();
        if zones.len() < SUBNET_BLOCKS.len() {
            return Err(local(
                ErrorKind::Permanent,
                name,
                format!(
                    "EKS needs two availability zones; region {} offers {}",
                    self.inner.region,
                    zones.len()
                ),
            ));
        }
        let cluster = config
            .properties
            .get("cluster")
            .cloned()
            .unwrap_or_default();
        self.ensure_subnets(
            config,
            &vpc_id,
            &zones,
            SubnetRole::Public,
            &table,
            &cluster,
        )
        .await?;
        if config.properties.get("private_nodes").map(String::as_str) == Some("true") {
            self.ensure_private_part(config, &vpc_id, &zones, &cluster)
                .await?;
        }
        Ok(())
    }

    /// Private subnets, a NAT gateway (with its address) in the first
    /// public subnet, and a private route table through it.
    async fn ensure_private_part(
        &self,
        config: &SupportConfig,
        vpc_id: &str,
        zones: &[String],
        cluster: &str,
    ) -> Result<()> {
        let ec2 = &self.inner.clients.ec2;
        let name = config.name.as_str();
        let subnets = self.subnets_of(vpc_id).await?;
        let public = subnets
            .iter()
            .find(|s| subnet_role(s) == Some("public"))
            .and_then(|s| s.subnet_id())
            .map(str::to_string);
        let public = public.ok_or_else(|| {
            local(
                ErrorKind::Conflict,
                name,
                "the VPC has no public subnet for the NAT gateway yet",
            )
        })?;
        let nat = match self.nat_gateways(vpc_id).await?.into_iter().next() {
            Some(id) => id,
            None => {
                let address = ec2
                    .allocate_address()
                    .domain(aws_sdk_ec2::types::DomainType::Vpc)
                    .tag_specifications(tag_spec(ResourceType::ElasticIp, name, &config.tags, &[]))
                    .send()
                    .await
                    .or_aws(name)?;
                let created = ec2
                    .create_nat_gateway()
                    .subnet_id(&public)
                    .set_allocation_id(address.allocation_id().map(str::to_string))
                    .tag_specifications(tag_spec(ResourceType::Natgateway, name, &config.tags, &[]))
                    .send()
                    .await
                    .or_aws(name)?;
                created
                    .nat_gateway()
                    .and_then(|n| n.nat_gateway_id())
                    .unwrap_or_default()
                    .to_string()
            }
        };
        let private_name = format!("{name}-private");
        let table = self
            .ensure_route_table(
                vpc_id,
                &private_name,
                &config.tags,
                RouteTarget::NatGateway(&nat),
            )
            .await?;
        self.ensure_subnets(config, vpc_id, zones, SubnetRole::Private, &table, cluster)
            .await?;
        Ok(())
    }

    /// The subnets of one role, one per zone, tagged for Kubernetes load
    /// balancers and for the hub, and routed through `table`.
    async fn ensure_subnets(
        &self,
        config: &SupportConfig,
        vpc_id: &str,
        zones: &[String],
        role: SubnetRole,
        table: &str,
        cluster: &str,
    ) -> Result<()> {
        let ec2 = &self.inner.clients.ec2;
        let name = config.name.as_str();
        let (blocks, elb_tag, prefix) = match role {
            SubnetRole::Public => (SUBNET_BLOCKS, "kubernetes.io/role/elb", name.to_string()),
            SubnetRole::Private => (
                PRIVATE_BLOCKS,
                "kubernetes.io/role/internal-elb",
                format!("{name}-private"),
            ),
        };
        let k8s_tags = [
            (elb_tag.to_string(), "1".to_string()),
            (
                format!("kubernetes.io/cluster/{cluster}"),
                "shared".to_string(),
            ),
            (SUBNET_ROLE.to_string(), role.tag().to_string()),
        ];
        let existing = self.subnets_of(vpc_id).await?;
        for (zone, block) in zones.iter().zip(blocks) {
            if existing.iter().any(|s| s.cidr_block() == Some(block)) {
                continue;
            }
            let created = ec2
                .create_subnet()
                .vpc_id(vpc_id)
                .cidr_block(block)
                .availability_zone(zone)
                .tag_specifications(tag_spec(
                    ResourceType::Subnet,
                    &format!("{prefix}-{zone}"),
                    &config.tags,
                    &k8s_tags,
                ))
                .send()
                .await
                .or_aws(name)?;
            let subnet = created
                .subnet()
                .and_then(|s| s.subnet_id())
                .unwrap_or_default()
                .to_string();
            if role == SubnetRole::Public {
                let on = AttributeBooleanValue::builder().value(true).build();
                ec2.modify_subnet_attribute()
                    .subnet_id(&subnet)
                    .map_public_ip_on_launch(on)
                    .send()
                    .await
                    .or_aws(name)?;
            }
            ec2.associate_route_table()
                .route_table_id(table)
                .subnet_id(&subnet)
                .send()
                .await
                .or_aws(name)?;
        }
        Ok(())
    }

    /// The route table named `table_name` in the VPC, made with a default
    /// route to `target` if it is not there.
    async fn ensure_route_table(
        &self,
        vpc_id: &str,
        table_name: &str,
        tags: &BTreeMap<String, String>,
        target: RouteTarget<'_>,
    ) -> Result<String> {
        let ec2 = &self.inner.clients.ec2;
        let tables = self.route_tables(vpc_id, Some(table_name)).await?;
        if let Some(id) = tables.first().and_then(|t| t.route_table_id()) {
            return Ok(id.to_string());
        }
        let created = ec2
            .create_route_table()
            .vpc_id(vpc_id)
            .tag_specifications(tag_spec(ResourceType::RouteTable, table_name, tags, &[]))
            .send()
            .await
            .or_aws(table_name)?;
        let id = created
            .route_table()
            .and_then(|t| t.route_table_id())
            .unwrap_or_default()
            .to_string();
        let route = ec2
            .create_route()
            .route_table_id(&id)
            .destination_cidr_block("0.0.0.0/0");
        let route = match target {
            RouteTarget::InternetGateway(gateway) => route.gateway_id(gateway),
            RouteTarget::NatGateway(nat) => route.nat_gateway_id(nat),
        };
        route.send().await.or_aws(table_name)?;
        Ok(id)
    }

    /// NAT gateways of the VPC that are not deleted or failed.
    async fn nat_gateways(&self, vpc_id: &str) -> Result<Vec<String>> {
        let gateways = every!(
            self.inner
                .clients
                .ec2
                .describe_nat_gateways()
                .filter(filter("vpc-id", vpc_id)),
            vpc_id
        )
        .await?;
        Ok(gateways
            .iter()
            .filter(|n| {
                !matches!(
                    n.state().map(|s| s.as_str()),
                    Some("deleted") | Some("deleting") | Some("failed")
                )
            })
            .filter_map(|n| n.nat_gateway_id().map(str::to_string))
            .collect())
    }

    fn network_state(&self, name: &str, vpc: &Vpc, facts: NetworkFacts) -> SupportState {
        SupportState {
            config: SupportConfig {
                kind: SupportKind::Network,
                name: name.into(),
                region: self.inner.region.clone(),
                tags: tags_of(vpc.tags()),
                properties: BTreeMap::from([
                    (
                        "cidr".to_string(),
                        vpc.cidr_block().unwrap_or_default().to_string(),
                    ),
                    ("private_nodes".to_string(), facts.private.to_string()),
                ]),
            },
            status: match facts.gaps {
                Ok(()) => ResourceStatus::Ready,
                Err(missing) => ResourceStatus::Failed(format!("incomplete network: {missing}")),
            },
        }
    }

    /// What a network has, and what a half-made one lacks.
    async fn network_facts(&self, vpc_id: &str) -> Result<NetworkFacts> {
        let gateways = self.internet_gateways(vpc_id).await?;
        let subnets = self.subnets_of(vpc_id).await?;
        let count = |role: &str| {
            subnets
                .iter()
                .filter(|s| subnet_role(s) == Some(role))
                .count()
        };
        let nats = self.nat_gateways(vpc_id).await?;
        let private = count("private") > 0 || !nats.is_empty();
        let gaps = if gateways.is_empty() {
            Err("no internet gateway".to_string())
        } else if count("public") < SUBNET_BLOCKS.len() {
            Err("fewer than two public subnets".to_string())
        } else if private && nats.is_empty() {
            Err("no NAT gateway for the private subnets".to_string())
        } else if private && count("private") < PRIVATE_BLOCKS.len() {
            Err("fewer than two private subnets".to_string())
        } else {
            Ok(())
        };
        Ok(NetworkFacts { gaps, private })
    }

    pub(crate) async fn read_network(&self, name: &str) -> Result<Option<SupportState>> {
        let Some(vpc) = self.vpc_named(name).await? else {
            return Ok(None);
        };
        let facts = self.network_facts(vpc.vpc_id().unwrap_or_default()).await?;
        Ok(Some(self.network_state(name, &vpc, facts)))
    }

    pub(crate) async fn owned_networks(&self, hub: &str) -> Result<Vec<SupportState>> {
        let filters = [
            filter("tag:hubforge-cluster", hub),
            filter("tag:hubforge-managed", "true"),
        ];
        let mut owned = Vec::new();
        for vpc in &self.vpcs(filters, hub).await? {
            let name = vpc
                .tags()
                .iter()
                .find(|t| t.key() == Some("Name"))
                .and_then(|t| t.value())
                .unwrap_or_default()
                .to_string();
            let facts = self.network_facts(vpc.vpc_id().unwrap_or_default()).await?;
            owned.push(self.network_state(&name, vpc, facts));
        }
        Ok(owned)
    }

    /// Retags the VPC; adds the private part when nodes become private.
    /// Going back to public nodes is refused: node groups run in those
    /// private subnets and the NAT gateway must stay while they do.
    pub(crate) async fn update_network(&self, config: &SupportConfig) -> Result<()> {
        let name = config.name.as_str();
        let wanted = config.properties.get("private_nodes").map(String::as_str) == Some("true");
        let current = self
            .read_network(name)
            .await?
            .ok_or_else(|| local(ErrorKind::NotFound, name, "no such VPC"))?;
        let private = current
            .config
            .properties
            .get("private_nodes")
            .map(String::as_str)
            == Some("true");
        if private && !wanted {
            return Err(local(
                ErrorKind::Unsupported {
                    operation: "turn private nodes off".into(),
                },
                name,
                "the hub's node groups run in private subnets; replace them or destroy the hub before turning `private_nodes` off",
            ));
        }
        if wanted && !private {
            self.ensure_network(config).await?;
        }
        self.retag_network(config).await
    }

    pub(crate) async fn retag_network(&self, config: &SupportConfig) -> Result<()> {
        let name = config.name.as_str();
        let vpc = self
            .vpc_named(name)
            .await?
            .ok_or_else(|| local(ErrorKind::NotFound, name, "no such VPC"))?;
        let tags: Vec<Tag> = config
            .tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        self.inner
            .clients
            .ec2
            .create_tags()
            .resources(vpc.vpc_id().unwrap_or_default())
            .set_tags(Some(tags))
            .send()
            .await
            .or_aws(name)?;
        Ok(())
    }

    /// Tears the network down in the order AWS allows.
    pub(crate) async fn delete_network(&self, name: &str) -> Result<()> {
        let ec2 = &self.inner.clients.ec2;
        let vpc = self
            .vpc_named(name)
            .await?
            .ok_or_else(|| local(ErrorKind::NotFound, name, "no such VPC"))?;
        let vpc_id = vpc.vpc_id().unwrap_or_default().to_string();
        // The NAT gateway first (it bills by the hour), then its address.
        for nat in self.nat_gateways(&vpc_id).await? {
            ec2.delete_nat_gateway()
                .nat_gateway_id(&nat)
                .send()
                .await
                .or_aws(name)?;
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15 * 60);
        while !self.nat_gateways(&vpc_id).await?.is_empty() {
            if std::time::Instant::now() > deadline {
                return Err(local(
                    ErrorKind::Timeout,
                    name,
                    "the NAT gateway was not deleted within 15 minutes",
                ));
            }
            tokio::time::sleep(self.inner.poll_interval).await;
        }
        // DescribeAddresses has no pages.
        let addresses = ec2
            .describe_addresses()
            .filters(filter("tag:Name", name))
            .filters(filter("tag:hubforge-managed", "true"))
            .send()
            .await
            .or_aws(name)?;
        for allocation in addresses
            .addresses()
            .iter()
            .filter_map(|a| a.allocation_id())
        {
            ec2.release_address()
                .allocation_id(allocation)
                .send()
                .await
                .or_aws(name)?;
        }
        for table in self.route_tables(&vpc_id, None).await? {
            let main = table.associations().iter().any(|a| a.main() == Some(true));
            for association in table
                .associations()
                .iter()
                .filter(|a| a.main() != Some(true))
            {
                if let Some(id) = association.route_table_association_id() {
                    ec2.disassociate_route_table()
                        .association_id(id)
                        .send()
                        .await
                        .or_aws(name)?;
                }
            }
            if !main && let Some(id) = table.route_table_id() {
                ec2.delete_route_table()
                    .route_table_id(id)
                    .send()
                    .await
                    .or_aws(name)?;
            }
        }
        for gateway in self.internet_gateways(&vpc_id).await? {
            ec2.detach_internet_gateway()
                .internet_gateway_id(&gateway)
                .vpc_id(&vpc_id)
                .send()
                .await
                .or_aws(name)?;
            ec2.delete_internet_gateway()
                .internet_gateway_id(gateway)
                .send()
                .await
                .or_aws(name)?;
        }
        for subnet in self.subnets_of(&vpc_id).await? {
            if let Some(id) = subnet.subnet_id() {
                ec2.delete_subnet()
                    .subnet_id(id)
                    .send()
                    .await
                    .or_aws(name)?;
            }
        }
        ec2.delete_vpc().vpc_id(&vpc_id).send().await.or_aws(name)?;
        Ok(())
    }
}
