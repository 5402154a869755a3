//! Extractors of depot's own.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

/// The request's headers, moved out of the request rather than copied (axum's `HeaderMap`
/// extractor clones the map: two allocations and a reference count per header, on every feed
/// and download request).
///
/// It leaves the request without headers, so it must come after every other extractor that
/// reads them, and never in a handler that also reads a body (`Form`, `Json` and `Bytes` look
/// at `Content-Type` and `Content-Length`).
pub(crate) struct RequestHeaders(pub HeaderMap);

impl<S: Send + Sync> FromRequestParts<S> for RequestHeaders {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestHeaders(std::mem::take(&mut parts.headers)))
    }
}
