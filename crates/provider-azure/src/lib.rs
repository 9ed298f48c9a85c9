//! hubforge provider for azure.
//!
//! Not implemented yet: this crate compiles so the workspace, the facade's
//! `azure` feature and the CLI can be wired now. `provider: azure` specs
//! validate and resolve machine types today; provisioning on azure arrives with
//! its own issue. See the README's status table.

/// The provider name used in spec files.
pub const PROVIDER_NAME: &str = "azure";

/// Whether this crate can provision resources yet.
pub const IMPLEMENTED: bool = false;
