//! What the admin reads back: the download log and feed-request counts.

use depot_store::{DownloadLogRow, EventFilter, FeedCheckRow};

use crate::input::{parse_date, rfc3339};
use crate::{Actor, Depot, ServiceError, ServiceResult};

pub use depot_api::{DownloadLogEntry, DownloadLogPage, DownloadLogQuery, FeedCheckCount};

fn entry(row: DownloadLogRow) -> DownloadLogEntry {
    let e = row.event;
    DownloadLogEntry {
        id: row.id,
        at: rfc3339(e.at),
        extension: row.extension,
        version: row.version,
        package_id: row.package_id,
        status: e.status,
        bytes: e.bytes,
        error_code: e.error_code,
        user_id: e.user_id,
        key_id: e.key_id,
        ip: e.ip,
        user_agent: e.user_agent,
    }
}

fn day_of(ms: i64) -> String {
    rfc3339(ms).get(..10).unwrap_or_default().to_string()
}

impl Depot {
    pub(crate) async fn extension_id(&self, name: &str) -> ServiceResult<i64> {
        Ok(self
            .store()
            .extension_by_name(name)
            .await?
            .ok_or(ServiceError::NotFound { what: "extension" })?
            .id)
    }

    /// A page of the download log, newest first.
    pub async fn download_log(
        &self,
        actor: &Actor,
        q: DownloadLogQuery,
    ) -> ServiceResult<DownloadLogPage> {
        actor.require_reader()?;
        if q.version.is_some() && q.extension.is_none() {
            return Err(ServiceError::invalid(
                "bad_filter",
                "a version filter needs an extension",
            ));
        }
        let extension_id = match &q.extension {
            Some(name) => Some(self.extension_id(name).await?),
            None => None,
        };
        let user_id = match &q.user {
            Some(u) => Some(self.find_user(u).await?.id),
            None => None,
        };
        let filter = EventFilter {
            extension_id,
            version: q.version,
            user_id,
            key_id: q.key,
            status: q.status,
            from: q.from.as_deref().map(parse_date).transpose()?,
            until: q.until.as_deref().map(parse_date).transpose()?,
            before_id: q.before,
        };
        let limit = q.limit.unwrap_or(100).clamp(1, 1000);
        let rows = self.store().download_log(&filter, limit).await?;
        let next_before = (rows.len() as i64 == limit)
            .then(|| rows.last().map(|r| r.id))
            .flatten();
        Ok(DownloadLogPage {
            items: rows.into_iter().map(entry).collect(),
            next_before,
        })
    }

    /// Feed requests per day and Joomla version between two dates (default: the last 30 days).
    pub async fn feed_check_counts(
        &self,
        extension: Option<&str>,
        from: Option<&str>,
        until: Option<&str>,
    ) -> ServiceResult<Vec<FeedCheckCount>> {
        let extension_id = match extension {
            Some(name) => Some(self.extension_id(name).await?),
            None => None,
        };
        let now = self.now_ms();
        let from = from
            .map(parse_date)
            .transpose()?
            .unwrap_or(now - 30 * 86_400_000);
        let until = until.map(parse_date).transpose()?.unwrap_or(now);
        let rows: Vec<FeedCheckRow> = self
            .store()
            .feed_check_counts(extension_id, &day_of(from), &day_of(until))
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| FeedCheckCount {
                extension: r.extension,
                joomla_version: r.joomla_version,
                day: r.day,
                checks: r.checks,
            })
            .collect())
    }
}
