//! Rate-limit counters per bucket and fixed window, shared by every instance.

use crate::{Store, StoreError};

impl Store {
    /// Counts one hit on `bucket` in the fixed window starting at `window_start` and returns the
    /// window's count. The database is the one place every instance shares, so the limit holds
    /// however many instances run.
    pub async fn hit_rate_limit(&self, bucket: &str, window_start: i64) -> Result<i64, StoreError> {
        let hits = sqlx::query_scalar(
            "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1) \
             ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limits.hits + 1 \
             RETURNING hits",
        )
        .bind(bucket)
        .bind(window_start)
        .fetch_one(&self.pool)
        .await?;
        Ok(hits)
    }

    /// The count of `bucket` in the window starting at `window_start`, without counting a hit.
    pub async fn rate_limit_hits(
        &self,
        bucket: &str,
        window_start: i64,
    ) -> Result<i64, StoreError> {
        let hits: Option<i64> = sqlx::query_scalar(
            "SELECT hits FROM rate_limits WHERE bucket = $1 AND window_start = $2",
        )
        .bind(bucket)
        .bind(window_start)
        .fetch_optional(&self.pool)
        .await?;
        Ok(hits.unwrap_or(0))
    }

    /// Forgets windows that ended before `before`.
    pub async fn prune_rate_limits(&self, before: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets every window of the buckets `bucket` and `{bucket}|…` (a lockout lifted).
    pub async fn clear_rate_limits(&self, bucket: &str) -> Result<(), StoreError> {
        // Buckets are compared whole or by their `bucket|` prefix, never with LIKE: a bucket
        // may hold `%` or `_` from an e-mail address.
        let prefix = format!("{bucket}|");
        sqlx::query(
            "DELETE FROM rate_limits WHERE bucket = $1 OR substr(bucket, 1, length($2)) = $2",
        )
        .bind(bucket)
        .bind(&prefix)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
