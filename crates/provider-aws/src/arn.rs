//! ARNs and service principals. Both depend on the partition the region
//! is in: `aws-cn` in China, `aws-us-gov` in GovCloud, `aws` elsewhere; an
//! ARN of the wrong partition is refused, or names nothing.

/// The partition of a region.
pub(crate) fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// An IAM role.
pub(crate) fn role(partition: &str, account: &str, name: &str) -> String {
    format!("arn:{partition}:iam::{account}:role/{name}")
}

/// An IAM OIDC provider for an issuer (without `https://`).
pub(crate) fn oidc_provider(partition: &str, account: &str, issuer: &str) -> String {
    format!("arn:{partition}:iam::{account}:oidc-provider/{issuer}")
}

/// A policy AWS manages (`AmazonEKSClusterPolicy`).
pub(crate) fn managed_policy(partition: &str, name: &str) -> String {
    format!("arn:{partition}:iam::aws:policy/{name}")
}

/// An S3 bucket; with `/*`, its objects.
pub(crate) fn bucket(partition: &str, name: &str) -> String {
    format!("arn:{partition}:s3:::{name}")
}

/// The bucket an S3 ARN of any partition names, and what follows it.
pub(crate) fn bucket_of(arn: &str) -> Option<&str> {
    let rest = arn.strip_prefix("arn:")?;
    let (_, bucket) = rest.split_once(":s3:::")?;
    Some(bucket)
}

/// The principal EC2 instances (the nodes) assume roles as: in China it
/// carries the partition's DNS suffix.
pub(crate) fn ec2_service(partition: &str) -> &'static str {
    match partition {
        "aws-cn" => "ec2.amazonaws.com.cn",
        _ => "ec2.amazonaws.com",
    }
}

/// The principal the EKS control plane assumes roles as; the same in
/// every partition (AWS's China guide uses it too).
pub(crate) const EKS_SERVICE: &str = "eks.amazonaws.com";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_partition_follows_the_region() {
        for (region, expected) in [
            ("us-west-2", "aws"),
            ("eu-central-1", "aws"),
            ("cn-north-1", "aws-cn"),
            ("cn-northwest-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("us-gov-east-1", "aws-us-gov"),
        ] {
            assert_eq!(partition(region), expected, "{region}");
        }
    }

    #[test]
    fn arns_carry_the_partition() {
        let cn = partition("cn-north-1");
        assert_eq!(role(cn, "1", "hub-node"), "arn:aws-cn:iam::1:role/hub-node");
        assert_eq!(
            oidc_provider(cn, "1", "oidc.eks.cn-north-1.amazonaws.com.cn/id/X"),
            "arn:aws-cn:iam::1:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn/id/X"
        );
        assert_eq!(
            managed_policy(partition("us-gov-west-1"), "AmazonEKSClusterPolicy"),
            "arn:aws-us-gov:iam::aws:policy/AmazonEKSClusterPolicy"
        );
        assert_eq!(bucket(cn, "hub-data"), "arn:aws-cn:s3:::hub-data");
        assert_eq!(bucket_of("arn:aws-cn:s3:::hub-data/*"), Some("hub-data/*"));
        assert_eq!(bucket_of("arn:aws:s3:::hub-data"), Some("hub-data"));
        assert_eq!(bucket_of("arn:aws:iam::1:role/x"), None);
        assert_eq!(ec2_service(cn), "ec2.amazonaws.com.cn");
        assert_eq!(ec2_service("aws"), "ec2.amazonaws.com");
    }
}
