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

use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use depot_service::{Depot, ars_item_package_id};

use crate::downloads::package_download;
use crate::error::ReleaseError;
use crate::feeds::feed_named;

/// What an ARS URL asks for.
#[derive(Debug, PartialEq, Eq)]
enum ArsRequest {
    Stream(i64),
    Item(i64),
}

/// Reads an `index.php` query string the way Joomla routes it to ARS; `None` for anything
/// else (another component, a page depot does not serve).
fn ars_request(query: &str) -> Option<ArsRequest> {
    let mut option = None;
    let mut view = None;
    let mut task = None;
    let mut id = None;
    let mut stream_id = None;
    let mut item_id = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let v = v.trim().to_ascii_lowercase();
        match k.as_ref() {
            "option" => option = Some(v),
            "view" => view = Some(v),
            "task" => task = Some(v),
            "id" => id = v.parse().ok(),
            "stream_id" => stream_id = v.parse().ok(),
            "item_id" => item_id = v.parse().ok(),
            _ => {}
        }
    }
    if option.as_deref() != Some("com_ars") {
        return None;
    }
    match (view.as_deref(), task.as_deref()) {
        (Some("update" | "updates"), _) => stream_id.or(id).map(ArsRequest::Stream),
        (Some("item"), _) | (None, Some("download")) => item_id.or(id).map(ArsRequest::Item),
        _ => None,
    }
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "not found\n",
    )
        .into_response()
}

/// The stream alias a search-engine-friendly ARS feed URL ends in: its last path segment, when
/// the URL asks for XML (a `.xml` suffix or `format=xml`).
pub(crate) fn sef_stream_alias<'a>(path: &'a str, query: Option<&str>) -> Option<&'a str> {
    let last = path.trim_end_matches('/').rsplit('/').next()?;
    let wants_xml = query.is_some_and(|q| {
        form_urlencoded::parse(q.as_bytes())
            .any(|(k, v)| k == "format" && v.eq_ignore_ascii_case("xml"))
    });
    let alias = match last.strip_suffix(".xml") {
        Some(alias) => alias,
        None if wants_xml => last,
        None => return None,
    };
    (!alias.is_empty()
        && alias
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then_some(alias)
}

/// What no route matched: an ARS stream's search-engine-friendly URL, or `404`.
pub async fn sef_or_not_found(
    State(depot): State<Depot>,
    method: Method,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Result<Response, ReleaseError> {
    if matches!(method, Method::GET | Method::HEAD)
        && let Some(alias) = sef_stream_alias(uri.path(), uri.query())
        && let Some(extension) = depot.ars_stream_extension_by_alias(alias).await?
    {
        return feed_named(&depot, &extension, &method, &headers).await;
    }
    Ok(crate::not_found())
}

pub async fn legacy(
    State(depot): State<Depot>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<Response, ReleaseError> {
    match query.as_deref().and_then(ars_request) {
        Some(ArsRequest::Stream(stream)) => match depot.ars_stream_extension(stream).await? {
            Some(extension) => feed_named(&depot, &extension, &method, &headers).await,
            None => Ok(not_found()),
        },
        Some(ArsRequest::Item(item)) => {
            let package = ars_item_package_id(item);
            package_download(&depot, &package, &method, &headers, query.as_deref(), peer).await
        }
        None => Ok(not_found()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ars_urls_as_joomla_routes_them() {
        for (q, want) in [
            (
                "option=com_ars&view=update&task=stream&format=xml&id=3",
                Some(ArsRequest::Stream(3)),
            ),
            (
                "option=com_ars&view=update&format=xml&stream_id=4",
                Some(ArsRequest::Stream(4)),
            ),
            (
                "option=com_ars&view=Updates&task=stream&id=5",
                Some(ArsRequest::Stream(5)),
            ),
            (
                "option=com_ars&view=Item&task=download&item_id=7&dlid=x",
                Some(ArsRequest::Item(7)),
            ),
            (
                "option=com_ars&view=item&id=8&format=raw",
                Some(ArsRequest::Item(8)),
            ),
            (
                "option=com_ars&task=download&id=9",
                Some(ArsRequest::Item(9)),
            ),
            ("option=com_content&view=article&id=1", None),
            ("option=com_ars&view=categories", None),
            ("option=com_ars&view=update&id=x", None),
            ("", None),
        ] {
            assert_eq!(ars_request(q), want, "{q}");
        }
    }

    #[test]
    fn sef_stream_urls_end_in_the_alias_and_ask_for_xml() {
        for (path, query, want) in [
            (
                "/index.php/downloads/update/widgets.xml",
                None,
                Some("widgets"),
            ),
            (
                "/downloads/update/widgets",
                Some("format=xml"),
                Some("widgets"),
            ),
            ("/update/my-ext_2.xml", Some("dlid=x"), Some("my-ext_2")),
            ("/downloads/update/widgets", None, None),
            ("/downloads/update/.xml", None, None),
            ("/a/b%20c.xml", None, None),
        ] {
            assert_eq!(sef_stream_alias(path, query), want, "{path}");
        }
    }
}
