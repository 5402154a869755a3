//! Daily rollups for the statistics (console, API, CSV): downloads per release, day and outcome
//! (`download_days`, kept up by the event writer in the same transaction as the events), and the
//! anonymised sites that checked a feed each day (`feed_sites`, for the active-sites estimate).
//! Reading a year of statistics reads rollup rows, never the raw event log.

use std::collections::HashMap;

use sqlx::FromRow;

use crate::events::DownloadEvent;
use crate::{Store, StoreError};

/// Days since the Unix epoch, UTC: the rollups' day.
pub const DAY_MS: i64 = 86_400_000;

/// One rollup row, with the extension's name.
#[derive(Clone, Debug, FromRow)]
pub struct DownloadDayRow {
    pub extension: String,
    pub version: String,
    pub day: i64,
    /// `served` (a whole download, by depot or a storage redirect) or the refusal's `REL_…` code.
    pub outcome: String,
    pub downloads: i64,
    pub bytes: i64,
}

/// The rollup key of an event: artifact, day, outcome.
type DayKey = (i64, i64, String);

impl Store {
    /// Adds a batch of events to the day rollups (called inside the events' transaction).
    pub(crate) async fn roll_up_downloads(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        events: &[DownloadEvent],
    ) -> Result<(), StoreError> {
        let mut days: HashMap<DayKey, (i64, i64)> = HashMap::new();
        for e in events {
            let outcome = e.error_code.clone().unwrap_or_else(|| "served".into());
            let entry = days
                .entry((e.artifact_id, e.at.div_euclid(DAY_MS), outcome))
                .or_default();
            entry.0 += 1;
            entry.1 += e.bytes;
        }
        for ((artifact_id, day, outcome), (downloads, bytes)) in days {
            sqlx::query(
                "INSERT INTO download_days (extension_id, version, day, outcome, downloads, bytes) \
                 SELECT r.extension_id, r.version, $2, $3, $4, $5 FROM artifacts a \
                 JOIN releases r ON r.id = a.release_id WHERE a.id = $1 \
                 ON CONFLICT (extension_id, version, day, outcome) DO UPDATE SET \
                 downloads = download_days.downloads + excluded.downloads, \
                 bytes = download_days.bytes + excluded.bytes",
            )
            .bind(artifact_id)
            .bind(day)
            .bind(outcome)
            .bind(downloads)
            .bind(bytes)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Records that anonymised sites checked extensions' feeds on days: `(extension, day, site)`.
    pub async fn add_feed_sites(&self, sites: &[(i64, i64, String)]) -> Result<(), StoreError> {
        if sites.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for (extension_id, day, site) in sites {
            sqlx::query(
                "INSERT INTO feed_sites (extension_id, day, site) VALUES ($1, $2, $3) \
                 ON CONFLICT (extension_id, day, site) DO NOTHING",
            )
            .bind(extension_id)
            .bind(day)
            .bind(site)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Forgets the sites of days before `day`: the estimate looks back 30 days at most.
    pub async fn prune_feed_sites(&self, before_day: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM feed_sites WHERE day < $1")
            .bind(before_day)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// Whole downloads served of one release, ever.
    pub async fn served_downloads(
        &self,
        extension_id: i64,
        version: &str,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(downloads), 0) AS BIGINT) FROM download_days \
             WHERE extension_id = $1 AND version = $2 AND outcome = 'served'",
        )
        .bind(extension_id)
        .bind(version)
        .fetch_one(&self.pool)
        .await?)
    }

    /// The download rollup from `from_day` on, of one extension or all.
    pub async fn download_days(
        &self,
        extension_id: Option<i64>,
        from_day: i64,
    ) -> Result<Vec<DownloadDayRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT x.name AS extension, d.version, d.day, d.outcome, d.downloads, d.bytes \
             FROM download_days d JOIN extensions x ON x.id = d.extension_id \
             WHERE d.day >= $1 AND ($2 = 0 OR d.extension_id = $2) ORDER BY d.day",
        )
        .bind(from_day)
        .bind(extension_id.unwrap_or(0))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Distinct sites that checked a feed (of one extension, or any) from `from_day` on.
    pub async fn active_sites(
        &self,
        extension_id: Option<i64>,
        from_day: i64,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(DISTINCT site) FROM feed_sites \
             WHERE day >= $1 AND ($2 = 0 OR extension_id = $2)",
        )
        .bind(from_day)
        .bind(extension_id.unwrap_or(0))
        .fetch_one(&self.pool)
        .await?)
    }
}
