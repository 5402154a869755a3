//! Package downloads: `/download/{extension}/{version}/{filename}` (the feed's `downloadurl`) and
//! jBackend's `/get/release/download/{package_id}`.
//!
//! Every package response carries `Content-Disposition: attachment; filename="….zip"`, because
//! Joomla names the saved file from it and picks the unpacker from that name (docs/joomla-client.md
//! A.5); without it `…zip?dlid=K` would be saved as `…zip_dlid_K` and fail to unpack. Query
//! strings are ignored here (Joomla appends `dlid`, sometimes after `&amp;`), so they can never
//! break a free download.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Extension;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use depot_service::{Credentials, Delivery, Depot, Download, DownloadRequest, Requester, Wanted};

use crate::error::ReleaseError;
use crate::extract::RequestHeaders;
use crate::http_date;
use crate::openapi::DownloadRefusals;
use crate::params::{basic_password, bearer, params};
use crate::sendfile::Files;
use depot_core::range::{RangeDecision, decide, if_range_allows};

/// Free packages never change once published (other bytes are refused), so caches may keep them.
const FREE_CACHE_CONTROL: &str = "public, max-age=3600";
const PAID_CACHE_CONTROL: &str = "private, no-store";

/// A release's package, where the feed's `<downloadurl>` points.
#[utoipa::path(
    get,
    path = "/download/{extension}/{version}/{filename}",
    tag = "downloads",
    summary = "A release's package",
    description = "Free packages need nothing and ignore the query string. Paid ones take a \
                   download key (`dlid`, `email` + `key`, or `Authorization: Bearer`). Ranges \
                   (`Range`, `If-Range`) resume an interrupted download. `{filename}.minisig` \
                   is the package's minisign signature, under the same credentials.",
    params(
        ("extension" = String, Path, description = "The extension's full name"),
        ("version" = String, Path, description = "The release's version"),
        ("filename" = String, Path, description = "The package's file name, or the file \
          name with `.minisig` appended for its minisign signature"),
        DownloadCredentials,
    ),
    responses(
        (status = 200, description = "The package, or its signature", content(("application/zip"), ("text/plain")),
         headers(("Content-Disposition" = String), ("ETag" = String))),
        (status = 206, description = "The range asked for", content(("application/zip"))),
        (status = 304, description = "Unchanged since the client's copy"),
        (status = 416, description = "A range outside the file"),
        DownloadRefusals,
    )
)]
pub async fn by_path(
    State(depot): State<Depot>,
    Path((extension, version, filename)): Path<(String, String, String)>,
    method: Method,
    RawQuery(query): RawQuery,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    files: Option<Extension<Files>>,
    RequestHeaders(headers): RequestHeaders,
) -> Result<Response, ReleaseError> {
    if let Some(package) = filename.strip_suffix(SIGNATURE_SUFFIX) {
        let download = depot
            .resolve_download(&extension, &version, package)
            .await?;
        let credentials = credentials_for(&download, &headers, query.as_deref(), &[])?;
        return signature(&depot, download, credentials).await;
    }
    let download = depot
        .resolve_download(&extension, &version, &filename)
        .await?;
    let credentials = credentials_for(&download, &headers, query.as_deref(), &[])?;
    let client = Client::new(peer, files);
    serve(&depot, download, credentials, &method, &headers, &client).await
}

/// A package's minisign signature is its download URL with this appended.
const SIGNATURE_SUFFIX: &str = ".minisig";

/// A package's `.minisig`, under the same credentials as the package.
async fn signature(
    depot: &Depot,
    download: Download,
    credentials: Credentials,
) -> Result<Response, ReleaseError> {
    let paid = download.package_group_id.is_some();
    let disposition = content_disposition(&format!("{}{SIGNATURE_SUFFIX}", download.filename));
    let minisig = depot.download_signature(download, &credentials).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (
                header::CACHE_CONTROL,
                if paid {
                    PAID_CACHE_CONTROL
                } else {
                    FREE_CACHE_CONTROL
                },
            ),
            (header::CONTENT_DISPOSITION, disposition.as_str()),
        ],
        minisig,
    )
        .into_response())
}

/// A package by its jBackend package id.
#[utoipa::path(
    get,
    path = "/get/release/download/{package_id}",
    tag = "downloads",
    summary = "A package by its jBackend id",
    description = "jBackend's download URL: the package `{package_id}` names (by default \
                   the extension's latest release). Credentials as for any download.",
    params(
        ("package_id" = String, Path, description = "The package id"),
        DownloadCredentials,
    ),
    responses(
        (status = 200, description = "The package", content(("application/zip")),
         headers(("Content-Disposition" = String))),
        (status = 206, description = "The range asked for", content(("application/zip"))),
        (status = 304, description = "Unchanged since the client's copy"),
        (status = 416, description = "A range outside the file"),
        DownloadRefusals,
    )
)]
pub async fn by_package_id(
    State(depot): State<Depot>,
    Path(package_id): Path<String>,
    method: Method,
    RawQuery(query): RawQuery,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    files: Option<Extension<Files>>,
    RequestHeaders(headers): RequestHeaders,
) -> Result<Response, ReleaseError> {
    let client = Client::new(peer, files);
    package_download(
        &depot,
        &package_id,
        &method,
        &headers,
        query.as_deref(),
        &client,
    )
    .await
}

/// The package `package_id`, as `/get/release/download/{package_id}` serves it.
pub(crate) async fn package_download(
    depot: &Depot,
    package_id: &str,
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
    client: &Client,
) -> Result<Response, ReleaseError> {
    let download = depot.resolve_package(package_id).await?;
    let credentials = credentials_for(&download, headers, query, &[])?;
    serve(depot, download, credentials, method, headers, client).await
}

/// The seed recommends POSTing `email` and `key` rather than putting them in the URL.
#[utoipa::path(
    post,
    path = "/get/release/download/{package_id}",
    tag = "downloads",
    summary = "A package by its jBackend id, credentials in the body",
    params(("package_id" = String, Path, description = "The package id")),
    request_body(
        description = "`email` and `key` (or `dlid`), as a form or a JSON object",
        content(
            (DownloadCredentials = "application/x-www-form-urlencoded"),
            (DownloadCredentials = "application/json"),
        ),
    ),
    responses(
        (status = 200, description = "The package", content(("application/zip")),
         headers(("Content-Disposition" = String))),
        DownloadRefusals,
    )
)]
pub async fn by_package_id_post(
    State(depot): State<Depot>,
    Path(package_id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    files: Option<Extension<Files>>,
    body: Bytes,
) -> Result<Response, ReleaseError> {
    let download = depot.resolve_package(&package_id).await?;
    let credentials = credentials_for(&download, &headers, query.as_deref(), &body)?;
    let client = Client::new(peer, files);
    serve(
        &depot,
        download,
        credentials,
        &Method::GET,
        &headers,
        &client,
    )
    .await
}

/// The credentials of a paid download, for the document: any one of them.
#[derive(utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub(crate) struct DownloadCredentials {
    /// A download key (Joomla sends the extension's Download Key field as `dlid`).
    dlid: Option<String>,
    /// The customer's e-mail address, with `key`.
    email: Option<String>,
    /// The customer's key for the package group, with `email`.
    key: Option<String>,
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

/// Credentials from `Authorization: Bearer` or `Basic` (Composer's), or `dlid`, or `email` +
/// `key`.
fn credentials(headers: &HeaderMap, params: &HashMap<String, String>) -> Credentials {
    if let Some(key) = header_key(headers) {
        return key;
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

/// A metadata client's download key: in `Authorization`, else as `dlid` in the query.
pub(crate) fn metadata_key(headers: &HeaderMap, query: &HashMap<String, String>) -> Credentials {
    header_key(headers)
        .or_else(|| {
            query
                .get("dlid")
                .filter(|k| !k.trim().is_empty())
                .map(|k| Credentials::DownloadKey(k.trim().to_string()))
        })
        .unwrap_or(Credentials::None)
}

/// A download key sent in `Authorization`: as a bearer token, or as the password of basic auth.
pub(crate) fn header_key(headers: &HeaderMap) -> Option<Credentials> {
    bearer(headers)
        .map(str::to_string)
        .or_else(|| basic_password(headers))
        .map(Credentials::DownloadKey)
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

/// The client of a download: its address, and its connection's file queue when the connection
/// can take a file by `sendfile` (see [`crate::sendfile`]).
pub(crate) struct Client {
    peer: SocketAddr,
    files: Option<Files>,
}

impl Client {
    pub(crate) fn new(peer: SocketAddr, files: Option<Extension<Files>>) -> Self {
        Client {
            peer,
            files: files.map(|Extension(f)| f),
        }
    }
}

pub(crate) async fn serve(
    depot: &Depot,
    download: Download,
    credentials: Credentials,
    method: &Method,
    headers: &HeaderMap,
    client: &Client,
) -> Result<Response, ReleaseError> {
    let peer = client.peer;
    let etag = download.etag();
    let last_modified = http_date::format(download.created_at_ms);
    let disposition = content_disposition(&download.filename);
    // Packages are zips; an application's builds are installers and archives of every kind.
    let content_type = if download.filename.ends_with(".zip") {
        HeaderValue::from_static("application/zip")
    } else {
        HeaderValue::from_static("application/octet-stream")
    };
    let size = download.size;
    let wanted = if header_str(headers, header::IF_NONE_MATCH).is_some_and(|inm| {
        inm.split(',')
            .any(|t| t.trim().trim_start_matches("W/") == etag)
    }) {
        Wanted::Unchanged
    } else {
        let range_header = header_str(headers, header::RANGE).filter(|_| {
            if_range_allows(header_str(headers, header::IF_RANGE), &etag, &last_modified)
        });
        match decide(range_header, size) {
            RangeDecision::Unsatisfiable => Wanted::Unsatisfiable,
            RangeDecision::Partial(r) => Wanted::Part(r),
            RangeDecision::Full => Wanted::Whole,
        }
    };
    let partial = matches!(wanted, Wanted::Part(_));
    let request = DownloadRequest {
        credentials,
        requester: Requester::new(
            Some(peer.ip().to_string()),
            header_str(headers, header::USER_AGENT),
        ),
        wanted,
        head: method == Method::HEAD,
        disposition: &disposition,
    };
    let served = depot.serve_download(download, request).await?;

    // A paid file must not be kept by shared caches: the next request may not be entitled.
    let cache_control = if served.grant.is_some() {
        PAID_CACHE_CONTROL
    } else {
        FREE_CACHE_CONTROL
    };
    let base = |status: StatusCode| {
        Response::builder()
            .status(status)
            .header(header::ACCEPT_RANGES, "bytes")
            .header(header::ETAG, &etag)
            .header(header::LAST_MODIFIED, &last_modified)
            .header(header::CACHE_CONTROL, cache_control)
            .header(header::CONTENT_DISPOSITION, &disposition)
    };
    let (builder, range, body) = match served.delivery {
        Delivery::Unchanged => (base(StatusCode::NOT_MODIFIED), None, Body::empty()),
        Delivery::Unsatisfiable => {
            let b = base(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{size}"));
            (b, None, Body::empty())
        }
        // An S3 store hands the bytes out itself, with the same Content-Disposition.
        Delivery::Redirect(url) => {
            let b = base(StatusCode::FOUND).header(header::LOCATION, url.as_str());
            (b, None, Body::empty())
        }
        Delivery::Head(range) => (base(StatusCode::OK), Some(range), Body::empty()),
        Delivery::Bytes { range, body } => {
            let body = Files::body(client.files.as_ref(), *body);
            (base(StatusCode::OK), Some(range), body)
        }
    };
    let builder = match range {
        None => builder,
        Some(span) => {
            let mut b = builder
                .header(header::CONTENT_TYPE, content_type)
                .header(header::CONTENT_LENGTH, span.end - span.start);
            if partial {
                b = b.status(StatusCode::PARTIAL_CONTENT).header(
                    header::CONTENT_RANGE,
                    format!("bytes {}-{}/{size}", span.start, span.end.saturating_sub(1)),
                );
            }
            b
        }
    };
    Ok(builder
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()))
}
