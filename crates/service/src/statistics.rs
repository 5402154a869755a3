//! The statistics a vendor reads (console, API, CSV): downloads per day and per release,
//! refusals by code, update checks per day and Joomla version, and an estimate of the sites in
//! use; of one extension or all, over the last days. Every number comes from a daily rollup
//! (`download_days`, `feed_checks`, `feed_sites`), so the cost follows the days asked for, not the
//! size of the event log.

use std::collections::BTreeMap;

use depot_api::{DayCount, NamedCount, ReleaseDownloads, Statistics};
use depot_store::DAY_MS;

use crate::input::rfc3339;
use crate::{Actor, Depot, ServiceResult};

/// `YYYY-MM-DD` of a day number.
fn day_label(day: i64) -> String {
    rfc3339(day * DAY_MS)
        .get(..10)
        .unwrap_or_default()
        .to_string()
}

/// Counts by name, most first (then by name).
fn ranked(counts: BTreeMap<String, i64>) -> Vec<NamedCount> {
    let mut ranked: Vec<NamedCount> = counts
        .into_iter()
        .map(|(name, count)| NamedCount { name, count })
        .collect();
    ranked.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    ranked
}

impl Depot {
    /// The statistics of `extension` (all when `None`) over the last `days` days (1–366).
    pub async fn statistics(
        &self,
        actor: &Actor,
        extension: Option<&str>,
        days: i64,
    ) -> ServiceResult<Statistics> {
        actor.require_reader()?;
        let extension_id = match extension {
            Some(name) => Some(self.extension_id(name).await?),
            None => None,
        };
        let days = days.clamp(1, 366);
        let today = self.now_ms().div_euclid(DAY_MS);
        let first = today - days + 1;

        let mut served: BTreeMap<i64, i64> = BTreeMap::new();
        let mut releases: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
        let mut refusals: BTreeMap<String, i64> = BTreeMap::new();
        for row in self.store().download_days(extension_id, first).await? {
            if row.outcome == "served" {
                *served.entry(row.day).or_default() += row.downloads;
                let r = releases.entry((row.extension, row.version)).or_default();
                r.0 += row.downloads;
                r.1 += row.bytes;
            } else {
                *refusals.entry(row.outcome).or_default() += row.downloads;
            }
        }
        let mut checks: BTreeMap<String, i64> = BTreeMap::new();
        let mut versions: BTreeMap<String, i64> = BTreeMap::new();
        for c in self
            .store()
            .feed_check_counts(extension_id, &day_label(first), &day_label(today))
            .await?
        {
            *checks.entry(c.day).or_default() += c.checks;
            *versions.entry(c.joomla_version).or_default() += c.checks;
        }
        let mut releases: Vec<ReleaseDownloads> = releases
            .into_iter()
            .map(
                |((extension, version), (downloads, bytes))| ReleaseDownloads {
                    extension,
                    version,
                    downloads,
                    bytes,
                },
            )
            .collect();
        releases.sort_by_key(|r| std::cmp::Reverse(r.downloads));
        Ok(Statistics {
            extension: extension.map(String::from),
            days,
            downloads_per_day: (first..=today)
                .map(|d| DayCount {
                    day: day_label(d),
                    count: served.get(&d).copied().unwrap_or(0),
                })
                .collect(),
            checks_per_day: (first..=today)
                .map(|d| {
                    let day = day_label(d);
                    let count = checks.get(&day).copied().unwrap_or(0);
                    DayCount { day, count }
                })
                .collect(),
            active_sites_7_days: self.store().active_sites(extension_id, today - 6).await?,
            active_sites_30_days: self.store().active_sites(extension_id, today - 29).await?,
            joomla_versions: ranked(versions),
            releases,
            refusals: ranked(refusals),
        })
    }
}
