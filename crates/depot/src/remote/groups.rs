//! `depot group`: user groups.

use clap::Subcommand;
use depot_api::{GroupPatch, GroupView, Items, NewGroup};
use reqwest::Method;
use serde::de::IgnoredAny;
use serde_json::json;

use crate::client::Api;
use crate::output::{Output, show, table};

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a user group (Joomla's notion; the id as in jBackend's `9,12`).
    Add {
        /// The group's id (Joomla's, as in jBackend's `9,12`).
        #[arg(long)]
        id: i64,
        /// The group's name, e.g. "Pro subscribers".
        #[arg(long)]
        name: String,
    },
    /// Every group.
    List,
    /// Rename a group.
    Rename {
        /// The group's id (Joomla's, as in jBackend's `9,12`).
        #[arg(long)]
        id: i64,
        /// The group's name, e.g. "Pro subscribers".
        #[arg(long)]
        name: String,
    },
    /// Delete a group without memberships or package groups (others can only be renamed).
    Delete {
        /// The group's id (Joomla's, as in jBackend's `9,12`).
        #[arg(long)]
        id: i64,
    },
}

pub async fn group(api: &Api, out: &Output, cmd: GroupCommand) -> anyhow::Result<()> {
    match cmd {
        GroupCommand::Add { id, name } => {
            let g: GroupView = api
                .send(Method::POST, &["groups"], &NewGroup { id, name })
                .await?;
            show(out, &g, |g| outln!("group {} \"{}\" created", g.id, g.name));
        }
        GroupCommand::Rename { id, name } => {
            let g: GroupView = api
                .send(
                    Method::PATCH,
                    &["groups", &id.to_string()],
                    &GroupPatch { name },
                )
                .await?;
            show(out, &g, |g| outln!("group {} is now \"{}\"", g.id, g.name));
        }
        GroupCommand::Delete { id } => {
            let _: IgnoredAny = api
                .act(Method::DELETE, &["groups", &id.to_string()])
                .await?;
            show(out, &json!({"deleted": id}), |_| {
                outln!("group {id} deleted")
            });
        }
        GroupCommand::List => {
            let v: Items<GroupView> = api.get(&["groups"]).await?;
            show(out, &v, |v| {
                table(
                    &["ID", "NAME"],
                    v.items
                        .iter()
                        .map(|g| vec![g.id.to_string(), g.name.clone()])
                        .collect(),
                )
            });
        }
    }
    Ok(())
}
