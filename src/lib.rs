//! hubforge: provision JupyterHub clusters — Kubernetes, node pools,
//! buckets and workload identities — on AWS, Google Cloud or Azure from one
//! portable spec.
//!
//! This crate is the facade: it re-exports the focused crates behind cargo
//! features (`sim`, `aws`, `gcp`, `azure`; all on by default), so a program
//! that needs one cloud compiles one SDK.
//!
//! ```
//! use hubforge::spec::{HubClusterSpec, SpecFormat};
//!
//! let text = std::fs::read_to_string("examples/hubs/reference-hub.yaml").unwrap();
//! let spec = HubClusterSpec::parse(&text, SpecFormat::Yaml).expect("parses");
//! assert!(hubforge::validate(&spec).is_empty());
//! ```

pub use provider_core::{
    Cancellation, Cloud, Error, ErrorKind, HubClusterSpec, Problem, ProviderKind, Result, catalog,
    engine, error, events, names, operation, provider, retry, spec, state, validate,
};

/// The built-in simulated cloud.
#[cfg(feature = "sim")]
pub use provider_core::sim;

/// Amazon Web Services: EKS, EC2, IAM, S3 (see `docs/aws.md`).
#[cfg(feature = "aws")]
pub use provider_aws as aws;

/// Azure (not implemented yet).
#[cfg(feature = "azure")]
pub use provider_azure as azure;

/// Google Cloud (not implemented yet).
#[cfg(feature = "gcp")]
pub use provider_gcp as gcp;
