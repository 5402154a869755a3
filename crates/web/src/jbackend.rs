//! `/post/release/{keybyauth,validate}/{package_group}`: the jBackend Release System API.
//!
//! Parameters come from the query string (the seed's examples), a form body or a JSON object;
//! the body wins over the query. Answers are `{"status":"ok",…}` or the `REL_…` failure body.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, header};
use bytes::Bytes;
use depot_service::{Depot, IssuedKey, ServiceError};
use serde_json::{Value, json};

use crate::error::ReleaseError;

/// Field values longer than this are refused outright (`REL_BRQ`).
const MAX_FIELD: usize = 1024;

fn params(
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<HashMap<String, String>, ReleaseError> {
    let malformed = || {
        ReleaseError::from(ServiceError::Denied {
            code: "REL_BRQ",
            description: "Malformed request".into(),
        })
    };
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
        out.extend(form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())));
    }
    if out.values().any(|v| v.len() > MAX_FIELD) {
        return Err(malformed());
    }
    Ok(out)
}

pub async fn key_by_auth(
    State(depot): State<Depot>,
    Path(group): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Result<Json<IssuedKey>, ReleaseError> {
    let p = params(&headers, query.as_deref(), &body)?;
    let username = p.get("username").or_else(|| p.get("email"));
    let issued = depot
        .key_by_auth(
            &group,
            username.map(String::as_str),
            p.get("password").map(String::as_str),
            &peer.ip().to_string(),
        )
        .await?;
    Ok(Json(issued))
}

pub async fn validate(
    State(depot): State<Depot>,
    Path(group): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Json<Value>, ReleaseError> {
    let mut p = params(&headers, query.as_deref(), &body)?;
    depot
        .validate_key(&group, p.remove("email"), p.remove("key"))
        .await?;
    Ok(Json(json!({ "status": "ok" })))
}
