//! `depot token list|revoke`: API tokens over the API (`token create` works offline, in `cli`).

use clap::Subcommand;
use depot_api::{Items, TokenView};
use reqwest::Method;

use crate::client::Api;
use crate::output::{Output, or_dash, show, table};

/// The API-side token commands (`depot token create` runs against the database instead, so
/// that the first token can be made).
#[derive(Debug, Subcommand)]
pub enum RemoteTokenCommand {
    /// The API tokens: name, scope, last use (never the tokens themselves).
    List,
    /// Revoke a token by id; requests carrying it are refused from then on.
    Revoke {
        /// The token's id (from `depot token list`).
        id: i64,
    },
}

pub async fn token(api: &Api, out: &Output, cmd: RemoteTokenCommand) -> anyhow::Result<()> {
    match cmd {
        RemoteTokenCommand::List => {
            let v: Items<TokenView> = api.get(&["tokens"]).await?;
            show(out, &v, |v| {
                table(
                    &["ID", "NAME", "SCOPE", "CREATED", "LAST USED", "STATE"],
                    v.items
                        .iter()
                        .map(|t| {
                            let scope = match &t.extensions {
                                Some(list) => format!("{} ({})", t.scope, list.join(",")),
                                None => t.scope.clone(),
                            };
                            vec![
                                t.id.to_string(),
                                t.name.clone(),
                                scope,
                                t.created_at.clone(),
                                or_dash(&t.last_used_at),
                                if t.revoked_at.is_none() {
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
            let t: TokenView = api
                .act(Method::DELETE, &["tokens", &id.to_string()])
                .await?;
            show(out, &t, |t| outln!("revoked token {} \"{}\"", t.id, t.name));
        }
    }
    Ok(())
}
