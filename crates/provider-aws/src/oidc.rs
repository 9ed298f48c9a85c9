//! The cluster's OIDC issuer registered in IAM, so Kubernetes service
//! accounts can assume roles (IRSA). It follows the cluster: a cluster made
//! again has a new issuer, and the hub's provider for the old one goes.
//!
//! moto gives every EKS cluster the same issuer (AWS gives each its own).

use std::collections::BTreeMap;

use provider_core::error::ResultExt;
use provider_core::facts::CLUSTER_PROPERTY;
use provider_core::provider::*;
use provider_core::tags::{self, TagDiff, Tags};
use provider_core::{Cloud, ErrorKind, Result, names};

use crate::error::{AwsResult, every, local};
use crate::fresh::Principal;
use crate::identity::iam_tags;
use crate::{AwsProvider, Steps, arn, same_or_refuse};

/// The audience of the tokens Kubernetes gives pods for IRSA.
const AUDIENCE: &str = "sts.amazonaws.com";

/// The issuer (without `https://`) an OIDC provider's ARN names.
fn issuer_in(provider_arn: &str) -> &str {
    provider_arn
        .split_once(":oidc-provider/")
        .map_or(provider_arn, |(_, issuer)| issuer)
}

impl AwsProvider {
    /// An OIDC provider's tags; `None` if there is none by that ARN.
    async fn oidc_tags(&self, provider_arn: &str) -> Result<Option<Tags>> {
        let iam = &self.inner.clients.iam;
        let request = iam
            .list_open_id_connect_provider_tags()
            .open_id_connect_provider_arn(provider_arn);
        let tags = every!(request, provider_arn).await.optional()?;
        Ok(tags.map(|tags| {
            tags.iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect()
        }))
    }

    /// The OIDC providers tagged as `hub`'s: (ARN, tags).
    async fn oidc_providers(&self, hub: &str) -> Result<Vec<(String, Tags)>> {
        // ListOpenIDConnectProviders has no pages: it answers with all of them.
        let listed = self
            .inner
            .clients
            .iam
            .list_open_id_connect_providers()
            .send()
            .await
            .or_aws("iam")?;
        let arns: Vec<String> = listed
            .open_id_connect_provider_list()
            .iter()
            .filter_map(|p| p.arn().map(str::to_string))
            .collect();
        tags::owned(hub, arns, |arn| async move {
            let tags = self.oidc_tags(&arn).await?;
            Ok(tags.map(|tags| (arn, tags)))
        })
        .await
    }

    fn oidc_state(&self, name: &str, provider_arn: &str, tags: Tags) -> SupportState {
        let hub = names::support_hub(Cloud::Aws, name);
        let cluster = names::cluster(Cloud::Aws, hub).unwrap_or_else(|e| e.physical);
        SupportState {
            config: SupportConfig {
                kind: SupportKind::OidcProvider,
                name: name.into(),
                region: self.inner.region.clone(),
                tags,
                properties: BTreeMap::from([
                    (CLUSTER_PROPERTY.to_string(), cluster),
                    (
                        ISSUER_PROPERTY.to_string(),
                        format!("https://{}", issuer_in(provider_arn)),
                    ),
                ]),
            },
            status: ResourceStatus::Ready,
        }
    }

    /// The hub's OIDC provider, if it has one.
    pub(crate) async fn read_oidc_provider(&self, name: &str) -> Result<Option<SupportState>> {
        Ok(self
            .oidc_providers(names::support_hub(Cloud::Aws, name))
            .await?
            .into_iter()
            .next()
            .map(|(provider_arn, tags)| self.oidc_state(name, &provider_arn, tags)))
    }

    /// Every OIDC provider of the hub (more than one only while it moves
    /// to a new issuer).
    pub(crate) async fn owned_oidc_providers(&self, hub: &str) -> Result<Vec<SupportState>> {
        let name = names::oidc_provider(hub);
        Ok(self
            .oidc_providers(hub)
            .await?
            .into_iter()
            .map(|(provider_arn, tags)| self.oidc_state(&name, &provider_arn, tags))
            .collect())
    }

    /// Ensures the hub's OIDC provider is the one for the issuer in
    /// `config` (asked of the cluster when it names none), tagged as
    /// `config` says; the hub's providers for other issuers (a cluster
    /// made again has a new one) are deleted once it is there. A provider
    /// for that issuer that is not the hub's is refused, untouched.
    pub(crate) async fn ensure_oidc_provider(&self, config: &SupportConfig) -> Result<()> {
        let name = config.name.as_str();
        let issuer = match config.properties.get(ISSUER_PROPERTY) {
            Some(url) => url.trim_start_matches("https://").to_string(),
            None => {
                let cluster = config
                    .properties
                    .get(CLUSTER_PROPERTY)
                    .map(String::as_str)
                    .unwrap_or(names::support_hub(Cloud::Aws, name));
                self.cluster_issuer(cluster, ErrorKind::Conflict, name)
                    .await?
            }
        };
        let account = self.inner.account().await?;
        let wanted = arn::oidc_provider(self.inner.partition, &account, &issuer);
        let iam = &self.inner.clients.iam;
        match self.oidc_tags(&wanted).await? {
            None => {
                iam.create_open_id_connect_provider()
                    .url(format!("https://{issuer}"))
                    .client_id_list(AUDIENCE)
                    .set_tags(Some(iam_tags(&config.tags)))
                    .send()
                    .await
                    .or_aws_create(name)?;
                self.inner.fresh.made(Principal::OidcProvider(&issuer));
                Steps::of(&self.inner, SupportKind::OidcProvider.as_str(), name)
                    .done(1, "create, tagged")?;
            }
            Some(current) => {
                same_or_refuse("OIDC provider", &issuer, &current, &config.tags)?;
                let wanted = wanted.as_str();
                let untag = |keys| async move {
                    let request = iam.untag_open_id_connect_provider();
                    let request = request.open_id_connect_provider_arn(wanted);
                    request.set_tag_keys(Some(keys)).send().await.or_aws(name)
                };
                let tag = |set: Tags| async move {
                    let request = iam.tag_open_id_connect_provider();
                    let request = request.open_id_connect_provider_arn(wanted);
                    request
                        .set_tags(Some(iam_tags(&set)))
                        .send()
                        .await
                        .or_aws(name)
                };
                TagDiff::between(&current, &config.tags)
                    .apply(untag, tag)
                    .await?;
            }
        }
        for (old, _) in self
            .oidc_providers(names::support_hub(Cloud::Aws, name))
            .await?
        {
            if old != wanted {
                self.delete_oidc_provider(name, &old).await?;
            }
        }
        Ok(())
    }

    /// Deletes every OIDC provider of the hub.
    pub(crate) async fn delete_oidc_providers(&self, name: &str) -> Result<()> {
        let providers = self
            .oidc_providers(names::support_hub(Cloud::Aws, name))
            .await?;
        if providers.is_empty() {
            return Err(local(
                ErrorKind::NotFound,
                name,
                "no OIDC provider is registered for the hub",
            ));
        }
        for (provider_arn, _) in providers {
            self.delete_oidc_provider(name, &provider_arn).await?;
        }
        Ok(())
    }

    async fn delete_oidc_provider(&self, name: &str, provider_arn: &str) -> Result<()> {
        self.inner
            .clients
            .iam
            .delete_open_id_connect_provider()
            .open_id_connect_provider_arn(provider_arn)
            .send()
            .await
            .or_aws(name)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_comes_from_the_providers_arn() {
        assert_eq!(
            issuer_in("arn:aws-cn:iam::1:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn/id/X"),
            "oidc.eks.cn-north-1.amazonaws.com.cn/id/X"
        );
    }
}
