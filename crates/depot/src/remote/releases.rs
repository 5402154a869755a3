//! `depot release`: releases in any state: publish, yank, notes, delete a draft.

use anyhow::Context;
use clap::Subcommand;
use depot_core::ReleaseState;
use reqwest::Method;
use serde_json::{Value, json};

use super::output::{Output, items, show, table, text};
use crate::client::Api;

#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// Every release of an extension, in any state.
    List {
        extension: String,
    },
    Show {
        extension: String,
        version: String,
    },
    /// Publish a draft, or put a yanked release back.
    Publish {
        extension: String,
        version: String,
    },
    /// Take a published release out of the feeds and downloads.
    Yank {
        extension: String,
        version: String,
    },
    /// Delete a draft (a release that was ever published is yanked instead).
    Delete {
        extension: String,
        version: String,
    },
    /// Replace a release's notes with a file's contents (`-` for stdin), or remove them.
    Notes {
        extension: String,
        version: String,
        #[arg(long, conflicts_with = "clear", required_unless_present = "clear")]
        file: Option<std::path::PathBuf>,
        #[arg(long)]
        clear: bool,
    },
}

fn release_line(r: &Value) {
    println!(
        "{} {}: {} ({}, Joomla {}), {} bytes, sha256 {}",
        text(r, "extension"),
        text(r, "version"),
        text(r, "state"),
        text(r, "stability"),
        text(r, "joomla"),
        text(r, "size"),
        text(r, "sha256")
    );
}

pub async fn release(api: &Api, out: &Output, cmd: ReleaseCommand) -> anyhow::Result<()> {
    let patch = |extension: &str, version: &str, body: Value| {
        let (extension, version) = (extension.to_string(), version.to_string());
        async move {
            api.call(
                Method::PATCH,
                &["extensions", &extension, "releases", &version],
                Some(body),
            )
            .await
        }
    };
    let v = match cmd {
        ReleaseCommand::List { extension } => {
            let v = api
                .call(Method::GET, &["extensions", &extension, "releases"], None)
                .await?;
            show(out, &v, |v| {
                table(
                    &[
                        "VERSION",
                        "STATE",
                        "STABILITY",
                        "JOOMLA",
                        "PUBLISHED",
                        "SIZE",
                    ],
                    items(v)
                        .iter()
                        .map(|r| {
                            vec![
                                text(r, "version"),
                                text(r, "state"),
                                text(r, "stability"),
                                text(r, "joomla"),
                                text(r, "published_at"),
                                text(r, "size"),
                            ]
                        })
                        .collect(),
                )
            });
            return Ok(());
        }
        ReleaseCommand::Show { extension, version } => {
            api.call(
                Method::GET,
                &["extensions", &extension, "releases", &version],
                None,
            )
            .await?
        }
        ReleaseCommand::Publish { extension, version } => {
            patch(
                &extension,
                &version,
                json!({"state": ReleaseState::Published}),
            )
            .await?
        }
        ReleaseCommand::Yank { extension, version } => {
            patch(&extension, &version, json!({"state": ReleaseState::Yanked})).await?
        }
        ReleaseCommand::Delete { extension, version } => {
            api.call(
                Method::DELETE,
                &["extensions", &extension, "releases", &version],
                None,
            )
            .await?;
            let done = json!({"deleted": true, "extension": extension, "version": version});
            show(out, &done, |_| {
                println!("deleted the draft {extension} {version}")
            });
            return Ok(());
        }
        ReleaseCommand::Notes {
            extension,
            version,
            file,
            clear: _,
        } => {
            let notes = match file {
                Some(path) if path.as_os_str() == "-" => {
                    let mut s = String::new();
                    std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                        .context("reading the notes from stdin")?;
                    Some(s)
                }
                Some(path) => Some(
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?,
                ),
                None => None,
            };
            patch(&extension, &version, json!({ "notes": notes })).await?
        }
    };
    show(out, &v, release_line);
    Ok(())
}
