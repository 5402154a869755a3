//! `depot package-group`: package groups, their allowed groups and policy.

use anyhow::bail;
use clap::Subcommand;
use depot_api::{Items, NewPackageGroup, PackageGroupPatch, PackageGroupView};
use reqwest::Method;
use serde::de::IgnoredAny;
use serde_json::json;

use crate::client::Api;
use crate::output::{Output, show, table};

#[derive(Debug, Subcommand)]
pub enum PackageGroupCommand {
    /// Create a package group: its extensions are downloadable by members of `--groups`.
    Add {
        /// The package group's id, e.g. pro.
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
        /// Its extensions' feeds answer only a customer's key in the URL (?dlid=), and the
        /// collection leaves them out.
        #[arg(long)]
        private_feeds: Option<bool>,
    },
    /// Every package group: its user groups, policy and extensions.
    List,
    /// Change a package group's display name, policy or private feeds.
    Update {
        /// The package group's id, e.g. pro.
        #[arg(long)]
        id: String,
        /// The display name used in mails.
        #[arg(long)]
        name: Option<String>,
        /// active or keep-released.
        #[arg(long)]
        policy: Option<String>,
        /// true: its extensions' feeds answer only a customer's key in the URL (?dlid=).
        #[arg(long)]
        private_feeds: Option<bool>,
    },
    /// Delete a package group no extension belongs to.
    Delete {
        /// The package group's id, e.g. pro.
        #[arg(long)]
        id: String,
    },
}

fn groups_text(g: &PackageGroupView) -> String {
    g.groups
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
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
            private_feeds,
        } => {
            let body = NewPackageGroup {
                id,
                groups,
                seed,
                name,
                policy,
                private_feeds,
            };
            let g: PackageGroupView = api.send(Method::POST, &["package-groups"], &body).await?;
            show(out, &g, |g| {
                outln!(
                    "package group {} \"{}\" created: groups {}, policy {}",
                    g.id,
                    g.name,
                    groups_text(g),
                    g.policy
                )
            });
        }
        PackageGroupCommand::Update {
            id,
            name,
            policy,
            private_feeds,
        } => {
            if name.is_none() && policy.is_none() && private_feeds.is_none() {
                bail!("name something to change: --name, --policy or --private-feeds");
            }
            let patch = PackageGroupPatch {
                name,
                policy,
                private_feeds,
            };
            let g: PackageGroupView = api
                .send(Method::PATCH, &["package-groups", &id], &patch)
                .await?;
            show(out, &g, |g| {
                outln!(
                    "package group {} \"{}\": policy {}{}",
                    g.id,
                    g.name,
                    g.policy,
                    if g.private_feeds {
                        ", private feeds"
                    } else {
                        ""
                    }
                )
            });
        }
        PackageGroupCommand::Delete { id } => {
            let _: IgnoredAny = api.act(Method::DELETE, &["package-groups", &id]).await?;
            show(out, &json!({"deleted": id}), |_| {
                outln!("package group {id} deleted")
            });
        }
        PackageGroupCommand::List => {
            let v: Items<PackageGroupView> = api.get(&["package-groups"]).await?;
            show(out, &v, |v| {
                table(
                    &["ID", "NAME", "GROUPS", "POLICY"],
                    v.items
                        .iter()
                        .map(|g| {
                            vec![
                                g.id.clone(),
                                g.name.clone(),
                                groups_text(g),
                                g.policy.clone(),
                            ]
                        })
                        .collect(),
                )
            });
        }
    }
    Ok(())
}
