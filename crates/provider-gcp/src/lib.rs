//! hubforge provider for gcp.
//!
//! Not implemented yet: this crate compiles so the workspace, the facade's
//! `gcp` feature and the CLI can be wired now. `provider: gcp` specs
//! validate and resolve machine types today; provisioning on gcp arrives with
//! its own issue. See the README's status table.

/// The provider name used in spec files.
pub const PROVIDER_NAME: &str = "gcp";

/// Whether this crate can provision resources yet.
pub const IMPLEMENTED: bool = false;
