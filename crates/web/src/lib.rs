//! depot's HTTP layer: one axum router per area over `depot-service`. Handlers extract, call a
//! use case and map the result; the rules live in the service and domain crates.

mod admin;
mod api;
mod downloads;
mod error;
mod feeds;
mod http_date;
mod jbackend;
mod params;
mod range;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use depot_service::Depot;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

pub use error::{ApiError, ReleaseError};

/// The whole application.
pub fn router(depot: Depot) -> Router {
    let x_request_id = header::HeaderName::from_static("x-request-id");
    Router::new()
        .route("/updates/{file}", get(feeds::update_feed))
        .route("/changelogs/{file}", get(feeds::changelog_feed))
        .route(
            "/download/{extension}/{version}/{filename}",
            get(downloads::by_path),
        )
        .route(
            "/get/release/download/{package_id}",
            get(downloads::by_package_id).post(downloads::by_package_id_post),
        )
        .route(
            "/post/release/keybymail/{group}",
            post(jbackend::key_by_mail),
        )
        .route(
            "/post/release/keybyauth/{group}",
            post(jbackend::key_by_auth),
        )
        .route("/post/release/validate/{group}", post(jbackend::validate))
        .nest("/api/v1", api::router())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        .with_state(depot)
        .layer(CatchPanicLayer::new())
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(
            // Spans carry the method and the *path* only: query strings hold download keys
            // and e-mail addresses, which never reach a log; nor do addresses in admin paths.
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    let path = loggable_path(req.uri().path());
                    tracing::info_span!("request", method = %req.method(), path = %path, id)
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
        ]))
}

/// The path with every segment that holds an e-mail address (`/api/v1/users/{user}/…`) masked.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    let is_address = |s: &str| s.contains('@') || s.to_ascii_lowercase().contains("%40");
    if !path.split('/').any(is_address) {
        return std::borrow::Cow::Borrowed(path);
    }
    path.split('/')
        .map(|s| if is_address(s) { "<email>" } else { s })
        .collect::<Vec<_>>()
        .join("/")
        .into()
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(depot): State<Depot>) -> Response {
    match depot.ready().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {e}\n")).into_response()
        }
    }
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets requests in flight finish
/// (for at most `grace`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        let _ = stopping_tx.send(());
    });
    let mut server = std::pin::pin!(server.into_future());
    tokio::select! {
        r = &mut server => r,
        _ = async {
            let _ = stopping_rx.await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!("requests still running after the shutdown grace period; closing");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_in_paths_are_masked() {
        assert_eq!(
            super::loggable_path("/api/v1/users/a@b.co/keys"),
            "/api/v1/users/<email>/keys"
        );
        assert_eq!(
            super::loggable_path("/api/v1/users/a%40b.co"),
            "/api/v1/users/<email>"
        );
        assert_eq!(
            super::loggable_path("/download/com_x/1.0.0/com_x-1.0.0.zip"),
            "/download/com_x/1.0.0/com_x-1.0.0.zip"
        );
    }
}
