//! Akeeba Release System's public URLs, kept working after `depot import ars` and a DNS
//! switch, so that installed sites change nothing:
//!
//! - `index.php?option=com_ars&view=update&task=stream&format=xml&id=N` (also `stream_id=N`,
//!   the older `view=updates`): the feed of the extension stream N became;
//! - `index.php?option=com_ars&view=item&task=download&item_id=N` (also `id=N`, `view=Item`),
//!   with the site's `dlid`: the item's file, with the same checks as any paid download;
//! - a search-engine-friendly stream URL, which ends in the stream's alias and asks for XML
//!   (`/index.php/downloads/update/widgets.xml`, `…/update/widgets?format=xml`): its feed.

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use depot_core::ars::{ArsRequest, ars_request, sef_stream_alias};
use depot_service::{Depot, ars_item_package_id};

use crate::downloads::{Client, package_download};
use crate::error::ReleaseError;
use crate::feeds::{feed_credentials, feed_named};
use crate::openapi::DownloadRefusals;
use crate::sendfile::Files;

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "not found\n",
    )
        .into_response()
}

/// What no route matched: an ARS stream's search-engine-friendly URL, or `404`.
pub async fn sef_or_not_found(
    State(depot): State<Depot>,
    method: Method,
    headers: HeaderMap,
    uri: axum::http::Uri,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<Response, ReleaseError> {
    if matches!(method, Method::GET | Method::HEAD)
        && let Some(alias) = sef_stream_alias(uri.path(), uri.query())
        && let Some(extension) = depot.ars_stream_extension_by_alias(alias).await?
    {
        let credentials = feed_credentials(&headers, uri.query());
        return feed_named(
            &depot,
            &extension,
            &method,
            &headers,
            &credentials,
            Some(peer.ip()),
        )
        .await;
    }
    Ok(crate::not_found())
}

/// The query of ARS's legacy URLs, for the document.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct ArsQuery {
    /// `com_ars`.
    option: Option<String>,
    /// `update` (or `updates`) for a stream's feed, `item` for a download.
    view: Option<String>,
    /// `stream` or `download`.
    task: Option<String>,
    /// The stream's or the item's ARS id.
    id: Option<i64>,
    /// An item's ARS id (the newer form).
    item_id: Option<i64>,
    /// A stream's ARS id (the older form).
    stream_id: Option<i64>,
    /// `xml` for a feed.
    format: Option<String>,
    /// The customer's Download ID (ARS's own, imported) or depot key.
    dlid: Option<String>,
}

#[utoipa::path(
    get,
    path = "/index.php",
    tag = "feeds",
    summary = "Akeeba Release System's stream and item URLs",
    description = "After `depot import ars`: `option=com_ars&view=update&task=stream&\
                   format=xml&id=N` answers stream N's feed, `option=com_ars&view=item&\
                   task=download&item_id=N` item N's file, with the same checks as any download.",
    params(ArsQuery),
    responses(
        (status = 200, description = "The feed (XML) or the file (zip)",
         content((String = "application/xml"), ("application/zip"))),
        (status = 304, description = "Unchanged since the client's copy"),
        DownloadRefusals,
    )
)]
pub async fn legacy(
    State(depot): State<Depot>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    files: Option<Extension<Files>>,
) -> Result<Response, ReleaseError> {
    match query.as_deref().and_then(ars_request) {
        Some(ArsRequest::Stream(stream)) => match depot.ars_stream_extension(stream).await? {
            Some(extension) => {
                let credentials = feed_credentials(&headers, query.as_deref());
                feed_named(
                    &depot,
                    &extension,
                    &method,
                    &headers,
                    &credentials,
                    Some(peer.ip()),
                )
                .await
            }
            None => Ok(not_found()),
        },
        Some(ArsRequest::Item(item)) => {
            let package = ars_item_package_id(item);
            let client = Client::new(peer, files);
            package_download(
                &depot,
                &package,
                &method,
                &headers,
                query.as_deref(),
                &client,
            )
            .await
        }
        None => Ok(not_found()),
    }
}
