//! What people type, checked and normalised once: names, labels and dates (RFC 3339 or YYYY-MM-DD).

use time::format_description::well_known::Rfc3339;

use crate::{ServiceError, ServiceResult};

pub(crate) const MAX_NAME: usize = 200;
pub(crate) const MAX_LABEL: usize = 100;
pub(crate) const DEFAULT_KEY_LABEL: &str = "default";

pub(crate) fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// A date from the API or CLI: RFC 3339 (`2026-01-31T12:00:00Z`) or a day (`2026-01-31`,
/// midnight UTC). Returns milliseconds since the epoch.
pub fn parse_date(s: &str) -> ServiceResult<i64> {
    let s = s.trim();
    let bad = || {
        ServiceError::invalid(
            "bad_date",
            format!("{s:?} is not a date: use YYYY-MM-DD or RFC 3339 (2026-01-31T12:00:00Z)"),
        )
    };
    let at = match time::OffsetDateTime::parse(s, &Rfc3339) {
        Ok(t) => t,
        Err(_) => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(s, &format)
                .map_err(|_| bad())?
                .midnight()
                .assume_utc()
        }
    };
    Ok((at.unix_timestamp_nanos() / 1_000_000) as i64)
}

pub(crate) fn clean_name(name: Option<&str>, what: &str) -> ServiceResult<Option<String>> {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    if let Some(n) = name
        && (n.chars().count() > MAX_NAME || n.chars().any(char::is_control))
    {
        return Err(ServiceError::invalid(
            "bad_name",
            format!("a {what} is at most {MAX_NAME} printable characters"),
        ));
    }
    Ok(name.map(String::from))
}

/// A key label as typed: `None` when blank.
pub(crate) fn clean_label(label: Option<&str>) -> ServiceResult<Option<String>> {
    match label.map(str::trim).filter(|l| !l.is_empty()) {
        Some(l) if l.chars().count() > MAX_LABEL || l.chars().any(char::is_control) => {
            Err(ServiceError::invalid(
                "bad_label",
                format!("a key label is at most {MAX_LABEL} printable characters"),
            ))
        }
        l => Ok(l.map(String::from)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-02").unwrap(), 86_400_000);
        assert_eq!(parse_date("1970-01-01T00:00:01Z").unwrap(), 1000);
        assert_eq!(parse_date(" 1970-01-01T01:00:00+01:00 ").unwrap(), 0);
        for bad in ["", "yesterday", "2026-13-01", "2026-02-30", "1/2/2026"] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
        assert_eq!(rfc3339(86_400_000), "1970-01-02T00:00:00Z");
    }

    /// Mutations of valid dates never panic: they parse or are refused.
    #[test]
    fn dates_fuzzed() {
        let seeds = [
            "2026-01-31",
            "2026-01-31T12:00:00Z",
            "2026-01-31T12:00:00.5+02:00",
        ];
        for i in 0..20_000 {
            let mut bytes = seeds[i % seeds.len()].as_bytes().to_vec();
            for _ in 0..(1 + rand::random::<u8>() % 4) {
                let at = rand::random::<u32>() as usize % (bytes.len() + 1);
                match rand::random::<u8>() % 3 {
                    0 if at < bytes.len() => bytes[at] = rand::random(),
                    1 => bytes.insert(at, rand::random()),
                    _ if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    _ => {}
                }
            }
            let _ = parse_date(&String::from_utf8_lossy(&bytes));
        }
    }
}
