//! The planner as a pure function: hand-built observations in, plans out.

use std::collections::BTreeMap;

use super::*;
use crate::names::{NameScope, SIM_ACCOUNT};
use crate::sim::SimBuilder;
use crate::spec::{Cloud, HubClusterSpec, SpecFormat};

const REFERENCE: &str = include_str!("../../../../../examples/hubs/reference-hub.yaml");

fn graph(cloud: Cloud, version: &str) -> (DesiredGraph, PlanOptions) {
    let spec = HubClusterSpec {
        kubernetes_version: version.into(),
        ..HubClusterSpec::parse(REFERENCE, SpecFormat::Yaml).unwrap()
    };
    let sim = SimBuilder::new().imitate(Some(cloud)).build();
    let valid = crate::validate::ValidSpec::check(&spec).unwrap();
    let graph = DesiredGraph::build(&valid, &sim, &NameScope::known(SIM_ACCOUNT)).unwrap();
    let options = PlanOptions {
        capabilities: sim.capabilities(),
        provider: "sim".into(),
        destroy: false,
        delete_data: false,
    };
    (graph, options)
}

/// Everything the graph wants, as the cloud would report it once made.
fn as_desired(graph: &DesiredGraph) -> Observed {
    let mut observed = Observed::default();
    for node in &graph.nodes {
        match &node.desired {
            Desired::Support(c) => {
                observed.support.insert(
                    c.kind,
                    SupportState {
                        config: c.clone(),
                        status: ResourceStatus::Ready,
                    },
                );
            }
            Desired::Cluster(c) => {
                observed.cluster = Some(ClusterState {
                    config: c.clone(),
                    status: ResourceStatus::Ready,
                    endpoint: Some("https://api".into()),
                    oidc_issuer: Some("https://issuer/1".into()),
                    ca_data: None,
                })
            }
            Desired::NodePool(c) => observed.pools.push(NodePoolState {
                config: c.clone(),
                status: ResourceStatus::Ready,
            }),
            Desired::Bucket(c) => {
                observed.buckets.insert(
                    c.name.clone(),
                    BucketState {
                        config: c.clone(),
                        status: ResourceStatus::Ready,
                        url: format!("s3://{}", c.name),
                        empty: true,
                    },
                );
            }
            Desired::Identity(c) => {
                observed.identities.insert(
                    c.name.clone(),
                    IdentityState {
                        config: c.clone(),
                        status: ResourceStatus::Ready,
                        principal: c.name.clone(),
                        binding: None,
                    },
                );
            }
            Desired::Binding { .. } => {}
        }
    }
    for node in &graph.nodes {
        if let Desired::Binding { identity, binding } = &node.desired {
            observed.identities.get_mut(identity).unwrap().binding = Some(IdentityBinding {
                issuer: "https://issuer/1".into(),
                ..binding.clone()
            });
        }
        if let Desired::Support(c) = &node.desired
            && c.kind == SupportKind::OidcProvider
        {
            observed
                .support
                .get_mut(&c.kind)
                .unwrap()
                .config
                .properties
                .insert(ISSUER_PROPERTY.into(), "https://issuer/1".into());
        }
    }
    observed
}

fn pool<'a>(observed: &'a mut Observed, name: &str) -> &'a mut NodePoolState {
    observed
        .pools
        .iter_mut()
        .find(|p| p.config.name == name)
        .unwrap()
}

#[test]
fn nothing_there_creates_everything_and_gke_pools_ride_with_the_cluster() {
    let (graph, options) = graph(Cloud::Gcp, "1.31");
    let plan = plan(&graph, &Observed::default(), &options);
    assert!(plan.actions.iter().all(|a| a.change == Change::Create));
    let cluster = plan
        .actions
        .iter()
        .find(|a| a.node == NodeId::Cluster)
        .unwrap();
    assert!(
        matches!(&cluster.step, Step::CreateCluster { initial_pools, .. } if initial_pools.len() == 4)
    );
    assert!(
        !plan
            .actions
            .iter()
            .any(|a| matches!(a.step, Step::CreatePool { .. }))
    );
}

#[test]
fn what_matches_the_spec_is_unchanged() {
    let (graph, options) = graph(Cloud::Aws, "1.31");
    let plan = plan(&graph, &as_desired(&graph), &options);
    assert!(!plan.has_changes(), "{}", plan.to_string());
    assert_eq!(plan.unchanged.len(), graph.nodes.len());
}

#[test]
fn a_pool_name_held_by_a_foreign_pool_blocks_and_nothing_touches_it() {
    let (graph, options) = graph(Cloud::Aws, "1.31");
    let mut observed = as_desired(&graph);
    pool(&mut observed, "dask").config.tags = BTreeMap::from([("owner".into(), "eksctl".into())]);
    let plan = plan(&graph, &observed, &options);
    let rendered = plan.to_string();
    assert!(
        plan.blocked.iter().any(|b| b.node == NodeId::NodePool("dask".into())
            && b.reason.contains("owner=eksctl")),
        "{rendered}"
    );
    assert!(
        !plan.actions.iter().any(|a| a.physical == "dask"),
        "{rendered}"
    );
}

#[test]
fn failed_and_half_made_resources_are_planned_with_the_clouds_reason() {
    let (graph, options) = graph(Cloud::Aws, "1.31");
    let mut observed = as_desired(&graph);
    pool(&mut observed, "core").status =
        ResourceStatus::Failed("DEGRADED: AsgInstanceLaunchFailures".into());
    let bucket = observed.buckets.values_mut().next().unwrap();
    bucket.status = ResourceStatus::Incomplete("not done yet: encryption".into());
    let bucket_name = bucket.config.name.clone();
    let plan = plan(&graph, &observed, &options);
    let rendered = plan.to_string();
    let replacement = plan
        .actions
        .iter()
        .find(|a| a.physical == "core-b")
        .unwrap_or_else(|| panic!("{rendered}"));
    assert_eq!(replacement.replaces.as_ref().unwrap().forced_by, "status");
    assert!(rendered.contains("AsgInstanceLaunchFailures"), "{rendered}");
    let retire = plan
        .actions
        .iter()
        .find(|a| a.physical == "core" && a.change == Change::Delete)
        .unwrap_or_else(|| panic!("{rendered}"));
    assert!(retire.depends_on.contains(&replacement.id), "{rendered}");
    let finish = plan
        .actions
        .iter()
        .find(|a| a.physical == bucket_name)
        .unwrap_or_else(|| panic!("{rendered}"));
    assert!(matches!(finish.step, Step::CreateBucket(_)), "{rendered}");
}

#[test]
fn an_upgrade_alternates_control_plane_steps_and_pool_steps() {
    let (graph, options) = graph(Cloud::Aws, "1.33");
    let mut observed = as_desired(&graph);
    for pool in &mut observed.pools {
        pool.config.kubernetes_version = "1.31".into();
    }
    observed.cluster.as_mut().unwrap().config.kubernetes_version = "1.31".into();
    let plan = plan(&graph, &observed, &options);
    let order: Vec<String> = plan
        .actions
        .iter()
        .filter_map(|a| match &a.step {
            Step::UpdateCluster { versions, .. } => Some(format!("cluster {}", versions.join(","))),
            Step::UpdatePool { config, .. } => Some(format!("pool {}", config.kubernetes_version)),
            _ => None,
        })
        .collect();
    let mut stages = order.clone();
    stages.dedup();
    assert_eq!(
        stages,
        ["cluster 1.32", "pool 1.32", "cluster 1.33", "pool 1.33"],
        "{order:?}"
    );
    assert_eq!(order.len(), 2 + 2 * 4);
}

#[test]
fn a_new_issuer_rebinds_identities_and_moves_the_oidc_provider() {
    let (graph, options) = graph(Cloud::Aws, "1.31");
    let mut observed = as_desired(&graph);
    observed.cluster.as_mut().unwrap().oidc_issuer = Some("https://issuer/2".into());
    let plan = plan(&graph, &observed, &options);
    let rendered = plan.to_string();
    let binds = plan
        .actions
        .iter()
        .filter(|a| matches!(&a.step, Step::Bind { binding, .. } if binding.issuer == "https://issuer/2"))
        .count();
    assert_eq!(binds, 2, "{rendered}");
    assert!(
        plan.actions
            .iter()
            .any(|a| matches!(&a.step, Step::UpdateSupport(c)
            if c.properties.get(ISSUER_PROPERTY).map(String::as_str) == Some("https://issuer/2"))),
        "{rendered}"
    );
}

#[test]
fn destroy_refuses_to_delete_a_cluster_that_holds_a_foreign_pool() {
    let (graph, mut options) = graph(Cloud::Gcp, "1.31");
    options.destroy = true;
    let mut observed = as_desired(&graph);
    let mut foreign = observed.pools[0].clone();
    foreign.config.name = "team-gpu".into();
    foreign.config.tags = BTreeMap::new();
    observed.pools.push(foreign);
    let plan = plan(&graph, &observed, &options);
    let rendered = plan.to_string();
    assert!(
        plan.blocked
            .iter()
            .any(|b| b.node == NodeId::Cluster && b.reason.contains("team-gpu")),
        "{rendered}"
    );
    assert!(
        !plan
            .actions
            .iter()
            .any(|a| matches!(a.step, Step::DeleteCluster { .. } | Step::DeletePool { .. })),
        "{rendered}"
    );
    assert!(
        plan.left_alone.iter().any(|f| f.name == "team-gpu"),
        "{rendered}"
    );
}

#[test]
fn a_scaling_change_is_an_update_in_place() {
    let (graph, options) = graph(Cloud::Aws, "1.31");
    let mut observed = as_desired(&graph);
    pool(&mut observed, "user-small").config.max = 7;
    let plan = plan(&graph, &observed, &options);
    assert_eq!(plan.actions.len(), 1, "{plan}");
    let update = &plan.actions[0];
    assert_eq!(
        (update.change, update.physical.as_str()),
        (Change::Update, "user-small")
    );
    assert!(matches!(&update.step, Step::UpdatePool { config, .. } if config.max == 100));
    assert_eq!(
        update.diffs,
        vec![FieldDiff {
            field: "max".into(),
            before: "7".into(),
            after: "100".into(),
        }]
    );
}

#[test]
fn a_machine_change_is_blue_green_under_the_twin_name() {
    let (graph, options) = graph(Cloud::Aws, "1.31");
    let mut observed = as_desired(&graph);
    pool(&mut observed, "dask").config.instance_type = "r5.2xlarge".into();
    let plan = plan(&graph, &observed, &options);
    let create = plan
        .actions
        .iter()
        .find(|a| a.change == Change::Create)
        .unwrap_or_else(|| panic!("{plan}"));
    assert_eq!(create.physical, "dask-b", "{plan}");
    let replaced = create.replaces.as_ref().unwrap();
    assert_eq!(
        (replaced.old.as_str(), replaced.forced_by.as_str()),
        ("dask", "instance_type")
    );
    let retire = plan
        .actions
        .iter()
        .find(|a| a.change == Change::Delete)
        .unwrap_or_else(|| panic!("{plan}"));
    assert_eq!(retire.physical, "dask");
    assert!(
        retire.depends_on.contains(&create.id),
        "the old pool goes after the new one is up"
    );
    assert_eq!(plan.counts(), (0, 0, 1, 0));
}

#[test]
fn destroy_goes_in_reverse_of_what_needs_what() {
    let (graph, mut options) = graph(Cloud::Aws, "1.31");
    options.destroy = true;
    let plan = plan(&graph, &as_desired(&graph), &options);
    let id_of = |pick: &dyn Fn(&Action) -> bool| -> Vec<usize> {
        plan.actions
            .iter()
            .filter(|a| pick(a))
            .map(|a| a.id)
            .collect()
    };
    let cluster = id_of(&|a| matches!(a.step, Step::DeleteCluster { .. }));
    let pools = id_of(&|a| matches!(a.step, Step::DeletePool { .. }));
    let buckets = id_of(&|a| matches!(a.step, Step::DeleteBucket { .. }));
    let identities = id_of(&|a| matches!(a.step, Step::DeleteIdentity { .. }));
    let network = id_of(&|a| {
        matches!(
            a.step,
            Step::DeleteSupport {
                kind: SupportKind::Network,
                ..
            }
        )
    });
    assert_eq!(
        (cluster.len(), pools.len(), buckets.len(), identities.len()),
        (1, 4, 2, 2)
    );
    let deps = |id: usize| &plan.actions[id].depends_on;
    // EKS deletes node groups before the cluster; identities before the
    // buckets they reach; the network once nothing runs in it.
    assert!(pools.iter().all(|p| deps(cluster[0]).contains(p)), "{plan}");
    for bucket in &buckets {
        assert!(
            identities.iter().all(|i| deps(*bucket).contains(i)),
            "{plan}"
        );
    }
    assert!(deps(network[0]).contains(&cluster[0]), "{plan}");
    assert!(plan.actions.iter().all(|a| a.change == Change::Delete));
}

#[test]
fn a_second_supporting_resource_of_a_kind_neither_hides_the_first_nor_is_forgotten() {
    let (graph, mut options) = graph(Cloud::Aws, "1.31");
    let mut observed = as_desired(&graph);
    let wanted = observed.support[&SupportKind::OidcProvider].clone();
    // An older OIDC provider of the hub's, and what a cluster left in a
    // network hubforge did not make: both listed beside the wanted ones.
    let mut old = wanted.clone();
    old.config.name = "openscapes-oidc-old".into();
    old.config
        .properties
        .insert(ISSUER_PROPERTY.into(), "https://issuer/0".into());
    let mut left = observed.support[&SupportKind::Network].clone();
    left.config.name = "left by cluster openscapes: load balancer a1b2".into();
    left.config.tags =
        BTreeMap::from([("kubernetes.io/cluster/openscapes".into(), "owned".into())]);
    observed.other_support = vec![old, left];

    let plan = plan(&graph, &observed, &options);
    assert!(!plan.has_changes(), "the wanted ones are compared:\n{plan}");

    options.destroy = true;
    let plan = crate::engine::plan(&graph, &observed, &options);
    let deleted: Vec<&str> = plan
        .actions
        .iter()
        .filter(|a| {
            matches!(
                a.step,
                Step::DeleteSupport {
                    kind: SupportKind::OidcProvider,
                    ..
                }
            )
        })
        .map(|a| a.physical.as_str())
        .collect();
    assert_eq!(deleted.len(), 2, "{plan}");
    assert!(deleted.contains(&"openscapes-oidc-old"), "{plan}");
    assert!(
        plan.left_alone
            .iter()
            .any(|f| f.name.starts_with("left by cluster")),
        "{plan}"
    );
}
