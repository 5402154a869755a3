//! `/post/release/{keybymail,keybyauth,validate}/{package_group}`: the jBackend Release System API.
//!
//! Parameters come from the query string (the seed's examples), a form body or a JSON object;
//! the body wins over the query. Answers are `{"status":"ok",…}` or the `REL_…` failure body.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::HeaderMap;
use bytes::Bytes;
use depot_service::{Depot, IssuedKey};
use serde_json::{Value, json};

use crate::error::ReleaseError;
use crate::params::params;

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

/// Always `{"status":"ok"}` for a well-formed request: whether a mail goes out is decided later,
/// so the answer tells nothing about the address.
pub async fn key_by_mail(
    State(depot): State<Depot>,
    Path(group): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Result<Json<Value>, ReleaseError> {
    let p = params(&headers, query.as_deref(), &body)?;
    depot
        .key_by_mail(
            &group,
            p.get("email").map(String::as_str),
            &peer.ip().to_string(),
        )
        .await?;
    Ok(Json(json!({ "status": "ok" })))
}
