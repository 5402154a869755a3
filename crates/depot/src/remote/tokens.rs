//! `depot token list|revoke`: API tokens over the API (`token create` works offline, in `cli`).

use clap::Subcommand;
use reqwest::Method;
use serde_json::Value;

use super::output::{Output, items, show, table, text};
use crate::client::Api;

/// The API-side token commands (`depot token create` runs against the database instead, so
/// that the first token can be made).
#[derive(Debug, Subcommand)]
pub enum RemoteTokenCommand {
    List,
    /// Revoke a token by id; requests carrying it are refused from then on.
    Revoke {
        id: i64,
    },
}

pub async fn token(api: &Api, out: &Output, cmd: RemoteTokenCommand) -> anyhow::Result<()> {
    match cmd {
        RemoteTokenCommand::List => {
            let v = api.call(Method::GET, &["tokens"], None).await?;
            show(out, &v, |v| {
                table(
                    &["ID", "NAME", "SCOPE", "CREATED", "LAST USED", "STATE"],
                    items(v)
                        .iter()
                        .map(|t| {
                            let scope = match t["extensions"].as_array() {
                                Some(list) => format!(
                                    "{} ({})",
                                    text(t, "scope"),
                                    list.iter()
                                        .filter_map(Value::as_str)
                                        .collect::<Vec<_>>()
                                        .join(",")
                                ),
                                None => text(t, "scope"),
                            };
                            vec![
                                text(t, "id"),
                                text(t, "name"),
                                scope,
                                text(t, "created_at"),
                                text(t, "last_used_at"),
                                if t["revoked_at"].is_null() {
                                    "live"
                                } else {
                                    "revoked"
                                }
                                .into(),
                            ]
                        })
                        .collect(),
                )
            });
        }
        RemoteTokenCommand::Revoke { id } => {
            let v = api
                .call(Method::DELETE, &["tokens", &id.to_string()], None)
                .await?;
            show(out, &v, |t| {
                println!("revoked token {} \"{}\"", text(t, "id"), text(t, "name"))
            });
        }
    }
    Ok(())
}
