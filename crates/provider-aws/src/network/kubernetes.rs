//! What a cluster makes in its VPC on its own: load balancers for its
//! `LoadBalancer` Services (z2jh's `proxy-public`), their security groups,
//! and network interfaces left behind. EKS deletes none of them with the
//! cluster, and while they are there the VPC cannot be deleted. They carry
//! the cluster's tags: `kubernetes.io/cluster/<cluster>: owned` (the AWS
//! cloud provider in Kubernetes), `elbv2.k8s.aws/cluster: <cluster>` (the
//! AWS Load Balancer Controller), `cluster.k8s.amazonaws.com/name:
//! <cluster>` (the VPC CNI's interfaces).

use aws_sdk_ec2::types::{IpPermission, NetworkInterface, SecurityGroup};
use provider_core::Result;

use super::filter;
use super::teardown::Teardown;
use crate::AwsProvider;
use crate::error::{AwsResult, every};

/// DescribeTags of both load balancer APIs takes at most 20 at a time.
const TAG_BATCH: usize = 20;

/// Whether a resource's tags say the cluster made it. `shared` (what
/// hubforge puts on its subnets) does not: that is use, not making.
pub(crate) fn made_by_cluster<'a>(
    mut tags: impl Iterator<Item = (&'a str, &'a str)>,
    cluster: &str,
) -> bool {
    let owned = format!("kubernetes.io/cluster/{cluster}");
    tags.any(|(key, value)| {
        (key == owned && value == "owned")
            || (key == "elbv2.k8s.aws/cluster" && value == cluster)
            || (key == "cluster.k8s.amazonaws.com/name" && value == cluster)
    })
}

/// A load balancer the cluster made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LoadBalancer {
    /// A network or application load balancer, by ARN.
    V2 { name: String, arn: String },
    /// A classic load balancer, by name.
    Classic { name: String },
}

impl LoadBalancer {
    /// The description AWS gives the load balancer's own network
    /// interfaces (`ELB app/<name>/<id>`, `ELB <classic name>`); they go
    /// some time after the load balancer.
    pub fn interface_description(&self) -> String {
        match self {
            LoadBalancer::V2 { arn, name } => match arn.split_once(":loadbalancer/") {
                Some((_, rest)) => format!("ELB {rest}"),
                None => format!("ELB {name}"),
            },
            LoadBalancer::Classic { name } => format!("ELB {name}"),
        }
    }
}

/// What the cluster made and left.
#[derive(Debug, Default)]
pub(crate) struct Leftovers {
    pub load_balancers: Vec<LoadBalancer>,
    pub security_groups: Vec<SecurityGroup>,
    pub interfaces: Vec<NetworkInterface>,
}

impl Leftovers {
    /// One `kind id` line each, for messages and the leak check.
    pub fn describe(&self) -> Vec<String> {
        let balancers = self.load_balancers.iter().map(|lb| match lb {
            LoadBalancer::V2 { name, .. } => format!("load balancer {name}"),
            LoadBalancer::Classic { name } => format!("classic load balancer {name}"),
        });
        let groups = self
            .security_groups
            .iter()
            .map(|g| format!("security group {}", g.group_id().unwrap_or_default()));
        let interfaces = self.interfaces.iter().map(|i| {
            format!(
                "network interface {}",
                i.network_interface_id().unwrap_or_default()
            )
        });
        balancers.chain(groups).chain(interfaces).collect()
    }
}

impl AwsProvider {
    /// What `cluster` made and left, in `vpc` or anywhere in the region.
    pub(crate) async fn cluster_leftovers(
        &self,
        cluster: &str,
        vpc: Option<&str>,
    ) -> Result<Leftovers> {
        let in_vpc = |id: Option<&str>| vpc.is_none_or(|vpc| id == Some(vpc));
        let mut load_balancers = Vec::new();

        let elbv2 = &self.inner.clients.elbv2;
        let v2: Vec<(String, String)> = every!(elbv2.describe_load_balancers(), "elbv2")
            .await?
            .iter()
            .filter(|lb| in_vpc(lb.vpc_id()))
            .filter_map(|lb| {
                Some((
                    lb.load_balancer_arn()?.to_string(),
                    lb.load_balancer_name()?.to_string(),
                ))
            })
            .collect();
        for batch in v2.chunks(TAG_BATCH) {
            let arns = batch.iter().map(|(arn, _)| arn.clone()).collect();
            let tagged = elbv2
                .describe_tags()
                .set_resource_arns(Some(arns))
                .send()
                .await
                .or_aws("elbv2")?;
            for description in tagged.tag_descriptions() {
                let tags = description
                    .tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())));
                if made_by_cluster(tags, cluster)
                    && let Some((arn, name)) = batch
                        .iter()
                        .find(|(arn, _)| Some(arn.as_str()) == description.resource_arn())
                {
                    load_balancers.push(LoadBalancer::V2 {
                        name: name.clone(),
                        arn: arn.clone(),
                    });
                }
            }
        }

        let elb = &self.inner.clients.elb;
        let classic: Vec<String> = every!(elb.describe_load_balancers(), "elb")
            .await?
            .iter()
            .filter(|lb| in_vpc(lb.vpc_id()))
            .filter_map(|lb| lb.load_balancer_name().map(str::to_string))
            .collect();
        for batch in classic.chunks(TAG_BATCH) {
            let tagged = elb
                .describe_tags()
                .set_load_balancer_names(Some(batch.to_vec()))
                .send()
                .await
                .or_aws("elb")?;
            for description in tagged.tag_descriptions() {
                let tags = description
                    .tags()
                    .iter()
                    .map(|t| (t.key(), t.value().unwrap_or_default()));
                if made_by_cluster(tags, cluster)
                    && let Some(name) = description.load_balancer_name()
                {
                    load_balancers.push(LoadBalancer::Classic { name: name.into() });
                }
            }
        }

        let ec2 = &self.inner.clients.ec2;
        let mut groups = Vec::new();
        for (key, value) in cluster_tag_filters(cluster) {
            let mut request = ec2
                .describe_security_groups()
                .filters(filter(&format!("tag:{key}"), &value));
            if let Some(vpc) = vpc {
                request = request.filters(filter("vpc-id", vpc));
            }
            for group in every!(request, cluster).await? {
                if !groups
                    .iter()
                    .any(|g: &SecurityGroup| g.group_id() == group.group_id())
                {
                    groups.push(group);
                }
            }
        }
        let mut interfaces = Vec::new();
        for (key, value) in cluster_tag_filters(cluster) {
            // Only detached ones: an attached interface belongs to something
            // running (a node, a load balancer) and goes with it.
            let mut request = ec2
                .describe_network_interfaces()
                .filters(filter(&format!("tag:{key}"), &value))
                .filters(filter("status", "available"));
            if let Some(vpc) = vpc {
                request = request.filters(filter("vpc-id", vpc));
            }
            for interface in every!(request, cluster).await? {
                if !interfaces.iter().any(|i: &NetworkInterface| {
                    i.network_interface_id() == interface.network_interface_id()
                }) {
                    interfaces.push(interface);
                }
            }
        }
        Ok(Leftovers {
            load_balancers,
            security_groups: groups,
            interfaces,
        })
    }

    /// Deletes what `cluster` made in the VPC, once the cluster is gone:
    /// load balancers, then (once their interfaces are gone: until then
    /// it answers what it waits for) detached interfaces, then security
    /// groups. Nothing without the cluster's tags is touched.
    pub(crate) async fn delete_cluster_leftovers(
        &self,
        resource: &str,
        vpc_id: &str,
        cluster: &str,
        teardown: &Teardown,
    ) -> Result<Option<String>> {
        let ec2 = &self.inner.clients.ec2;
        let left = self.cluster_leftovers(cluster, Some(vpc_id)).await?;
        for balancer in &left.load_balancers {
            match balancer {
                LoadBalancer::V2 { arn, .. } => {
                    self.inner
                        .clients
                        .elbv2
                        .delete_load_balancer()
                        .load_balancer_arn(arn)
                        .send()
                        .await
                        .or_aws(resource)?;
                }
                LoadBalancer::Classic { name } => {
                    self.inner
                        .clients
                        .elb
                        .delete_load_balancer()
                        .load_balancer_name(name)
                        .send()
                        .await
                        .or_aws(resource)?;
                }
            }
        }
        let descriptions = {
            let mut waiting = teardown.balancer_interfaces.lock().expect("teardown");
            waiting.extend(
                left.load_balancers
                    .iter()
                    .map(LoadBalancer::interface_description),
            );
            waiting.clone()
        };
        if !descriptions.is_empty() {
            let request = ec2
                .describe_network_interfaces()
                .filters(filter("vpc-id", vpc_id))
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("description")
                        .set_values(Some(descriptions))
                        .build(),
                );
            if !every!(request, resource).await?.is_empty() {
                return Ok(Some("the load balancers' network interfaces to go".into()));
            }
        }
        for interface in &left.interfaces {
            if let Some(id) = interface.network_interface_id() {
                ec2.delete_network_interface()
                    .network_interface_id(id)
                    .send()
                    .await
                    .or_aws(resource)?;
            }
        }
        // Rules naming another group keep that group from being deleted.
        for group in &left.security_groups {
            let Some(id) = group.group_id() else { continue };
            let ingress = naming_groups(group.ip_permissions());
            if !ingress.is_empty() {
                ec2.revoke_security_group_ingress()
                    .group_id(id)
                    .set_ip_permissions(Some(ingress))
                    .send()
                    .await
                    .or_aws(resource)?;
            }
            let egress = naming_groups(group.ip_permissions_egress());
            if !egress.is_empty() {
                ec2.revoke_security_group_egress()
                    .group_id(id)
                    .set_ip_permissions(Some(egress))
                    .send()
                    .await
                    .or_aws(resource)?;
            }
        }
        for id in left.security_groups.iter().filter_map(|g| g.group_id()) {
            ec2.delete_security_group()
                .group_id(id)
                .send()
                .await
                .or_aws(resource)?;
        }
        Ok(None)
    }
}

/// The tag filters that find what the cluster made: (key, value).
fn cluster_tag_filters(cluster: &str) -> [(String, String); 3] {
    [
        (format!("kubernetes.io/cluster/{cluster}"), "owned".into()),
        ("elbv2.k8s.aws/cluster".into(), cluster.into()),
        ("cluster.k8s.amazonaws.com/name".into(), cluster.into()),
    ]
}

/// The rules that name other security groups.
fn naming_groups(rules: &[IpPermission]) -> Vec<IpPermission> {
    rules
        .iter()
        .filter(|r| !r.user_id_group_pairs().is_empty())
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_the_cluster_made_counts_as_its() {
        let made = |tags: &[(&str, &str)]| made_by_cluster(tags.iter().copied(), "hub");
        assert!(made(&[("kubernetes.io/cluster/hub", "owned")]));
        assert!(made(&[("elbv2.k8s.aws/cluster", "hub")]));
        assert!(made(&[("cluster.k8s.amazonaws.com/name", "hub")]));
        // hubforge's subnets are shared with the cluster, not made by it.
        assert!(!made(&[("kubernetes.io/cluster/hub", "shared")]));
        assert!(!made(&[("kubernetes.io/cluster/hub2", "owned")]));
        assert!(!made(&[("elbv2.k8s.aws/cluster", "hub2")]));
        assert!(!made(&[]));
    }

    #[test]
    fn a_load_balancers_interfaces_are_found_by_their_description() {
        let nlb = LoadBalancer::V2 {
            name: "k8s-proxy".into(),
            arn: "arn:aws:elasticloadbalancing:us-west-2:1:loadbalancer/net/k8s-proxy/50dc6c495c0c9188".into(),
        };
        assert_eq!(
            nlb.interface_description(),
            "ELB net/k8s-proxy/50dc6c495c0c9188"
        );
        let classic = LoadBalancer::Classic {
            name: "a1b2c3".into(),
        };
        assert_eq!(classic.interface_description(), "ELB a1b2c3");
    }
}
