//! Creates as ensures on moto: a network stopped half-way reads as
//! incomplete and is finished by creating it again; the OIDC provider
//! follows the issuer the engine gives it.

use std::collections::BTreeMap;

use provider_core::interrupt::Interrupter;
use provider_core::provider::{
    HubOutline, ISSUER_PROPERTY, ResourceStatus, SupportConfig, SupportKind, SupportOps, owned_by,
};

use super::{builder, sdk};

fn support(provider: &impl SupportOps, hub: &str, kind: SupportKind) -> SupportConfig {
    let outline = HubOutline {
        hub: hub.into(),
        region: super::REGION.into(),
        cluster: hub.into(),
        has_buckets: false,
        tags: BTreeMap::from([("team".to_string(), "hubs".to_string())]),
    };
    provider
        .supporting_resources(&outline)
        .into_iter()
        .find(|need| need.config.kind == kind)
        .expect("the hub needs it")
        .config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_stopped_half_way_reads_as_incomplete_and_is_finished() {
    require_moto!();
    let interrupter = Interrupter::new();
    let provider = builder(vec![])
        .interrupter(interrupter.clone())
        .build()
        .await
        .unwrap();
    // After the VPC alone, and after its route table but before subnets.
    for (run, step) in [1, 4].into_iter().enumerate() {
        let hub = format!("halfnet{run}-{}", std::process::id() % 10_000);
        let network = support(&provider, &hub, SupportKind::Network);
        interrupter.arm(SupportKind::Network.as_str(), step);
        let stopped = provider.create_support(&network).await.unwrap_err();
        assert!(stopped.is_temporary(), "{stopped}");
        assert!(
            !interrupter.is_armed(),
            "the network reported no step {step}"
        );
        let half = provider
            .get_support(SupportKind::Network, &network.name)
            .await
            .unwrap()
            .expect("the half-made VPC is there");
        assert!(owned_by(&half.config.tags, &hub), "{:?}", half.config.tags);
        assert!(
            matches!(&half.status, ResourceStatus::Incomplete(gaps) if gaps.contains("public subnets")),
            "after step {step}: {:?}",
            half.status
        );
        provider.create_support(&network).await.unwrap();
        let done = provider
            .get_support(SupportKind::Network, &network.name)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(done.status, ResourceStatus::Ready, "after step {step}");
        let listed = provider.list_support(&hub).await.unwrap();
        assert_eq!(listed.len(), 1, "one VPC, not a second: {listed:?}");
        provider
            .delete_support(SupportKind::Network, &network.name)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_dropped_from_the_spec_leaves_the_network() {
    require_moto!();
    let provider = builder(vec![]).build().await.unwrap();
    let hub = format!("retagnet{}", std::process::id() % 10_000);
    let network = support(&provider, &hub, SupportKind::Network);
    assert_eq!(network.tags.get("team").map(String::as_str), Some("hubs"));
    provider.create_support(&network).await.unwrap();
    let mut retagged = network.clone();
    retagged.tags.remove("team");
    retagged.tags.insert("cost".into(), "research".into());
    provider.update_support(&retagged).await.unwrap();

    let ec2 = aws_sdk_ec2::Client::new(&sdk().await);
    let name = aws_sdk_ec2::types::Filter::builder()
        .name("tag:Name")
        .values(&network.name)
        .build();
    let vpcs = ec2.describe_vpcs().filters(name).send().await.unwrap();
    let tags: BTreeMap<&str, &str> = vpcs.vpcs()[0]
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?, t.value()?)))
        .collect();
    assert_eq!(tags.get("cost"), Some(&"research"), "{tags:?}");
    assert!(
        !tags.contains_key("team"),
        "the dropped tag stays: {tags:?}"
    );
    let read = provider
        .get_support(SupportKind::Network, &network.name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.config.tags, retagged.tags, "no change left to plan");
    provider
        .delete_support(SupportKind::Network, &network.name)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oidc_provider_follows_the_issuer_and_leaves_another_alone() {
    require_moto!();
    let provider = builder(vec![]).build().await.unwrap();
    let hub = format!("oidchub{}", std::process::id() % 10_000);
    let issuer = |id: &str| format!("https://oidc.test.example/id/{hub}-{id}");
    let mut oidc = support(&provider, &hub, SupportKind::OidcProvider);
    oidc.properties
        .insert(ISSUER_PROPERTY.to_string(), issuer("first"));
    provider.create_support(&oidc).await.unwrap();
    // Again: an ensure, not a second provider.
    provider.create_support(&oidc).await.unwrap();
    let read = provider
        .get_support(SupportKind::OidcProvider, &oidc.name)
        .await
        .unwrap()
        .expect("registered");
    assert_eq!(
        read.config.properties,
        BTreeMap::from([
            ("cluster".to_string(), hub.clone()),
            (ISSUER_PROPERTY.to_string(), issuer("first")),
        ])
    );

    // The cluster was made again: a new issuer.
    oidc.properties
        .insert(ISSUER_PROPERTY.to_string(), issuer("second"));
    provider.update_support(&oidc).await.unwrap();
    let iam = aws_sdk_iam::Client::new(&sdk().await);
    let registered = |list: &aws_sdk_iam::operation::list_open_id_connect_providers::ListOpenIdConnectProvidersOutput| {
        list.open_id_connect_provider_list()
            .iter()
            .filter_map(|p| p.arn())
            .filter(|arn| arn.contains(&format!("/id/{hub}-")))
            .map(|arn| arn.rsplit('-').next().unwrap().to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    };
    let listed = iam.list_open_id_connect_providers().send().await.unwrap();
    assert_eq!(registered(&listed), ["second"]);
    let hubs = provider.list_support(&hub).await.unwrap();
    let issuers: Vec<&str> = hubs
        .iter()
        .filter(|s| s.config.kind == SupportKind::OidcProvider)
        .map(|s| s.config.properties[ISSUER_PROPERTY].as_str())
        .collect();
    assert_eq!(issuers, [issuer("second")]);

    // Someone else registered the next issuer: refused, left as it is.
    let foreign = iam
        .create_open_id_connect_provider()
        .url(issuer("third"))
        .client_id_list("sts.amazonaws.com")
        .send()
        .await
        .unwrap();
    oidc.properties
        .insert(ISSUER_PROPERTY.to_string(), issuer("third"));
    let refused = provider.update_support(&oidc).await.unwrap_err();
    assert_eq!(
        refused.kind(),
        &provider_core::ErrorKind::AlreadyExists,
        "{refused}"
    );
    let listed = iam.list_open_id_connect_providers().send().await.unwrap();
    assert_eq!(registered(&listed), ["second", "third"]);

    provider
        .delete_support(SupportKind::OidcProvider, &oidc.name)
        .await
        .unwrap();
    iam.delete_open_id_connect_provider()
        .open_id_connect_provider_arn(foreign.open_id_connect_provider_arn().unwrap())
        .send()
        .await
        .unwrap();
}
