//! `depot key`: a user's download keys and jBackend keys.

use anyhow::bail;
use clap::Subcommand;
use depot_api::{DownloadKeyView, Items, JbackendKeyView, KeyPatch, NewKey};
use reqwest::Method;
use serde::Serialize;
use serde::de::IgnoredAny;
use serde_json::json;

use crate::client::Api;
use crate::output::{Output, show, table};

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a download key and print it alone on stdout.
    Create {
        /// The user's e-mail address (or id).
        #[arg(long)]
        user: String,
        /// The key's label (default: `default`); the site it is for is a good one.
        #[arg(long)]
        label: Option<String>,
    },
    /// The user's download keys, and their jBackend key in each package group.
    List {
        /// The user's e-mail address (or id).
        #[arg(long)]
        user: String,
    },
    /// Revoke the user's live download key with this label.
    Revoke {
        /// The user's e-mail address (or id).
        #[arg(long)]
        user: String,
        /// The key's label (default: `default`); the site it is for is a good one.
        #[arg(long)]
        label: String,
    },
    /// Relabel the user's live download key (the key itself stays).
    Label {
        /// The user's e-mail address (or id).
        #[arg(long)]
        user: String,
        /// The key's label (default: `default`); the site it is for is a good one.
        #[arg(long)]
        label: String,
        /// The new label.
        #[arg(long)]
        to: String,
    },
    /// Replace the user's jBackend key in a package group and print the new one.
    Rotate {
        /// The user's e-mail address (or id).
        #[arg(long)]
        user: String,
        /// The package group's id.
        #[arg(long)]
        package_group: String,
    },
}

/// The id of the user's live download key with this label.
async fn live_key_id(api: &Api, user: &str, label: &str) -> anyhow::Result<String> {
    let keys: Items<DownloadKeyView> = api.get(&["users", user, "keys"]).await?;
    match keys.items.iter().find(|k| k.label == label && !k.revoked) {
        Some(k) => Ok(k.id.to_string()),
        None => bail!(
            "{user} has no live download key labelled {label:?} (depot key list --user {user})"
        ),
    }
}

/// `depot key list --json`: both kinds of key in one document.
#[derive(Serialize)]
struct UserKeys {
    download_keys: Vec<DownloadKeyView>,
    jbackend_keys: Vec<JbackendKeyView>,
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

pub async fn key(api: &Api, out: &Output, cmd: KeyCommand) -> anyhow::Result<()> {
    match cmd {
        KeyCommand::Create { user, label } => {
            let k: DownloadKeyView = api
                .send(Method::POST, &["users", &user, "keys"], &NewKey { label })
                .await?;
            // The key alone on stdout, for scripts; what it is on stderr.
            show(out, &k, |k| {
                eprintln!("download key {:?} for {user}:", k.label);
                outln!("{}", k.key);
            });
        }
        KeyCommand::List { user } => {
            let keys: Items<DownloadKeyView> = api.get(&["users", &user, "keys"]).await?;
            let jbackend: Items<JbackendKeyView> =
                api.get(&["users", &user, "jbackend-keys"]).await?;
            let v = UserKeys {
                download_keys: keys.items,
                jbackend_keys: jbackend.items,
            };
            show(out, &v, |v| {
                outln!("Download keys (Joomla's Download Key field, dlid):");
                table(
                    &["ID", "LABEL", "STATE", "CREATED", "KEY"],
                    v.download_keys
                        .iter()
                        .map(|k| {
                            vec![
                                k.id.to_string(),
                                k.label.clone(),
                                if k.revoked { "revoked" } else { "live" }.into(),
                                k.created_at.clone(),
                                k.key.clone(),
                            ]
                        })
                        .collect(),
                );
                outln!();
                outln!("jBackend keys (email + key):");
                table(
                    &["PACKAGE GROUP", "ENTITLED", "KEY"],
                    v.jbackend_keys
                        .iter()
                        .map(|k| vec![k.package_group.clone(), yes_no(k.entitled), k.key.clone()])
                        .collect(),
                );
            });
        }
        KeyCommand::Revoke { user, label } => {
            let id = live_key_id(api, &user, &label).await?;
            let _: IgnoredAny = api
                .act(Method::DELETE, &["users", &user, "keys", &id])
                .await?;
            show(out, &json!({"revoked": id.parse::<i64>().ok()}), |_| {
                outln!("revoked download key {label:?} of {user}")
            });
        }
        KeyCommand::Label { user, label, to } => {
            let id = live_key_id(api, &user, &label).await?;
            let k: DownloadKeyView = api
                .send(
                    Method::PATCH,
                    &["users", &user, "keys", &id],
                    &KeyPatch { label: to },
                )
                .await?;
            show(out, &k, |k| {
                outln!("download key {label:?} of {user} is now {:?}", k.label)
            });
        }
        KeyCommand::Rotate {
            user,
            package_group,
        } => {
            let k: JbackendKeyView = api
                .act(
                    Method::POST,
                    &["users", &user, "jbackend-keys", &package_group, "rotate"],
                )
                .await?;
            show(out, &k, |k| {
                eprintln!(
                    "new jBackend key of {user} in {package_group} (the old one no longer works):"
                );
                outln!("{}", k.key);
            });
        }
    }
    Ok(())
}
