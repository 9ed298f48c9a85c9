//! Tearing the hub's network down, in the order AWS allows, with what the
//! cluster made in it on its own first.

use provider_core::{ErrorKind, Result};

use crate::AwsProvider;
use crate::error::{AwsResult, local};

impl AwsProvider {
    /// Tears the network down in the order AWS allows, once `cluster` is
    /// gone: first what the cluster made in it (load balancers for its
    /// Services and their security groups hold the subnets) and its
    /// control-plane log group, then hubforge's own parts.
    pub(crate) async fn delete_network(&self, name: &str, cluster: &str) -> Result<()> {
        let ec2 = &self.inner.clients.ec2;
        let vpc = self
            .vpc_named(name)
            .await?
            .ok_or_else(|| local(ErrorKind::NotFound, name, "no such VPC"))?;
        let vpc_id = vpc.vpc_id().unwrap_or_default().to_string();
        self.delete_cluster_leftovers(name, &vpc_id, cluster)
            .await?;
        self.delete_log_group(cluster).await?;
        // The NAT gateway first (it bills by the hour), then its address.
        for nat in self.nat_gateways(&vpc_id).await? {
            ec2.delete_nat_gateway()
                .nat_gateway_id(&nat)
                .send()
                .await
                .or_aws(name)?;
        }
        self.wait_until_gone(name, "the NAT gateway", || async {
            Ok(!self.nat_gateways(&vpc_id).await?.is_empty())
        })
        .await?;
        for allocation in self
            .addresses(name)
            .await?
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
