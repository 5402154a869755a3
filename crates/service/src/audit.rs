//! The audit log: every change made through the admin API, the console or a server command,
//! with who made it and when. Entries are written after the change commits and before the
//! caller hears of it, so an acknowledged change always has its entry.

use depot_store::{AuditFilter, AuditRow, NewAuditEntry};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::input::{parse_date, rfc3339};
use crate::{Depot, Principal, ServiceResult};

/// Who is acting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    kind: &'static str,
    id: Option<i64>,
    name: String,
}

impl Actor {
    /// A caller of the admin API.
    pub fn token(principal: &Principal) -> Actor {
        Actor {
            kind: "token",
            id: Some(principal.token_id),
            name: principal.name.clone(),
        }
    }

    /// A signed-in console user.
    pub fn user(id: i64, email: &str) -> Actor {
        Actor {
            kind: "user",
            id: Some(id),
            name: email.to_string(),
        }
    }

    /// A command run on the server itself (`depot import`, `depot token create`, first start).
    pub fn system(what: &str) -> Actor {
        Actor {
            kind: "system",
            id: None,
            name: what.to_string(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Filters of the audit log, as the API's query string gives them.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// An action (`user.create`) or a family (`user.`).
    pub action: Option<String>,
    /// The token's name or the user's e-mail address.
    pub actor: Option<String>,
    pub subject: Option<String>,
    /// A date (`YYYY-MM-DD`, from midnight UTC) or an RFC 3339 time.
    pub from: Option<String>,
    pub until: Option<String>,
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AuditActor {
    pub kind: String,
    pub id: Option<i64>,
    pub name: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: AuditActor,
    pub action: String,
    pub subject: String,
    pub detail: Value,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    /// Pass as `before` for the next (older) page; `None` on the last page.
    pub next_before: Option<i64>,
}

fn entry(row: AuditRow) -> AuditEntry {
    AuditEntry {
        id: row.id,
        at: rfc3339(row.at),
        actor: AuditActor {
            kind: row.actor_kind,
            id: row.actor_id,
            name: row.actor_name,
        },
        action: row.action,
        subject: row.subject,
        detail: row
            .detail
            .and_then(|d| serde_json::from_str(&d).ok())
            .unwrap_or(Value::Null),
    }
}

impl Depot {
    /// Records a change that has been made (the use cases here do it themselves; this is for
    /// server commands that write through the store). `detail` must hold no secret.
    pub async fn audit(
        &self,
        actor: &Actor,
        action: &str,
        subject: &str,
        detail: Value,
    ) -> ServiceResult<()> {
        let detail = (!detail.is_null()).then(|| detail.to_string());
        self.store()
            .append_audit(&NewAuditEntry {
                actor_kind: actor.kind,
                actor_id: actor.id,
                actor_name: &actor.name,
                action,
                subject,
                detail: detail.as_deref(),
            })
            .await?;
        Ok(())
    }

    /// A page of the audit log, newest first.
    pub async fn audit_log(&self, q: AuditQuery) -> ServiceResult<AuditPage> {
        let filter = AuditFilter {
            action: q.action,
            actor_name: q.actor,
            subject: q.subject,
            from: q.from.as_deref().map(parse_date).transpose()?,
            until: q.until.as_deref().map(parse_date).transpose()?,
            before_id: q.before,
        };
        let limit = q.limit.unwrap_or(100).clamp(1, 1000);
        let rows = self.store().audit_log(&filter, limit).await?;
        let next_before = (rows.len() as i64 == limit)
            .then(|| rows.last().map(|r| r.id))
            .flatten();
        Ok(AuditPage {
            items: rows.into_iter().map(entry).collect(),
            next_before,
        })
    }
}
