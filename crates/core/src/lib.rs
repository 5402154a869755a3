//! depot's domain, free of I/O, async, HTTP and SQL: Joomla versions and their order, extension
//! identities, Joomla targets, package (zip + manifest) inspection, feed rendering, license
//! key derivation and the entitlement rule.

pub mod application;
pub mod ars;
pub mod clock;
pub mod composer;
pub mod entitlement;
pub mod extension;
pub mod feed;
pub mod fuzz_checks;
pub mod jbackend_settings;
pub mod keys;
pub mod package;
pub mod range;
pub mod refusal;
pub mod release;
pub mod rollout;
pub mod sales;
pub mod targets;
pub mod useragent;
pub mod version;
pub mod webhooks;
pub mod wordpress;

pub use clock::Clock;
pub use extension::{Client, Ecosystem, ExtensionType, Identity, IdentityError};
pub use refusal::Refusal;
pub use release::ReleaseState;
pub use targets::{Targets, TargetsError};
pub use version::{Stability, Version, VersionError};
