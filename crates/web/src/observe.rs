//! Every request observed once, on its way out: its latency in the request histogram (by route,
//! method and status) and, when the access log is on, its access-log line.
//!
//! A tower layer with its own future rather than two `from_fn` middlewares: those box a future
//! and clone the inner service on every request, which measured as several percent of a cached
//! feed's cost (bench/README.md). `Router::layer` wraps each route after the router matched it,
//! so the route's pattern ([`MatchedPath`]) is already on the request here.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method, Uri};
use axum::response::Response;
use pin_project_lite::pin_project;

use crate::metrics;

/// The layer: put where the access log should see the request id (inside `SetRequestIdLayer`).
#[derive(Clone, Copy, Default)]
pub(crate) struct ObserveLayer;

impl<S> tower::Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe { inner }
    }
}

#[derive(Clone)]
pub(crate) struct Observe<S> {
    inner: S,
}

/// What the access-log line needs from the request, taken only when the line will be written:
/// shared with the request rather than copied, unless the path had to be masked.
struct AccessLine {
    method: Method,
    path: LoggedPath,
    id: Option<HeaderValue>,
    span: tracing::Span,
}

/// The request's path as the log shows it.
enum LoggedPath {
    /// Nothing in it to mask: the request's own URI (cloning it copies nothing).
    AsIs(Uri),
    Masked(String),
}

impl LoggedPath {
    fn as_str(&self) -> &str {
        match self {
            LoggedPath::AsIs(uri) => uri.path(),
            LoggedPath::Masked(path) => path,
        }
    }
}

impl<S, B, E> tower::Service<Request> for Observe<S>
where
    S: tower::Service<Request, Response = Response<B>, Error = E>,
{
    type Response = Response<B>;
    type Error = E;
    type Future = Observed<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let started = Instant::now();
        let route = req.extensions().get::<MatchedPath>().cloned();
        let method = metrics::method_label(req.method());
        let access = access_line(&req);
        Observed {
            inner: self.inner.call(req),
            started,
            route,
            method,
            access,
        }
    }
}

pin_project! {
    /// The inner service's future, observed when it completes.
    pub(crate) struct Observed<F> {
        #[pin]
        inner: F,
        started: Instant,
        route: Option<MatchedPath>,
        method: &'static str,
        access: Option<AccessLine>,
    }
}

impl<F, B, E> Future for Observed<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = match this.access {
            // Handlers' own lines carry the request's method, path and id.
            Some(line) => {
                let _entered = line.span.enter();
                ready!(this.inner.poll(cx))
            }
            None => ready!(this.inner.poll(cx)),
        };
        let elapsed = this.started.elapsed();
        if let Ok(response) = &result {
            let route = this.route.as_ref().map_or("unmatched", MatchedPath::as_str);
            metrics::request_histogram(route, this.method, response.status())
                .record(elapsed.as_secs_f64());
            if let Some(line) = this.access.take() {
                tracing::info!(
                    target: "depot::access",
                    method = line.method.as_str(),
                    path = line.path.as_str(),
                    status = u64::from(response.status().as_u16()),
                    us = elapsed.as_micros() as u64,
                    id = line
                        .id
                        .as_ref()
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default(),
                );
            }
        }
        Poll::Ready(result)
    }
}

/// One `info` line per request (target `depot::access`) with the method, the *path* only (query
/// strings hold download keys and e-mail addresses, which never reach a log), the status, the
/// time taken and the request id; handlers' own lines carry the same in a `debug` span.
///
/// One event rather than tower-http's span-per-request at `info`: measured, the span cost a
/// third of the feed throughput.
fn access_line(req: &Request) -> Option<AccessLine> {
    if !tracing::enabled!(target: "depot::access", tracing::Level::INFO)
        && !tracing::enabled!(tracing::Level::DEBUG)
    {
        // Logging turned off: nothing to copy out of the request.
        return None;
    }
    let method = req.method().clone();
    let path = match loggable_path(req.uri().path()) {
        Cow::Borrowed(_) => LoggedPath::AsIs(req.uri().clone()),
        Cow::Owned(masked) => LoggedPath::Masked(masked),
    };
    let id = req.headers().get(crate::request_id::X_REQUEST_ID).cloned();
    let span = tracing::debug_span!(
        "request",
        %method,
        path = path.as_str(),
        id = id.as_ref().and_then(|v| v.to_str().ok()).unwrap_or_default(),
    );
    Some(AccessLine {
        method,
        path,
        id,
        span,
    })
}

/// The path with every segment that holds an e-mail address (`/api/v1/users/{user}/…`) masked.
pub(crate) fn loggable_path(path: &str) -> Cow<'_, str> {
    let is_address = |s: &str| s.contains('@') || contains_ignoring_case(s, "%40");
    // Path parameters (`file.zip;dlid=…`, also percent-encoded) and whole segments that are
    // keys can carry credentials as well as a query string can.
    let has_parameters = |s: &str| s.contains(';') || contains_ignoring_case(s, "%3b");
    let is_key = |s: &str| {
        depot_core::keys::parse_download_key(s).is_some()
            || depot_core::keys::looks_like_jbackend_key(s)
    };
    // Most paths have none of the characters that mark an address or parameters, so one scan
    // of the bytes usually leaves only the key check per segment.
    let marked = path.bytes().any(|b| matches!(b, b'@' | b';' | b'%'));
    let secret = |s: &str| (marked && (is_address(s) || has_parameters(s))) || is_key(s);
    if !path.split('/').any(secret) {
        return Cow::Borrowed(path);
    }
    path.split('/')
        .map(|s| {
            if is_address(s) {
                "<email>".into()
            } else if is_key(s) {
                "<key>".into()
            } else if has_parameters(s) {
                // The segment up to its parameters, which are dropped.
                let end = s
                    .find(';')
                    .or_else(|| find_ignoring_case(s, "%3b"))
                    .unwrap_or(s.len());
                format!("{};<redacted>", &s[..end])
            } else {
                s.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
        .into()
}

/// Where `needle` (ASCII) first occurs in `haystack`, in any case; no copy of either is made
/// (this runs on every request's path).
fn find_ignoring_case(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    find_ignoring_case(haystack, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn addresses_in_paths_are_masked() {
        assert_eq!(
            loggable_path("/api/v1/users/a@b.co/keys"),
            "/api/v1/users/<email>/keys"
        );
        assert_eq!(
            loggable_path("/api/v1/users/a%40b.co"),
            "/api/v1/users/<email>"
        );
        assert_eq!(
            loggable_path("/download/com_x/1.0.0/com_x-1.0.0.zip"),
            "/download/com_x/1.0.0/com_x-1.0.0.zip"
        );
    }

    #[test]
    fn keys_anywhere_in_a_path_are_masked() {
        let dlid = depot_core::keys::download_key(b"a-secret-of-at-least-32-characters!!", 7, 0);
        assert_eq!(
            loggable_path(&format!(
                "/download/com_x/1.0.0/com_x-1.0.0.zip;dlid={dlid}"
            )),
            "/download/com_x/1.0.0/com_x-1.0.0.zip;<redacted>"
        );
        assert_eq!(
            loggable_path(&format!("/download/com_x/1.0.0/x.zip%3Bdlid={dlid}")),
            "/download/com_x/1.0.0/x.zip;<redacted>"
        );
        assert_eq!(
            loggable_path(&format!("/get/release/download/{dlid}")),
            "/get/release/download/<key>"
        );
    }
}
