//! depot's HTTP layer: one axum router per area over `depot-service`. Handlers extract, call a
//! use case and map the result; the rules live in the service and domain crates.

mod account;
mod api;
mod ars;
mod composer;
pub mod connections;
mod console;
mod downloads;
mod error;
mod extract;
mod feeds;
mod hooks;
mod http_date;
mod jbackend;
mod metrics;
mod observe;
mod openapi;
mod pages;
mod params;
mod request_id;
mod sendfile;
mod sessions;
mod signing;
mod tauri;
mod wordpress;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use depot_service::Depot;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::sensitive_headers::{SetSensitiveRequestHeaders, SetSensitiveRequestHeadersLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use connections::ConnectionLimits;
use connections::{Activity, Admission, Deadline, TrackedBody};
pub use error::{ApiError, ReleaseError};

/// The whole application: the routes, and what every request goes through on its way to them.
pub type App = SetSensitiveRequestHeaders<request_id::WithRequestId<Router>>;

/// The whole application.
///
/// Layers given to `Router::layer` wrap every route one by one, and axum clones a route's boxed
/// service (with each layer in it) on every request: measured, five such layers cost an
/// eighth of a cached feed's instructions. So only what needs the matched route (the
/// observer, for the route label) or must see a handler's panic as that route's response stays
/// per route; the request id and the sensitive headers wrap the router once.
pub fn router(depot: Depot) -> App {
    metrics::handle();
    let (api, api_doc) = api::router();
    let (public, public_doc) = public_routes().split_for_parts();
    let api = api.route("/openapi.json", document(&api_doc));
    let routes = public
        .route("/openapi.json", document(&public_doc))
        // Akeeba Release System's search-engine-friendly stream URLs have no fixed shape.
        .fallback(ars::sef_or_not_found);
    // The same routes where jBackend answered on the vendor's Joomla site, so that the URLs
    // customers saved keep working (`jbackend_base_path`).
    let routes = match depot.settings().jbackend_base_path.as_deref() {
        Some(base) => routes.nest(base, jbackend_routes().split_for_parts().0),
        None => routes,
    };
    let routes = routes
        .nest("/api/v1", api)
        .nest("/admin", console::router())
        .nest("/account", account::router(&depot));
    // Only behind a trusted proxy: without one the layer would cost every request for nothing.
    let routes = if depot.settings().trusted_proxies.is_empty() {
        routes
    } else {
        routes.layer(axum::middleware::from_fn_with_state(
            depot.clone(),
            forwarded_client,
        ))
    };
    // One `layer` call for both: each call boxes every route once more.
    let routes = routes.with_state(depot).layer(
        tower::ServiceBuilder::new()
            .layer(observe::ObserveLayer)
            .layer(CatchPanicLayer::new()),
    );
    tower::ServiceBuilder::new()
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
        ]))
        // Before the observer, whose access line carries the id.
        .layer(request_id::RequestIds::new())
        .service(routes)
}

/// An OpenAPI document as a route, rendered once: it only changes with the binary.
fn document(doc: &utoipa::openapi::OpenApi) -> axum::routing::MethodRouter<Depot> {
    let body = bytes::Bytes::from(
        doc.to_pretty_json()
            .expect("the OpenAPI document serialises"),
    );
    get(move || {
        let body = body.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], body) }
    })
}

/// Everything a site, a customer or a monitor calls without a token, and its document
/// (`/openapi.json`), from the same registrations.
fn public_routes() -> OpenApiRouter<Depot> {
    OpenApiRouter::with_openapi(openapi::PublicDoc::openapi())
        .routes(routes!(feeds::update_feed))
        .routes(routes!(feeds::changelog_feed))
        .routes(routes!(feeds::latest_release))
        .routes(routes!(downloads::by_path))
        .routes(routes!(signing::current_key))
        .routes(routes!(signing::key_by_id))
        .routes(routes!(composer::root))
        .routes(routes!(composer::package))
        .routes(routes!(wordpress::info))
        .routes(routes!(wordpress::asset))
        .routes(routes!(tauri::update))
        .merge(jbackend_routes())
        // Akeeba Release System's URLs, for sites that updated from it (`depot import ars`).
        .routes(routes!(ars::legacy))
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics::metrics))
        .routes(routes!(hooks::provider_webhook))
}

/// The jBackend Release System API (docs/product.md §2.3) and its download URL.
fn jbackend_routes() -> OpenApiRouter<Depot> {
    OpenApiRouter::new()
        .routes(routes!(
            downloads::by_package_id,
            downloads::by_package_id_post
        ))
        .routes(routes!(jbackend::key_by_mail))
        .routes(routes!(jbackend::key_by_auth))
        .routes(routes!(jbackend::validate))
}

/// Behind a trusted reverse proxy (`trusted_proxies`), the client is the address the proxy
/// names, not the proxy: rate limits then count per client, and the download log records it.
/// From anyone else the headers are ignored, since any client can send them.
async fn forwarded_client(
    State(depot): State<Depot>,
    mut req: Request,
    next: axum::middleware::Next,
) -> Response {
    let trusted = &depot.settings().trusted_proxies;
    if let Some(&axum::extract::ConnectInfo(peer)) = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        && trusted.iter().any(|net| net.contains(&peer.ip()))
        && let Some(client) = forwarded_for(req.headers(), trusted)
    {
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::new(
                client,
                peer.port(),
            )));
    }
    next.run(req).await
}

/// The client a chain of trusted proxies names: the last address of `X-Forwarded-For` (or of
/// `Forwarded`'s `for=`) that is not itself a trusted proxy. Addresses further left were written
/// by the client and cannot be trusted.
fn forwarded_for(
    headers: &header::HeaderMap,
    trusted: &[ipnet::IpNet],
) -> Option<std::net::IpAddr> {
    let values = |name| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let mut chain: Vec<std::net::IpAddr> = values("x-forwarded-for")
        .iter()
        .filter_map(|a| parse_node(a))
        .collect();
    if chain.is_empty() {
        chain = values("forwarded")
            .iter()
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (k, v) = pair.trim().split_once('=')?;
                    k.eq_ignore_ascii_case("for")
                        .then(|| parse_node(v))
                        .flatten()
                })
            })
            .collect();
    }
    chain
        .into_iter()
        .rev()
        .find(|ip| !trusted.iter().any(|net| net.contains(ip)))
}

/// An address as proxies write it: `203.0.113.7`, `203.0.113.7:4711`, `"[2001:db8::1]:4711"`.
fn parse_node(node: &str) -> Option<std::net::IpAddr> {
    let node = node.trim().trim_matches('"');
    if let Ok(ip) = node.parse() {
        return Some(ip);
    }
    if let Ok(addr) = node.parse::<std::net::SocketAddr>() {
        return Some(addr.ip());
    }
    node.strip_prefix('[')
        .and_then(|n| n.split_once(']'))
        .and_then(|(ip, _)| ip.parse().ok())
}

/// Whether the process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    summary = "The process is up",
    responses((status = 200, description = "`ok`", content_type = "text/plain", body = String))
)]
async fn healthz() -> &'static str {
    "ok\n"
}

/// Whether this instance can serve: its database and storage answer.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    summary = "The database and the storage answer",
    responses(
        (status = 200, description = "`ready`", content_type = "text/plain", body = String),
        (status = 503, description = "`not ready`; the reason is in the log", content_type = "text/plain", body = String),
    )
)]
async fn readyz(State(depot): State<Depot>) -> Response {
    match depot.ready().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => {
            // The reason goes to the log; the public answer names no internal detail.
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
        }
    }
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

/// How much of a response one connection may hold in memory, waiting for the client to read
/// it. hyper's default (about 400 KiB) would let a thousand slow downloads hold 400 MB; at 64 KiB,
/// about one storage read per connection is in flight.
const MAX_CONNECTION_BUFFER: usize = 64 * 1024;

/// Serves `app` on `listener` until `shutdown` resolves, then lets requests in flight finish
/// (for at most `grace`), holding connections to `limits` (see [`connections`]).
///
/// The accept loop is axum's, with hyper configured for bounded memory per connection and
/// `TCP_NODELAY` (responses go out whole; Nagle would only add latency). Local package files
/// go out over HTTP/1 with `sendfile` (see [`sendfile`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
    limits: ConnectionLimits,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto::Builder;
    use tower::ServiceExt;

    // One builder per protocol, picked by looking at the connection's first bytes
    // (`opens_with_http2`), rather than hyper-util's detection: that reads the first 24 bytes
    // apart and hands them to hyper alone, whose next read then doubles its 8 KiB buffer, and
    // that 16 KiB stays with the connection (bench/README.md, 10,000 slow readers).
    let mut http1 = Builder::new(TokioExecutor::new()).http1_only();
    // Never `.writev(false)`: hyper must queue body frames as they are for `sendfile`.
    http1.http1().max_buf_size(MAX_CONNECTION_BUFFER);
    let protocols = std::sync::Arc::new(Protocols {
        http1,
        http2: Builder::new(TokioExecutor::new()).http2_only(),
    });
    let admission = Admission::new(limits);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    // Tells connections still looking at their first bytes that the server is stopping.
    let (stopping, stop) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, a connection reset before accept: wait, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let ticket = match admission.admit(peer.ip()) {
            Ok(ticket) => ticket,
            Err(_) => {
                // A fresh socket's send buffer is empty, so this never waits; if the client
                // is already gone there is nobody to tell.
                let _ = stream.try_write(connections::REFUSAL);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let activity = Activity::new();
        let files = sendfile::Files::default();
        let sending = files.clone();
        let service = hyper::service::service_fn({
            let activity = activity.clone();
            move |mut req: Request<hyper::body::Incoming>| {
                let in_flight = activity.begin();
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                // HTTP/2 copies body frames into its own buffers, so only HTTP/1 responses
                // may carry a file for `sendfile`.
                if matches!(req.version(), Version::HTTP_10 | Version::HTTP_11) {
                    req.extensions_mut().insert(files.clone());
                }
                let response = app.clone().oneshot(req.map(axum::body::Body::new));
                async move {
                    let response = response.await?;
                    Ok::<_, std::convert::Infallible>(
                        response.map(|body| TrackedBody::wrap(body, in_flight)),
                    )
                }
            }
        });
        let watcher = graceful.watcher();
        let admission = admission.clone();
        let protocols = protocols.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let _ticket = ticket;
            let header_timeout = admission.limits().header_timeout;
            let http2 = tokio::select! {
                opens = tokio::time::timeout(header_timeout, opens_with_http2(&stream)) => {
                    match opens {
                        Ok(Ok(http2)) => http2,
                        // Silent for the whole header timeout, or gone.
                        Ok(Err(_)) | Err(_) => return,
                    }
                }
                _ = stop.wait_for(|stopping| *stopping) => return,
            };
            let builder = if http2 {
                &protocols.http2
            } else {
                &protocols.http1
            };
            let stream = sendfile::SendfileStream::new(stream, sending.clone());
            let connection = builder
                .serve_connection(TokioIo::new(stream), service)
                .into_owned();
            let mut connection = std::pin::pin!(watcher.watch(connection));
            loop {
                let wake = match activity.deadline(admission.limits()) {
                    // hyper is done with the response, but the kernel has yet to take all of
                    // a file: the connection is working, not idle.
                    Deadline::Expired if sending.is_sending() => {
                        tokio::time::Instant::now() + admission.limits().idle_timeout
                    }
                    Deadline::Expired => {
                        tracing::trace!(%peer, "closing an idle connection");
                        return;
                    }
                    Deadline::Busy(at) | Deadline::At(at) => at,
                };
                tokio::select! {
                    ended = &mut connection => {
                        if let Err(e) = ended {
                            tracing::trace!(error = %e, "connection ended with an error");
                        }
                        return;
                    }
                    _ = tokio::time::sleep_until(wake) => {}
                }
            }
        });
    }
    let _ = stopping.send(true);
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(grace) => {
            tracing::warn!("requests still running after the shutdown grace period; closing");
        }
    }
    Ok(())
}

/// The server's connection builders: HTTP/1, and HTTP/2 for clients that open with its preface
/// (cleartext, prior knowledge).
struct Protocols {
    http1: hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    http2: hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
}

/// The connection preface of HTTP/2 (RFC 9113 §3.4).
const HTTP2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Whether the client opens with HTTP/2's preface, looked at without taking the bytes from the
/// socket (so hyper's first read gets the whole request). Any HTTP/1 request differs from the
/// preface within its first two bytes; only a preface split across packets needs a second look.
async fn opens_with_http2(stream: &tokio::net::TcpStream) -> std::io::Result<bool> {
    let mut first = [0u8; HTTP2_PREFACE.len()];
    loop {
        let n = stream.peek(&mut first).await?;
        if n == 0 || first[..n] != HTTP2_PREFACE[..n] {
            // Closed (hyper sees the end too), or HTTP/1.
            return Ok(false);
        }
        if n == HTTP2_PREFACE.len() {
            return Ok(true);
        }
        // The bytes seen are still readable, so waiting for readiness would return at once.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[cfg(test)]
mod tests {
    /// HTTP/1 requests are told from HTTP/2's preface by their first bytes, whole or split.
    #[tokio::test]
    async fn the_protocol_is_told_by_the_first_bytes() {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        for (opening, http2) in [
            (&b"GET / HTTP/1.1\r\n"[..], false),
            (&b"POST /x HTTP/1.1\r\n"[..], false),
            (&b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0"[..], true),
        ] {
            for split in [opening.len(), 1, 5] {
                let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
                let (server, _) = listener.accept().await.unwrap();
                client.write_all(&opening[..split]).await.unwrap();
                let (told, _) = tokio::join!(super::opens_with_http2(&server), async {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    client.write_all(&opening[split..]).await.unwrap();
                });
                assert_eq!(told.unwrap(), http2, "{opening:?} split at {split}");
                // Nothing was taken from the socket.
                let mut all = vec![0u8; opening.len()];
                let mut seen = 0;
                while seen < all.len() {
                    seen = server.peek(&mut all).await.unwrap();
                }
                assert_eq!(all, opening);
            }
        }
        // A client that closes without a byte is not HTTP/2.
        let client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        drop(client);
        assert!(!super::opens_with_http2(&server).await.unwrap());
    }

    #[test]
    fn the_client_is_the_last_untrusted_address() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let headers = |name: &'static str, value: &str| {
            let mut h = axum::http::HeaderMap::new();
            h.insert(name, value.parse().unwrap());
            h
        };
        let ip = |s: &str| Some(s.parse::<std::net::IpAddr>().unwrap());
        // What a client wrote on the left is not believed; the proxies' own entries are skipped.
        let h = headers("x-forwarded-for", "198.51.100.9, 203.0.113.7, 10.0.0.2");
        assert_eq!(super::forwarded_for(&h, &trusted), ip("203.0.113.7"));
        let h = headers(
            "forwarded",
            r#"for=198.51.100.9, for="[2001:db8::1]:4711";proto=https"#,
        );
        assert_eq!(super::forwarded_for(&h, &trusted), ip("2001:db8::1"));
        let h = headers("x-forwarded-for", "10.0.0.3, 10.0.0.2");
        assert_eq!(super::forwarded_for(&h, &trusted), None);
        let h = headers("x-forwarded-for", "not an address");
        assert_eq!(super::forwarded_for(&h, &trusted), None);
    }
}
