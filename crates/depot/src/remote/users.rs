//! `depot user`: users, their passwords (read from stdin, never from the command line) and console access.

use std::io::BufRead;

use anyhow::{Context, bail};
use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

use super::output::{Output, items, show, table, text};
use crate::client::Api;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; `--password-stdin` reads the password from the first line of stdin.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        password_stdin: bool,
        /// May sign in to the admin console at /admin (give a password too).
        #[arg(long)]
        admin: bool,
    },
    /// Grant the admin console (or withdraw it with `--revoke`).
    Admin {
        #[arg(long)]
        email: String,
        #[arg(long)]
        revoke: bool,
    },
    /// Stop a user's downloads and keys (memberships are kept).
    Disable {
        #[arg(long)]
        email: String,
    },
    Enable {
        #[arg(long)]
        email: String,
    },
    /// Set a user's password from the first line of stdin.
    Password {
        #[arg(long)]
        email: String,
    },
    Show {
        #[arg(long)]
        email: String,
    },
    /// List users, optionally those whose address contains `--email`.
    List {
        #[arg(long)]
        email: Option<String>,
    },
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        bail!("no password on stdin (echo \"$PASSWORD\" | depot user add … --password-stdin)");
    }
    Ok(password)
}

fn user_line(u: &Value) {
    println!(
        "user {} <{}> name: {}, {}{}{}",
        text(u, "id"),
        text(u, "email"),
        text(u, "name"),
        if u["disabled"] == true {
            "disabled"
        } else {
            "enabled"
        },
        if u["has_password"] == true {
            ", has a password"
        } else {
            ""
        },
        if u["admin"] == true {
            ", administrator"
        } else {
            ""
        }
    );
}

pub async fn user(api: &Api, out: &Output, cmd: UserCommand) -> anyhow::Result<()> {
    let patch = |email: &str, body: Value| {
        let email = email.to_string();
        async move {
            api.call(Method::PATCH, &["users", &email], Some(body))
                .await
        }
    };
    let v = match cmd {
        UserCommand::Add {
            email,
            name,
            password_stdin,
            admin,
        } => {
            let password = password_stdin.then(read_password).transpose()?;
            api.call(
                Method::POST,
                &["users"],
                Some(json!({"email": email, "name": name, "password": password, "admin": admin})),
            )
            .await?
        }
        UserCommand::Admin { email, revoke } => patch(&email, json!({"admin": !revoke})).await?,
        UserCommand::Disable { email } => patch(&email, json!({"disabled": true})).await?,
        UserCommand::Enable { email } => patch(&email, json!({"disabled": false})).await?,
        UserCommand::Password { email } => {
            patch(&email, json!({"password": read_password()?})).await?
        }
        UserCommand::Show { email } => api.call(Method::GET, &["users", &email], None).await?,
        UserCommand::List { email } => {
            let mut all = Vec::new();
            let mut after = 0;
            loop {
                let mut query = vec![("after", after.to_string()), ("limit", "1000".into())];
                if let Some(e) = &email {
                    query.push(("email", e.clone()));
                }
                let v = api
                    .call_with_query(Method::GET, &["users"], &query, None)
                    .await?;
                all.extend(items(&v));
                match v["next_after"].as_i64() {
                    Some(next) => after = next,
                    None => break,
                }
            }
            let v = json!({ "items": all });
            show(out, &v, |v| {
                table(
                    &["ID", "EMAIL", "NAME", "STATE"],
                    items(v)
                        .iter()
                        .map(|u| {
                            vec![
                                text(u, "id"),
                                text(u, "email"),
                                text(u, "name"),
                                if u["disabled"] == true {
                                    "disabled".into()
                                } else {
                                    "enabled".into()
                                },
                            ]
                        })
                        .collect(),
                )
            });
            return Ok(());
        }
    };
    show(out, &v, user_line);
    Ok(())
}
