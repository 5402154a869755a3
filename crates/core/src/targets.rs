//! The Joomla versions a release supports, and the `targetplatform` regexes that express them.
//!
//! Vendors write `4.4,5,6`: majors, or `major.minor` prefixes. The feed gets one `<update>` per
//! Joomla major, whose `version` attribute is a prefix regex that Joomla wraps in `/^…/` and matches
//! against `JVERSION` (e.g. `5.2.1`). The regex never contains `/` (the client's delimiter).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetsError {
    #[error("no Joomla version given")]
    Empty,
    #[error(
        "{0:?} is not a Joomla version prefix: use a major (5) or major.minor (4.4), from Joomla 3 on"
    )]
    Malformed(String),
}

/// What a release supports within one Joomla major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MajorSupport {
    /// Every minor of the major (`5`).
    All,
    /// Only these minors (`4.3,4.4`).
    Minors(BTreeSet<u32>),
}

/// A normalised set of Joomla targets, ordered by major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Targets(BTreeMap<u32, MajorSupport>);

impl Targets {
    pub fn majors(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.keys().copied()
    }

    pub fn supports_major(&self, major: u32) -> bool {
        self.0.contains_key(&major)
    }

    /// The `targetplatform version` regex for one major, or `None` if the major is not targeted.
    pub fn platform_regex(&self, major: u32) -> Option<String> {
        Some(match self.0.get(&major)? {
            MajorSupport::All => format!(r"{major}\.[0-9]+"),
            MajorSupport::Minors(minors) => {
                let alts: Vec<String> = minors.iter().map(u32::to_string).collect();
                if alts.len() == 1 {
                    format!(r"{major}\.{}\.[0-9]+", alts[0])
                } else {
                    format!(r"{major}\.({})\.[0-9]+", alts.join("|"))
                }
            }
        })
    }

    /// One regex covering every target: the collection feed's `targetplatformversion`.
    pub fn combined_regex(&self) -> String {
        let parts: Vec<String> = self
            .majors()
            .filter_map(|m| self.platform_regex(m))
            .collect();
        if parts.len() == 1 {
            parts[0].clone()
        } else {
            format!("({})", parts.join("|"))
        }
    }
}

impl FromStr for Targets {
    type Err = TargetsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut map: BTreeMap<u32, MajorSupport> = BTreeMap::new();
        for raw in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let item = raw.strip_suffix(".x").unwrap_or(raw);
            let bad = || TargetsError::Malformed(raw.to_string());
            let number = |p: &str| -> Result<u32, TargetsError> {
                if p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                p.parse().map_err(|_| bad())
            };
            let (major, minor) = match item.split_once('.') {
                Some((ma, mi)) => (number(ma)?, Some(number(mi)?)),
                None => (number(item)?, None),
            };
            if major < 3 {
                return Err(bad());
            }
            let entry = map
                .entry(major)
                .or_insert_with(|| MajorSupport::Minors(BTreeSet::new()));
            match (entry, minor) {
                (MajorSupport::All, _) => {}
                (e @ MajorSupport::Minors(_), None) => *e = MajorSupport::All,
                (MajorSupport::Minors(set), Some(mi)) => {
                    set.insert(mi);
                }
            }
        }
        if map.is_empty() {
            return Err(TargetsError::Empty);
        }
        Ok(Targets(map))
    }
}

impl fmt::Display for Targets {
    /// The canonical list form, e.g. `4.3,4.4,5,6`; parses back to the same value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut items = Vec::new();
        for (major, support) in &self.0 {
            match support {
                MajorSupport::All => items.push(major.to_string()),
                MajorSupport::Minors(minors) => {
                    items.extend(minors.iter().map(|mi| format!("{major}.{mi}")))
                }
            }
        }
        f.write_str(&items.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Targets {
        s.parse().unwrap()
    }

    #[test]
    fn majors_and_prefixes() {
        let targets = t("4.4, 5,6");
        assert_eq!(targets.majors().collect::<Vec<_>>(), [4, 5, 6]);
        assert_eq!(targets.platform_regex(4).unwrap(), r"4\.4\.[0-9]+");
        assert_eq!(targets.platform_regex(5).unwrap(), r"5\.[0-9]+");
        assert_eq!(targets.platform_regex(3), None);
        assert_eq!(targets.to_string(), "4.4,5,6");
        assert_eq!(t("4.3,4.4").platform_regex(4).unwrap(), r"4\.(3|4)\.[0-9]+");
        assert_eq!(t("5,5.1").to_string(), "5");
        assert_eq!(t("5.x").to_string(), "5");
        assert_eq!(t("5,6").combined_regex(), r"(5\.[0-9]+|6\.[0-9]+)");
    }

    #[test]
    fn regexes_never_contain_the_delimiter() {
        for s in ["3.10", "4.4,5,6", "3,4.0,4.1"] {
            let targets = t(s);
            for m in targets.majors() {
                assert!(!targets.platform_regex(m).unwrap().contains('/'));
            }
        }
    }

    #[test]
    fn malformed_lists_are_refused() {
        for bad in ["", ",", "five", "5.", "2", "5.1.2", "5/6", "100", "-5"] {
            assert!(bad.parse::<Targets>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn supports_exactly_the_listed_majors() {
        let t = t("4.4,5");
        assert!(t.supports_major(4));
        assert!(t.supports_major(5));
        assert!(!t.supports_major(3));
        assert!(!t.supports_major(6));
    }
}
