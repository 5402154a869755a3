//! Release versions as the Joomla updater sees them.
//!
//! Joomla compares versions with PHP's `version_compare`, so depot orders releases with a faithful
//! port of it ([`php_version_compare`]) rather than with semver: a feed that sorts differently from
//! the client would advertise one release and install another. [`Version::parse`] refuses the forms
//! that silently break the updater (`v1.2.0` sorts below `1.0.0`, `1.2.0+b5` below `1.2.0`).

use std::cmp::Ordering;
use std::fmt::{self, Write as _};
use std::str::FromStr;

/// Joomla's `#__updates.version` is a varchar(32).
pub const MAX_VERSION_LEN: usize = 32;

/// Release stability, in the order Joomla ranks its `<tag>` values (`dev`=0 … `stable`=4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stability {
    Dev,
    Alpha,
    Beta,
    Rc,
    Stable,
}

impl Stability {
    pub const ALL: [Stability; 5] = [
        Stability::Dev,
        Stability::Alpha,
        Stability::Beta,
        Stability::Rc,
        Stability::Stable,
    ];

    /// The exact `<tag>` value Joomla expects (lower case, no whitespace).
    pub fn as_str(self) -> &'static str {
        match self {
            Stability::Dev => "dev",
            Stability::Alpha => "alpha",
            Stability::Beta => "beta",
            Stability::Rc => "rc",
            Stability::Stable => "stable",
        }
    }
}

impl fmt::Display for Stability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Stability {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stability::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| VersionError::UnknownStability(s.to_string()))
    }
}

/// How a stored stability is read back (the store's rows hold the text).
impl TryFrom<String> for Stability {
    type Error = VersionError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VersionError {
    #[error("version is empty")]
    Empty,
    #[error("version {0:?} starts with 'v': Joomla would sort it below 1.0.0; drop the prefix")]
    VPrefix(String),
    #[error("version {0:?} has a '+build' suffix: Joomla would sort it below the plain version")]
    BuildMetadata(String),
    #[error("version {0:?} is longer than {MAX_VERSION_LEN} characters (Joomla's limit)")]
    TooLong(String),
    #[error(
        "version {0:?} is not of the form N.N[.N[.N]][-dev|alpha|beta|rc[N]] (for example 1.3.0 or 1.3.0-beta2)"
    )]
    Malformed(String),
    #[error("unknown stability {0:?}: use dev, alpha, beta, rc or stable")]
    UnknownStability(String),
}

/// A validated release version. Equality is textual; ordering is PHP's `version_compare`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Version(String);

impl Version {
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(VersionError::Empty);
        }
        if s.len() > MAX_VERSION_LEN {
            return Err(VersionError::TooLong(s.to_string()));
        }
        if s.starts_with(['v', 'V']) {
            return Err(VersionError::VPrefix(s.to_string()));
        }
        if s.contains('+') {
            return Err(VersionError::BuildMetadata(s.to_string()));
        }
        let (numbers, suffix) = match s.split_once('-') {
            Some((n, sfx)) => (n, Some(sfx)),
            None => (s, None),
        };
        let parts: Vec<&str> = numbers.split('.').collect();
        let numeric_ok = (2..=4).contains(&parts.len())
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit()));
        if !numeric_ok {
            return Err(VersionError::Malformed(s.to_string()));
        }
        if let Some(sfx) = suffix
            && suffix_stability(sfx).is_none()
        {
            return Err(VersionError::Malformed(s.to_string()));
        }
        Ok(Version(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The stability the version string itself declares: `1.3.0-beta2` is beta, `1.3.0` stable.
    pub fn implied_stability(&self) -> Stability {
        self.0
            .split_once('-')
            .and_then(|(_, sfx)| suffix_stability(sfx))
            .unwrap_or(Stability::Stable)
    }

    /// Whether the version string carries its own stability suffix.
    pub fn has_stability_suffix(&self) -> bool {
        self.0.contains('-')
    }

    /// A key whose byte order is this version's `version_compare` order, so that a database
    /// can sort releases the way Joomla does. Versions `version_compare` calls equal
    /// (`1.0-rc1`, `1.0-RC1`) get equal keys.
    ///
    /// Only digits, at fixed widths, so every collation sorts it alike: per part of the
    /// canonical form, two digits for its kind (a word by its special-form rank, the end, a
    /// number) and nine for a number's value; an end mark after the last part, zeros after.
    /// The end ranks where `version_compare` puts it: above every word (`1.0 > 1.0-rc1`),
    /// below every number (`1.0 < 1.0.1`).
    pub fn sort_key(&self) -> String {
        const WIDTH: usize = 11;
        let canonical = canonicalize(&self.0);
        let mut key = String::with_capacity(SORT_KEY_PARTS * WIDTH);
        for part in canonical.split('.').take(SORT_KEY_PARTS - 1) {
            if is_numeric_part(part) {
                let _ = write!(
                    key,
                    "{SORT_NUMBER:02}{:09}",
                    numeric_value(part).min(999_999_999)
                );
            } else {
                let rank = special_form_order(part) - special_form_order("dev") + SORT_DEV;
                let _ = write!(key, "{rank:02}000000000");
            }
        }
        let _ = write!(key, "{SORT_END:02}");
        while key.len() < SORT_KEY_PARTS * WIDTH {
            key.push('0');
        }
        key
    }
}

/// Parts a sort key has room for: four numbers, a word, its number, and the end mark.
const SORT_KEY_PARTS: usize = 7;
/// Kinds of a sort key's parts: words from 1 (an unknown word, rank -6) to 10 (`rc`), then
/// the end (`#`, rank 4), then numbers.
const SORT_DEV: i32 = 7;
const SORT_END: i32 = SORT_DEV + 4;
const SORT_NUMBER: i32 = SORT_END + 1;

/// `dev`, `alpha2`, `beta.1`, `rc3`, `RC1` → its stability; anything else is not allowed.
fn suffix_stability(sfx: &str) -> Option<Stability> {
    let lower = sfx.to_ascii_lowercase();
    let word_end = lower
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(lower.len());
    let (word, rest) = lower.split_at(word_end);
    let rest = rest.strip_prefix('.').unwrap_or(rest);
    if rest.len() > 6 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match word {
        "dev" => Some(Stability::Dev),
        "alpha" => Some(Stability::Alpha),
        "beta" => Some(Stability::Beta),
        "rc" => Some(Stability::Rc),
        _ => None,
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        php_version_compare(&self.0, &other.0).then_with(|| self.0.cmp(&other.0))
    }
}

/// A port of PHP's `version_compare()` (ext/standard/versioning.c), which Joomla uses to pick the
/// best `<update>` and to decide whether it is newer than what a site has installed.
pub fn php_version_compare(a: &str, b: &str) -> Ordering {
    let ca = canonicalize(a);
    let cb = canonicalize(b);
    compare_canonical(&ca, &cb)
}

fn canonicalize(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = String::with_capacity(v.len() * 2);
    let Some(&first) = bytes.first() else {
        return out;
    };
    out.push(first as char);
    let is_digit = |c: u8| c.is_ascii_digit();
    let is_non_digit = |c: u8| !c.is_ascii_digit() && c != b'.';
    let mut last = first;
    for &c in &bytes[1..] {
        let prev_is_dot = out.ends_with('.');
        if matches!(c, b'-' | b'_' | b'+') {
            if !prev_is_dot {
                out.push('.');
            }
        } else if (is_non_digit(last) && is_digit(c)) || (is_digit(last) && is_non_digit(c)) {
            if !prev_is_dot {
                out.push('.');
            }
            out.push(c as char);
        } else if !c.is_ascii_alphanumeric() {
            if !prev_is_dot {
                out.push('.');
            }
        } else {
            out.push(c as char);
        }
        last = c;
    }
    out
}

fn special_form_order(part: &str) -> i32 {
    const FORMS: [(&str, i32); 10] = [
        ("dev", 0),
        ("alpha", 1),
        ("a", 1),
        ("beta", 2),
        ("b", 2),
        ("RC", 3),
        ("rc", 3),
        ("#", 4),
        ("pl", 5),
        ("p", 5),
    ];
    FORMS
        .iter()
        .find(|(name, _)| part.starts_with(name))
        .map(|(_, order)| *order)
        .unwrap_or(-6)
}

fn compare_special(a: &str, b: &str) -> Ordering {
    special_form_order(a).cmp(&special_form_order(b))
}

fn is_numeric_part(p: &str) -> bool {
    p.as_bytes().first().is_some_and(|b| b.is_ascii_digit())
}

fn numeric_value(p: &str) -> i64 {
    let digits: String = p.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().unwrap_or(i64::MAX)
}

fn compare_canonical(a: &str, b: &str) -> Ordering {
    let mut pa = a.split('.');
    let mut pb = b.split('.');
    loop {
        match (pa.next(), pb.next()) {
            (Some(x), Some(y)) => {
                let ord = match (is_numeric_part(x), is_numeric_part(y)) {
                    (true, true) => numeric_value(x).cmp(&numeric_value(y)),
                    (false, false) => compare_special(x, y),
                    (true, false) => compare_special("#N#", y),
                    (false, true) => compare_special(x, "#N#"),
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            (Some(x), None) => {
                return if is_numeric_part(x) {
                    Ordering::Greater
                } else {
                    let rest: Vec<&str> = std::iter::once(x).chain(pa).collect();
                    compare_canonical(&rest.join("."), "#N#")
                };
            }
            (None, Some(y)) => {
                return if is_numeric_part(y) {
                    Ordering::Less
                } else {
                    let rest: Vec<&str> = std::iter::once(y).chain(pb).collect();
                    compare_canonical("#N#", &rest.join("."))
                };
            }
            (None, None) => return Ordering::Equal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn php_version_compare_matches_php() {
        // Expected values checked against PHP 8's version_compare().
        let cases = [
            ("1.0.0", "1.0.0", Equal),
            ("1.2", "1.2.0", Less),
            ("1.10.0", "1.9.0", Greater),
            ("1.3.0-beta2", "1.3.0", Less),
            ("1.3.0-beta2", "1.3.0-beta10", Less),
            ("1.3.0-rc1", "1.3.0-beta9", Greater),
            ("1.3.0-alpha", "1.3.0-beta", Less),
            ("1.3.0-dev", "1.3.0-alpha", Less),
            ("1.3.0-RC1", "1.3.0-rc1", Equal),
            ("v1.2.0", "1.0.0", Less),
            ("1.2.0+b5", "1.2.0", Less),
            ("1.2.0-pl1", "1.2.0", Greater),
            ("5.2.1", "5.2.1-dev", Greater),
            ("1.0", "1.0.0.0", Less),
        ];
        for (a, b, want) in cases {
            assert_eq!(php_version_compare(a, b), want, "{a} vs {b}");
            assert_eq!(php_version_compare(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn parse_refuses_forms_that_break_the_updater() {
        assert!(matches!(
            Version::parse("v1.2.0"),
            Err(VersionError::VPrefix(_))
        ));
        assert!(matches!(
            Version::parse("1.2.0+b5"),
            Err(VersionError::BuildMetadata(_))
        ));
        assert!(matches!(Version::parse(""), Err(VersionError::Empty)));
        for bad in [
            "1",
            "1..2",
            "1.2.x",
            "1.2.0-foo",
            "1.2.0 beta",
            "1.2.3.4.5",
            "1.2.0-beta-2",
        ] {
            assert!(Version::parse(bad).is_err(), "{bad} should be refused");
        }
        assert!(matches!(
            Version::parse(&"1.".repeat(20)),
            Err(VersionError::TooLong(_))
        ));
    }

    #[test]
    fn implied_stability_follows_the_suffix() {
        let cases = [
            ("1.3.0", Stability::Stable),
            ("1.3.0-beta2", Stability::Beta),
            ("1.3.0-rc1", Stability::Rc),
            ("1.3.0-RC1", Stability::Rc),
            ("2.0-alpha.3", Stability::Alpha),
            ("2.0.0-dev", Stability::Dev),
        ];
        for (v, st) in cases {
            assert_eq!(Version::parse(v).unwrap().implied_stability(), st, "{v}");
        }
    }

    #[test]
    fn ordering_is_joomlas() {
        let mut vs: Vec<Version> = ["1.10.0", "1.2.0", "1.3.0-beta1", "1.3.0", "1.2"]
            .iter()
            .map(|v| Version::parse(v).unwrap())
            .collect();
        vs.sort();
        let got: Vec<&str> = vs.iter().map(|v| v.as_str()).collect();
        assert_eq!(got, ["1.2", "1.2.0", "1.3.0-beta1", "1.3.0", "1.10.0"]);
    }

    #[test]
    fn display_is_the_text() {
        assert_eq!(
            Version::parse("1.2.0-rc1").unwrap().to_string(),
            "1.2.0-rc1"
        );
        for s in Stability::ALL {
            assert_eq!(s.to_string(), s.as_str());
        }
        assert_eq!(Stability::Beta.to_string(), "beta");
    }

    #[test]
    fn length_limit_is_inclusive() {
        let at_limit = format!("1.{}", "0".repeat(MAX_VERSION_LEN - 2));
        assert_eq!(at_limit.len(), MAX_VERSION_LEN);
        // Too many digits in one part is its own refusal; spread them over four parts.
        let at_limit = format!("1.0.0-rc{}", "1".repeat(MAX_VERSION_LEN - 8));
        assert!(matches!(
            Version::parse(&at_limit),
            Err(VersionError::Malformed(_))
        ));
        let ok = "100000000.100000000.1000000-rc1";
        assert_eq!(ok.len(), MAX_VERSION_LEN - 1);
        assert!(Version::parse(ok).is_ok());
        let ok = "100000000.100000000.10000000-rc1";
        assert_eq!(ok.len(), MAX_VERSION_LEN);
        assert!(Version::parse(ok).is_ok());
        let long = "100000000.100000000.100000000-rc1";
        assert!(matches!(
            Version::parse(long),
            Err(VersionError::TooLong(_))
        ));
    }

    #[test]
    fn stability_suffix_is_seen() {
        assert!(
            Version::parse("1.0.0-beta1")
                .unwrap()
                .has_stability_suffix()
        );
        assert!(!Version::parse("1.0.0").unwrap().has_stability_suffix());
    }

    #[test]
    fn a_suffix_number_has_at_most_six_digits() {
        assert!(Version::parse("1.0.0-beta123456").is_ok());
        assert!(Version::parse("1.0.0-beta.123456").is_ok());
        assert!(Version::parse("1.0.0-beta1234567").is_err());
    }

    #[test]
    fn dots_separate_numbers_in_comparisons() {
        assert_eq!(php_version_compare("1.0", "10"), Ordering::Less);
        assert_eq!(php_version_compare("2.0", "1.10"), Ordering::Greater);
        assert_eq!(php_version_compare("1..2", "1.2"), Ordering::Equal);
    }

    #[test]
    fn sort_keys_sort_like_version_compare() {
        let mut versions: Vec<Version> = [
            "1.0",
            "1.0.0",
            "1.0.1",
            "1.0.10",
            "1.0.9",
            "1.1",
            "2.0",
            "10.0",
            "1.0.0.1",
            "1.0.0-dev",
            "1.0.0-alpha",
            "1.0.0-alpha2",
            "1.0.0-alpha10",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta3",
            "1.0.0-rc1",
            "1.0.0-RC2",
            "1.0.0-Beta1",
            "1.0-rc1",
            "1.0.0.0",
            "1.0.0.0-rc1",
            "0.9",
            "999999999.999999999",
            "3.10.12",
            "3.9.99",
            "1.0.0-dev5",
            "1.0.0-DEV",
            "4.4.0-alpha.1",
            "4.4.0",
        ]
        .iter()
        .map(|v| Version::parse(v).unwrap())
        .collect();
        versions.sort();
        for pair in versions.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let expected = php_version_compare(a.as_str(), b.as_str());
            assert_eq!(a.sort_key().cmp(&b.sort_key()), expected, "{a} vs {b}");
        }
        for a in &versions {
            assert_eq!(a.sort_key().len(), 77, "{a}");
            for b in &versions {
                let expected = php_version_compare(a.as_str(), b.as_str());
                assert_eq!(a.sort_key().cmp(&b.sort_key()), expected, "{a} vs {b}");
            }
        }
    }
}
