//! What the console's first page shows: downloads per day and the Joomla versions of the sites
//! that check for updates, over the last days.

use std::collections::BTreeMap;

use crate::input::rfc3339;
use crate::{Depot, ServiceResult};

const DAY_MS: i64 = 86_400_000;

#[derive(Clone, Debug)]
pub struct Dashboard {
    /// One entry per day, oldest first, days without downloads included (`YYYY-MM-DD`, count).
    pub downloads_per_day: Vec<(String, i64)>,
    /// Feed requests per Joomla version over the period, most first.
    pub joomla_versions: Vec<(String, i64)>,
    pub extensions: usize,
    pub days: i64,
}

impl Depot {
    pub async fn dashboard(&self, days: i64) -> ServiceResult<Dashboard> {
        let days = days.clamp(1, 366);
        let today = self.now_ms() / DAY_MS;
        let first = today - days + 1;
        let counts: BTreeMap<i64, i64> = self
            .store()
            .downloads_per_day(first * DAY_MS)
            .await?
            .into_iter()
            .collect();
        let downloads_per_day = (first..=today)
            .map(|d| {
                let day = rfc3339(d * DAY_MS)
                    .get(..10)
                    .unwrap_or_default()
                    .to_string();
                (day, counts.get(&d).copied().unwrap_or(0))
            })
            .collect();
        let mut versions: BTreeMap<String, i64> = BTreeMap::new();
        let from = rfc3339(first * DAY_MS);
        for c in self.feed_check_counts(None, Some(&from), None).await? {
            *versions.entry(c.joomla_version).or_default() += c.checks;
        }
        let mut joomla_versions: Vec<(String, i64)> = versions.into_iter().collect();
        joomla_versions.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(Dashboard {
            downloads_per_day,
            joomla_versions,
            extensions: self.store().extensions().await?.len(),
            days,
        })
    }
}
