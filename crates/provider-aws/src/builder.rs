//! Configuration of the AWS provider: region, endpoints, credentials,
//! existing subnets, and whether the other end is an emulator.

use std::time::Duration;

use provider_core::interrupt::Interrupter;
use provider_core::{ErrorKind, Result};

use crate::AwsProvider;
use crate::credential::StaticCredentials;
use crate::error::local;

/// Builds an [`AwsProvider`].
#[derive(Debug, Clone, Default)]
pub struct AwsBuilder {
    pub(crate) region: Option<String>,
    pub(crate) endpoint_url: Option<String>,
    pub(crate) credentials: Option<StaticCredentials>,
    pub(crate) subnets: Vec<String>,
    pub(crate) private_nodes: bool,
    pub(crate) emulator: bool,
    pub(crate) path_style: bool,
    pub(crate) poll_interval: Option<Duration>,
    pub(crate) interrupter: Interrupter,
}

impl AwsBuilder {
    /// Nothing set: the standard credential chain, the region from the
    /// environment or the spec.
    pub fn new() -> AwsBuilder {
        AwsBuilder::default()
    }

    /// Reads `AWS_REGION` (or `AWS_DEFAULT_REGION`), notices an endpoint
    /// override (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`: the SDK applies
    /// them, hubforge then addresses S3 by path), and
    /// `HUBFORGE_AWS_EMULATOR=moto`, which says the endpoint is moto and so
    /// operations finish at once and clusters cannot be upgraded in place.
    pub fn from_env() -> AwsBuilder {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        AwsBuilder {
            region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
            path_style: var("AWS_ENDPOINT_URL").is_some() || var("AWS_ENDPOINT_URL_S3").is_some(),
            emulator: var("HUBFORGE_AWS_EMULATOR").is_some(),
            ..AwsBuilder::default()
        }
    }

    /// The region to work in.
    pub fn region(mut self, region: impl Into<String>) -> AwsBuilder {
        self.region = Some(region.into());
        self
    }

    /// One endpoint for every service (an emulator, a sovereign cloud);
    /// S3 is then addressed by path.
    pub fn endpoint_url(mut self, url: impl Into<String>) -> AwsBuilder {
        self.endpoint_url = Some(url.into());
        self.path_style = true;
        self
    }

    /// Static credentials instead of the standard chain.
    pub fn credentials(mut self, credentials: StaticCredentials) -> AwsBuilder {
        self.credentials = Some(credentials);
        self
    }

    /// Put the cluster and nodes in these existing subnets (at least two,
    /// in different availability zones) instead of creating a VPC.
    pub fn subnets(mut self, subnets: Vec<String>) -> AwsBuilder {
        self.subnets = subnets;
        self
    }

    /// Nodes in private subnets behind a NAT gateway (in the VPC hubforge
    /// creates); the default is public subnets and no NAT bill.
    pub fn private_nodes(mut self, private: bool) -> AwsBuilder {
        self.private_nodes = private;
        self
    }

    /// Declares the endpoint an emulator (moto): operations finish at once
    /// and in-place cluster upgrades are not available.
    pub fn emulator(mut self, emulator: bool) -> AwsBuilder {
        self.emulator = emulator;
        self
    }

    /// How often to poll long-running operations.
    pub fn poll_interval(mut self, interval: Duration) -> AwsBuilder {
        self.poll_interval = Some(interval);
        self
    }

    /// Where multi-step creates report each finished step; tests arm it to
    /// stop a create half-way, as a crash would. Nothing is armed by default.
    pub fn interrupter(mut self, interrupter: Interrupter) -> AwsBuilder {
        self.interrupter = interrupter;
        self
    }

    /// Loads the SDK configuration and builds the provider.
    pub async fn build(self) -> Result<AwsProvider> {
        if self.region.is_none() {
            return Err(local(
                ErrorKind::InvalidSpec {
                    path: "region".into(),
                    reason: "no AWS region".into(),
                },
                "region",
                "no AWS region: set the spec's `region` or AWS_REGION",
            ));
        }
        #[cfg(not(feature = "vpc"))]
        if self.subnets.len() < 2 {
            return Err(local(
                ErrorKind::InvalidSpec {
                    path: "aws.subnets".into(),
                    reason: "needs two subnets".into(),
                },
                "aws.subnets",
                "this hubforge was built without the `vpc` feature, so the spec's `aws.subnets` must name at least two existing subnets",
            ));
        }
        AwsProvider::connect(self).await
    }
}
