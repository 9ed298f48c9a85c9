//! Private nodes on moto: node groups in private subnets behind a NAT
//! gateway, and nothing left after destroy.

use hubforge::aws::{AwsBuilder, StaticCredentials};

use super::{ISSUER, REGION, applied, moto, reference, sdk};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_nodes_sit_behind_a_nat_gateway_and_leave_nothing_behind() {
    require_moto!();
    let _turn = ISSUER.lock().await;
    let hub = "privhub";
    let mut spec = reference(hub);
    spec.aws = Some(provider_core::spec::AwsSettings {
        subnets: vec![],
        private_nodes: true,
    });
    let provider = AwsBuilder::new()
        .region(REGION)
        .endpoint_url(moto())
        .credentials(StaticCredentials::new("test", "test"))
        .emulator(true)
        .private_nodes(true)
        .build()
        .await
        .unwrap();
    let (engine, dir) = applied(&spec, provider).await;

    let sdk = sdk().await;
    let (eks, ec2) = (
        aws_sdk_eks::Client::new(&sdk),
        aws_sdk_ec2::Client::new(&sdk),
    );
    let by_tag = |key: &str, value: &str| {
        aws_sdk_ec2::types::Filter::builder()
            .name(format!("tag:{key}"))
            .values(value)
            .build()
    };
    let vpc = ec2
        .describe_vpcs()
        .filters(by_tag("hubforge-cluster", hub))
        .send()
        .await
        .unwrap();
    let vpc_id = vpc.vpcs()[0].vpc_id().unwrap().to_string();
    let in_vpc = aws_sdk_ec2::types::Filter::builder()
        .name("vpc-id")
        .values(&vpc_id)
        .build();
    let nats = ec2
        .describe_nat_gateways()
        .filter(in_vpc.clone())
        .send()
        .await
        .unwrap();
    let nat = nats
        .nat_gateways()
        .iter()
        .find(|n| n.state().map(|s| s.as_str()) == Some("available"))
        .expect("a NAT gateway");
    let private = ec2
        .describe_subnets()
        .filters(in_vpc.clone())
        .filters(by_tag("hubforge-subnet", "private"))
        .send()
        .await
        .unwrap();
    let private: Vec<String> = private
        .subnets()
        .iter()
        .map(|s| s.subnet_id().unwrap().to_string())
        .collect();
    assert_eq!(private.len(), 2);
    let tables = ec2
        .describe_route_tables()
        .filters(in_vpc.clone())
        .filters(by_tag("Name", &format!("{hub}-vpc-private")))
        .send()
        .await
        .unwrap();
    let routes = tables.route_tables()[0].routes();
    assert!(
        routes
            .iter()
            .any(|r| r.destination_cidr_block() == Some("0.0.0.0/0")
                && r.nat_gateway_id() == nat.nat_gateway_id()),
        "{routes:?}"
    );
    for pool in ["core", "user-small", "user-gpu", "dask"] {
        let group = eks
            .describe_nodegroup()
            .cluster_name(hub)
            .nodegroup_name(pool)
            .send()
            .await
            .unwrap();
        let subnets = group.nodegroup().unwrap().subnets().to_vec();
        assert!(
            !subnets.is_empty() && subnets.iter().all(|s| private.contains(s)),
            "{pool} runs in {subnets:?}, not only in {private:?}"
        );
    }
    assert!(!engine.plan(&spec).await.unwrap().has_changes());

    let (report, leaks) = engine.destroy(&spec, false).await.unwrap();
    assert!(
        report.succeeded() && leaks.leaks.is_empty(),
        "{:?} {leaks:?}",
        report.failed
    );
    let addresses = ec2
        .describe_addresses()
        .filters(by_tag("hubforge-cluster", hub))
        .send()
        .await
        .unwrap();
    assert!(
        addresses.addresses().is_empty(),
        "the NAT gateway's address is released"
    );
    let nats = ec2
        .describe_nat_gateways()
        .filter(by_tag("hubforge-cluster", hub))
        .send()
        .await
        .unwrap();
    assert!(
        nats.nat_gateways()
            .iter()
            .all(|n| n.state().map(|s| s.as_str()) == Some("deleted")),
        "{:?}",
        nats.nat_gateways()
    );
    let _ = std::fs::remove_dir_all(dir);
}
