//! Creating the hub's network: an *ensure* that finds the VPC by its tags
//! and adds whatever is missing, so a run killed half-way through is
//! completed by the next.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType};
use provider_core::names;
use provider_core::provider::*;
use provider_core::{ErrorKind, Result};

use super::zones::{self, PRIVATE_BLOCKS, PUBLIC_BLOCKS};
use super::{
    RouteTarget, SUBNET_ROLE, SubnetRole, filter, is_default_route, subnet_role, tag_spec, tags_of,
};
use crate::error::{AwsResult, local};
use crate::{AwsProvider, Steps, same_or_refuse};

impl AwsProvider {
    /// Creates the VPC and every missing part of it.
    pub(crate) async fn ensure_network(&self, config: &SupportConfig) -> Result<()> {
        let steps = Steps::of(&self.inner, SupportKind::Network.as_str(), &config.name);
        self.ensure_network_in(config, None, &steps).await
    }

    /// Adds subnets in the zones EKS named as `valid` when it refused one
    /// of the hub's, and answers the subnets of the hub's VPC in them, for
    /// the cluster.
    pub(crate) async fn rezone_network(
        &self,
        hub: &str,
        cluster: &str,
        valid: &[String],
    ) -> Result<Vec<String>> {
        let name = names::network(hub);
        let mut config = self
            .read_network(&name)
            .await?
            .ok_or_else(|| {
                local(
                    ErrorKind::Conflict,
                    &name,
                    "the hub's VPC does not exist yet",
                )
            })?
            .config;
        config
            .properties
            .insert("cluster".to_string(), cluster.to_string());
        self.ensure_network_in(&config, Some(valid), &Steps::none())
            .await?;
        let vpc = self
            .vpc_named(&name)
            .await?
            .ok_or_else(|| local(ErrorKind::NotFound, &name, "no such VPC"))?;
        let ids: Vec<String> = self
            .subnets_of(vpc.vpc_id().unwrap_or_default())
            .await?
            .iter()
            .filter(|s| {
                s.availability_zone()
                    .is_some_and(|z| valid.iter().any(|v| v == z))
            })
            .filter_map(|s| s.subnet_id().map(str::to_string))
            .collect();
        if ids.len() < zones::ZONES {
            return Err(local(
                ErrorKind::Permanent,
                &name,
                format!(
                    "EKS takes the cluster only in {}, and the region offers fewer than two of them",
                    valid.join(", ")
                ),
            ));
        }
        Ok(ids)
    }

    /// [`Self::ensure_network`], with subnets in the `valid` zones if given,
    /// reporting each step to `steps`.
    async fn ensure_network_in(
        &self,
        config: &SupportConfig,
        valid: Option<&[String]>,
        steps: &Steps<'_>,
    ) -> Result<()> {
        let ec2 = &self.inner.clients.ec2;
        let name = config.name.as_str();
        let vpc_id = match self.vpc_named(name).await? {
            Some(vpc) => {
                same_or_refuse("VPC", name, &tags_of(vpc.tags()), &config.tags)?;
                vpc.vpc_id().unwrap_or_default().to_string()
            }
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
                let id = out.vpc().and_then(|v| v.vpc_id()).unwrap_or_default();
                steps.done(1, "VPC, tagged")?;
                id.to_string()
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
        steps.done(2, "DNS")?;

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
        steps.done(3, "internet gateway")?;
        let table = self
            .ensure_route_table(
                &vpc_id,
                name,
                &config.tags,
                RouteTarget::InternetGateway(&gateway),
            )
            .await?;
        steps.done(4, "route table")?;

        // DescribeAvailabilityZones has no pages. Local and Wavelength
        // zones cannot hold a control plane.
        let offered = ec2
            .describe_availability_zones()
            .filters(filter("state", "available"))
            .filters(filter("zone-type", "availability-zone"))
            .send()
            .await
            .or_aws(name)?;
        let offered: Vec<zones::Zone> = offered
            .availability_zones()
            .iter()
            .filter_map(|z| Some((z.zone_name()?.to_string(), z.zone_id()?.to_string())))
            .collect();
        let zones = zones::choose(&offered, valid);
        if zones.len() < zones::ZONES {
            return Err(local(
                ErrorKind::Permanent,
                name,
                format!(
                    "EKS needs two availability zones it supports; region {} offers {}",
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
        steps.done(5, "public subnets")?;
        if config.properties.get("private_nodes").map(String::as_str) == Some("true") {
            self.ensure_private_part(config, &vpc_id, &zones, &cluster, steps)
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
        steps: &Steps<'_>,
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
                // An address an earlier run allocated and did not use.
                let address = match self
                    .addresses(name)
                    .await?
                    .into_iter()
                    .find(|a| a.association_id().is_none())
                {
                    Some(address) => address.allocation_id().map(str::to_string),
                    None => ec2
                        .allocate_address()
                        .domain(aws_sdk_ec2::types::DomainType::Vpc)
                        .tag_specifications(tag_spec(
                            ResourceType::ElasticIp,
                            name,
                            &config.tags,
                            &[],
                        ))
                        .send()
                        .await
                        .or_aws(name)?
                        .allocation_id()
                        .map(str::to_string),
                };
                let created = ec2
                    .create_nat_gateway()
                    .subnet_id(&public)
                    .set_allocation_id(address)
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
        steps.done(6, "NAT gateway")?;
        let private_name = format!("{name}-private");
        let table = self
            .ensure_route_table(
                vpc_id,
                &private_name,
                &config.tags,
                RouteTarget::NatGateway(&nat),
            )
            .await?;
        steps.done(7, "private route table")?;
        self.ensure_subnets(config, vpc_id, zones, SubnetRole::Private, &table, cluster)
            .await?;
        steps.done(8, "private subnets")
    }

    /// The subnets of one role, one per zone, tagged for Kubernetes load
    /// balancers and for the hub, and routed through `table`; subnets of
    /// the role that an earlier run made but did not finish are finished.
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
            SubnetRole::Public => (PUBLIC_BLOCKS, "kubernetes.io/role/elb", name.to_string()),
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
        let known: Vec<zones::Existing> = existing
            .iter()
            .map(|s| {
                (
                    s.availability_zone().unwrap_or_default(),
                    s.cidr_block().unwrap_or_default(),
                    subnet_role(s),
                )
            })
            .collect();
        let placed = zones::place(&known, zones, role.tag(), &blocks).ok_or_else(|| {
            local(
                ErrorKind::Permanent,
                name,
                format!(
                    "the VPC has no free block for another {} subnet",
                    role.tag()
                ),
            )
        })?;
        for (zone, block) in placed {
            ec2.create_subnet()
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
        }
        // Every subnet of the role gets its settings and its route.
        let routed = self.routed_subnets(vpc_id, table).await?;
        for subnet in self.subnets_of(vpc_id).await? {
            let Some(id) = subnet.subnet_id() else {
                continue;
            };
            if subnet_role(&subnet) != Some(role.tag()) {
                continue;
            }
            if role == SubnetRole::Public && subnet.map_public_ip_on_launch() != Some(true) {
                let on = AttributeBooleanValue::builder().value(true).build();
                ec2.modify_subnet_attribute()
                    .subnet_id(id)
                    .map_public_ip_on_launch(on)
                    .send()
                    .await
                    .or_aws(name)?;
            }
            if !routed.iter().any(|r| r == id) {
                ec2.associate_route_table()
                    .route_table_id(table)
                    .subnet_id(id)
                    .send()
                    .await
                    .or_aws(name)?;
            }
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
        let id = match tables.first() {
            Some(table) if table.routes().iter().any(is_default_route) => {
                return Ok(table.route_table_id().unwrap_or_default().to_string());
            }
            // An earlier run made the table but not its route.
            Some(table) => table.route_table_id().unwrap_or_default().to_string(),
            None => {
                let created = ec2
                    .create_route_table()
                    .vpc_id(vpc_id)
                    .tag_specifications(tag_spec(ResourceType::RouteTable, table_name, tags, &[]))
                    .send()
                    .await
                    .or_aws(table_name)?;
                created
                    .route_table()
                    .and_then(|t| t.route_table_id())
                    .unwrap_or_default()
                    .to_string()
            }
        };
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
}
