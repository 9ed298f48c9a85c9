//! Workload identities: an IAM role per identity, assumable only by one
//! Kubernetes service account through the cluster's OIDC provider (IRSA),
//! with an inline policy granting exactly the listed buckets.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_iam::types::Tag;
use provider_core::error::ResultExt;
use provider_core::id::NodeId;
use provider_core::operation::Operation;
use provider_core::provider::*;
use provider_core::tags::{self, TagDiff, Tags};
use provider_core::{ErrorKind, Result};

use crate::error::{AwsResult, Intent, every, local};
use crate::fresh::Principal;
use crate::policy::{self, BUCKET_POLICY};
use crate::{AwsProvider, same_or_refuse};

/// Tags as IAM takes them.
pub(crate) fn iam_tags(tags: &Tags) -> Vec<Tag> {
    tags::each(tags, |k, v| {
        let tag = Tag::builder().key(k).value(v).build();
        tag.expect("key and value set")
    })
}

impl AwsProvider {
    pub(crate) async fn role_tags(&self, role: &str) -> Result<BTreeMap<String, String>> {
        let tags = every!(
            self.inner.clients.iam.list_role_tags().role_name(role),
            role
        )
        .await?;
        Ok(tags
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect())
    }

    /// Changes a role's tags to `tags`.
    pub(crate) async fn retag_role(&self, role: &str, tags: &Tags) -> Result<()> {
        let iam = &self.inner.clients.iam;
        let current = self.role_tags(role).await?;
        let untag = |keys| async move {
            let request = iam.untag_role().role_name(role).set_tag_keys(Some(keys));
            request.send().await.or_aws(role)
        };
        let tag = |set: Tags| async move {
            let request = iam.tag_role().role_name(role);
            request
                .set_tags(Some(iam_tags(&set)))
                .send()
                .await
                .or_aws(role)
        };
        TagDiff::between(&current, tags).apply(untag, tag).await
    }

    /// Deletes a role with everything attached to it.
    pub(crate) async fn delete_role(&self, role: &str) -> Result<()> {
        let iam = &self.inner.clients.iam;
        let inline = every!(iam.list_role_policies().role_name(role), role).await?;
        for name in &inline {
            iam.delete_role_policy()
                .role_name(role)
                .policy_name(name)
                .send()
                .await
                .or_aws(role)?;
        }
        let attached = every!(iam.list_attached_role_policies().role_name(role), role).await?;
        for policy in &attached {
            if let Some(arn) = policy.policy_arn() {
                iam.detach_role_policy()
                    .role_name(role)
                    .policy_arn(arn)
                    .send()
                    .await
                    .or_aws(role)?;
            }
        }
        iam.delete_role()
            .role_name(role)
            .send()
            .await
            .or_aws(role)?;
        Ok(())
    }

    async fn read_identity(&self, name: &str) -> Result<Option<IdentityState>> {
        let iam = &self.inner.clients.iam;
        let Some(role) = iam
            .get_role()
            .role_name(name)
            .send()
            .await
            .or_aws(name)
            .optional()?
        else {
            return Ok(None);
        };
        let Some(role) = role.role() else {
            return Ok(None);
        };
        let tags = self.role_tags(name).await?;
        let trust = role.assume_role_policy_document().and_then(policy::decode);
        let account = trust.as_ref().and_then(policy::trusted_service_account);
        let issuer = trust
            .as_ref()
            .and_then(policy::trusted_issuer)
            .unwrap_or_default();
        let request = iam.get_role_policy().role_name(name);
        let request = request.policy_name(BUCKET_POLICY);
        let inline = request.send().await.or_aws(name).optional()?;
        let grants = inline
            .and_then(|p| policy::decode(p.policy_document()))
            .map(|p| policy::granted_buckets(&p))
            .unwrap_or_default();
        // On AWS the cluster's physical name is the hub name (names::cluster).
        let binding = account.map(|service_account| IdentityBinding {
            cluster: tags.get(TAG_CLUSTER).cloned().unwrap_or_default(),
            issuer,
            service_account,
            grants,
        });
        Ok(Some(IdentityState {
            config: IdentityConfig {
                name: name.into(),
                tags,
            },
            status: ResourceStatus::Ready,
            principal: role.arn().to_string(),
            binding,
        }))
    }
}

#[async_trait]
impl IdentityOps for AwsProvider {
    async fn create_identity(&self, config: &IdentityConfig) -> Result<Operation> {
        let name = config.name.as_str();
        // One call: the role, its tags, and a trust nobody may use yet.
        let created = self
            .inner
            .clients
            .iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(policy::trust_nobody())
            .description("hubforge workload identity")
            .set_tags(Some(iam_tags(&config.tags)))
            .send()
            .await
            .or_aws_create(name);
        match created {
            Ok(_) => self.inner.fresh.made(Principal::Role(name)),
            Err(error) if error.kind() == &ErrorKind::AlreadyExists => {
                same_or_refuse("role", name, &self.role_tags(name).await?, &config.tags)?
            }
            Err(error) => return Err(error),
        }
        Ok(Operation::completed(
            format!("create-role-{name}"),
            format!("identity/{name}"),
        ))
    }

    async fn get_identity(&self, name: &str) -> Result<Option<IdentityState>> {
        self.read_identity(name).await
    }

    async fn update_identity(&self, config: &IdentityConfig) -> Result<Operation> {
        self.retag_role(&config.name, &config.tags).await?;
        Ok(Operation::completed(
            format!("update-role-{}", config.name),
            format!("identity/{}", config.name),
        ))
    }

    async fn bind_identity(&self, name: &str, binding: &IdentityBinding) -> Result<Operation> {
        let iam = &self.inner.clients.iam;
        // The issuer the engine read from the cluster; asked of EKS only
        // when a caller did not say.
        let issuer = match binding.issuer.strip_prefix("https://") {
            Some(issuer) => issuer.to_string(),
            None => {
                self.cluster_issuer(&binding.cluster, ErrorKind::NotFound, name)
                    .await?
            }
        };
        let issuer = issuer.as_str();
        // IAM accepts any ARN; a grant of a bucket that is not there is a mistake.
        for bucket in binding.grants.keys() {
            let head = self.inner.clients.s3.head_bucket().bucket(bucket);
            if head.send().await.or_aws(bucket).optional()?.is_none() {
                return Err(local(
                    ErrorKind::NotFound,
                    bucket,
                    "the binding grants a bucket that does not exist",
                ));
            }
        }
        let account = self.inner.account().await?;
        let provider_arn = crate::arn::oidc_provider(self.inner.partition, &account, issuer);
        let fresh = self.inner.fresh.age(&[Principal::OidcProvider(issuer)]);
        iam.update_assume_role_policy()
            .role_name(name)
            .policy_document(policy::trust_service_account(
                &provider_arn,
                issuer,
                &binding.service_account,
            ))
            .send()
            .await
            .or_aws_naming(Intent::Other, name, fresh)?;
        if binding.grants.is_empty() {
            iam.delete_role_policy()
                .role_name(name)
                .policy_name(BUCKET_POLICY)
                .send()
                .await
                .or_aws(name)
                .optional()?;
        } else {
            iam.put_role_policy()
                .role_name(name)
                .policy_name(BUCKET_POLICY)
                .policy_document(policy::bucket_access(self.inner.partition, &binding.grants))
                .send()
                .await
                .or_aws(name)?;
        }
        Ok(Operation::completed(
            format!("bind-role-{name}"),
            format!("identity/{name}"),
        ))
    }

    async fn delete_identity(&self, name: &str) -> Result<Operation> {
        self.delete_role(name).await?;
        Ok(Operation::completed(
            format!("delete-role-{name}"),
            format!("identity/{name}"),
        ))
    }

    async fn list_identities(&self, hub: &str) -> Result<Vec<IdentityState>> {
        let mut owned = Vec::new();
        for (role, tags) in self.owned_roles(hub).await? {
            // Supporting roles (cluster, nodes) are the hub's too, but not identities.
            if !matches!(NodeId::of_tags(&tags), Some(NodeId::Support(_)))
                && let Some(state) = self.read_identity(&role).await?
            {
                owned.push(state);
            }
        }
        Ok(owned)
    }
}
