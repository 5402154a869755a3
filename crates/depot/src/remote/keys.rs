//! `depot key`: a user's download keys and jBackend keys.

use anyhow::bail;
use clap::Subcommand;
use reqwest::Method;
use serde_json::json;

use super::output::{Output, items, show, table, text};
use crate::client::Api;

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a download key and print it alone on stdout.
    Create {
        #[arg(long)]
        user: String,
        #[arg(long)]
        label: Option<String>,
    },
    /// The user's download keys, and their jBackend key in each package group.
    List {
        #[arg(long)]
        user: String,
    },
    /// Revoke the user's live download key with this label.
    Revoke {
        #[arg(long)]
        user: String,
        #[arg(long)]
        label: String,
    },
    /// Relabel the user's live download key (the key itself stays).
    Label {
        #[arg(long)]
        user: String,
        #[arg(long)]
        label: String,
        /// The new label.
        #[arg(long)]
        to: String,
    },
    /// Replace the user's jBackend key in a package group and print the new one.
    Rotate {
        #[arg(long)]
        user: String,
        #[arg(long)]
        package_group: String,
    },
}

/// The id of the user's live download key with this label.
async fn live_key_id(api: &Api, user: &str, label: &str) -> anyhow::Result<String> {
    let keys = api
        .call(Method::GET, &["users", user, "keys"], None)
        .await?;
    let live = items(&keys)
        .into_iter()
        .find(|k| k["label"] == label && k["revoked"] == false);
    match live {
        Some(k) => Ok(text(&k, "id")),
        None => bail!(
            "{user} has no live download key labelled {label:?} (depot key list --user {user})"
        ),
    }
}

pub async fn key(api: &Api, out: &Output, cmd: KeyCommand) -> anyhow::Result<()> {
    match cmd {
        KeyCommand::Create { user, label } => {
            let v = api
                .call(
                    Method::POST,
                    &["users", &user, "keys"],
                    Some(json!({ "label": label })),
                )
                .await?;
            // The key alone on stdout, for scripts; what it is on stderr.
            show(out, &v, |k| {
                eprintln!("download key {:?} for {user}:", text(k, "label"));
                println!("{}", text(k, "key"));
            });
        }
        KeyCommand::List { user } => {
            let keys = api
                .call(Method::GET, &["users", &user, "keys"], None)
                .await?;
            let jbackend = api
                .call(Method::GET, &["users", &user, "jbackend-keys"], None)
                .await?;
            let v = json!({"download_keys": items(&keys), "jbackend_keys": items(&jbackend)});
            show(out, &v, |v| {
                println!("Download keys (Joomla's Download Key field, dlid):");
                table(
                    &["ID", "LABEL", "STATE", "CREATED", "KEY"],
                    v["download_keys"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|k| {
                            vec![
                                text(k, "id"),
                                text(k, "label"),
                                if k["revoked"] == true {
                                    "revoked"
                                } else {
                                    "live"
                                }
                                .into(),
                                text(k, "created_at"),
                                text(k, "key"),
                            ]
                        })
                        .collect(),
                );
                println!();
                println!("jBackend keys (email + key):");
                table(
                    &["PACKAGE GROUP", "ENTITLED", "KEY"],
                    v["jbackend_keys"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|k| {
                            vec![
                                text(k, "package_group"),
                                if k["entitled"] == true { "yes" } else { "no" }.into(),
                                text(k, "key"),
                            ]
                        })
                        .collect(),
                );
            });
        }
        KeyCommand::Revoke { user, label } => {
            let id = live_key_id(api, &user, &label).await?;
            api.call(Method::DELETE, &["users", &user, "keys", &id], None)
                .await?;
            show(out, &json!({"revoked": id.parse::<i64>().ok()}), |_| {
                println!("revoked download key {label:?} of {user}")
            });
        }
        KeyCommand::Label { user, label, to } => {
            let id = live_key_id(api, &user, &label).await?;
            let v = api
                .call(
                    Method::PATCH,
                    &["users", &user, "keys", &id],
                    Some(json!({ "label": to })),
                )
                .await?;
            show(out, &v, |k| {
                println!(
                    "download key {label:?} of {user} is now {:?}",
                    text(k, "label")
                )
            });
        }
        KeyCommand::Rotate {
            user,
            package_group,
        } => {
            let v = api
                .call(
                    Method::POST,
                    &["users", &user, "jbackend-keys", &package_group, "rotate"],
                    None,
                )
                .await?;
            show(out, &v, |k| {
                eprintln!(
                    "new jBackend key of {user} in {package_group} (the old one no longer works):"
                );
                println!("{}", text(k, "key"));
            });
        }
    }
    Ok(())
}
