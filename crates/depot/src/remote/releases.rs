//! `depot release`: releases in any state: publish, yank, notes, delete a draft.

use anyhow::Context;
use clap::Subcommand;
use depot_api::{Items, ReleasePatch, ReleaseView};
use depot_core::ReleaseState;
use reqwest::Method;
use serde::de::IgnoredAny;
use serde_json::json;

use crate::client::Api;
use crate::output::{Output, or_dash, show, table};

#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// Every release of an extension, in any state.
    List {
        /// The extension's full name, e.g. plg_system_hello.
        extension: String,
    },
    /// One release: state, stability, Joomla targets, hashes, URLs.
    Show {
        /// The extension's full name, e.g. plg_system_hello.
        extension: String,
        /// The release's version, e.g. 1.2.0.
        version: String,
    },
    /// Publish a draft, or put a yanked release back.
    Publish {
        /// The extension's full name, e.g. plg_system_hello.
        extension: String,
        /// The release's version, e.g. 1.2.0.
        version: String,
    },
    /// Take a published release out of the feeds and downloads.
    Yank {
        /// The extension's full name, e.g. plg_system_hello.
        extension: String,
        /// The release's version, e.g. 1.2.0.
        version: String,
    },
    /// Delete a draft (a release that was ever published is yanked instead).
    Delete {
        /// The extension's full name, e.g. plg_system_hello.
        extension: String,
        /// The release's version, e.g. 1.2.0.
        version: String,
    },
    /// Roll a published release out to a growing share of sites, pause or resume that, or
    /// offer it to every site at once.
    Rollout {
        /// The extension's full name, e.g. plg_system_hello.
        extension: String,
        /// The release's version, e.g. 1.2.0.
        version: String,
        /// Percent of sites from hours after the start: 5,25@24h,100@48h.
        #[arg(long, conflicts_with_all = ["pause", "resume", "end"])]
        schedule: Option<String>,
        /// Keep the share where it is.
        #[arg(long, conflicts_with_all = ["resume", "end"])]
        pause: bool,
        /// Go on from where it was paused.
        #[arg(long, conflicts_with = "end")]
        resume: bool,
        /// Offer the release to every site now.
        #[arg(long)]
        end: bool,
    },
    /// Replace a release's notes with a file's contents (`-` for stdin), or remove them.
    Notes {
        /// The extension's full name, e.g. plg_system_hello.
        extension: String,
        /// The release's version, e.g. 1.2.0.
        version: String,
        /// The notes, Markdown (`## Fixed`, `- item`); `-` reads stdin.
        #[arg(long, conflicts_with = "clear", required_unless_present = "clear")]
        file: Option<std::path::PathBuf>,
        /// Remove the notes.
        #[arg(long)]
        clear: bool,
    },
}

fn release_line(r: &ReleaseView) {
    outln!(
        "{} {}: {} ({}, Joomla {}), {} bytes, sha256 {}",
        r.extension,
        r.version,
        r.state,
        r.stability,
        r.joomla,
        r.size,
        r.sha256
    );
}

pub async fn release(api: &Api, out: &Output, cmd: ReleaseCommand) -> anyhow::Result<()> {
    let patch = |extension: &str, version: &str, body: ReleasePatch| {
        let (extension, version) = (extension.to_string(), version.to_string());
        async move {
            api.send::<_, ReleaseView>(
                Method::PATCH,
                &["extensions", &extension, "releases", &version],
                &body,
            )
            .await
        }
    };
    let state = |state: ReleaseState| ReleasePatch {
        state: Some(state.to_string()),
        ..ReleasePatch::default()
    };
    let v = match cmd {
        ReleaseCommand::List { extension } => {
            let v: Items<ReleaseView> = api.get(&["extensions", &extension, "releases"]).await?;
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
                    v.items
                        .iter()
                        .map(|r| {
                            vec![
                                r.version.clone(),
                                r.state.clone(),
                                r.stability.clone(),
                                r.joomla.clone(),
                                or_dash(&r.published_at),
                                r.size.to_string(),
                            ]
                        })
                        .collect(),
                )
            });
            return Ok(());
        }
        ReleaseCommand::Show { extension, version } => {
            api.get(&["extensions", &extension, "releases", &version])
                .await?
        }
        ReleaseCommand::Publish { extension, version } => {
            patch(&extension, &version, state(ReleaseState::Published)).await?
        }
        ReleaseCommand::Yank { extension, version } => {
            patch(&extension, &version, state(ReleaseState::Yanked)).await?
        }
        ReleaseCommand::Delete { extension, version } => {
            let _: IgnoredAny = api
                .act(
                    Method::DELETE,
                    &["extensions", &extension, "releases", &version],
                )
                .await?;
            let done = json!({"deleted": true, "extension": extension, "version": version});
            show(out, &done, |_| {
                outln!("deleted the draft {extension} {version}")
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
            let body = ReleasePatch {
                notes: Some(notes),
                ..ReleasePatch::default()
            };
            patch(&extension, &version, body).await?
        }
        ReleaseCommand::Rollout {
            extension,
            version,
            schedule,
            pause,
            resume,
            end,
        } => {
            let body = match (schedule, pause, resume, end) {
                (Some(s), ..) => ReleasePatch {
                    rollout: Some(Some(s)),
                    ..ReleasePatch::default()
                },
                (None, true, _, _) => ReleasePatch {
                    rollout_paused: Some(true),
                    ..ReleasePatch::default()
                },
                (None, _, true, _) => ReleasePatch {
                    rollout_paused: Some(false),
                    ..ReleasePatch::default()
                },
                (None, _, _, true) => ReleasePatch {
                    rollout: Some(None),
                    ..ReleasePatch::default()
                },
                _ => anyhow::bail!("say what to do: --schedule, --pause, --resume or --end"),
            };
            patch(&extension, &version, body).await?
        }
    };
    show(out, &v, release_line);
    Ok(())
}
