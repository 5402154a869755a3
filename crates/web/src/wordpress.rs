//! `/wordpress/{slug}/info.json`: a WordPress plugin's or theme's update metadata, in
//! plugin-update-checker's format. A paid product's takes the customer's download key as `dlid`
//! (what the plugin adds to the query with `addQueryArgFilter`), or in `Authorization`; the
//! other parameters plugin-update-checker sends (`installed_version`, `php`, `locale`, …) are
//! ignored.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use depot_service::Depot;

use crate::downloads::metadata_key;
use crate::error::ReleaseError;
use crate::feeds::{Audience, respond_as};

/// The metadata plugin-update-checker reads.
#[utoipa::path(
    get,
    path = "/wordpress/{slug}/{file}",
    tag = "wordpress",
    summary = "A WordPress plugin's or theme's update metadata",
    description = "`info.json` in plugin-update-checker's format: for a plugin `name`, `slug`, \
                   `version`, `download_url`, `homepage`, `requires`, `tested`, `requires_php`, \
                   `author`, `last_updated`, `upgrade_notice` and `sections` (HTML from its \
                   `readme.txt`); for a theme `version`, `details_url` and `download_url`. A paid \
                   product answers a download key (`dlid`) that may have a version of it, with \
                   that key on `download_url`; otherwise it is unknown (404). `channel=beta` \
                   (or `rc`, `alpha`, `dev`) also offers pre-releases.",
    params(
        ("slug" = String, Path, description = "The plugin's or theme's slug"),
        ("file" = String, Path, description = "`info.json`"),
        ("dlid" = Option<String>, Query, description = "The customer's download key (paid products)"),
        ("channel" = Option<String>, Query, description = "`stable` (default), `rc`, `beta`, `alpha` or `dev`"),
    ),
    responses(
        (status = 200, description = "The metadata", content_type = "application/json", body = String,
         headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the client's copy"),
        (status = 400, description = "An unknown channel"),
        (status = 401, description = "The key is not valid"),
        (status = 404, description = "No such product, or no version of it for this caller", content_type = "text/plain", body = String),
    )
)]
pub async fn info(
    State(depot): State<Depot>,
    Path((slug, file)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<Response, ReleaseError> {
    if file != "info.json" {
        return Ok(not_found());
    }
    let channel = depot_service::parse_channel(query.get("channel").map(String::as_str))?;
    let credentials = metadata_key(&headers, &query);
    // A staged rollout: the key when there is one, else the site's address, decides.
    let site = peer.ip().to_string();
    match depot
        .wordpress_info(&slug, channel, &credentials, &site)
        .await?
    {
        Some(answer) => Ok(respond_as(
            &answer.document,
            &headers,
            Audience::answered(answer.per_client),
        )),
        None => Ok(not_found()),
    }
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "unknown plugin or theme\n",
    )
        .into_response()
}

/// A plugin's banner or icon, named by its SHA-256 (the URL `info.json` gives).
#[utoipa::path(
    get,
    path = "/wordpress/assets/{sha256}/{name}",
    tag = "wordpress",
    summary = "A WordPress plugin's banner or icon",
    description = "An image from the plugin zip's `.wordpress-org/` folder (`banner-772x250`, \
                   `banner-1544x500`, `icon-128x128`, `icon-256x256` as PNG or JPEG, `icon.svg`), \
                   as `info.json`'s `banners` and `icons` name it. Immutable: its URL is its hash.",
    params(
        ("sha256" = String, Path, description = "The image's SHA-256, hex"),
        ("name" = String, Path, description = "Its file name"),
    ),
    responses(
        (status = 200, description = "The image", content(("image/png"), ("image/jpeg"), ("image/svg+xml")),
         headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the client's copy"),
        (status = 404, description = "No published version has this image", content_type = "text/plain", body = String),
    )
)]
pub async fn asset(
    State(depot): State<Depot>,
    Path((sha256, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ReleaseError> {
    let well_formed = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
    let image = match well_formed {
        true => depot.wordpress_asset(&sha256.to_ascii_lowercase()).await?,
        false => None,
    };
    let Some(image) = image.filter(|_| !name.is_empty()) else {
        return Ok((
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "unknown image\n",
        )
            .into_response());
    };
    let etag = format!("\"{}\"", &sha256[..32]);
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, image.content_type.to_string()),
            (
                header::CACHE_CONTROL,
                "public, max-age=31536000, immutable".to_string(),
            ),
            (header::ETAG, etag),
            // An SVG opened directly runs no script of its own.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; sandbox".to_string(),
            ),
        ],
        image.bytes,
    )
        .into_response())
}
