//! Which availability zones the hub's subnets go in, and which address
//! block each new subnet takes.
//!
//! EKS does not place control planes in every zone (it says so with
//! `UnsupportedAvailabilityZoneException`, naming the zones it would
//! take). Zone names are shuffled per account, so the zones it is known to
//! refuse are listed by zone id, as eksctl lists them; and where it refuses
//! one anyway, the subnets are made again in the zones it named.

/// How many zones the hub's subnets span (EKS needs two).
pub(super) const ZONES: usize = 2;

/// Zone ids where EKS has no control-plane capacity.
const EKS_UNSUPPORTED: &[&str] = &["use1-az3", "usw1-az2", "cac1-az3", "cnn1-az4"];

/// Blocks of the VPC's /16 for public subnets: one per zone, and spares
/// for zones added when EKS refuses one.
pub(super) const PUBLIC_BLOCKS: [&str; 4] = [
    "10.0.0.0/19",
    "10.0.32.0/19",
    "10.0.128.0/19",
    "10.0.160.0/19",
];
/// The same for private subnets, with `private_nodes`.
pub(super) const PRIVATE_BLOCKS: [&str; 4] = [
    "10.0.64.0/19",
    "10.0.96.0/19",
    "10.0.192.0/19",
    "10.0.224.0/19",
];

/// A zone the region offers: (name, id).
pub(super) type Zone = (String, String);

/// The zones for the hub's subnets: among those offered, the ones EKS
/// named as valid when it gave a list, else the ones it is not known to
/// refuse; the first [`ZONES`] by name.
pub(super) fn choose(offered: &[Zone], valid: Option<&[String]>) -> Vec<String> {
    let mut zones: Vec<&Zone> = offered
        .iter()
        .filter(|(name, id)| match valid {
            Some(valid) => valid.contains(name),
            None => !EKS_UNSUPPORTED.contains(&id.as_str()),
        })
        .collect();
    zones.sort();
    zones
        .into_iter()
        .take(ZONES)
        .map(|(name, _)| name.clone())
        .collect()
}

/// A subnet already in the VPC: (zone, CIDR block, `public`/`private`).
pub(super) type Existing<'a> = (&'a str, &'a str, Option<&'a str>);

/// Where each missing subnet of `role` goes: every zone without one gets
/// the first of `blocks` no subnet uses yet. `None` when the blocks ran
/// out.
pub(super) fn place<'z>(
    existing: &[Existing<'_>],
    zones: &'z [String],
    role: &str,
    blocks: &[&'static str],
) -> Option<Vec<(&'z str, &'static str)>> {
    let mut used: Vec<&str> = existing.iter().map(|(_, block, _)| *block).collect();
    let mut placed = Vec::new();
    for zone in zones {
        if existing
            .iter()
            .any(|(z, _, r)| z == zone && *r == Some(role))
        {
            continue;
        }
        let block = *blocks.iter().find(|b| !used.contains(b))?;
        used.push(block);
        placed.push((zone.as_str(), block));
    }
    Some(placed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zones(list: &[(&str, &str)]) -> Vec<Zone> {
        list.iter()
            .map(|(n, i)| (n.to_string(), i.to_string()))
            .collect()
    }

    #[test]
    fn zones_eks_refuses_are_passed_over_and_its_own_list_wins() {
        let us_east_1 = zones(&[
            ("us-east-1b", "use1-az2"),
            ("us-east-1a", "use1-az3"),
            ("us-east-1c", "use1-az4"),
        ]);
        assert_eq!(choose(&us_east_1, None), ["us-east-1b", "us-east-1c"]);
        let valid = ["us-east-1c".to_string(), "us-east-1d".to_string()];
        assert_eq!(choose(&us_east_1, Some(&valid)), ["us-east-1c"]);
        let us_west_2 = zones(&[
            ("us-west-2b", "usw2-az1"),
            ("us-west-2a", "usw2-az2"),
            ("us-west-2c", "usw2-az3"),
        ]);
        assert_eq!(choose(&us_west_2, None), ["us-west-2a", "us-west-2b"]);
    }

    #[test]
    fn new_subnets_take_free_blocks_in_zones_without_one() {
        let zones = ["a".to_string(), "b".to_string()];
        assert_eq!(
            place(&[], &zones, "public", &PUBLIC_BLOCKS),
            Some(vec![("a", "10.0.0.0/19"), ("b", "10.0.32.0/19")])
        );
        // Finishing a half-made network: only the missing zone.
        let half = [("a", "10.0.0.0/19", Some("public"))];
        assert_eq!(
            place(&half, &zones, "public", &PUBLIC_BLOCKS),
            Some(vec![("b", "10.0.32.0/19")])
        );
        // EKS refused zone `b`: its subnet stays, `c` and `d` get spares.
        let made = [
            ("a", "10.0.0.0/19", Some("public")),
            ("b", "10.0.32.0/19", Some("public")),
            ("a", "10.0.64.0/19", Some("private")),
        ];
        let valid = ["a".to_string(), "c".to_string()];
        assert_eq!(
            place(&made, &valid, "public", &PUBLIC_BLOCKS),
            Some(vec![("c", "10.0.128.0/19")])
        );
        assert_eq!(
            place(&made, &valid, "private", &PRIVATE_BLOCKS),
            Some(vec![("c", "10.0.96.0/19")])
        );
        let full: Vec<Existing> = PUBLIC_BLOCKS
            .iter()
            .map(|b| ("z", *b, Some("public")))
            .collect();
        assert_eq!(place(&full, &valid, "public", &PUBLIC_BLOCKS), None);
    }
}
