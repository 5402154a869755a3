//! What depot counts for Prometheus (`/metrics`; the web layer renders them and times requests).
//! Recording goes through the `metrics` facade, so a use case only names what happened; until
//! the server installs a recorder at start, a record is a load and a branch.
//!
//! Every name is defined here, with its labels, so that the set a dashboard relies on is in one
//! place (README, "Metrics").

use crate::Depot;

/// Feed lookups answered from memory (`result="hit"`) or from the database (`"miss"`).
pub const FEED_CACHE: &str = "depot_feed_cache_total";
/// Feeds rendered (a miss that found the extension).
pub const FEED_RENDERS: &str = "depot_feed_renders_total";
/// Whole downloads by `result`: `served` (by depot), `redirected` (to the storage), `refused`.
pub const DOWNLOADS: &str = "depot_downloads_total";
/// Package bytes depot sent, ranges included.
pub const DOWNLOAD_BYTES: &str = "depot_download_bytes_total";
/// Requests refused by a rate limit or a sign-in lockout, by the limit's `kind`.
pub const RATE_LIMITED: &str = "depot_rate_limited_total";
/// Mail not yet delivered or given up.
pub const MAIL_BACKLOG: &str = "depot_mail_outbox_pending";
/// Seconds since the oldest of those was queued (0 when there is none).
pub const MAIL_BACKLOG_AGE: &str = "depot_mail_outbox_oldest_age_seconds";
/// Webhook deliveries not yet done (waiting for a retry, or for an endpoint turned off).
pub const WEBHOOK_BACKLOG: &str = "depot_webhook_outbox_pending";
/// How long the oldest of them has waited, in seconds.
pub const WEBHOOK_BACKLOG_AGE: &str = "depot_webhook_outbox_oldest_age_seconds";
/// Database connections open, and of those idle, and the most the pool opens.
pub const POOL_OPEN: &str = "depot_db_pool_connections";
pub const POOL_IDLE: &str = "depot_db_pool_idle_connections";
pub const POOL_MAX: &str = "depot_db_pool_max_connections";
/// Seconds since the identity source (a Joomla site) was last read; absent without one.
pub const IDENTITY_AGE: &str = "depot_identity_sync_age_seconds";

/// A counter of fixed name and labels, registered once per process on first use: the hot paths
/// (every feed request, every download) then pay one atomic add, no registry lookup. First use
/// comes after the server installed its recorder (it does before serving).
macro_rules! counter_once {
    ($($key:tt)*) => {{
        static COUNTER: std::sync::OnceLock<metrics::Counter> = std::sync::OnceLock::new();
        COUNTER.get_or_init(|| metrics::counter!($($key)*))
    }};
}

pub(crate) fn feed_lookup(rendered: Option<bool>) {
    match rendered {
        None => counter_once!(FEED_CACHE, "result" => "hit").increment(1),
        Some(found) => {
            counter_once!(FEED_CACHE, "result" => "miss").increment(1);
            if found {
                counter_once!(FEED_RENDERS).increment(1);
            }
        }
    }
}

/// How a whole download ended, as `depot_downloads_total` labels it.
#[derive(Clone, Copy)]
pub(crate) enum DownloadResult {
    /// depot sent the bytes.
    Served,
    /// The storage sends them (a presigned redirect).
    Redirected,
    Refused,
}

pub(crate) fn download(result: DownloadResult) {
    match result {
        DownloadResult::Served => counter_once!(DOWNLOADS, "result" => "served").increment(1),
        DownloadResult::Redirected => {
            counter_once!(DOWNLOADS, "result" => "redirected").increment(1)
        }
        DownloadResult::Refused => counter_once!(DOWNLOADS, "result" => "refused").increment(1),
    }
}

pub(crate) fn download_bytes(bytes: u64) {
    counter_once!(DOWNLOAD_BYTES).increment(bytes);
}

/// `bucket` is `kind:who`; only the kind becomes a label (a bounded set, and no addresses).
pub(crate) fn rate_limited(bucket: &str) {
    let kind = bucket
        .split([':', '|'])
        .next()
        .unwrap_or("other")
        .to_string();
    metrics::counter!(RATE_LIMITED, "kind" => kind).increment(1);
}

impl Depot {
    /// Sets the gauges that are read rather than counted: the mail outbox, the connection
    /// pool, the identity source's age. Called by each scrape, so they are as fresh as it is.
    pub async fn record_gauges(&self) {
        let pool = self.store().pool_use();
        metrics::gauge!(POOL_OPEN).set(pool.open);
        metrics::gauge!(POOL_IDLE).set(pool.idle);
        metrics::gauge!(POOL_MAX).set(pool.max);
        match self.store().mail_backlog().await {
            Ok((pending, oldest)) => {
                let age = oldest.map_or(0, |at| (self.now_ms() - at).max(0) / 1000);
                metrics::gauge!(MAIL_BACKLOG).set(pending as f64);
                metrics::gauge!(MAIL_BACKLOG_AGE).set(age as f64);
            }
            // The scrape still answers; the database's trouble shows in `/readyz` and the log.
            Err(e) => tracing::warn!(error = %e, "metrics: the mail outbox could not be read"),
        }
        match self.store().webhook_backlog().await {
            Ok((pending, oldest)) => {
                let age = oldest.map_or(0, |at| (self.now_ms() - at).max(0) / 1000);
                metrics::gauge!(WEBHOOK_BACKLOG).set(pending as f64);
                metrics::gauge!(WEBHOOK_BACKLOG_AGE).set(age as f64);
            }
            Err(e) => tracing::warn!(error = %e, "metrics: the webhook outbox could not be read"),
        }
        if let Some(age) = self.identity_sync_age_secs() {
            metrics::gauge!(IDENTITY_AGE).set(age as f64);
        }
    }
}
