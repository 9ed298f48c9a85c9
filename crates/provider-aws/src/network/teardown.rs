//! Tearing the hub's network down, in the order AWS allows, with what the
//! cluster made in it on its own first.
//!
//! Some parts go only some time after they are deleted (a load balancer's
//! network interfaces), and the VPC cannot go while they are there. So the
//! teardown is an operation: each poll takes one pass over what is left,
//! deleting what can go and stopping where it must wait, and the caller's
//! waiter (with its backoff, deadline and cancellation) drives it.

use std::sync::{Arc, Mutex};

use provider_core::operation::{Operation, OperationStatus, PollFn, Progress};
use provider_core::provider::SupportKind;
use provider_core::{ErrorKind, Result};

use crate::AwsProvider;
use crate::error::{AwsResult, local};

/// What a network's teardown remembers from one pass to the next.
#[derive(Default)]
pub(crate) struct Teardown {
    /// The descriptions of the interfaces of the load balancers it
    /// deleted: the VPC waits until they are gone.
    pub balancer_interfaces: Mutex<Vec<String>>,
}

impl AwsProvider {
    /// Starts tearing the network `name` down, once `cluster` is gone:
    /// first what the cluster made in it (load balancers for its Services
    /// and their security groups hold the subnets) and its control-plane
    /// log group, then hubforge's own parts. The first pass runs now (a
    /// missing VPC is `NotFound`); if it must wait, the operation goes on.
    pub(crate) async fn delete_network(&self, name: &str, cluster: &str) -> Result<Operation> {
        let id = format!("delete-{}-{name}", SupportKind::Network.as_str());
        let resource = format!("support/{name}");
        let teardown = Arc::new(Teardown::default());
        if self
            .teardown_pass(name, cluster, &teardown, true)
            .await?
            .is_none()
        {
            return Ok(Operation::completed(id, resource));
        }
        let (provider, name, cluster) = (self.clone(), name.to_string(), cluster.to_string());
        let poll = PollFn::new(move || {
            let (provider, name, cluster, teardown) = (
                provider.clone(),
                name.clone(),
                cluster.clone(),
                teardown.clone(),
            );
            async move {
                let waiting = provider
                    .teardown_pass(&name, &cluster, &teardown, false)
                    .await?;
                Ok(match waiting {
                    None => OperationStatus::Succeeded,
                    Some(what) => OperationStatus::Running(Progress {
                        status: what,
                        percent: None,
                        retry_after: None,
                    }),
                })
            }
        });
        Ok(Operation::pending(id, resource, Box::new(poll)))
    }

    /// One pass over what is left of the network: `None` once the VPC is
    /// gone, or what it waits for. A VPC missing on the `first` pass is
    /// `NotFound`; later, it is the end.
    async fn teardown_pass(
        &self,
        name: &str,
        cluster: &str,
        teardown: &Teardown,
        first: bool,
    ) -> Result<Option<String>> {
        let ec2 = &self.inner.clients.ec2;
        let Some(vpc) = self.vpc_named(name).await? else {
            if first {
                return Err(local(ErrorKind::NotFound, name, "no such VPC"));
            }
            return Ok(None);
        };
        let vpc_id = vpc.vpc_id().unwrap_or_default().to_string();
        if let Some(waiting) = self
            .delete_cluster_leftovers(name, &vpc_id, cluster, teardown)
            .await?
        {
            return Ok(Some(waiting));
        }
        self.delete_log_group(cluster).await?;
        // The NAT gateway first (it bills by the hour), then its address.
        for nat in self.nat_gateways(&vpc_id).await? {
            ec2.delete_nat_gateway()
                .nat_gateway_id(&nat)
                .send()
                .await
                .or_aws(name)?;
        }
        if !self.nat_gateways(&vpc_id).await?.is_empty() {
            return Ok(Some("the NAT gateway to go".into()));
        }
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
        Ok(None)
    }
}
