//! `depot package-group`: package groups, their allowed groups and policy.

use anyhow::bail;
use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

use super::output::{Output, items, show, table, text};
use crate::client::Api;

#[derive(Debug, Subcommand)]
pub enum PackageGroupCommand {
    /// Create a package group: its extensions are downloadable by members of `--groups`.
    Add {
        #[arg(long)]
        id: String,
        /// Allowed user groups, e.g. 9,12.
        #[arg(long, value_delimiter = ',', required = true)]
        groups: Vec<i64>,
        /// The seed of its jBackend keys (default: random; jBackend's "hash" when moving).
        #[arg(long)]
        seed: Option<String>,
        /// The display name used in mails.
        #[arg(long)]
        name: Option<String>,
        /// active (the default) or keep-released.
        #[arg(long)]
        policy: Option<String>,
    },
    List,
    /// Change a package group's display name or policy.
    Update {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: Option<String>,
        /// active or keep-released.
        #[arg(long)]
        policy: Option<String>,
    },
    /// Delete a package group no extension belongs to.
    Delete {
        #[arg(long)]
        id: String,
    },
}

fn groups_text(v: &Value) -> String {
    v["groups"]
        .as_array()
        .map(|g| {
            g.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

pub async fn package_group(
    api: &Api,
    out: &Output,
    cmd: PackageGroupCommand,
) -> anyhow::Result<()> {
    match cmd {
        PackageGroupCommand::Add {
            id,
            groups,
            seed,
            name,
            policy,
        } => {
            let body =
                json!({"id": id, "groups": groups, "seed": seed, "name": name, "policy": policy});
            let v = api
                .call(Method::POST, &["package-groups"], Some(body))
                .await?;
            show(out, &v, |g| {
                println!(
                    "package group {} \"{}\" created: groups {}, policy {}",
                    text(g, "id"),
                    text(g, "name"),
                    groups_text(g),
                    text(g, "policy")
                )
            });
        }
        PackageGroupCommand::Update { id, name, policy } => {
            if name.is_none() && policy.is_none() {
                bail!("name something to change: --name or --policy");
            }
            let v = api
                .call(
                    Method::PATCH,
                    &["package-groups", &id],
                    Some(json!({ "name": name, "policy": policy })),
                )
                .await?;
            show(out, &v, |g| {
                println!(
                    "package group {} \"{}\": policy {}",
                    text(g, "id"),
                    text(g, "name"),
                    text(g, "policy")
                )
            });
        }
        PackageGroupCommand::Delete { id } => {
            api.call(Method::DELETE, &["package-groups", &id], None)
                .await?;
            show(out, &json!({"deleted": id}), |_| {
                println!("package group {id} deleted")
            });
        }
        PackageGroupCommand::List => {
            let v = api.call(Method::GET, &["package-groups"], None).await?;
            show(out, &v, |v| {
                table(
                    &["ID", "NAME", "GROUPS", "POLICY"],
                    items(v)
                        .iter()
                        .map(|g| {
                            vec![
                                text(g, "id"),
                                text(g, "name"),
                                groups_text(g),
                                text(g, "policy"),
                            ]
                        })
                        .collect(),
                )
            });
        }
    }
    Ok(())
}
