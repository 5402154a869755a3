//! `/updates/{extension}.xml`, `/updates/collection.xml`, `/changelogs/{extension}.xml`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use depot_core::useragent::joomla_version;
use depot_service::{Credentials, Depot, FeedAccess, RenderedFeed};

use crate::downloads::header_key;

use crate::error::ReleaseError;
use crate::extract::RequestHeaders;
use crate::http_date;

/// Feeds may be cached briefly by proxies and CDNs; revalidation is cheap (ETag).
const FEED_CACHE_CONTROL: &str = "public, max-age=60";

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "unknown extension\n",
    )
        .into_response()
}

/// `{name}.xml` → `name`; anything else is not a feed.
fn strip_xml(file: &str) -> Option<&str> {
    file.strip_suffix(".xml").filter(|n| !n.is_empty())
}

/// An extension's update feed, or the collection of all of them.
#[utoipa::path(
    get,
    path = "/updates/{file}",
    tag = "feeds",
    summary = "An update feed (Joomla's XML)",
    description = "`{extension}.xml` is the feed of one extension (what its manifest's \
                   `<updateservers>` names); `collection.xml` lists every extension's feed. An \
                   Akeeba Release System stream's alias (`{alias}.xml`) answers its extension's \
                   feed. Revalidate with `If-None-Match` or `If-Modified-Since`.",
    params(
        ("file" = String, Path, description = "`{extension}.xml` or `collection.xml`"),
        ("dlid" = Option<String>, Query, description = "A customer's download key: what opens the feed of an extension whose package group keeps private feeds"),
    ),
    responses(
        (status = 200, description = "The feed", content_type = "application/xml", body = String,
         headers(("ETag" = String), ("Last-Modified" = String))),
        (status = 304, description = "Unchanged since the client's copy"),
        (status = 404, description = "No such extension", content_type = "text/plain", body = String),
    )
)]
pub async fn update_feed(
    State(depot): State<Depot>,
    Path(file): Path<String>,
    method: Method,
    RawQuery(query): RawQuery,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RequestHeaders(headers): RequestHeaders,
) -> Result<Response, ReleaseError> {
    let Some(name) = strip_xml(&file) else {
        return Ok(not_found());
    };
    let client = Some(peer.ip());
    let credentials = feed_credentials(&headers, query.as_deref());
    let answer = feed_named(&depot, name, &method, &headers, &credentials, client).await?;
    // `/updates/{alias}.xml` may be an ARS stream's search-engine-friendly URL.
    if answer.status() == StatusCode::NOT_FOUND
        && let Some(extension) = depot.ars_stream_extension_by_alias(name).await?
    {
        return feed_named(&depot, &extension, &method, &headers, &credentials, client).await;
    }
    Ok(answer)
}

/// The download key a feed request carries: `?dlid=` (what a private feed's update-site URL
/// holds) or `Authorization`.
pub(crate) fn feed_credentials(headers: &HeaderMap, query: Option<&str>) -> Credentials {
    header_key(headers)
        .or_else(|| {
            form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .find(|(k, v)| k == "dlid" && !v.trim().is_empty())
                .map(|(_, v)| Credentials::DownloadKey(v.trim().to_string()))
        })
        .unwrap_or(Credentials::None)
}

/// A rendered feed to whoever may read it: as it is when it is public, with the customer's key
/// on its download URLs when it is private, unknown otherwise. One chosen for the site during a
/// staged rollout (`per_site`) is kept from shared caches.
async fn serve_feed(
    depot: &Depot,
    feed: &Arc<RenderedFeed>,
    headers: &HeaderMap,
    credentials: &Credentials,
    per_site: bool,
) -> Result<Option<Response>, ReleaseError> {
    Ok(match depot.feed_access(feed, credentials).await? {
        FeedAccess::Public if per_site => Some(respond_as(feed, headers, Audience::OneCustomer)),
        FeedAccess::Public => Some(respond(feed, headers)),
        FeedAccess::Customer(keyed) => Some(respond_as(&keyed, headers, Audience::OneCustomer)),
        FeedAccess::Hidden => None,
    })
}

/// The extension feed `name` (or the collection), as `/updates/{name}.xml` answers it.
pub(crate) async fn feed_named(
    depot: &Depot,
    name: &str,
    method: &Method,
    headers: &HeaderMap,
    credentials: &Credentials,
    client: Option<IpAddr>,
) -> Result<Response, ReleaseError> {
    let feed = if name == "collection" {
        Some(depot.collection_feed().await?)
    } else {
        depot.extension_feed(name).await?
    };
    let Some(feed) = feed else {
        return Ok(not_found());
    };
    // A staged rollout: the site's cohort (by its address; Joomla sends no site id) decides.
    let site = || client.map(|ip| ip.to_string()).unwrap_or_default();
    let per_site = feed.rollout.is_some();
    let Some(feed) = depot.feed_for_site(&feed, site, name) else {
        return Ok(not_found());
    };
    let Some(response) = serve_feed(depot, &feed, headers, credentials, per_site).await? else {
        return Ok(not_found());
    };
    if method == Method::GET
        && let Some(id) = feed.extension_id
    {
        let ua = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        depot.events().feed_check(id, joomla_version(ua), client);
    }
    Ok(response)
}

/// An extension's changelog.
#[utoipa::path(
    get,
    path = "/changelogs/{file}",
    tag = "feeds",
    summary = "A changelog (Joomla's XML)",
    description = "The `<changelogurl>` of every release in the extension's feed.",
    params(
        ("file" = String, Path, description = "`{extension}.xml`"),
        ("dlid" = Option<String>, Query, description = "A customer's download key, for a private feed"),
    ),
    responses(
        (status = 200, description = "The changelog", content_type = "application/xml", body = String,
         headers(("ETag" = String), ("Last-Modified" = String))),
        (status = 304, description = "Unchanged since the client's copy"),
        (status = 404, description = "No such extension", content_type = "text/plain", body = String),
    )
)]
pub async fn changelog_feed(
    State(depot): State<Depot>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    RequestHeaders(headers): RequestHeaders,
) -> Result<Response, ReleaseError> {
    let Some(name) = strip_xml(&file) else {
        return Ok(not_found());
    };
    let credentials = feed_credentials(&headers, query.as_deref());
    let Some(feed) = depot.changelog_feed(name).await? else {
        return Ok(not_found());
    };
    Ok(serve_feed(&depot, &feed, &headers, &credentials, false)
        .await?
        .unwrap_or_else(not_found))
}

/// `?channel=` of `latest.json`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChannelQuery {
    /// `stable` (the default), `rc`, `beta`, `alpha` or `dev`: the least stable release offered.
    channel: Option<String>,
    /// A customer's download key, for an extension whose package group keeps private feeds.
    dlid: Option<String>,
    /// A stable id of the installation asking (any string): its cohort in a staged rollout
    /// (by default, its address).
    client_id: Option<String>,
}

/// The newest release of an extension's channel, as JSON.
#[utoipa::path(
    get,
    path = "/releases/{extension}/{file}",
    tag = "feeds",
    summary = "The latest release (JSON, for any client)",
    description = "`latest.json`: the newest published release of the channel with its download \
                   URL, size, hashes and minisign signature. Check a download with \
                   `minisign -Vm FILE -p signing-key.pub`. Revalidate with `If-None-Match`.",
    params(
        ("extension" = String, Path, description = "The extension's full name"),
        ("file" = String, Path, description = "`latest.json`"),
        ChannelQuery,
    ),
    responses(
        (status = 200, description = "The release", body = depot_api::LatestRelease,
         headers(("ETag" = String), ("Last-Modified" = String))),
        (status = 304, description = "Unchanged since the client's copy"),
        (status = 400, description = "An unknown channel"),
        (status = 404, description = "No such extension, or no release in the channel", content_type = "text/plain", body = String),
    )
)]
pub async fn latest_release(
    State(depot): State<Depot>,
    Path((extension, file)): Path<(String, String)>,
    Query(query): Query<ChannelQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RequestHeaders(headers): RequestHeaders,
) -> Result<Response, ReleaseError> {
    if file != "latest.json" {
        return Ok(not_found());
    }
    let channel = depot_service::parse_channel(query.channel.as_deref())?;
    let credentials = query
        .dlid
        .filter(|k| !k.trim().is_empty())
        .map(Credentials::DownloadKey)
        .or_else(|| header_key(&headers))
        .unwrap_or(Credentials::None);
    let Some(feed) = depot.latest_release(&extension, channel).await? else {
        return Ok(not_found());
    };
    // A staged rollout: the client's id when it sends one, else its address, decides.
    let site = || {
        query
            .client_id
            .filter(|c| !c.trim().is_empty())
            .unwrap_or_else(|| peer.ip().to_string())
    };
    let per_site = feed.rollout.is_some();
    let Some(feed) = depot.feed_for_site(&feed, site, &extension) else {
        return Ok(not_found());
    };
    Ok(serve_feed(&depot, &feed, &headers, &credentials, per_site)
        .await?
        .unwrap_or_else(not_found))
}

/// `If-None-Match` (weak comparison, as RFC 9110 requires for it) or, failing that,
/// `If-Modified-Since`.
fn not_modified(feed: &RenderedFeed, headers: &HeaderMap) -> bool {
    if headers.contains_key(header::IF_NONE_MATCH) {
        return etag_matches(feed, headers);
    }
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(http_date::parse_secs)
        .is_some_and(|since| feed.last_modified_ms / 1000 <= since)
}

/// Whether `If-None-Match` names the feed's `ETag`, of any of its forms (a client that kept
/// one form has the same document).
fn etag_matches(feed: &RenderedFeed, headers: &HeaderMap) -> bool {
    let etag = feed.etag.as_str();
    let document = etag.trim_end_matches('"');
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|inm| {
            inm.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| {
                    t == "*"
                        || t == etag
                        || t.strip_prefix(document)
                            .is_some_and(|form| form == "-gz\"" || form == "-br\"")
                })
        })
}

/// `Last-Modified` of a feed: the same few values over and over, so each thread keeps the last
/// one it formatted.
fn last_modified(ms: i64) -> HeaderValue {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(i64, HeaderValue)>> = const { std::cell::RefCell::new(None) };
    }
    LAST.with_borrow_mut(|last| match last {
        Some((at, value)) if *at == ms => value.clone(),
        _ => {
            let value = HeaderValue::from_str(&http_date::format(ms))
                .unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"));
            *last = Some((ms, value.clone()));
            value
        }
    })
}

fn respond(feed: &Arc<RenderedFeed>, headers: &HeaderMap) -> Response {
    respond_as(feed, headers, Audience::Everyone)
}

/// Who a rendered document is for, which decides how it may be cached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Audience {
    /// The same for every client: proxies may keep it, dates revalidate it.
    Everyone,
    /// Made for the credentials it was asked with: no shared cache keeps it, and only its
    /// `ETag` revalidates it (its date says when the catalogue changed, not when the customer's
    /// rights did).
    OneCustomer,
}

impl Audience {
    /// The audience of a document chosen for one client, or the same for everyone.
    pub(crate) fn answered(per_client: bool) -> Self {
        if per_client {
            Audience::OneCustomer
        } else {
            Audience::Everyone
        }
    }
}

pub(crate) fn respond_as(
    feed: &Arc<RenderedFeed>,
    headers: &HeaderMap,
    audience: Audience,
) -> Response {
    // A document everyone shares goes out compressed to a client that accepts it, in the form
    // made once for the document; one made for a single client goes out as it is.
    let encoded = match audience {
        Audience::Everyone => accepted_encoding(headers)
            .and_then(|coding| feed.encodings().map(|forms| (coding, forms))),
        Audience::OneCustomer => None,
    };
    let (etag, body, coding) = match encoded {
        Some((Coding::Brotli, forms)) => (&forms.br_etag, &forms.br, Some("br")),
        Some((Coding::Gzip, forms)) => (&forms.gzip_etag, &forms.gzip, Some("gzip")),
        None => (&feed.etag, &feed.body, None),
    };
    let unchanged = match audience {
        Audience::Everyone => not_modified(feed, headers),
        Audience::OneCustomer => etag_matches(feed, headers),
    };
    // Headers set on the map directly: the builder converts and checks each one again.
    let mut response = if unchanged {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        Response::new(Body::from(body.clone()))
    };
    let out = response.headers_mut();
    out.reserve(8);
    match HeaderValue::from_maybe_shared(etag.to_bytes()) {
        Ok(value) => out.insert(header::ETAG, value),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    out.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Some(coding) = coding {
        out.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    match audience {
        Audience::Everyone => {
            out.insert(header::LAST_MODIFIED, last_modified(feed.last_modified_ms));
            out.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(FEED_CACHE_CONTROL),
            );
        }
        Audience::OneCustomer => {
            out.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-cache"),
            );
            out.append(header::VARY, HeaderValue::from_static("Authorization"));
        }
    }
    if !unchanged {
        out.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(feed.content_type),
        );
    }
    response
}

/// A content coding depot has a document in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Coding {
    Brotli,
    Gzip,
}

/// The coding to answer in: Brotli when `Accept-Encoding` allows it, else gzip, else none.
fn accepted_encoding(headers: &HeaderMap) -> Option<Coding> {
    let accept = headers.get(header::ACCEPT_ENCODING)?.to_str().ok()?;
    let (mut br, mut gzip) = (false, false);
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let token = parts.next().unwrap_or_default().trim();
        let refused = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        if refused {
            continue;
        }
        match token.to_ascii_lowercase().as_str() {
            "br" => br = true,
            "gzip" | "x-gzip" => gzip = true,
            "*" => (br, gzip) = (true, true),
            _ => {}
        }
    }
    match (br, gzip) {
        (true, _) => Some(Coding::Brotli),
        (false, true) => Some(Coding::Gzip),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepting(value: &str) -> Option<Coding> {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        accepted_encoding(&headers)
    }

    #[test]
    fn brotli_before_gzip_and_q0_refuses() {
        assert_eq!(accepted_encoding(&HeaderMap::new()), None);
        for (accept, coding) in [
            ("gzip, deflate, br", Some(Coding::Brotli)),
            ("gzip, deflate", Some(Coding::Gzip)),
            ("x-gzip", Some(Coding::Gzip)),
            ("BR;q=0.5", Some(Coding::Brotli)),
            ("br;q=0, gzip", Some(Coding::Gzip)),
            ("br; q=0.0, gzip;q=0", None),
            ("*", Some(Coding::Brotli)),
            ("identity", None),
            ("compress, deflate", None),
            ("", None),
        ] {
            assert_eq!(accepting(accept), coding, "{accept}");
        }
    }
}
