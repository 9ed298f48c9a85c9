//! Cloud-agnostic core of hubforge.
//!
//! - [`spec`]: the portable hub spec, parsed strictly from YAML, TOML or JSON.
//! - [`problem`]: what is wrong with a spec, at which field.
//! - [`validate`]: every problem in a spec, each with its field path.
//! - [`names`]: physical cloud names derived from logical spec names.
//! - [`catalog`]: portable machine shapes and regions resolved per cloud.
//! - [`provider`]: the object-safe traits every cloud implements.
//! - [`operation`]: long-running cloud operations and the waiter.
//! - [`layer`]: layers around a provider (one forwarding wrapper).
//! - [`retry`]: the retry layer for single requests.
//! - [`ratelimit`]: waiting for a cloud's request budget, as a layer.
//! - [`engine`]: desired graph, observe, plan, apply, destroy, leak check.
//! - [`state`]: state stores and the hub lock.
//! - [`events`]: typed progress events.
//! - [`facts`]: per-cloud facts the sim and the providers share.
//! - [`id`]: resource ids and the resource tag that carries them.
//! - [`interrupt`]: stopping multi-step creates half-way, for tests.
//! - [`tags`]: tag diffs and listing a hub's resources by their tags.
//! - `sim` (feature `sim`, on by default): the built-in simulated cloud.
//!
//! No cloud SDK is a dependency of this crate, and none appears in any
//! signature.

pub mod catalog;
pub mod engine;
pub mod error;
pub mod events;
pub mod facts;
pub mod id;
pub mod interrupt;
pub mod layer;
pub mod names;
pub mod operation;
pub mod problem;
pub mod provider;
pub mod ratelimit;
pub mod retry;
#[cfg(feature = "sim")]
pub mod sim;
pub mod spec;
pub mod state;
pub mod tags;
pub mod validate;

pub use error::{Error, ErrorKind, Result};
pub use operation::{Backoff, Cancellation, Operation, OperationStatus, Progress, Waiter};
pub use problem::Problem;
pub use provider::{BucketOps, Capabilities, ClusterOps, IdentityOps, NodePoolOps, Provider};
pub use spec::{Cloud, HubClusterSpec, ProviderKind};
pub use validate::{ValidSpec, validate};
