//! What the server records: downloads, and feed requests counted per extension, Joomla version
//! and day. Both are written in batches by a background writer, never on the request path.

use sqlx::{AssertSqlSafe, FromRow};

use crate::{Store, StoreError, batch};

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

/// A download event as the admin log shows it, with what it was a download of.
#[derive(Clone, Debug, FromRow)]
pub struct DownloadLogRow {
    pub id: i64,
    #[sqlx(flatten)]
    pub event: DownloadEvent,
    pub extension: String,
    pub version: String,
    pub package_id: String,
}

/// Which download events to list; every field narrows the list.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    pub extension_id: Option<i64>,
    /// With `extension_id`: one release.
    pub version: Option<String>,
    pub user_id: Option<i64>,
    pub key_id: Option<i64>,
    pub status: Option<i64>,
    /// `at >= from` (ms).
    pub from: Option<i64>,
    /// `at < until` (ms).
    pub until: Option<i64>,
    /// Keyset pagination: events older than this id.
    pub before_id: Option<i64>,
}

/// Feed requests per day and Joomla version, as the admin API lists them.
#[derive(Clone, Debug, FromRow)]
pub struct FeedCheckRow {
    pub extension: String,
    pub joomla_version: String,
    pub day: String,
    pub checks: i64,
}

impl Store {
    /// Writes a batch of download events in one transaction.
    pub async fn insert_download_events(&self, events: &[DownloadEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        static INSERT: batch::Insert = batch::Insert::new(
            "INSERT INTO download_events (artifact_id, at, status, bytes, ip, user_agent, \
             user_id, key_id, error_code) VALUES ",
            9,
            "",
        );
        for chunk in batch::chunks(events) {
            let mut q = sqlx::query(INSERT.sql(chunk.len()));
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
        Self::roll_up_downloads(&mut tx, events).await?;
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

    /// Download events matching `filter`, newest first, at most `limit`. Every filter has an
    /// index that keeps this a short index walk however long the log grows.
    pub async fn download_log(
        &self,
        filter: &EventFilter,
        limit: i64,
    ) -> Result<Vec<DownloadLogRow>, StoreError> {
        let mut conditions: Vec<String> = Vec::new();
        let mut ints: Vec<i64> = Vec::new();
        let mut push = |sql: &str, value: i64, ints: &mut Vec<i64>| {
            ints.push(value);
            conditions.push(sql.replace('?', &format!("${}", ints.len())));
        };
        if let Some(v) = filter.user_id {
            push("e.user_id = ?", v, &mut ints);
        }
        if let Some(v) = filter.key_id {
            push("e.key_id = ?", v, &mut ints);
        }
        if let Some(v) = filter.status {
            push("e.status = ?", v, &mut ints);
        }
        if let Some(v) = filter.from {
            push("e.at >= ?", v, &mut ints);
        }
        if let Some(v) = filter.until {
            push("e.at < ?", v, &mut ints);
        }
        if let Some(v) = filter.before_id {
            push("e.id < ?", v, &mut ints);
        }
        if let Some(v) = filter.extension_id {
            push("r.extension_id = ?", v, &mut ints);
        }
        let version_param = filter.version.as_ref().map(|_| {
            conditions.push(format!("r.version = ${}", ints.len() + 1));
            ints.len() + 1
        });
        let limit_param = ints.len() + usize::from(version_param.is_some()) + 1;
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT e.*, x.name AS extension, r.version AS version, a.package_id AS package_id              FROM download_events e              JOIN artifacts a ON a.id = e.artifact_id              JOIN releases r ON r.id = a.release_id              JOIN extensions x ON x.id = r.extension_id              {where_clause} ORDER BY e.id DESC LIMIT ${limit_param}"
        );
        let mut q = sqlx::query_as(AssertSqlSafe(sql));
        for v in ints {
            q = q.bind(v);
        }
        if let Some(version) = &filter.version {
            q = q.bind(version.clone());
        }
        Ok(q.bind(limit).fetch_all(&self.pool).await?)
    }

    /// Feed requests per extension, day and Joomla version, in `[from_day, until_day]`
    /// (`YYYY-MM-DD`), optionally of one extension.
    pub async fn feed_check_counts(
        &self,
        extension_id: Option<i64>,
        from_day: &str,
        until_day: &str,
    ) -> Result<Vec<FeedCheckRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT x.name AS extension, c.joomla_version, c.day, c.checks FROM feed_checks c              JOIN extensions x ON x.id = c.extension_id              WHERE c.day >= $1 AND c.day <= $2 AND ($3 = 0 OR c.extension_id = $3)              ORDER BY c.day, x.name, c.joomla_version",
        )
        .bind(from_day)
        .bind(until_day)
        .bind(extension_id.unwrap_or(0))
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn feed_checks_of(&self, extension_id: i64) -> Result<Vec<FeedCheck>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT * FROM feed_checks WHERE extension_id = $1 ORDER BY day, joomla_version",
        )
        .bind(extension_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Who downloaded with a key since `since` (ms), from where: one row per (key, address),
    /// for paid downloads served in full. `key_id` is `None` for a jBackend key.
    pub async fn key_addresses(&self, since: i64) -> Result<Vec<KeyAddressRow>, StoreError> {
        Ok(sqlx::query_as::<_, KeyAddressRow>(
            "SELECT e.user_id, e.key_id, e.ip, COUNT(*) AS downloads, MAX(e.at) AS last_at \
             FROM download_events e \
             WHERE e.at >= $1 AND e.user_id IS NOT NULL AND e.ip IS NOT NULL AND e.status = 200 \
             GROUP BY e.user_id, e.key_id, e.ip",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?)
    }
}

/// Downloads with one key from one address (see `Store::key_addresses`).
#[derive(Clone, Debug, FromRow)]
pub struct KeyAddressRow {
    pub user_id: i64,
    pub key_id: Option<i64>,
    pub ip: String,
    pub downloads: i64,
    pub last_at: i64,
}
