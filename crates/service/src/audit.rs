//! The audit log: every change made through the admin API, the console or a server command,
//! with who made it and when. Entries are written after the change commits and before the
//! caller hears of it, so an acknowledged change always has its entry.

use depot_store::{AuditFilter, AuditRow, NewAuditEntry};
use serde_json::{Value, json};

use crate::input::{parse_date, rfc3339};
use crate::{Actor, Depot, ServiceResult};

pub use depot_api::{AuditActor, AuditEntry, AuditPage, AuditQuery};

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
        let text = (!detail.is_null()).then(|| detail.to_string());
        self.store()
            .append_audit(&NewAuditEntry {
                actor_kind: actor.kind(),
                actor_id: actor.id(),
                actor_name: actor.name(),
                action,
                subject,
                detail: text.as_deref(),
            })
            .await?;
        // A change that is an event goes to the webhooks from here, so that no door that
        // changes something can forget to tell them.
        if let Some(event) = depot_core::webhooks::event_for_audit(action) {
            let data = json!({
                "subject": subject,
                "actor": {"kind": actor.kind(), "name": actor.name()},
                "detail": detail,
            });
            self.emit_webhook(event, data).await?;
        }
        Ok(())
    }

    /// A page of the audit log, newest first.
    pub async fn audit_log(&self, actor: &Actor, q: AuditQuery) -> ServiceResult<AuditPage> {
        actor.require_admin()?;
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
