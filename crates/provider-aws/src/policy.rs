//! IAM policy documents hubforge writes, and reading them back.
//!
//! An identity's binding is *observed* from its role: who may assume it
//! comes from the trust policy's `:sub` condition, what it may reach from
//! the inline bucket policy. So drift made in the console shows in a plan.

use std::collections::BTreeMap;

use provider_core::spec::{BucketAccess, ServiceAccountRef};
use serde_json::{Value, json};

use crate::arn;

/// Name of the inline policy that grants an identity its buckets.
pub(crate) const BUCKET_POLICY: &str = "hubforge-buckets";

const READ: &[&str] = &["s3:GetObject", "s3:GetObjectVersion"];
const WRITE: &[&str] = &["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"];

/// The control plane's role: assumed by EKS.
pub(crate) fn trust_service(service: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Principal": { "Service": service }, "Action": "sts:AssumeRole" }]
    })
    .to_string()
}

/// An identity before it is bound: nobody may assume it.
pub(crate) fn trust_nobody() -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Deny", "Principal": { "AWS": "*" }, "Action": ["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity"] }]
    })
    .to_string()
}

/// IRSA: only `system:serviceaccount:<namespace>:<name>` of the cluster
/// whose OIDC issuer is `issuer` (without `https://`) may assume the role.
pub(crate) fn trust_service_account(
    provider_arn: &str,
    issuer: &str,
    account: &ServiceAccountRef,
) -> String {
    let mut condition = serde_json::Map::new();
    condition.insert(
        format!("{issuer}:sub"),
        json!(format!(
            "system:serviceaccount:{}:{}",
            account.namespace, account.name
        )),
    );
    condition.insert(format!("{issuer}:aud"), json!("sts.amazonaws.com"));
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Federated": provider_arn },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": { "StringEquals": condition }
        }]
    })
    .to_string()
}

/// Exactly the listed buckets: list each; read objects; write and delete
/// objects only where `read_write`. Nothing else.
pub(crate) fn bucket_access(partition: &str, grants: &BTreeMap<String, BucketAccess>) -> String {
    let bucket_arns: Vec<String> = grants.keys().map(|b| arn::bucket(partition, b)).collect();
    let objects = |access: BucketAccess| -> Vec<String> {
        grants
            .iter()
            .filter(|(_, a)| **a == access)
            .map(|(b, _)| arn::bucket(partition, &format!("{b}/*")))
            .collect()
    };
    let mut statements = vec![json!({
        "Sid": "ListBuckets",
        "Effect": "Allow",
        "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
        "Resource": bucket_arns
    })];
    let read_only = objects(BucketAccess::ReadOnly);
    if !read_only.is_empty() {
        statements.push(json!({ "Sid": "ReadObjects", "Effect": "Allow", "Action": READ, "Resource": read_only }));
    }
    let read_write = objects(BucketAccess::ReadWrite);
    if !read_write.is_empty() {
        let actions: Vec<&str> = READ.iter().chain(WRITE).copied().collect();
        statements.push(json!({ "Sid": "ReadWriteObjects", "Effect": "Allow", "Action": actions, "Resource": read_write }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements }).to_string()
}

/// IAM returns documents URL-encoded.
pub(crate) fn decode(document: &str) -> Option<Value> {
    let bytes = document.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    serde_json::from_slice(&out)
        .ok()
        .or_else(|| serde_json::from_str(document).ok())
}

fn as_list(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// The OIDC issuer (`https://…`) an IRSA trust policy is for: the part of
/// its federated principal after `oidc-provider/`.
pub(crate) fn trusted_issuer(trust: &Value) -> Option<String> {
    as_list(&trust["Statement"])
        .into_iter()
        .find_map(|statement| {
            let principal = statement["Principal"]["Federated"].as_str()?;
            let (_, issuer) = principal.split_once(":oidc-provider/")?;
            Some(format!("https://{issuer}"))
        })
}

/// The service account a trust policy lets in, if it is an IRSA policy.
pub(crate) fn trusted_service_account(trust: &Value) -> Option<ServiceAccountRef> {
    as_list(&trust["Statement"])
        .into_iter()
        .find_map(|statement| {
            let equals = statement["Condition"]["StringEquals"].as_object()?;
            let subject = equals
                .iter()
                .find(|(key, _)| key.ends_with(":sub"))?
                .1
                .as_str()?;
            let rest = subject.strip_prefix("system:serviceaccount:")?;
            let (namespace, name) = rest.split_once(':')?;
            Some(ServiceAccountRef {
                namespace: namespace.into(),
                name: name.into(),
            })
        })
}

/// The buckets a bucket-access policy grants, and at which level.
pub(crate) fn granted_buckets(policy: &Value) -> BTreeMap<String, BucketAccess> {
    let mut grants = BTreeMap::new();
    for statement in as_list(&policy["Statement"]) {
        let actions: Vec<&str> = as_list(&statement["Action"])
            .into_iter()
            .filter_map(Value::as_str)
            .collect();
        let writes = actions.iter().any(|a| WRITE.contains(a));
        for resource in as_list(&statement["Resource"])
            .into_iter()
            .filter_map(Value::as_str)
        {
            let Some(bucket) = arn::bucket_of(resource).and_then(|r| r.strip_suffix("/*")) else {
                continue;
            };
            let access = if writes {
                BucketAccess::ReadWrite
            } else {
                BucketAccess::ReadOnly
            };
            let entry = grants.entry(bucket.to_string()).or_insert(access);
            if access == BucketAccess::ReadWrite {
                *entry = access;
            }
        }
    }
    grants
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_policy_round_trips_through_url_encoding() {
        let account = ServiceAccountRef {
            namespace: "prod".into(),
            name: "user-sa".into(),
        };
        let document = trust_service_account(
            "arn:aws:iam::1:oidc-provider/oidc.example/id/X",
            "oidc.example/id/X",
            &account,
        );
        let encoded: String = document
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let parsed = decode(&encoded).unwrap();
        assert_eq!(trusted_service_account(&parsed), Some(account));
        assert_eq!(
            trusted_service_account(&decode(&trust_nobody()).unwrap()),
            None
        );
    }

    #[test]
    fn bucket_policy_grants_exactly_what_was_asked() {
        let grants = BTreeMap::from([
            ("scratch-1".to_string(), BucketAccess::ReadWrite),
            ("data-2".to_string(), BucketAccess::ReadOnly),
        ]);
        let policy: Value = serde_json::from_str(&bucket_access("aws", &grants)).unwrap();
        assert_eq!(granted_buckets(&policy), grants);
        let text = policy.to_string();
        assert!(
            !text.contains("arn:aws:s3:::*") && !text.contains("\"s3:*\""),
            "{text}"
        );
        let read_only = policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == "ReadObjects")
            .unwrap();
        assert!(!read_only["Action"].to_string().contains("PutObject"));
    }

    #[test]
    fn bucket_policies_name_the_partition_and_read_back_from_any() {
        let grants = BTreeMap::from([("hub-data-1".to_string(), BucketAccess::ReadWrite)]);
        let partition = arn::partition("cn-northwest-1");
        let text = bucket_access(partition, &grants);
        assert!(
            text.contains("arn:aws-cn:s3:::hub-data-1/*") && !text.contains("arn:aws:"),
            "{text}"
        );
        let policy: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(granted_buckets(&policy), grants);
    }
}
