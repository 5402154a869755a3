//! `depot membership`: a user in a group, from and until a date.

use clap::Subcommand;
use depot_api::{EndMembership, Ended, Items, MembershipView, NewMembership};
use reqwest::Method;

use crate::client::Api;
use crate::output::{Output, or_dash, show, table};

#[derive(Debug, Subcommand)]
pub enum MembershipCommand {
    /// Add a membership (a subscription); dates are YYYY-MM-DD or RFC 3339.
    Add {
        /// The user's e-mail address (or id).
        #[arg(long)]
        user: String,
        /// The user group's id.
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
        /// The user's e-mail address (or id).
        #[arg(long)]
        user: String,
        /// The user group's id.
        #[arg(long)]
        group: i64,
        /// Default: now.
        #[arg(long)]
        at: Option<String>,
    },
    /// The user's memberships, ended ones included.
    List {
        /// The user's e-mail address (or id).
        #[arg(long)]
        user: String,
    },
}

fn until(m: &MembershipView) -> &str {
    m.valid_until.as_deref().unwrap_or("open-ended")
}

pub async fn membership(api: &Api, out: &Output, cmd: MembershipCommand) -> anyhow::Result<()> {
    match cmd {
        MembershipCommand::Add {
            user,
            group,
            from,
            until: to,
        } => {
            let body = NewMembership {
                group,
                from,
                until: to,
            };
            let m: MembershipView = api
                .send(Method::POST, &["users", &user, "memberships"], &body)
                .await?;
            show(out, &m, |m| {
                outln!(
                    "membership {} of {user} in group {}: from {} until {}",
                    m.id,
                    m.group,
                    m.valid_from,
                    until(m)
                )
            });
        }
        MembershipCommand::End { user, group, at } => {
            let v: Ended = api
                .send(
                    Method::POST,
                    &["users", &user, "memberships", "end"],
                    &EndMembership { group, at },
                )
                .await?;
            show(out, &v, |v| {
                outln!("ended {} membership(s) of {user} in group {group}", v.ended)
            });
        }
        MembershipCommand::List { user } => {
            let v: Items<MembershipView> = api.get(&["users", &user, "memberships"]).await?;
            show(out, &v, |v| {
                table(
                    &["ID", "GROUP", "FROM", "UNTIL", "ACTIVE"],
                    v.items
                        .iter()
                        .map(|m| {
                            vec![
                                m.id.to_string(),
                                format!("{} {}", m.group, or_dash(&m.group_name)),
                                m.valid_from.clone(),
                                until(m).into(),
                                if m.active { "yes" } else { "no" }.into(),
                            ]
                        })
                        .collect(),
                )
            });
        }
    }
    Ok(())
}
