//! `depot user`: users, their passwords (read from stdin, never from the command line) and console access.

use std::io::BufRead;

use anyhow::{Context, bail};
use clap::Subcommand;
use depot_api::{Items, NewUser, UserPage, UserPatch, UserQuery, UserView};
use reqwest::Method;

use crate::client::Api;
use crate::output::{Output, or_dash, show, table};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; `--password-stdin` reads the password from the first line of stdin.
    Add {
        /// The user's e-mail address.
        #[arg(long)]
        email: String,
        /// The user's display name.
        #[arg(long)]
        name: Option<String>,
        /// Read a password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
        /// May sign in to the admin console at /admin (give a password too).
        #[arg(long)]
        admin: bool,
    },
    /// Grant the admin console (or withdraw it with `--revoke`).
    Admin {
        /// The user's e-mail address.
        #[arg(long)]
        email: String,
        /// Withdraw console access instead of granting it.
        #[arg(long)]
        revoke: bool,
    },
    /// Stop a user's downloads and keys (memberships are kept).
    Disable {
        /// The user's e-mail address.
        #[arg(long)]
        email: String,
    },
    /// Let a disabled user download and sign in again.
    Enable {
        /// The user's e-mail address.
        #[arg(long)]
        email: String,
    },
    /// Set a user's password from the first line of stdin.
    Password {
        /// The user's e-mail address.
        #[arg(long)]
        email: String,
    },
    /// A user: status, console access, memberships.
    Show {
        /// The user's e-mail address.
        #[arg(long)]
        email: String,
    },
    /// List users, optionally those whose address contains `--email`.
    List {
        /// Only users whose address contains this.
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

fn user_line(u: &UserView) {
    outln!(
        "user {} <{}> name: {}, {}{}{}",
        u.id,
        u.email,
        or_dash(&u.name),
        if u.disabled { "disabled" } else { "enabled" },
        if u.has_password {
            ", has a password"
        } else {
            ""
        },
        if u.admin { ", administrator" } else { "" }
    );
}

pub async fn user(api: &Api, out: &Output, cmd: UserCommand) -> anyhow::Result<()> {
    let patch = |email: &str, body: UserPatch| {
        let email = email.to_string();
        async move {
            api.send::<_, UserView>(Method::PATCH, &["users", &email], &body)
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
            let body = NewUser {
                email,
                name,
                password,
                admin,
            };
            api.send(Method::POST, &["users"], &body).await?
        }
        UserCommand::Admin { email, revoke } => {
            let body = UserPatch {
                admin: Some(!revoke),
                ..UserPatch::default()
            };
            patch(&email, body).await?
        }
        UserCommand::Disable { email } => patch(&email, disabled(true)).await?,
        UserCommand::Enable { email } => patch(&email, disabled(false)).await?,
        UserCommand::Password { email } => {
            let body = UserPatch {
                password: Some(read_password()?),
                ..UserPatch::default()
            };
            patch(&email, body).await?
        }
        UserCommand::Show { email } => api.get(&["users", &email]).await?,
        UserCommand::List { email } => {
            let mut all = Vec::new();
            let mut query = UserQuery {
                email,
                after: Some(0),
                limit: Some(1000),
            };
            loop {
                let page: UserPage = api.get_with(&["users"], &query).await?;
                all.extend(page.items);
                match page.next_after {
                    Some(next) => query.after = Some(next),
                    None => break,
                }
            }
            let v = Items { items: all };
            show(out, &v, |v| {
                table(
                    &["ID", "EMAIL", "NAME", "STATE"],
                    v.items
                        .iter()
                        .map(|u| {
                            vec![
                                u.id.to_string(),
                                u.email.clone(),
                                or_dash(&u.name),
                                if u.disabled { "disabled" } else { "enabled" }.into(),
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

fn disabled(disabled: bool) -> UserPatch {
    UserPatch {
        disabled: Some(disabled),
        ..UserPatch::default()
    }
}
