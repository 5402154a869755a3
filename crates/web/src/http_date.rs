//! HTTP dates (`Sun, 06 Nov 1994 08:49:37 GMT`) from and to depot's millisecond timestamps.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn format(ms: i64) -> String {
    let secs = u64::try_from(ms / 1000).unwrap_or_default();
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs))
}

/// Seconds since the epoch, if the header is a valid HTTP date.
pub fn parse_secs(value: &str) -> Option<i64> {
    let t: SystemTime = httpdate::parse_http_date(value.trim()).ok()?;
    Some(t.duration_since(UNIX_EPOCH).ok()?.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        let s = super::format(1_763_900_000_123);
        assert_eq!(super::parse_secs(&s), Some(1_763_900_000));
        assert_eq!(super::parse_secs("yesterday"), None);
    }
}
