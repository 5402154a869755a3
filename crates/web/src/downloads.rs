//! Package downloads: `/download/{extension}/{version}/{filename}` (the feed's `downloadurl`) and
//! jBackend's `/get/release/download/{package_id}`.
//!
//! Every package response carries `Content-Disposition: attachment; filename="….zip"`, because
//! Joomla names the saved file from it and picks the unpacker from that name (joomla-client.md
//! A.5); without it `…zip?dlid=K` would be saved as `…zip_dlid_K` and fail to unpack. Query
//! strings are ignored here (Joomla appends `dlid`, sometimes after `&amp;`), so they can never
//! break a free download.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use depot_service::{Credentials, Depot, Download, EventRecorder, Requester};
use depot_storage::StorageError;
use futures::Stream;

use crate::error::ReleaseError;
use crate::http_date;
use crate::params::{bearer, params};
use crate::range::{RangeDecision, decide, if_range_allows};

/// Free packages never change once published (other bytes are refused), so caches may keep them.
const FREE_CACHE_CONTROL: &str = "public, max-age=3600";
const PAID_CACHE_CONTROL: &str = "private, no-store";

pub async fn by_path(
    State(depot): State<Depot>,
    Path((extension, version, filename)): Path<(String, String, String)>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<Response, ReleaseError> {
    let download = depot
        .resolve_download(&extension, &version, &filename)
        .await?;
    let credentials = credentials_for(&download, &headers, query.as_deref(), &[])?;
    serve(&depot, download, &credentials, &method, &headers, peer).await
}

pub async fn by_package_id(
    State(depot): State<Depot>,
    Path(package_id): Path<String>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<Response, ReleaseError> {
    let download = depot.resolve_package(&package_id).await?;
    let credentials = credentials_for(&download, &headers, query.as_deref(), &[])?;
    serve(&depot, download, &credentials, &method, &headers, peer).await
}

/// The seed recommends POSTing `email` and `key` rather than putting them in the URL.
pub async fn by_package_id_post(
    State(depot): State<Depot>,
    Path(package_id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Result<Response, ReleaseError> {
    let download = depot.resolve_package(&package_id).await?;
    let credentials = credentials_for(&download, &headers, query.as_deref(), &body)?;
    serve(&depot, download, &credentials, &Method::GET, &headers, peer).await
}

/// A free package ignores whatever the query string holds, so nothing appended can break it.
fn credentials_for(
    download: &Download,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<Credentials, ReleaseError> {
    if download.package_group_id.is_none() {
        return Ok(Credentials::None);
    }
    Ok(credentials(headers, &params(headers, query, body)?))
}

/// Credentials from `Authorization: Bearer`, or `dlid`, or `email` + `key`.
fn credentials(headers: &HeaderMap, params: &HashMap<String, String>) -> Credentials {
    if let Some(token) = bearer(headers) {
        return Credentials::DownloadKey(token.to_string());
    }
    if let Some(dlid) = params.get("dlid").filter(|d| !d.trim().is_empty()) {
        return Credentials::DownloadKey(dlid.clone());
    }
    match (params.get("email"), params.get("key")) {
        (None, None) => Credentials::None,
        (email, key) => Credentials::EmailKey {
            email: email.cloned(),
            key: key.cloned(),
        },
    }
}

/// `attachment; filename="x.zip"`: the plain `filename=` form, the only one Joomla reads.
fn content_disposition(filename: &str) -> String {
    let safe: String = filename
        .chars()
        .filter(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '/' | ';'))
        .collect();
    format!("attachment; filename=\"{safe}\"")
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn serve(
    depot: &Depot,
    download: Download,
    credentials: &Credentials,
    method: &Method,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Result<Response, ReleaseError> {
    let mut who = Requester::new(
        Some(peer.ip().to_string()),
        header_str(headers, header::USER_AGENT),
    );
    who.grant = match depot.authorize(&download, credentials).await {
        Ok(grant) => grant,
        Err(e) => {
            let refusal = ReleaseError::from(e);
            if method == Method::GET {
                depot.events().download_denied(
                    &download,
                    refusal.status.as_u16(),
                    refusal.code,
                    &who,
                );
            }
            return Err(refusal);
        }
    };
    // A paid file must not be kept by shared caches: the next request may not be entitled.
    let cache_control = if who.grant.is_some() {
        PAID_CACHE_CONTROL
    } else {
        FREE_CACHE_CONTROL
    };
    let etag = download.etag();
    let last_modified = http_date::format(download.created_at_ms);
    let disposition = content_disposition(&download.filename);
    let base = |status: StatusCode| {
        Response::builder()
            .status(status)
            .header(header::ACCEPT_RANGES, "bytes")
            .header(header::ETAG, &etag)
            .header(header::LAST_MODIFIED, &last_modified)
            .header(header::CACHE_CONTROL, cache_control)
            .header(header::CONTENT_DISPOSITION, &disposition)
    };
    let build = |b: axum::http::response::Builder, body: Body| {
        b.body(body)
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
    };

    if header_str(headers, header::IF_NONE_MATCH).is_some_and(|inm| {
        inm.split(',')
            .any(|t| t.trim().trim_start_matches("W/") == etag)
    }) {
        return Ok(build(base(StatusCode::NOT_MODIFIED), Body::empty()));
    }

    let range_header = header_str(headers, header::RANGE)
        .filter(|_| if_range_allows(header_str(headers, header::IF_RANGE), &etag, &last_modified));
    let decision = decide(range_header, download.size);
    let range = match decision {
        RangeDecision::Unsatisfiable => {
            let b = base(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{}", download.size));
            return Ok(build(b, Body::empty()));
        }
        RangeDecision::Partial(r) => Some(r),
        RangeDecision::Full => None,
    };
    let is_download = method == Method::GET && range.is_none();

    // An S3 store may hand the bytes out itself, with the same Content-Disposition.
    if method == Method::GET
        && let Some(url) = depot
            .storage()
            .redirect_url(&download.storage_key, &disposition)
            .await
            .map_err(depot_service::ServiceError::from)?
    {
        if is_download {
            depot
                .events()
                .download_served(&download, 302, download.size, &who);
        }
        let b = base(StatusCode::FOUND).header(header::LOCATION, url.as_str());
        return Ok(build(b, Body::empty()));
    }

    let (status, span) = match &range {
        Some(r) => (StatusCode::PARTIAL_CONTENT, r.clone()),
        None => (StatusCode::OK, 0..download.size),
    };
    let mut b = base(status)
        .header(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/zip"),
        )
        .header(header::CONTENT_LENGTH, span.end - span.start);
    if range.is_some() {
        b = b.header(
            header::CONTENT_RANGE,
            format!(
                "bytes {}-{}/{}",
                span.start,
                span.end.saturating_sub(1),
                download.size
            ),
        );
    }
    if method == Method::HEAD || span.is_empty() {
        return Ok(build(b, Body::empty()));
    }
    let object = depot
        .storage()
        .get(&download.storage_key, range)
        .await
        .map_err(|e| match e {
            StorageError::NotFound(_) => {
                tracing::error!(key = %download.storage_key, "a published package file is missing from storage");
                ReleaseError::package_not_found()
            }
            other => ReleaseError::from(depot_service::ServiceError::from(other)),
        })?;
    let body = if is_download {
        Body::from_stream(Counted {
            inner: object.stream,
            sent: 0,
            on_end: Some(EventDraft {
                recorder: depot.events().clone(),
                download,
                who,
            }),
        })
    } else {
        Body::from_stream(object.stream)
    };
    Ok(build(b, body))
}

/// What is known of a download event before its bytes have been sent.
struct EventDraft {
    recorder: EventRecorder,
    download: Download,
    who: Requester,
}

/// Counts the bytes a download actually delivered and records the event when the body ends or
/// is dropped (a client that disconnects half way is recorded with the bytes it got).
struct Counted<S> {
    inner: S,
    sent: u64,
    on_end: Option<EventDraft>,
}

impl<S> Stream for Counted<S>
where
    S: Stream<Item = Result<Bytes, StorageError>> + Unpin,
{
    type Item = Result<Bytes, StorageError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let poll = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &poll {
            self.sent += chunk.len() as u64;
        }
        poll
    }
}

impl<S> Drop for Counted<S> {
    fn drop(&mut self) {
        if let Some(d) = self.on_end.take() {
            d.recorder
                .download_served(&d.download, 200, self.sent, &d.who);
        }
    }
}
