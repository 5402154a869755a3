//! `depot group`: user groups.

use clap::Subcommand;
use depot_api::{GroupPatch, GroupView, Items, NewGroup};
use reqwest::Method;
use serde::de::IgnoredAny;
use serde_json::json;

use super::output::{Output, show, table};
use crate::client::Api;

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a user group (Joomla's notion; the id as in jBackend's `9,12`).
    Add {
        #[arg(long)]
        id: i64,
        #[arg(long)]
        name: String,
    },
    List,
    Rename {
        #[arg(long)]
        id: i64,
        #[arg(long)]
        name: String,
    },
    /// Delete a group without memberships or package groups (others can only be renamed).
    Delete {
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
            show(out, &g, |g| {
                println!("group {} \"{}\" created", g.id, g.name)
            });
        }
        GroupCommand::Rename { id, name } => {
            let g: GroupView = api
                .send(
                    Method::PATCH,
                    &["groups", &id.to_string()],
                    &GroupPatch { name },
                )
                .await?;
            show(out, &g, |g| {
                println!("group {} is now \"{}\"", g.id, g.name)
            });
        }
        GroupCommand::Delete { id } => {
            let _: IgnoredAny = api
                .act(Method::DELETE, &["groups", &id.to_string()])
                .await?;
            show(out, &json!({"deleted": id}), |_| {
                println!("group {id} deleted")
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
