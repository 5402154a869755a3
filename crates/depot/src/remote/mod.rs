//! The remote subcommands (`group`, `user`, `membership`, `package-group`, `extension`, `key`,
//! `release`, `sales`, `webhook`, `token list|revoke`, `audit`): each is one or two calls to the admin API, one file
//! per noun, printed through `output` as lines or a table, or as the API's JSON with `--json`.

mod audit;
mod extensions;
mod groups;
mod keys;
mod memberships;
mod package_groups;
mod releases;
mod sales;
mod tokens;
mod users;
mod webhooks;

pub use crate::output::Output;
pub use audit::{AuditArgs, audit};
pub use extensions::{ExtensionCommand, extension};
pub use groups::{GroupCommand, group};
pub use keys::{KeyCommand, key};
pub use memberships::{MembershipCommand, membership};
pub use package_groups::{PackageGroupCommand, package_group};
pub use releases::{ReleaseCommand, release};
pub use sales::{SalesCommand, sales};
pub use tokens::{RemoteTokenCommand, token};
pub use users::{UserCommand, user};
pub use webhooks::{WebhookCommand, webhook};
