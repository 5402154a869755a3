//! Reading fields out of a provider's JSON, which grows fields with every API version: only
//! what depot needs is read, by path, and anything missing is `None` rather than an error.

use serde_json::Value;

/// The value at a `/`-separated path (`data/object/id`).
pub(super) fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('/')
        .try_fold(v, |v, key| v.get(key))
        .filter(|v| !v.is_null())
}

pub(super) fn text(v: &Value, path: &str) -> Option<String> {
    at(v, path)?.as_str().map(str::to_string)
}

/// The first of several paths that holds a string (a field that moved between API versions).
pub(super) fn text_of(v: &Value, paths: &[&str]) -> Option<String> {
    paths.iter().find_map(|p| text(v, p))
}

pub(super) fn int(v: &Value, path: &str) -> Option<i64> {
    at(v, path)?.as_i64()
}

pub(super) fn boolean(v: &Value, path: &str) -> Option<bool> {
    at(v, path)?.as_bool()
}

/// The array at a path; empty when there is none.
pub(super) fn list<'a>(v: &'a Value, path: &str) -> &'a [Value] {
    at(v, path)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// An RFC 3339 time (Paddle's) in Unix milliseconds.
pub(super) fn rfc3339_ms(v: &Value, path: &str) -> Option<i64> {
    let text = at(v, path)?.as_str()?;
    let t =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    Some((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// Unix seconds (Stripe's) in milliseconds.
pub(super) fn secs_ms(v: &Value, path: &str) -> Option<i64> {
    int(v, path)?.checked_mul(1000)
}
