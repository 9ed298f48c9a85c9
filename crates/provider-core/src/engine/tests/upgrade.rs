//! Upgrades over several minor versions, identities that follow a new
//! cluster's issuer, the system pool kept at all times, and what a
//! workload identity needs on Azure.

use super::*;

/// The steps of a plan that change Kubernetes versions, in the order the
/// engine finished them: `cluster 1.32`, `pool core 1.32`, …
fn finished_version_steps(plan: &Plan, done: &[usize]) -> Vec<String> {
    done.iter()
        .filter_map(|id| match &plan.actions[*id].step {
            Step::UpdateCluster { versions, .. } if !versions.is_empty() => {
                Some(format!("cluster {}", versions.join(",")))
            }
            Step::UpdatePool { config, .. } => Some(format!("pools {}", config.kubernetes_version)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_two_minor_upgrade_on_eks_goes_step_by_step_with_the_pools() {
    let rig = rig(Some(Cloud::Aws), None);
    let mut spec = spec();
    converge(&rig.engine, &spec).await;
    spec.kubernetes_version = "1.33".into();
    let lock = rig.engine.lock("openscapes", "apply").await.unwrap();
    let plan = rig.engine.plan(&spec).await.unwrap();
    let report = rig.engine.execute(&lock, &plan).await.unwrap();
    lock.release().await.unwrap();
    assert!(report.succeeded(), "{:?}", report.failed);
    let mut steps = finished_version_steps(&plan, &report.done);
    steps.dedup();
    assert_eq!(
        steps,
        ["cluster 1.32", "pools 1.32", "cluster 1.33", "pools 1.33"],
        "{}",
        plan
    );
    for pool in rig.sim.list_node_pools("openscapes").await.unwrap() {
        assert_eq!(
            pool.config.kubernetes_version, "1.33",
            "{}",
            pool.config.name
        );
    }
    assert!(!rig.engine.plan(&spec).await.unwrap().has_changes());
}

#[tokio::test]
async fn a_recreated_cluster_rebinds_every_identity_to_its_new_issuer() {
    let rig = rig(Some(Cloud::Aws), None);
    let spec = spec();
    converge(&rig.engine, &spec).await;
    let old = rig
        .sim
        .get_cluster("openscapes")
        .await
        .unwrap()
        .unwrap()
        .oidc_issuer
        .unwrap();
    // The cluster is gone (a partial destroy, or the console); the OIDC
    // provider and the identities' trust stay behind.
    rig.sim.tamper_remove_cluster("openscapes").unwrap();

    let plan = rig.engine.plan(&spec).await.unwrap();
    let rendered = plan.to_string();
    for identity in ["staging-users", "prod-users"] {
        let bind = plan
            .actions
            .iter()
            .find(|a| a.node == NodeId::Binding(identity.into()))
            .unwrap_or_else(|| panic!("{identity} is bound again:\n{rendered}"));
        assert!(
            bind.diffs
                .iter()
                .any(|d| d.field == "issuer" && d.before == old),
            "{rendered}"
        );
    }
    assert!(
        plan.actions
            .iter()
            .any(|a| a.node == NodeId::Support(SupportKind::OidcProvider)
                && a.change == Change::Update),
        "the OIDC provider follows the new issuer:\n{rendered}"
    );
    converge(&rig.engine, &spec).await;
    let new = rig
        .sim
        .get_cluster("openscapes")
        .await
        .unwrap()
        .unwrap()
        .oidc_issuer
        .unwrap();
    assert_ne!(new, old, "a new cluster has a new issuer");
    for identity in rig.sim.list_identities("openscapes").await.unwrap() {
        assert_eq!(identity.binding.unwrap().issuer, new);
    }
    let oidc = rig
        .sim
        .get_support(SupportKind::OidcProvider, "openscapes-oidc")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(oidc.config.properties.get(ISSUER_PROPERTY), Some(&new));
    assert!(!rig.engine.plan(&spec).await.unwrap().has_changes());
}

#[tokio::test]
async fn the_old_system_pool_goes_only_once_the_new_one_is_up() {
    let rig = rig(Some(Cloud::Azure), None);
    let mut spec = spec();
    converge(&rig.engine, &spec).await;
    // `core` may now run on spot and scale to zero; a new pool `system`
    // takes over the system pods. On AKS the role is fixed: core is
    // replaced by a user pool, and the old core — the cluster's only
    // system pool — must wait for `system`.
    spec.node_pools[0].spot = true;
    spec.node_pools[0].min = 0;
    let mut system = spec.node_pools[1].clone();
    system.name = "system".into();
    system.min = 1;
    system.taints.clear();
    spec.node_pools.push(system);
    let plan = rig.engine.plan(&spec).await.unwrap();
    let rendered = plan.to_string();
    let create_system = plan
        .actions
        .iter()
        .find(|a| a.node == NodeId::NodePool("system".into()) && a.change == Change::Create)
        .unwrap_or_else(|| panic!("{rendered}"));
    let retire_core = plan
        .actions
        .iter()
        .find(|a| a.physical == "core" && a.change == Change::Delete)
        .unwrap_or_else(|| panic!("{rendered}"));
    assert!(
        retire_core.depends_on.contains(&create_system.id),
        "{rendered}"
    );
    converge(&rig.engine, &spec).await;
    let pools = rig.sim.list_node_pools("openscapes").await.unwrap();
    let system: Vec<&str> = pools
        .iter()
        .filter(|p| p.config.role == PoolRole::System)
        .map(|p| p.config.name.as_str())
        .collect();
    assert_eq!(system, ["system"], "{pools:?}");
}

#[tokio::test]
async fn an_azure_identity_tells_its_pods_to_use_it() {
    let rig = rig(Some(Cloud::Azure), None);
    let spec = spec();
    converge(&rig.engine, &spec).await;
    let outputs = rig.engine.outputs(&spec).await.unwrap();
    let prod = &outputs.identities["prod-users"];
    assert!(
        prod.annotations
            .contains_key("azure.workload.identity/client-id"),
        "{prod:?}"
    );
    assert_eq!(
        prod.pod_labels
            .get("azure.workload.identity/use")
            .map(String::as_str),
        Some("true")
    );
}
