//! `depot extension`: extensions, what feeds show of them, their package group.

use clap::Subcommand;
use depot_api::{ExtensionPatch, ExtensionView, Items};
use reqwest::Method;
use serde::de::IgnoredAny;
use serde_json::json;

use crate::client::Api;
use crate::output::{Output, show, table};

#[derive(Debug, Subcommand)]
pub enum ExtensionCommand {
    /// Every extension, paid or free, and its feed.
    List,
    /// An extension, with the manifest snippet that points it at its feed.
    Show {
        /// The extension's full name, e.g. plg_system_hello.
        extension: String,
    },
    /// Make an extension paid (`--package-group ID`) or free (`--free`), or change what feeds
    /// show of it.
    Set {
        /// The extension's full name, e.g. plg_system_hello.
        extension: String,
        /// Make it paid: downloadable by this package group's members.
        #[arg(long, conflicts_with = "free")]
        package_group: Option<String>,
        /// Make it free: downloadable by anyone.
        #[arg(long)]
        free: bool,
        /// The name feeds show.
        #[arg(long)]
        title: Option<String>,
        /// The description feeds show (an empty one removes it).
        #[arg(long)]
        description: Option<String>,
        /// The extension's page, http(s) (an empty one removes it).
        #[arg(long)]
        info_url: Option<String>,
        /// Joomla targets of releases uploaded without their own, e.g. 4.4,5,6.
        #[arg(long)]
        joomla: Option<String>,
    },
    /// Delete an extension that never had a release (delete its drafts first).
    Delete {
        /// The extension's full name, e.g. plg_system_hello.
        extension: String,
    },
}

fn package_group(e: &ExtensionView, free: &'static str) -> String {
    e.package_group.clone().unwrap_or_else(|| free.into())
}

pub async fn extension(api: &Api, out: &Output, cmd: ExtensionCommand) -> anyhow::Result<()> {
    match cmd {
        ExtensionCommand::List => {
            let v: Items<ExtensionView> = api.get(&["extensions"]).await?;
            show(out, &v, |v| {
                table(
                    &["NAME", "TYPE", "TITLE", "PACKAGE GROUP", "FEED"],
                    v.items
                        .iter()
                        .map(|e| {
                            vec![
                                e.name.clone(),
                                e.kind.clone(),
                                e.title.clone(),
                                package_group(e, "free"),
                                e.feed_url.clone(),
                            ]
                        })
                        .collect(),
                )
            });
            Ok(())
        }
        ExtensionCommand::Show { extension } => {
            let e: ExtensionView = api.get(&["extensions", &extension]).await?;
            show(out, &e, |e| {
                outln!("{} ({} {}), {}", e.name, e.client, e.kind, e.title);
                outln!("package group: {}", package_group(e, "none (free)"));
                outln!("feed:          {}", e.feed_url);
                outln!("changelog:     {}", e.changelog_url);
                outln!();
                outln!("Paste into the extension's manifest:");
                outln!("{}", e.manifest_snippet);
            });
            Ok(())
        }
        ExtensionCommand::Delete { extension } => {
            let _: IgnoredAny = api.act(Method::DELETE, &["extensions", &extension]).await?;
            show(out, &json!({"deleted": extension}), |_| {
                outln!("{extension} deleted")
            });
            Ok(())
        }
        ExtensionCommand::Set {
            extension,
            package_group,
            free,
            title,
            description,
            info_url,
            joomla,
        } => {
            // An empty text removes an optional field.
            let optional = |v: String| Some((!v.is_empty()).then_some(v));
            let body = ExtensionPatch {
                package_group: if free {
                    Some(None)
                } else {
                    package_group.map(Some)
                },
                title,
                description: description.and_then(optional),
                info_url: info_url.and_then(optional),
                default_joomla: joomla,
            };
            if body == ExtensionPatch::default() {
                anyhow::bail!(
                    "name something to change: --package-group ID or --free, --title, \
                     --description, --info-url, --joomla"
                );
            }
            let e: ExtensionView = api
                .send(Method::PATCH, &["extensions", &extension], &body)
                .await?;
            show(out, &e, |e| {
                match &e.package_group {
                    Some(g) => outln!("{extension} is paid: package group {g}"),
                    None => outln!("{extension} is free"),
                }
                outln!(
                    "title: {}; Joomla by default: {}",
                    e.title,
                    e.default_joomla
                );
            });
            Ok(())
        }
    }
}
