//! `depot audit`: the audit log.

use clap::Args;
use reqwest::Method;

use super::output::{Output, items, show, table, text};
use crate::client::Api;

/// Filters of `depot audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// An action (`user.create`) or a family of them (`user.`).
    #[arg(long)]
    action: Option<String>,
    /// A token's name or a console user's address.
    #[arg(long)]
    actor: Option<String>,
    #[arg(long)]
    subject: Option<String>,
    /// YYYY-MM-DD or RFC 3339.
    #[arg(long)]
    from: Option<String>,
    #[arg(long)]
    until: Option<String>,
    #[arg(long, default_value_t = 50)]
    limit: i64,
}

pub async fn audit(api: &Api, out: &Output, args: AuditArgs) -> anyhow::Result<()> {
    let mut query = vec![("limit", args.limit.to_string())];
    for (name, value) in [
        ("action", args.action),
        ("actor", args.actor),
        ("subject", args.subject),
        ("from", args.from),
        ("until", args.until),
    ] {
        if let Some(v) = value {
            query.push((name, v));
        }
    }
    let v = api
        .call_with_query(Method::GET, &["audit-log"], &query, None)
        .await?;
    show(out, &v, |v| {
        table(
            &["WHEN", "WHO", "ACTION", "SUBJECT", "DETAIL"],
            items(v)
                .iter()
                .map(|e| {
                    vec![
                        text(e, "at"),
                        format!(
                            "{} {}",
                            text(&e["actor"], "kind"),
                            text(&e["actor"], "name")
                        ),
                        text(e, "action"),
                        text(e, "subject"),
                        if e["detail"].is_null() {
                            String::new()
                        } else {
                            e["detail"].to_string()
                        },
                    ]
                })
                .collect(),
        )
    });
    Ok(())
}
