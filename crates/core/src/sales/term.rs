//! How long a sale gives access: as long as a subscription is paid, or a fixed term.

use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;

/// A mapping's term: `subscription`, `lifetime`, `30d` (days) or `12m` (calendar months;
/// `1y` is `12m`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Term {
    /// As long as the subscription is paid: to the end of the latest paid period.
    Subscription,
    Lifetime,
    Days(u32),
    Months(u32),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "a term is `subscription`, `lifetime`, days (`30d`), months (`12m`) or years (`1y`), \
     not `{0}`"
)]
pub struct TermError(pub String);

/// More than a century is a typing error, not a term.
const MAX_DAYS: u32 = 36_600;
const MAX_MONTHS: u32 = 1_200;

impl FromStr for Term {
    type Err = TermError;

    fn from_str(s: &str) -> Result<Term, TermError> {
        let bad = || TermError(s.to_string());
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "subscription" => return Ok(Term::Subscription),
            "lifetime" => return Ok(Term::Lifetime),
            _ => {}
        }
        let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (n, unit) = t.split_at(split);
        let n: u32 = n.parse().map_err(|_| bad())?;
        let term = match unit.trim() {
            "d" | "day" | "days" => Term::Days(n),
            "m" | "month" | "months" => Term::Months(n),
            "y" | "year" | "years" => Term::Months(n.checked_mul(12).ok_or_else(bad)?),
            _ => return Err(bad()),
        };
        match term {
            Term::Days(d) if d == 0 || d > MAX_DAYS => Err(bad()),
            Term::Months(m) if m == 0 || m > MAX_MONTHS => Err(bad()),
            t => Ok(t),
        }
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Term::Subscription => f.write_str("subscription"),
            Term::Lifetime => f.write_str("lifetime"),
            Term::Days(n) => write!(f, "{n}d"),
            Term::Months(n) => write!(f, "{n}m"),
        }
    }
}

impl Term {
    /// When a fixed term that starts at `start` (Unix milliseconds) ends: `None` for a
    /// lifetime. Months are calendar months, the day clamped to the month's last (Jan 31 + 1
    /// month = Feb 28 or 29). A subscription's end comes from its periods, not from here:
    /// taken alone it ends where it starts.
    pub fn end_after(self, start: i64) -> Option<i64> {
        const DAY: i64 = 86_400_000;
        match self {
            Term::Lifetime => None,
            Term::Subscription => Some(start),
            Term::Days(n) => Some(start.saturating_add(i64::from(n) * DAY)),
            Term::Months(n) => Some(add_months(start, n)),
        }
    }
}

fn add_months(start_ms: i64, months: u32) -> i64 {
    let Ok(start) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(start_ms) * 1_000_000)
    else {
        return start_ms;
    };
    let total = start.year() * 12 + i32::from(u8::from(start.month())) - 1 + months as i32;
    let (year, month) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u8);
    let Ok(month) = time::Month::try_from(month) else {
        return start_ms;
    };
    let day = start.day().min(month.length(year));
    let Ok(date) = time::Date::from_calendar_date(year, month, day) else {
        return start_ms;
    };
    let end = start.replace_date(date);
    (end.unix_timestamp_nanos() / 1_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_read_and_print() {
        for (text, term) in [
            ("subscription", Term::Subscription),
            ("lifetime", Term::Lifetime),
            ("30d", Term::Days(30)),
            ("30 days", Term::Days(30)),
            ("12m", Term::Months(12)),
            ("1y", Term::Months(12)),
            ("2 Years", Term::Months(24)),
        ] {
            assert_eq!(text.parse::<Term>(), Ok(term), "{text}");
            assert_eq!(term.to_string().parse::<Term>(), Ok(term));
        }
        for bad in ["", "0d", "12", "d", "12w", "-1m", "99999999999d", "1000y"] {
            assert!(bad.parse::<Term>().is_err(), "{bad}");
        }
    }

    #[test]
    fn months_are_calendar_months() {
        let ms = |y, m, d| {
            let date =
                time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap();
            date.midnight().assume_utc().unix_timestamp() * 1000
        };
        assert_eq!(
            Term::Months(1).end_after(ms(2027, 1, 31)),
            Some(ms(2027, 2, 28))
        );
        assert_eq!(
            Term::Months(12).end_after(ms(2026, 12, 3)),
            Some(ms(2027, 12, 3))
        );
        assert_eq!(
            Term::Months(13).end_after(ms(2026, 12, 3)),
            Some(ms(2028, 1, 3))
        );
        assert_eq!(Term::Days(2).end_after(0), Some(2 * 86_400_000));
        assert_eq!(Term::Lifetime.end_after(0), None);
    }
}
