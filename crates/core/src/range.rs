//! `Range` and `If-Range` for downloads, as RFC 9110 §14 says.

use std::ops::Range;

/// What to send for a request that may carry a `Range` header.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeDecision {
    /// `200` with the whole file (no range, or one the server may ignore: malformed, several
    /// ranges, or an `If-Range` that no longer matches).
    Full,
    /// `206` with these bytes.
    Partial(Range<u64>),
    /// `416`: syntactically fine but outside the file.
    Unsatisfiable,
}

/// Decides from the `Range` header value and the file size. A malformed value is ignored (the
/// whole file is sent), which RFC 9110 permits.
pub fn decide(range: Option<&str>, size: u64) -> RangeDecision {
    let Some(spec) = range.map(str::trim) else {
        return RangeDecision::Full;
    };
    let Some(set) = spec.strip_prefix("bytes=") else {
        return RangeDecision::Full;
    };
    if set.contains(',') {
        // Multiple ranges would need multipart/byteranges; serving the whole file is allowed.
        return RangeDecision::Full;
    }
    let Some((first, last)) = set.trim().split_once('-') else {
        return RangeDecision::Full;
    };
    let num = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (first.trim().is_empty(), num(first), num(last)) {
        // bytes=-N: the last N bytes.
        (true, _, Some(n)) => {
            if n == 0 || size == 0 {
                RangeDecision::Unsatisfiable
            } else {
                RangeDecision::Partial(size.saturating_sub(n)..size)
            }
        }
        // bytes=A- or bytes=A-B.
        (false, Some(a), end) if last.trim().is_empty() || end.is_some() => {
            if let Some(b) = end
                && b < a
            {
                return RangeDecision::Full;
            }
            if a >= size {
                return RangeDecision::Unsatisfiable;
            }
            let end = end.map_or(size, |b| b.saturating_add(1).min(size));
            RangeDecision::Partial(a..end)
        }
        _ => RangeDecision::Full,
    }
}

/// Whether a `Range` should be honoured given `If-Range` (RFC 9110 §13.1.5): only if the
/// validator still matches. An entity tag must match strongly; a date must equal
/// `Last-Modified` exactly.
pub fn if_range_allows(if_range: Option<&str>, etag: &str, last_modified: &str) -> bool {
    match if_range.map(str::trim) {
        None => true,
        Some(v) if v.starts_with("W/") => false,
        Some(v) if v.starts_with('"') => v == etag,
        Some(v) => v == last_modified,
    }
}

#[cfg(test)]
mod tests {
    use super::RangeDecision::*;
    use super::*;

    #[test]
    fn ranges() {
        let d = |r: &str| decide(Some(r), 1000);
        assert_eq!(decide(None, 1000), Full);
        assert_eq!(d("bytes=0-99"), Partial(0..100));
        assert_eq!(d("bytes=900-"), Partial(900..1000));
        assert_eq!(d("bytes=900-5000"), Partial(900..1000));
        assert_eq!(d("bytes=-100"), Partial(900..1000));
        assert_eq!(d("bytes=-5000"), Partial(0..1000));
        assert_eq!(d("bytes=1000-"), Unsatisfiable);
        assert_eq!(d("bytes=5000-6000"), Unsatisfiable);
        assert_eq!(d("bytes=-0"), Unsatisfiable);
        assert_eq!(decide(Some("bytes=0-"), 0), Unsatisfiable);
        // Malformed or multiple: ignored.
        for r in [
            "bytes=abc",
            "bytes=5-1",
            "items=0-1",
            "bytes=0-1,5-6",
            "bytes=-",
            "bytes=1-2-3",
            "bytes=+1-2",
        ] {
            assert_eq!(d(r), Full, "{r}");
        }
    }

    #[test]
    fn if_range() {
        let lm = "Sat, 01 Nov 2026 10:00:00 GMT";
        assert!(if_range_allows(None, "\"abc\"", lm));
        assert!(if_range_allows(Some("\"abc\""), "\"abc\"", lm));
        assert!(!if_range_allows(Some("\"abd\""), "\"abc\"", lm));
        assert!(!if_range_allows(Some("W/\"abc\""), "\"abc\"", lm));
        assert!(if_range_allows(Some(lm), "\"abc\"", lm));
        assert!(!if_range_allows(
            Some("Sun, 02 Nov 2026 10:00:00 GMT"),
            "\"abc\"",
            lm
        ));
    }
}
