//! `/composer/packages.json` and `/composer/p2/{vendor}/{package}.json`: a Composer repository
//! (Composer 2). A customer sends a download key as the password of HTTP basic auth (the user
//! name is not checked; `key` is the documented one); the dists are the packages' download
//! URLs, which take the same credentials.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use depot_core::Refusal;
use depot_service::{Credentials, Depot, ServiceError};

use crate::downloads::header_key;
use crate::error::ReleaseError;
use crate::feeds::{Audience, respond_as};

/// What `WWW-Authenticate` asks for when a key is refused.
const CHALLENGE: &str = "Basic realm=\"depot Composer repository\", charset=\"UTF-8\"";

/// The repository's root: which packages the caller may install, and where their metadata is.
#[utoipa::path(
    get,
    path = "/composer/packages.json",
    tag = "composer",
    summary = "The Composer repository's root",
    description = "Composer 2's `packages.json`: `metadata-url` and `available-packages`. \
                   Without credentials it lists the free packages; with a download key as the \
                   password of HTTP basic auth (user name `key`), also the paid packages the \
                   key's owner may install.",
    responses(
        (status = 200, description = "The root", content_type = "application/json", body = String,
         headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the client's copy"),
        (status = 401, description = "The key is not valid"),
    )
)]
pub async fn root(State(depot): State<Depot>, headers: HeaderMap) -> Response {
    let credentials = credentials(&headers);
    let audience = audience(&credentials);
    match depot.composer_root(&credentials).await {
        Ok(doc) => respond_as(&doc, &headers, audience),
        Err(e) => refused(e),
    }
}

/// A package's versions, as the caller may see them.
#[utoipa::path(
    get,
    path = "/composer/p2/{vendor}/{file}",
    tag = "composer",
    summary = "A Composer package's metadata",
    description = "Composer 2's `metadata-url` document of `vendor/package`: every version the \
                   caller may install, with what the package's own `composer.json` says \
                   (`require`, `autoload`, …), `dist` (`url`, `shasum`) and `time`. A paid \
                   package is unknown (404) to a caller who may install none of its versions.",
    params(
        ("vendor" = String, Path, description = "The vendor part of the package name"),
        ("file" = String, Path, description = "`{package}.json`"),
    ),
    responses(
        (status = 200, description = "The metadata", content_type = "application/json", body = String,
         headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the client's copy"),
        (status = 401, description = "The key is not valid"),
        (status = 404, description = "No such package, or none of it for this caller"),
    )
)]
pub async fn package(
    State(depot): State<Depot>,
    Path((vendor, file)): Path<(String, String)>,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    // `{package}~dev.json` holds branches; depot publishes tagged versions only.
    let Some(package) = file.strip_suffix(".json").filter(|p| !p.ends_with("~dev")) else {
        return not_found();
    };
    let credentials = credentials(&headers);
    // A staged rollout: the key when there is one, else the client's address, decides.
    let site = match &credentials {
        Credentials::DownloadKey(key) => key.clone(),
        _ => peer.ip().to_string(),
    };
    match depot
        .composer_package(&format!("{vendor}/{package}"), &credentials, &site)
        .await
    {
        Ok(Some(answer)) => respond_as(
            &answer.document,
            &headers,
            Audience::answered(answer.per_client),
        ),
        Ok(None) => not_found(),
        Err(e) => refused(e),
    }
}

fn credentials(headers: &HeaderMap) -> Credentials {
    header_key(headers).unwrap_or(Credentials::None)
}

fn audience(credentials: &Credentials) -> Audience {
    match credentials {
        Credentials::None => Audience::Everyone,
        _ => Audience::OneCustomer,
    }
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "unknown package\n",
    )
        .into_response()
}

/// A refusal as Composer understands it: a key that is not valid is `401` with a challenge, so
/// that Composer says the credentials are wrong.
fn refused(e: ServiceError) -> Response {
    let invalid_key = matches!(
        &e,
        ServiceError::Denied {
            refusal: Refusal::InvalidKey,
            ..
        } | ServiceError::Invalid {
            code: "bad_credentials",
            ..
        }
    );
    let mut response = ReleaseError::from(e).into_response();
    if invalid_key {
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(CHALLENGE),
        );
    }
    response
}
