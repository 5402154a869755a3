//! Staged rollouts: a release offered to a share of sites that grows on a schedule.
//!
//! A schedule is written `5,25@24h,100@48h`: 5 % of sites from the start, 25 % from 24 hours
//! after it, everyone from 48 hours. A site's cohort is a stable number 0–99 derived from what
//! identifies it to depot (for Joomla, which sends no site id, its address and the extension;
//! for the other clients their key or client id), so that a site that saw the release keeps
//! seeing it as the share grows, and a paused rollout keeps the share it had.

use std::fmt;
use std::str::FromStr;

/// Steps of `(hours after the start, percent of sites)`, in order; the last one is 100 %.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolloutSchedule(Vec<(u32, u8)>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "rollout {0:?}: write percent[@hours after the start] steps that grow to 100, e.g. 5,25@24h,100@48h"
)]
pub struct BadSchedule(pub String);

/// The longest schedule: a rollout is a matter of days, not months.
const MAX_HOURS: u32 = 24 * 90;
const MAX_STEPS: usize = 20;

impl FromStr for RolloutSchedule {
    type Err = BadSchedule;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadSchedule(s.to_string());
        let mut steps: Vec<(u32, u8)> = Vec::new();
        for (i, part) in s.split(',').map(str::trim).enumerate() {
            let (percent, hours) = match part.split_once('@') {
                Some((p, h)) => {
                    let h = h.trim().strip_suffix('h').unwrap_or(h.trim());
                    (p, h.parse::<u32>().map_err(|_| bad())?)
                }
                None if i == 0 => (part, 0),
                None => return Err(bad()),
            };
            let percent = percent
                .trim()
                .trim_end_matches('%')
                .parse::<u8>()
                .map_err(|_| bad())?;
            let grows = steps.last().is_none_or(|&(h, p)| hours > h && percent > p);
            if percent == 0 || percent > 100 || hours > MAX_HOURS || !grows {
                return Err(bad());
            }
            steps.push((hours, percent));
        }
        if steps.len() > MAX_STEPS || steps.last().is_none_or(|&(_, p)| p != 100) || steps[0].0 != 0
        {
            return Err(bad());
        }
        Ok(RolloutSchedule(steps))
    }
}

impl fmt::Display for RolloutSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (hours, percent)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match hours {
                0 => write!(f, "{percent}")?,
                h => write!(f, "{percent}@{h}h")?,
            }
        }
        Ok(())
    }
}

const HOUR_MS: i64 = 3_600_000;

impl RolloutSchedule {
    /// The share of sites (0–100) offered the release `elapsed_ms` after the rollout started.
    pub fn percent_at(&self, elapsed_ms: i64) -> u8 {
        self.0
            .iter()
            .take_while(|(hours, _)| i64::from(*hours) * HOUR_MS <= elapsed_ms)
            .last()
            .map_or(0, |&(_, percent)| percent)
    }

    /// The share now, for a rollout started at `started_at` and paused at `paused_at` (the
    /// share stays what it was then).
    pub fn percent_now(&self, started_at: i64, paused_at: Option<i64>, now: i64) -> u8 {
        let at = paused_at.map_or(now, |p| p.min(now));
        self.percent_at(at - started_at)
    }

    /// When the release reaches everyone (milliseconds after the start).
    pub fn full_after_ms(&self) -> i64 {
        self.0.last().map_or(0, |&(h, _)| i64::from(h) * HOUR_MS)
    }
}

/// A site's cohort, 0–99: the same for the same `site` and product, evenly spread over sites.
pub fn cohort(site: &str, product: &str) -> u8 {
    let mut h = blake3::Hasher::new();
    h.update(&(site.len() as u64).to_le_bytes());
    h.update(site.as_bytes());
    h.update(product.as_bytes());
    let bytes = h.finalize();
    let n = u64::from_le_bytes(bytes.as_bytes()[..8].try_into().unwrap_or_default());
    (n % 100) as u8
}

/// Whether a site in `cohort` is offered a release rolled out to `percent` % of sites.
pub fn offered(cohort: u8, percent: u8) -> bool {
    cohort < percent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules() {
        let s: RolloutSchedule = "5,25@24h,100@48h".parse().unwrap();
        assert_eq!(s.to_string(), "5,25@24h,100@48h");
        assert_eq!(s.percent_at(0), 5);
        assert_eq!(s.percent_at(24 * HOUR_MS - 1), 5);
        assert_eq!(s.percent_at(24 * HOUR_MS), 25);
        assert_eq!(s.percent_at(48 * HOUR_MS), 100);
        assert_eq!(s.percent_at(-1), 0);
        assert_eq!(s.full_after_ms(), 48 * HOUR_MS);
        // Paused after a day: 25 % for good.
        assert_eq!(s.percent_now(0, Some(30 * HOUR_MS), 100 * HOUR_MS), 25);
        assert_eq!(
            "10%, 100%@12"
                .parse::<RolloutSchedule>()
                .unwrap()
                .to_string(),
            "10,100@12h"
        );
        for bad in [
            "",
            "0",
            "5",
            "5,25",
            "5,25@24h",
            "25,5@24h,100@48h",
            "5,100@0h",
            "5,25@48h,100@24h",
            "101",
            "5@2h,100@3h",
            "x",
            "5,100@99999h",
        ] {
            assert!(bad.parse::<RolloutSchedule>().is_err(), "{bad}");
        }
        assert_eq!("100".parse::<RolloutSchedule>().unwrap().percent_at(0), 100);
    }

    #[test]
    fn cohorts_are_stable_and_even() {
        assert_eq!(cohort("192.0.2.1", "com_x"), cohort("192.0.2.1", "com_x"));
        let mut counts = [0u32; 10];
        for i in 0..10_000 {
            counts[cohort(&format!("10.0.{}.{}", i / 256, i % 256), "com_x") as usize / 10] += 1;
        }
        for c in counts {
            assert!((800..1200).contains(&c), "{counts:?}");
        }
        // Another product puts the same site elsewhere.
        let moved = (0..100)
            .filter(|i| cohort(&format!("10.1.0.{i}"), "a") != cohort(&format!("10.1.0.{i}"), "b"))
            .count();
        assert!(moved > 80, "{moved}");
        assert!(offered(4, 5) && !offered(5, 5));
    }
}
