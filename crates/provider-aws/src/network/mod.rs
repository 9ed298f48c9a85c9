//! The hub's VPC: public subnets in two availability zones (EKS needs two),
//! an internet gateway and a route table — no NAT gateway, so no NAT bill.
//! With `private_nodes`, also private subnets whose route to the internet
//! is a NAT gateway in the first public subnet; node groups go there.
//!
//! Creating is an *ensure*: it finds the VPC by its tags and adds whatever
//! is missing, so a run killed half-way through is completed by the next.
//! A network missing parts reads as `Incomplete`, and its create (an
//! ensure) finishes it.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, ResourceType, RouteTable, Subnet, Tag, TagSpecification, Vpc};
use provider_core::names;
use provider_core::provider::*;
use provider_core::tags::{self, TagDiff, Tags};
use provider_core::{ErrorKind, Result};

use crate::AwsProvider;
use crate::error::{AwsResult, every, local};

mod create;
mod kubernetes;
mod teardown;
mod zones;

/// Which subnets are private: a tag hubforge puts on every subnet it makes.
const SUBNET_ROLE: &str = "hubforge-subnet";

/// Tags as EC2 takes them.
fn ec2_tags(tags: &Tags) -> Vec<Tag> {
    tags::each(tags, |k, v| Tag::builder().key(k).value(v).build())
}

fn tag_spec(
    kind: ResourceType,
    name: &str,
    tags: &Tags,
    extra: &[(String, String)],
) -> TagSpecification {
    let mut all = ec2_tags(tags);
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
    gaps: Vec<String>,
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

/// Whether a route is the default route (to the internet or the NAT).
fn is_default_route(route: &aws_sdk_ec2::types::Route) -> bool {
    route.destination_cidr_block() == Some("0.0.0.0/0")
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// The hub's tags of an EC2 resource: all but its name and subnet role.
fn tags_of(tags: &[Tag]) -> Tags {
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
            filter(&format!("tag:{TAG_MANAGED}"), "true"),
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

    /// The elastic addresses hubforge allocated for the network `name`'s
    /// NAT gateway.
    async fn addresses(&self, name: &str) -> Result<Vec<aws_sdk_ec2::types::Address>> {
        // DescribeAddresses has no pages.
        let addresses = self
            .inner
            .clients
            .ec2
            .describe_addresses()
            .filters(filter("tag:Name", name))
            .filters(filter(&format!("tag:{TAG_MANAGED}"), "true"))
            .send()
            .await
            .or_aws(name)?;
        Ok(addresses.addresses().to_vec())
    }

    /// The subnets associated with the route table `table`.
    async fn routed_subnets(&self, vpc_id: &str, table: &str) -> Result<Vec<String>> {
        Ok(self
            .route_tables(vpc_id, None)
            .await?
            .iter()
            .filter(|t| t.route_table_id() == Some(table))
            .flat_map(|t| t.associations())
            .filter_map(|a| a.subnet_id().map(str::to_string))
            .collect())
    }

    /// The hub VPC's subnet ids: every subnet, or only the private ones.
    pub(crate) async fn vpc_subnet_ids(
        &self,
        hub: &str,
        private_only: bool,
    ) -> Result<Vec<String>> {
        let name = names::network(hub);
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
            status: match facts.gaps.as_slice() {
                [] => ResourceStatus::Ready,
                gaps => ResourceStatus::Incomplete(gaps.join("; ")),
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
        let tables = self.route_tables(vpc_id, None).await?;
        let routed: Vec<&str> = tables
            .iter()
            .filter(|t| t.routes().iter().any(is_default_route))
            .flat_map(|t| t.associations())
            .filter_map(|a| a.subnet_id())
            .collect();
        let mut gaps = Vec::new();
        if gateways.is_empty() {
            gaps.push("no internet gateway".to_string());
        }
        if count("public") < zones::ZONES {
            gaps.push("fewer than two public subnets".to_string());
        }
        if private && nats.is_empty() {
            gaps.push("no NAT gateway for the private subnets".to_string());
        }
        if private && count("private") < zones::ZONES {
            gaps.push("fewer than two private subnets".to_string());
        }
        for subnet in subnets.iter().filter(|s| subnet_role(s).is_some()) {
            let id = subnet.subnet_id().unwrap_or_default();
            if !routed.contains(&id) {
                gaps.push(format!("subnet {id} has no route out"));
            }
        }
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
            filter(&format!("tag:{TAG_CLUSTER}"), hub),
            filter(&format!("tag:{TAG_MANAGED}"), "true"),
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

    /// Changes the VPC's tags to `config`'s: stale ones go too, or a tag
    /// dropped from the spec would show as a change in every plan.
    pub(crate) async fn retag_network(&self, config: &SupportConfig) -> Result<()> {
        let name = config.name.as_str();
        let vpc = self
            .vpc_named(name)
            .await?
            .ok_or_else(|| local(ErrorKind::NotFound, name, "no such VPC"))?;
        let (ec2, id) = (&self.inner.clients.ec2, vpc.vpc_id().unwrap_or_default());
        let untag = |keys: Vec<String>| async move {
            let stale = keys.iter().map(|k| Tag::builder().key(k).build()).collect();
            let request = ec2.delete_tags().resources(id).set_tags(Some(stale));
            request.send().await.or_aws(name)
        };
        let tag = |set: Tags| async move {
            let request = ec2.create_tags().resources(id);
            request
                .set_tags(Some(ec2_tags(&set)))
                .send()
                .await
                .or_aws(name)
        };
        TagDiff::between(&tags_of(vpc.tags()), &config.tags)
            .apply(untag, tag)
            .await
    }
}
