//! The hub's VPC: public subnets in two availability zones (EKS needs two),
//! an internet gateway and a route table — no NAT gateway, so no NAT bill.
//!
//! Creating is an *ensure*: it finds the VPC by its tags and adds whatever
//! is missing, so a run killed half-way through is completed by the next.
//! A network missing parts reads as `Failed`, which the planner repairs.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, ResourceType, Subnet, Tag, TagSpecification, Vpc,
};
use provider_core::provider::*;
use provider_core::{ErrorKind, Result};

use crate::AwsProvider;
use crate::error::{AwsResult, local};

/// Subnet blocks inside the VPC's /16, one per availability zone.
const SUBNET_BLOCKS: [&str; 2] = ["10.0.0.0/19", "10.0.32.0/19"];

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

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

fn tags_of(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .filter(|(k, _)| k != "Name")
        .collect()
}

impl AwsProvider {
    async fn vpc_named(&self, name: &str) -> Result<Option<Vpc>> {
        let out = self
            .inner
            .clients
            .ec2
            .describe_vpcs()
            .filters(filter("tag:Name", name))
            .filters(filter("tag:hubforge-managed", "true"))
            .send()
            .await
            .or_aws(name)?;
        Ok(out.vpcs().first().cloned())
    }

    async fn subnets_of(&self, vpc_id: &str) -> Result<Vec<Subnet>> {
        let out = self
            .inner
            .clients
            .ec2
            .describe_subnets()
            .filters(filter("vpc-id", vpc_id))
            .send()
            .await
            .or_aws(vpc_id)?;
        Ok(out.subnets().to_vec())
    }

    /// The hub VPC's subnet ids.
    pub(crate) async fn vpc_subnet_ids(&self, hub: &str) -> Result<Vec<String>> {
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
            .filter_map(|s| s.subnet_id().map(str::to_string))
            .collect();
        if ids.len() < 2 {
            return Err(local(
                ErrorKind::Conflict,
                &name,
                "the hub's VPC has fewer than two subnets yet",
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

        let gateways = ec2
            .describe_internet_gateways()
            .filters(filter("attachment.vpc-id", &vpc_id))
            .send()
            .await
            .or_aws(name)?;
        let gateway = match gateways
            .internet_gateways()
            .first()
            .and_then(|g| g.internet_gateway_id())
        {
            Some(id) => id.to_string(),
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
        let tables = ec2
            .describe_route_tables()
            .filters(filter("vpc-id", &vpc_id))
            .filters(filter("tag:Name", name))
            .send()
            .await
            .or_aws(name)?;
        let table = match tables
            .route_tables()
            .first()
            .and_then(|t| t.route_table_id())
        {
            Some(id) => id.to_string(),
            None => {
                let created = ec2
                    .create_route_table()
                    .vpc_id(&vpc_id)
                    .tag_specifications(tag_spec(ResourceType::RouteTable, name, &config.tags, &[]))
                    .send()
                    .await
                    .or_aws(name)?;
                let id = created
                    .route_table()
                    .and_then(|t| t.route_table_id())
                    .unwrap_or_default()
                    .to_string();
                ec2.create_route()
                    .route_table_id(&id)
                    .destination_cidr_block("0.0.0.0/0")
                    .gateway_id(&gateway)
                    .send()
                    .await
                    .or_aws(name)?;
                id
            }
        };

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
        let existing = self.subnets_of(&vpc_id).await?;
        let cluster = config
            .properties
            .get("cluster")
            .cloned()
            .unwrap_or_default();
        let k8s_tags = [
            ("kubernetes.io/role/elb".to_string(), "1".to_string()),
            (
                format!("kubernetes.io/cluster/{cluster}"),
                "shared".to_string(),
            ),
        ];
        for (zone, block) in zones.iter().zip(SUBNET_BLOCKS) {
            if existing.iter().any(|s| s.cidr_block() == Some(block)) {
                continue;
            }
            let subnet_name = format!("{name}-{zone}");
            let created = ec2
                .create_subnet()
                .vpc_id(&vpc_id)
                .cidr_block(block)
                .availability_zone(zone)
                .tag_specifications(tag_spec(
                    ResourceType::Subnet,
                    &subnet_name,
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
            ec2.modify_subnet_attribute()
                .subnet_id(&subnet)
                .map_public_ip_on_launch(on.clone())
                .send()
                .await
                .or_aws(name)?;
            ec2.associate_route_table()
                .route_table_id(&table)
                .subnet_id(&subnet)
                .send()
                .await
                .or_aws(name)?;
        }
        Ok(())
    }

    fn network_state(&self, name: &str, vpc: &Vpc, complete: Result<(), String>) -> SupportState {
        SupportState {
            config: SupportConfig {
                kind: SupportKind::Network,
                name: name.into(),
                region: self.inner.region.clone(),
                tags: tags_of(vpc.tags()),
                properties: BTreeMap::from([(
                    "cidr".to_string(),
                    vpc.cidr_block().unwrap_or_default().to_string(),
                )]),
            },
            status: match complete {
                Ok(()) => ResourceStatus::Ready,
                Err(missing) => ResourceStatus::Failed(format!("incomplete network: {missing}")),
            },
        }
    }

    /// What a half-made network lacks, if anything.
    async fn network_gaps(&self, vpc_id: &str) -> Result<Result<(), String>> {
        let ec2 = &self.inner.clients.ec2;
        let gateways = ec2
            .describe_internet_gateways()
            .filters(filter("attachment.vpc-id", vpc_id))
            .send()
            .await
            .or_aws(vpc_id)?;
        if gateways.internet_gateways().is_empty() {
            return Ok(Err("no internet gateway".into()));
        }
        if self.subnets_of(vpc_id).await?.len() < SUBNET_BLOCKS.len() {
            return Ok(Err("fewer than two subnets".into()));
        }
        Ok(Ok(()))
    }

    pub(crate) async fn read_network(&self, name: &str) -> Result<Option<SupportState>> {
        let Some(vpc) = self.vpc_named(name).await? else {
            return Ok(None);
        };
        let gaps = self.network_gaps(vpc.vpc_id().unwrap_or_default()).await?;
        Ok(Some(self.network_state(name, &vpc, gaps)))
    }

    pub(crate) async fn owned_networks(&self, hub: &str) -> Result<Vec<SupportState>> {
        let out = self
            .inner
            .clients
            .ec2
            .describe_vpcs()
            .filters(filter("tag:hubforge-cluster", hub))
            .filters(filter("tag:hubforge-managed", "true"))
            .send()
            .await
            .or_aws(hub)?;
        let mut owned = Vec::new();
        for vpc in out.vpcs() {
            let name = vpc
                .tags()
                .iter()
                .find(|t| t.key() == Some("Name"))
                .and_then(|t| t.value())
                .unwrap_or_default()
                .to_string();
            let gaps = self.network_gaps(vpc.vpc_id().unwrap_or_default()).await?;
            owned.push(self.network_state(&name, vpc, gaps));
        }
        Ok(owned)
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
        let tables = ec2
            .describe_route_tables()
            .filters(filter("vpc-id", &vpc_id))
            .send()
            .await
            .or_aws(name)?;
        for table in tables.route_tables() {
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
        let gateways = ec2
            .describe_internet_gateways()
            .filters(filter("attachment.vpc-id", &vpc_id))
            .send()
            .await
            .or_aws(name)?;
        for gateway in gateways
            .internet_gateways()
            .iter()
            .filter_map(|g| g.internet_gateway_id())
        {
            ec2.detach_internet_gateway()
                .internet_gateway_id(gateway)
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
