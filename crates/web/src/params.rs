//! Request parameters from the query string and a form or JSON body, as jBackend clients and
//! Joomla send them. Joomla sometimes joins its key with a literal `&amp;`, which arrives as a
//! parameter named `amp;dlid`: the `amp;` is dropped from every name.

use std::collections::HashMap;

use axum::http::{HeaderMap, header};
use depot_core::Refusal;
use serde_json::Value;

use crate::error::ReleaseError;

/// The token of an `Authorization: Bearer …` header (API tokens and download keys alike).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
}

/// The password of `Authorization: Basic` (the user name is not checked: the password alone is
/// the download key, whatever a client was told to put before it).
pub fn basic_password(headers: &HeaderMap) -> Option<String> {
    use base64::Engine as _;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (_, password) = decoded.split_once(':')?;
    Some(password.trim().to_string()).filter(|p| !p.is_empty() && p.len() <= MAX_FIELD)
}

/// Field values longer than this are refused outright (`REL_BRQ`).
const MAX_FIELD: usize = 1024;

pub fn params(
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<HashMap<String, String>, ReleaseError> {
    let malformed = || ReleaseError::new(Refusal::BadRequest);
    let mut out: HashMap<String, String> =
        form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.trim_start_matches("amp;").to_string(), v.into_owned()))
            .collect();
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if is_json && !body.is_empty() {
        let Value::Object(map) = serde_json::from_slice::<Value>(body).map_err(|_| malformed())?
        else {
            return Err(malformed());
        };
        for (k, v) in map {
            match v {
                Value::String(s) => out.insert(k, s),
                _ => return Err(malformed()),
            };
        }
    } else {
        out.extend(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.trim_start_matches("amp;").to_string(), v.into_owned())),
        );
    }
    if out.values().any(|v| v.len() > MAX_FIELD) {
        return Err(malformed());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn basic_auth_gives_its_password() {
        // "key:DL-secret" and "anyone:DL-secret"
        assert_eq!(
            basic_password(&with("Basic a2V5OkRMLXNlY3JldA==")).as_deref(),
            Some("DL-secret")
        );
        assert_eq!(
            basic_password(&with("basic YW55b25lOkRMLXNlY3JldA==")).as_deref(),
            Some("DL-secret")
        );
        for bad in [
            "Bearer a2V5OkRMLXNlY3JldA==",
            "Basic !!!",
            "Basic a2V5",
            "Basic a2V5Og==",
        ] {
            assert_eq!(basic_password(&with(bad)), None, "{bad}");
        }
        assert_eq!(basic_password(&HeaderMap::new()), None);
    }
}
