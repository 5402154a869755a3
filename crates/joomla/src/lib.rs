//! A vendor's Joomla site, read-only: its users (`#__users`), groups (`#__usergroups`) and who is
//! in which (`#__user_usergroup_map`), on MySQL/MariaDB or PostgreSQL, for Joomla 3.10 to 6.x
//! (the columns read here are the same in all of them), and its password hashes.
//!
//! depot never writes to the site's database; a read-only database account is enough.

pub mod ars;
pub mod passwords;
mod site;
mod tree;

pub use site::{JoomlaAccount, JoomlaError, JoomlaMember, JoomlaSite, JoomlaUser};
pub use tree::{GroupRule, GroupTree, JoomlaGroup};
