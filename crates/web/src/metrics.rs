//! `/metrics`: Prometheus's text format, from the process-wide recorder installed on first use.
//! Requests are timed by `observe` (by route, method and status); the use cases count their own events
//! (`depot_service::metrics`), and the gauges that are read rather than counted are read at each
//! scrape.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use depot_service::Depot;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests by `route` (the route's pattern, never the path: bounded, and no keys or
/// addresses), `method` and `status`: a histogram of seconds, whose `_count` is the requests.
pub const REQUESTS: &str = "depot_http_request_duration_seconds";
/// `REL_…` refusals by `code`, wherever they are answered (downloads, the jBackend API).
pub const REFUSALS: &str = "depot_refusals_total";
/// 1, labelled with the `version` of the running binary.
pub const BUILD_INFO: &str = "depot_build_info";

/// From a cached feed (tens of microseconds) to a large download on a slow line.
const REQUEST_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The recorder, installed once per process (the facade's recorder is global; tests start
/// many servers in one process and share it).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(REQUESTS.into()), REQUEST_BUCKETS)
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics stays empty");
        }
        metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        // Histogram samples wait in a buffer until folded into their buckets, which a scrape
        // does; this bounds the buffer when nothing scrapes.
        let upkeep = handle.clone();
        std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                }
            })
            .expect("a thread starts");
        handle
    })
}

/// The request histograms this thread has used, by route pattern, then method and status: a
/// request finds its histogram without building a label set or taking the registry's lock.
type Histograms = HashMap<String, HashMap<(&'static str, u16), metrics::Histogram>>;

/// Any token is a method to HTTP; the label takes the usual ones, so that a client cannot grow
/// the metrics without bound.
pub(crate) fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

thread_local! {
    static HISTOGRAMS: RefCell<Histograms> = RefCell::new(HashMap::new());
}

/// The histogram of `route`, `method` and `status`, registered on this thread's first use.
pub(crate) fn request_histogram(
    route: &str,
    method: &'static str,
    status: StatusCode,
) -> metrics::Histogram {
    HISTOGRAMS.with_borrow_mut(|by_route| {
        let by_request = match by_route.get_mut(route) {
            Some(m) => m,
            None => by_route.entry(route.to_string()).or_default(),
        };
        by_request
            .entry((method, status.as_u16()))
            .or_insert_with(|| {
                metrics::histogram!(
                    REQUESTS,
                    "route" => route.to_string(),
                    "method" => method,
                    "status" => status.as_str().to_string(),
                )
            })
            .clone()
    })
}

/// `GET /metrics`: public unless `metrics_token` is set, then only with it as a bearer token.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    summary = "Prometheus metrics",
    description = "Prometheus's text format: requests by route and status with latency \
                   histograms, feed cache, downloads and bytes, refusals by code, rate limits, \
                   the mail outbox, the database pool, build info. With `metrics_token` \
                   configured, only with it as a bearer token.",
    responses(
        (status = 200, description = "The metrics", content_type = "text/plain", body = String),
        (status = 401, description = "`metrics_token` is set and was not given", content_type = "text/plain", body = String),
    )
)]
pub(crate) async fn metrics(
    State(depot): State<Depot>,
    headers: axum::http::HeaderMap,
) -> Response {
    if let Some(token) = &depot.settings().metrics_token {
        let given = crate::params::bearer(&headers).unwrap_or_default();
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            given.as_bytes(),
            token.expose(),
        )) {
            let mut refused =
                (StatusCode::UNAUTHORIZED, "metrics need the token\n").into_response();
            refused.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"metrics\""),
            );
            return refused;
        }
    }
    depot.record_gauges().await;
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        handle().render(),
    )
        .into_response()
}
