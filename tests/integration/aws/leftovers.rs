//! What the cluster makes on its own (load balancers for Services, their
//! security groups and interfaces, the control-plane log group): deleted
//! with the hub's own VPC, named but left alone in a VPC hubforge did not
//! make. moto's EKS runs no Kubernetes, so they are made here with the SDK
//! as Kubernetes and EKS would make them, tagged for the cluster.

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use provider_core::provider::{SupportKind, SupportOps, owned_by};

use super::{ISSUER, applied, aws, existing_subnets, reference, sdk};

fn ec2_tags(kind: ResourceType, tags: &[(&str, &str)]) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
                .collect(),
        ))
        .build()
}

fn by(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// What a `LoadBalancer` Service of `cluster` makes: a security group and
/// a network load balancer in `subnets`, both tagged as the cluster's.
/// Returns (load balancer ARN, security group id).
async fn service_load_balancer(
    cluster: &str,
    name: &str,
    vpc: &str,
    subnets: &[String],
) -> (String, String) {
    let sdk = sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let owned = format!("kubernetes.io/cluster/{cluster}");
    let group = ec2
        .create_security_group()
        .group_name(format!("k8s-elb-{name}"))
        .description("Security group for Kubernetes ELB")
        .vpc_id(vpc)
        .tag_specifications(ec2_tags(ResourceType::SecurityGroup, &[(&owned, "owned")]))
        .send()
        .await
        .unwrap();
    let group = group.group_id().unwrap().to_string();
    let elbv2 = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    let tag = |k: &str, v: &str| {
        aws_sdk_elasticloadbalancingv2::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
    };
    let created = elbv2
        .create_load_balancer()
        .name(name)
        .r#type(aws_sdk_elasticloadbalancingv2::types::LoadBalancerTypeEnum::Network)
        .set_subnets(Some(subnets.to_vec()))
        .security_groups(&group)
        .tags(tag(&owned, "owned"))
        .tags(tag("kubernetes.io/service-name", "prod/proxy-public"))
        .send()
        .await
        .unwrap();
    let arn = created.load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string();
    (arn, group)
}

async fn vpc_of(subnet: &str) -> String {
    let ec2 = aws_sdk_ec2::Client::new(&sdk().await);
    let subnets = ec2
        .describe_subnets()
        .subnet_ids(subnet)
        .send()
        .await
        .unwrap();
    subnets.subnets()[0].vpc_id().unwrap().to_string()
}

async fn load_balancer_names() -> Vec<String> {
    let elbv2 = aws_sdk_elasticloadbalancingv2::Client::new(&sdk().await);
    elbv2
        .describe_load_balancers()
        .send()
        .await
        .unwrap()
        .load_balancers()
        .iter()
        .map(|lb| lb.load_balancer_name().unwrap().to_string())
        .collect()
}

/// The control-plane log group EKS makes when logging is on (moto's EKS
/// does not make it).
async fn control_plane_logs(cluster: &str) -> String {
    let name = format!("/aws/eks/{cluster}/cluster");
    aws_sdk_cloudwatchlogs::Client::new(&sdk().await)
        .create_log_group()
        .log_group_name(&name)
        .send()
        .await
        .unwrap();
    name
}

async fn log_group_exists(name: &str) -> bool {
    aws_sdk_cloudwatchlogs::Client::new(&sdk().await)
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .unwrap()
        .log_groups()
        .iter()
        .any(|g| g.log_group_name() == Some(name))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_removes_what_the_cluster_made_in_the_hub_vpc() {
    require_moto!();
    let _turn = ISSUER.lock().await;
    let hub = "lbhub";
    let spec = reference(hub);
    let (engine, dir) = applied(&spec, aws(vec![]).await).await;

    let sdk = sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let vpc = ec2
        .describe_vpcs()
        .filters(by("tag:hubforge-cluster", hub))
        .send()
        .await
        .unwrap();
    let vpc = vpc.vpcs()[0].vpc_id().unwrap().to_string();
    let subnets = ec2
        .describe_subnets()
        .filters(by("vpc-id", &vpc))
        .filters(by("tag:hubforge-subnet", "public"))
        .send()
        .await
        .unwrap();
    let subnets: Vec<String> = subnets
        .subnets()
        .iter()
        .map(|s| s.subnet_id().unwrap().to_string())
        .collect();
    // z2jh's proxy-public, as the cluster would make it.
    let (_, group) = service_load_balancer(hub, "lbhub-proxy-public", &vpc, &subnets).await;
    // A classic load balancer, as the cloud provider makes by default.
    let classic = aws_sdk_elasticloadbalancing::Client::new(&sdk);
    classic
        .create_load_balancer()
        .load_balancer_name("lbhub-classic")
        .listeners(
            aws_sdk_elasticloadbalancing::types::Listener::builder()
                .protocol("TCP")
                .load_balancer_port(80)
                .instance_port(30080)
                .build()
                .unwrap(),
        )
        .set_subnets(Some(subnets.clone()))
        .security_groups(&group)
        .tags(
            aws_sdk_elasticloadbalancing::types::Tag::builder()
                .key(format!("kubernetes.io/cluster/{hub}"))
                .value("owned")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    // A network interface the VPC CNI left behind when a node went.
    let interface = ec2
        .create_network_interface()
        .subnet_id(&subnets[0])
        .description("aws-K8S-i-0123456789abcdef0")
        .tag_specifications(ec2_tags(
            ResourceType::NetworkInterface,
            &[("cluster.k8s.amazonaws.com/name", hub)],
        ))
        .send()
        .await
        .unwrap();
    let interface = interface
        .network_interface()
        .unwrap()
        .network_interface_id()
        .unwrap()
        .to_string();
    // Another cluster's load balancer, in another VPC: not the hub's.
    let elsewhere = existing_subnets().await;
    let foreign_vpc = vpc_of(&elsewhere[0]).await;
    service_load_balancer("othercluster", "other-proxy", &foreign_vpc, &elsewhere).await;
    let logs = control_plane_logs(hub).await;

    let (report, leaks) = engine.destroy(&spec, false).await.unwrap();
    assert!(
        report.succeeded() && leaks.leaks.is_empty(),
        "{:?} {leaks:?}",
        report.failed
    );
    let names = load_balancer_names().await;
    assert!(
        !names.iter().any(|n| n == "lbhub-proxy-public"),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n == "other-proxy"),
        "another cluster's load balancer stays: {names:?}"
    );
    let classics = classic.describe_load_balancers().send().await.unwrap();
    assert!(
        !classics
            .load_balancer_descriptions()
            .iter()
            .any(|lb| lb.load_balancer_name() == Some("lbhub-classic")),
        "the classic load balancer is gone"
    );
    // moto keeps the tags of what it deleted, so each is looked up.
    let group_left = ec2
        .describe_security_groups()
        .filters(by("group-id", &group));
    let groups = group_left.send().await.unwrap();
    assert!(groups.security_groups().is_empty(), "{groups:?}");
    let interface_left = ec2
        .describe_network_interfaces()
        .filters(by("network-interface-id", &interface));
    let interfaces = interface_left.send().await.unwrap();
    assert!(interfaces.network_interfaces().is_empty(), "{interfaces:?}");
    let vpcs = ec2
        .describe_vpcs()
        .filters(by("vpc-id", &vpc))
        .send()
        .await
        .unwrap();
    assert!(vpcs.vpcs().is_empty(), "the VPC is gone");
    assert!(
        !log_group_exists(&logs).await,
        "the control-plane logs are gone"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_cluster_left_in_a_vpc_hubforge_did_not_make_is_named_not_deleted() {
    require_moto!();
    let subnets = existing_subnets().await;
    let provider = aws(subnets.clone()).await;
    let cluster = format!("gone{}", std::process::id());
    let sdk = sdk().await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let vpc = vpc_of(&subnets[0]).await;
    let name = format!("{cluster}-proxy");
    let (arn, group) = service_load_balancer(&cluster, &name, &vpc, &subnets).await;
    let logs = control_plane_logs(&cluster).await;

    // The cluster is gone (it never existed here): what it left is listed,
    // as not the hub's, so the leak check names it and nothing deletes it.
    let listed = provider.list_support(&cluster).await.unwrap();
    let left = listed
        .iter()
        .find(|s| s.config.kind == SupportKind::Network)
        .unwrap_or_else(|| panic!("nothing names what the cluster left: {listed:?}"));
    for part in [name.as_str(), group.as_str(), logs.as_str()] {
        assert!(
            left.config.name.contains(part),
            "{} lacks {part}",
            left.config.name
        );
    }
    assert!(
        !owned_by(&left.config.tags, &cluster),
        "{:?}",
        left.config.tags
    );
    assert!(load_balancer_names().await.contains(&name));

    aws_sdk_elasticloadbalancingv2::Client::new(&sdk)
        .delete_load_balancer()
        .load_balancer_arn(&arn)
        .send()
        .await
        .unwrap();
    ec2.delete_security_group()
        .group_id(&group)
        .send()
        .await
        .unwrap();
    aws_sdk_cloudwatchlogs::Client::new(&sdk)
        .delete_log_group()
        .log_group_name(&logs)
        .send()
        .await
        .unwrap();
    let listed = provider.list_support(&cluster).await.unwrap();
    assert!(listed.is_empty(), "{listed:?}");
}
