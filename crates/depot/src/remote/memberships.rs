//! `depot membership`: a user in a group, from and until a date.

use clap::Subcommand;
use reqwest::Method;
use serde_json::json;

use super::output::{Output, items, show, table, text};
use crate::client::Api;

#[derive(Debug, Subcommand)]
pub enum MembershipCommand {
    /// Add a membership (a subscription); dates are YYYY-MM-DD or RFC 3339.
    Add {
        #[arg(long)]
        user: String,
        #[arg(long)]
        group: i64,
        /// Default: now.
        #[arg(long)]
        from: Option<String>,
        /// Default: open-ended.
        #[arg(long)]
        until: Option<String>,
    },
    /// End the user's open memberships in a group.
    End {
        #[arg(long)]
        user: String,
        #[arg(long)]
        group: i64,
        /// Default: now.
        #[arg(long)]
        at: Option<String>,
    },
    List {
        #[arg(long)]
        user: String,
    },
}

pub async fn membership(api: &Api, out: &Output, cmd: MembershipCommand) -> anyhow::Result<()> {
    match cmd {
        MembershipCommand::Add {
            user,
            group,
            from,
            until,
        } => {
            let v = api
                .call(
                    Method::POST,
                    &["users", &user, "memberships"],
                    Some(json!({"group": group, "from": from, "until": until})),
                )
                .await?;
            show(out, &v, |m| {
                println!(
                    "membership {} of {user} in group {}: from {} until {}",
                    text(m, "id"),
                    text(m, "group"),
                    text(m, "valid_from"),
                    m["valid_until"].as_str().unwrap_or("open-ended")
                )
            });
        }
        MembershipCommand::End { user, group, at } => {
            let v = api
                .call(
                    Method::POST,
                    &["users", &user, "memberships", "end"],
                    Some(json!({"group": group, "at": at})),
                )
                .await?;
            show(out, &v, |v| {
                println!(
                    "ended {} membership(s) of {user} in group {group}",
                    v["ended"]
                )
            });
        }
        MembershipCommand::List { user } => {
            let v = api
                .call(Method::GET, &["users", &user, "memberships"], None)
                .await?;
            show(out, &v, |v| {
                table(
                    &["ID", "GROUP", "FROM", "UNTIL", "ACTIVE"],
                    items(v)
                        .iter()
                        .map(|m| {
                            vec![
                                text(m, "id"),
                                format!("{} {}", text(m, "group"), text(m, "group_name")),
                                text(m, "valid_from"),
                                m["valid_until"].as_str().unwrap_or("open-ended").into(),
                                if m["active"] == true { "yes" } else { "no" }.into(),
                            ]
                        })
                        .collect(),
                )
            });
        }
    }
    Ok(())
}
