//! What the server records: downloads, and feed requests counted per extension, Joomla version
//! and day. Both are written in batches by a background writer, never on the request path.

use sqlx::{AssertSqlSafe, FromRow};

use crate::{Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct DownloadEvent {
    pub artifact_id: i64,
    pub at: i64,
    pub status: i64,
    pub bytes: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub user_id: Option<i64>,
    pub key_id: Option<i64>,
    pub error_code: Option<String>,
}

/// A stored download event.
#[derive(Clone, Debug, FromRow)]
pub struct DownloadEventRow {
    pub id: i64,
    #[sqlx(flatten)]
    pub event: DownloadEvent,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, FromRow)]
pub struct FeedCheck {
    pub extension_id: i64,
    pub joomla_version: String,
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub checks: i64,
}

/// Rows per multi-row INSERT: well under SQLite's limit of 32766 bound parameters.
const EVENTS_PER_STATEMENT: usize = 500;

impl Store {
    /// Writes a batch of download events in one transaction.
    pub async fn insert_download_events(&self, events: &[DownloadEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for chunk in events.chunks(EVENTS_PER_STATEMENT) {
            let mut sql = String::from(
                "INSERT INTO download_events (artifact_id, at, status, bytes, ip, user_agent, \
                 user_id, key_id, error_code) VALUES ",
            );
            for i in 0..chunk.len() {
                let b = i * 9;
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8,
                    b + 9
                ));
            }
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for e in chunk {
                q = q
                    .bind(e.artifact_id)
                    .bind(e.at)
                    .bind(e.status)
                    .bind(e.bytes)
                    .bind(&e.ip)
                    .bind(&e.user_agent)
                    .bind(e.user_id)
                    .bind(e.key_id)
                    .bind(&e.error_code);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Adds feed-request counts (upsert per extension, Joomla version and day).
    pub async fn add_feed_checks(&self, checks: &[FeedCheck]) -> Result<(), StoreError> {
        if checks.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for c in checks {
            sqlx::query(
                "INSERT INTO feed_checks (extension_id, joomla_version, day, checks) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (extension_id, joomla_version, day) \
                 DO UPDATE SET checks = feed_checks.checks + excluded.checks",
            )
            .bind(c.extension_id)
            .bind(&c.joomla_version)
            .bind(&c.day)
            .bind(c.checks)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The most recent download events, newest first.
    pub async fn recent_download_events(
        &self,
        limit: i64,
    ) -> Result<Vec<DownloadEventRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM download_events ORDER BY id DESC LIMIT $1")
                .bind(limit)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    pub async fn feed_checks_of(&self, extension_id: i64) -> Result<Vec<FeedCheck>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT * FROM feed_checks WHERE extension_id = $1 ORDER BY day, joomla_version",
        )
        .bind(extension_id)
        .fetch_all(&self.pool)
        .await?)
    }
}
