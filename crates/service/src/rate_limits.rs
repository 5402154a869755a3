//! Rate limits kept in the database, the one place every instance shares, so that a limit holds
//! however many instances run behind the load balancer.

use std::time::Duration;

use crate::{Depot, ServiceError, ServiceResult};

/// The longest window any limit uses; older windows are forgotten.
const LONGEST_WINDOW: Duration = Duration::from_secs(3600);

impl Depot {
    /// Counts a hit on `bucket` in the current fixed window of length `window`; refuses with
    /// `REL_RLM` (and the seconds until the window ends) once `limit` is passed.
    pub(crate) async fn rate_limit(
        &self,
        bucket: &str,
        limit: i64,
        window: Duration,
    ) -> ServiceResult<()> {
        debug_assert!(window <= LONGEST_WINDOW);
        let now = self.now_ms();
        let window = window.as_millis() as i64;
        let start = now - now % window;
        let hits = self.store().hit_rate_limit(bucket, start).await?;
        if hits == 1 {
            // The first hit of a window forgets windows that ended long ago (indexed, and
            // limited traffic is small), so the table holds at most the last hour.
            let _ = self
                .store()
                .prune_rate_limits(now - 2 * LONGEST_WINDOW.as_millis() as i64)
                .await;
        }
        if hits > limit {
            crate::metrics::rate_limited(bucket);
            let retry_after_secs = ((start + window - now) / 1000).max(1) as u64;
            return Err(ServiceError::RateLimited { retry_after_secs });
        }
        Ok(())
    }

    /// Failures counted in `bucket` in the current window (a lockout checks this first, so
    /// that only failures, not successes, count towards it).
    pub(crate) async fn failures(&self, bucket: &str, window: Duration) -> ServiceResult<i64> {
        Ok(self
            .store()
            .rate_limit_hits(bucket, window_start(self.now_ms(), window))
            .await?)
    }

    /// Counts one failure in `bucket`; returns the seconds until the window ends.
    pub(crate) async fn record_failure(
        &self,
        bucket: &str,
        window: Duration,
    ) -> ServiceResult<u64> {
        debug_assert!(window <= LONGEST_WINDOW);
        let start = window_start(self.now_ms(), window);
        self.store().hit_rate_limit(bucket, start).await?;
        let end = start + window.as_millis() as i64;
        Ok(((end - self.now_ms()) / 1000).max(1) as u64)
    }
}

fn window_start(now: i64, window: Duration) -> i64 {
    let window = window.as_millis() as i64;
    now - now % window
}
