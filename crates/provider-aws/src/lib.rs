//! hubforge provider for aws.
//!
//! Not implemented yet: this crate compiles so the workspace, the facade's
//! `aws` feature and the CLI can be wired now. `provider: aws` specs
//! validate and resolve machine types today; provisioning on aws arrives with
//! its own issue. See the README's status table.

/// The provider name used in spec files.
pub const PROVIDER_NAME: &str = "aws";

/// Whether this crate can provision resources yet.
pub const IMPLEMENTED: bool = false;
