//! The audit log: who changed what, and when. Rows are only ever added.

use sqlx::{AssertSqlSafe, FromRow};

use crate::{Store, StoreError};

#[derive(Clone, Debug, FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    /// `token`, `user` (a console session) or `system` (a command run on the server).
    pub actor_kind: String,
    /// The token's or user's id.
    pub actor_id: Option<i64>,
    /// The token's name or the user's e-mail address, as it was at the time.
    pub actor_name: String,
    /// `user.create`, `release.yank`, …
    pub action: String,
    /// What the action was on: `buyer@example.com`, `plg_system_hello 1.0.2`, …
    pub subject: String,
    /// A JSON object with the particulars (never a secret).
    pub detail: Option<String>,
}

#[derive(Clone, Debug)]
pub struct NewAuditEntry<'a> {
    pub actor_kind: &'a str,
    pub actor_id: Option<i64>,
    pub actor_name: &'a str,
    pub action: &'a str,
    pub subject: &'a str,
    pub detail: Option<&'a str>,
}

#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// An action (`user.create`) or a family of them (`user.`).
    pub action: Option<String>,
    pub actor_name: Option<String>,
    pub subject: Option<String>,
    /// `at >= from` (ms).
    pub from: Option<i64>,
    /// `at < until` (ms).
    pub until: Option<i64>,
    /// Keyset pagination: entries older than this id.
    pub before_id: Option<i64>,
}

enum Param {
    Int(i64),
    Text(String),
}

impl Store {
    pub async fn append_audit(&self, entry: &NewAuditEntry<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor_kind, actor_id, actor_name, action, subject, \
             detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(self.now_ms())
        .bind(entry.actor_kind)
        .bind(entry.actor_id)
        .bind(entry.actor_name)
        .bind(entry.action)
        .bind(entry.subject)
        .bind(entry.detail)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Newest first, at most `limit` entries.
    pub async fn audit_log(
        &self,
        filter: &AuditFilter,
        limit: i64,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let mut conditions = Vec::new();
        let mut params = Vec::new();
        let mut push = |sql: &str, p: Param| {
            params.push(p);
            conditions.push(sql.replace('?', &format!("${}", params.len())));
        };
        if let Some(a) = &filter.action {
            if a.ends_with('.') {
                // A family: the prefix, compared without LIKE so that `_` means itself.
                push(
                    &format!("substr(action, 1, {}) = ?", a.chars().count()),
                    Param::Text(a.clone()),
                );
            } else {
                push("action = ?", Param::Text(a.clone()));
            }
        }
        if let Some(v) = &filter.actor_name {
            push("actor_name = ?", Param::Text(v.clone()));
        }
        if let Some(v) = &filter.subject {
            push("subject = ?", Param::Text(v.clone()));
        }
        if let Some(v) = filter.from {
            push("at >= ?", Param::Int(v));
        }
        if let Some(v) = filter.until {
            push("at < ?", Param::Int(v));
        }
        if let Some(v) = filter.before_id {
            push("id < ?", Param::Int(v));
        }
        params.push(Param::Int(limit));
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT * FROM audit_log {where_clause} ORDER BY id DESC LIMIT ${}",
            params.len()
        );
        let mut q = sqlx::query_as(AssertSqlSafe(sql));
        for p in params {
            q = match p {
                Param::Int(v) => q.bind(v),
                Param::Text(v) => q.bind(v),
            };
        }
        Ok(q.fetch_all(&self.pool).await?)
    }
}
