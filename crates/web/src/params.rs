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
