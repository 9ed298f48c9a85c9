//! Field-level differences between what is and what should be.

use std::collections::BTreeMap;

use super::*;

pub(super) fn tag_diff(
    field: &str,
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
    out: &mut Vec<FieldDiff>,
) {
    if before != after {
        out.push(FieldDiff {
            field: field.into(),
            before: render_map(before),
            after: render_map(after),
        });
    }
}

pub(super) fn value_diff<T: PartialEq + std::fmt::Debug>(
    field: &str,
    before: &T,
    after: &T,
    out: &mut Vec<FieldDiff>,
) {
    if before != after {
        out.push(FieldDiff {
            field: field.into(),
            before: render_value(before),
            after: render_value(after),
        });
    }
}

pub(super) fn render_value<T: std::fmt::Debug>(value: &T) -> String {
    let text = format!("{value:?}");
    text.strip_prefix("Some(")
        .and_then(|t| t.strip_suffix(')'))
        .map(str::to_string)
        .unwrap_or(text)
        .trim_matches('"')
        .to_string()
}

pub(super) fn render_map(map: &BTreeMap<String, String>) -> String {
    let items: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", items.join(", "))
}

pub(super) fn owned(tags: &BTreeMap<String, String>, hub: &str, node: &NodeId) -> bool {
    owned_by(tags, hub) && tags.get(TAG_RESOURCE) == node.tag().as_ref()
}

pub(super) fn minor(version: &str) -> Option<u32> {
    version.split_once('.').and_then(|(_, m)| m.parse().ok())
}

/// The fields of a pool that cannot change in place on this provider.
pub(super) fn fixed_pool_fields(
    desired: &NodePoolConfig,
    observed: &NodePoolConfig,
    capabilities: &Capabilities,
) -> Vec<FieldDiff> {
    let mut diffs = Vec::new();
    value_diff(
        "instance_type",
        &observed.instance_type,
        &desired.instance_type,
        &mut diffs,
    );
    value_diff(
        "accelerator",
        &observed.accelerator,
        &desired.accelerator,
        &mut diffs,
    );
    value_diff("spot", &observed.spot, &desired.spot, &mut diffs);
    // No disk size in the spec means "the cloud's default", whatever it is.
    if desired.disk_gib.is_some() {
        value_diff(
            "disk_gib",
            &observed.disk_gib,
            &desired.disk_gib,
            &mut diffs,
        );
    }
    if !capabilities.pool_labels_in_place {
        tag_diff("labels", &observed.labels, &desired.labels, &mut diffs);
        value_diff("taints", &observed.taints, &desired.taints, &mut diffs);
    }
    // Only a cloud that knows system pools reports the role back.
    if capabilities.system_pools {
        value_diff("role", &observed.role, &desired.role, &mut diffs);
    }
    diffs
}

pub(super) fn mutable_pool_fields(
    desired: &NodePoolConfig,
    observed: &NodePoolConfig,
) -> Vec<FieldDiff> {
    let mut diffs = Vec::new();
    value_diff(
        "kubernetes_version",
        &observed.kubernetes_version,
        &desired.kubernetes_version,
        &mut diffs,
    );
    value_diff("min", &observed.min, &desired.min, &mut diffs);
    value_diff("max", &observed.max, &desired.max, &mut diffs);
    tag_diff("labels", &observed.labels, &desired.labels, &mut diffs);
    let render = |taints: &[crate::validate::Taint]| {
        taints
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if observed.taints != desired.taints {
        diffs.push(FieldDiff {
            field: "taints".into(),
            before: render(&observed.taints),
            after: render(&desired.taints),
        });
    }
    tag_diff("tags", &observed.tags, &desired.tags, &mut diffs);
    diffs
}
