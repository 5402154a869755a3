//! depot's domain, free of I/O, async, HTTP and SQL: Joomla versions and their order, extension
//! identities, Joomla targets, package (zip + manifest) inspection, feed rendering, license
//! key derivation and the entitlement rule.

pub mod entitlement;
pub mod extension;
pub mod feed;
pub mod keys;
pub mod package;
pub mod targets;
pub mod useragent;
pub mod version;

pub use extension::{Client, ExtensionType, Identity, IdentityError};
pub use targets::{Targets, TargetsError};
pub use version::{Stability, Version, VersionError};
