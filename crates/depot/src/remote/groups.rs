//! `depot group`: user groups.

use clap::Subcommand;
use reqwest::Method;
use serde_json::json;

use super::output::{Output, items, show, table, text};
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
            let v = api
                .call(
                    Method::POST,
                    &["groups"],
                    Some(json!({"id": id, "name": name})),
                )
                .await?;
            show(out, &v, |g| {
                println!("group {} \"{}\" created", text(g, "id"), text(g, "name"))
            });
        }
        GroupCommand::Rename { id, name } => {
            let v = api
                .call(
                    Method::PATCH,
                    &["groups", &id.to_string()],
                    Some(json!({ "name": name })),
                )
                .await?;
            show(out, &v, |g| {
                println!("group {} is now \"{}\"", text(g, "id"), text(g, "name"))
            });
        }
        GroupCommand::Delete { id } => {
            api.call(Method::DELETE, &["groups", &id.to_string()], None)
                .await?;
            show(out, &json!({"deleted": id}), |_| {
                println!("group {id} deleted")
            });
        }
        GroupCommand::List => {
            let v = api.call(Method::GET, &["groups"], None).await?;
            show(out, &v, |v| {
                table(
                    &["ID", "NAME"],
                    items(v)
                        .iter()
                        .map(|g| vec![text(g, "id"), text(g, "name")])
                        .collect(),
                )
            });
        }
    }
    Ok(())
}
