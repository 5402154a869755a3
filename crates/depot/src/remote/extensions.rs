//! `depot extension`: extensions, what feeds show of them, their package group.

use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

use super::output::{Output, items, show, table, text};
use crate::client::Api;

#[derive(Debug, Subcommand)]
pub enum ExtensionCommand {
    List,
    /// An extension, with the manifest snippet that points it at its feed.
    Show {
        extension: String,
    },
    /// Make an extension paid (`--package-group ID`) or free (`--free`), or change what feeds
    /// show of it.
    Set {
        extension: String,
        #[arg(long, conflicts_with = "free")]
        package_group: Option<String>,
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
        extension: String,
    },
}

pub async fn extension(api: &Api, out: &Output, cmd: ExtensionCommand) -> anyhow::Result<()> {
    match cmd {
        ExtensionCommand::List => {
            let v = api.call(Method::GET, &["extensions"], None).await?;
            show(out, &v, |v| {
                table(
                    &["NAME", "TYPE", "TITLE", "PACKAGE GROUP", "FEED"],
                    items(v)
                        .iter()
                        .map(|e| {
                            vec![
                                text(e, "name"),
                                text(e, "type"),
                                text(e, "title"),
                                e["package_group"].as_str().unwrap_or("free").into(),
                                text(e, "feed_url"),
                            ]
                        })
                        .collect(),
                )
            });
            Ok(())
        }
        ExtensionCommand::Show { extension } => {
            let v = api
                .call(Method::GET, &["extensions", &extension], None)
                .await?;
            show(out, &v, |e| {
                println!(
                    "{} ({} {}), {}",
                    text(e, "name"),
                    text(e, "client"),
                    text(e, "type"),
                    text(e, "title")
                );
                println!(
                    "package group: {}",
                    e["package_group"].as_str().unwrap_or("none (free)")
                );
                println!("feed:          {}", text(e, "feed_url"));
                println!("changelog:     {}", text(e, "changelog_url"));
                println!();
                println!("Paste into the extension's manifest:");
                println!("{}", text(e, "manifest_snippet"));
            });
            Ok(())
        }
        ExtensionCommand::Delete { extension } => {
            api.call(Method::DELETE, &["extensions", &extension], None)
                .await?;
            show(out, &json!({"deleted": extension}), |_| {
                println!("{extension} deleted")
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
            let mut body = serde_json::Map::new();
            if free {
                body.insert("package_group".into(), Value::Null);
            } else if let Some(g) = &package_group {
                body.insert("package_group".into(), json!(g));
            }
            // An empty text removes an optional field.
            let optional = |v: &str| if v.is_empty() { Value::Null } else { json!(v) };
            for (field, value) in [
                ("title", title.as_deref().map(|t| json!(t))),
                ("description", description.as_deref().map(optional)),
                ("info_url", info_url.as_deref().map(optional)),
                ("default_joomla", joomla.as_deref().map(|j| json!(j))),
            ] {
                if let Some(v) = value {
                    body.insert(field.into(), v);
                }
            }
            if body.is_empty() {
                anyhow::bail!(
                    "name something to change: --package-group ID or --free, --title, \
                     --description, --info-url, --joomla"
                );
            }
            let v = api
                .call(
                    Method::PATCH,
                    &["extensions", &extension],
                    Some(Value::Object(body)),
                )
                .await?;
            show(out, &v, |e| {
                match e["package_group"].as_str() {
                    Some(g) => println!("{extension} is paid: package group {g}"),
                    None => println!("{extension} is free"),
                }
                println!(
                    "title: {}; Joomla by default: {}",
                    text(e, "title"),
                    text(e, "default_joomla")
                );
            });
            Ok(())
        }
    }
}
