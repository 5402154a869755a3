//! `depot audit`: the audit log.

use clap::Args;
use depot_api::{AuditPage, AuditQuery};

use crate::client::Api;
use crate::output::{Output, show, table};

/// Filters of `depot audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// An action (`user.create`) or a family of them (`user.`).
    #[arg(long)]
    action: Option<String>,
    /// A token's name or a console user's address.
    #[arg(long)]
    actor: Option<String>,
    /// What was changed: a user's address, an extension, a group id, ….
    #[arg(long)]
    subject: Option<String>,
    /// YYYY-MM-DD or RFC 3339.
    #[arg(long)]
    from: Option<String>,
    /// YYYY-MM-DD or RFC 3339; entries before it.
    #[arg(long)]
    until: Option<String>,
    /// The most entries to show, newest first.
    #[arg(long, default_value_t = 50)]
    limit: i64,
}

pub async fn audit(api: &Api, out: &Output, args: AuditArgs) -> anyhow::Result<()> {
    let query = AuditQuery {
        action: args.action,
        actor: args.actor,
        subject: args.subject,
        from: args.from,
        until: args.until,
        before: None,
        limit: Some(args.limit),
    };
    let v: AuditPage = api.get_with(&["audit-log"], &query).await?;
    show(out, &v, |v| {
        table(
            &["WHEN", "WHO", "ACTION", "SUBJECT", "DETAIL"],
            v.items
                .iter()
                .map(|e| {
                    vec![
                        e.at.clone(),
                        format!("{} {}", e.actor.kind, e.actor.name),
                        e.action.clone(),
                        e.subject.clone(),
                        if e.detail.is_null() {
                            String::new()
                        } else {
                            e.detail.to_string()
                        },
                    ]
                })
                .collect(),
        )
    });
    Ok(())
}
