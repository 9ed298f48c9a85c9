//! The SDK clients, built once from one SDK configuration.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};

use crate::builder::AwsBuilder;

/// One client per service. Clones share connections.
#[derive(Clone)]
pub(crate) struct Clients {
    pub eks: aws_sdk_eks::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub iam: aws_sdk_iam::Client,
    pub s3: aws_sdk_s3::Client,
    pub sts: aws_sdk_sts::Client,
    #[cfg(feature = "vpc")]
    pub ec2: aws_sdk_ec2::Client,
    /// Load balancers the cluster makes in the VPC (ELBv2: NLB and ALB).
    #[cfg(feature = "vpc")]
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    /// Classic load balancers the cluster makes in the VPC.
    #[cfg(feature = "vpc")]
    pub elb: aws_sdk_elasticloadbalancing::Client,
}

impl Clients {
    /// SDK retries are off: the engine retries with its own backoff and
    /// shows each retry, instead of the SDK hiding them.
    pub async fn load(builder: &AwsBuilder, region: &str) -> Clients {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .retry_config(RetryConfig::disabled());
        if let Some(url) = &builder.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(credentials) = &builder.credentials {
            loader = loader.credentials_provider(credentials.to_sdk());
        }
        let sdk = loader.load().await;
        let s3 = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(builder.path_style)
            .build();
        Clients {
            eks: aws_sdk_eks::Client::new(&sdk),
            logs: aws_sdk_cloudwatchlogs::Client::new(&sdk),
            iam: aws_sdk_iam::Client::new(&sdk),
            s3: aws_sdk_s3::Client::from_conf(s3),
            sts: aws_sdk_sts::Client::new(&sdk),
            #[cfg(feature = "vpc")]
            ec2: aws_sdk_ec2::Client::new(&sdk),
            #[cfg(feature = "vpc")]
            elbv2: aws_sdk_elasticloadbalancingv2::Client::new(&sdk),
            #[cfg(feature = "vpc")]
            elb: aws_sdk_elasticloadbalancing::Client::new(&sdk),
        }
    }
}
