//! The two error families depot answers with.
//!
//! - The admin API (`/api/v1`): `{"errors":[{"code":"…","detail":"…"}]}` with a fitting status.
//! - Downloads and the jBackend API: `{"status":"ko","error_code":"REL_…","error_description":"…"}`,
//!   never with status 200 (Joomla would save the JSON as the package).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use depot_api::jbackend::Refused;
use depot_core::Refusal;
use depot_service::ServiceError;

/// Logs an internal failure with its cause; the client gets a generic message.
fn log_internal(e: &ServiceError) {
    tracing::error!(error = %e, "internal error");
}

/// The database is away: a warning with its cause, at most every ten seconds with the number of
/// requests answered 503 meanwhile, so that an outage does not flood the log.
fn log_unavailable(e: &ServiceError) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static ORIGIN: std::sync::LazyLock<std::time::Instant> =
        std::sync::LazyLock::new(std::time::Instant::now);
    static NEXT_WARNING_MS: AtomicU64 = AtomicU64::new(0);
    static ANSWERED: AtomicU64 = AtomicU64::new(0);
    let answered = ANSWERED.fetch_add(1, Ordering::Relaxed) + 1;
    let now = ORIGIN.elapsed().as_millis() as u64;
    let due = NEXT_WARNING_MS.load(Ordering::Relaxed);
    if now >= due
        && NEXT_WARNING_MS
            .compare_exchange(due, now + 10_000, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        ANSWERED.fetch_sub(answered, Ordering::Relaxed);
        tracing::warn!(error = %e, answered, "answered 503: the database is unavailable");
    }
}

/// An admin API error.
#[derive(Debug)]
pub struct ApiError(pub ServiceError);

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        ApiError(e)
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match &self.0 {
            ServiceError::Invalid { .. } | ServiceError::UploadAborted(_) => {
                StatusCode::BAD_REQUEST
            }
            // A package that expands too far is bad content, not a too-large request body.
            ServiceError::Package(_) | ServiceError::Mismatch(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ServiceError::NotFound { .. } => StatusCode::NOT_FOUND,
            ServiceError::Conflict(_) => StatusCode::CONFLICT,
            ServiceError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ServiceError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ServiceError::Forbidden(_) | ServiceError::Denied { .. } => StatusCode::FORBIDDEN,
            ServiceError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ServiceError::Unavailable(_) | ServiceError::SourceUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ServiceError::Store(_)
            | ServiceError::Storage(_)
            | ServiceError::Mail(_)
            | ServiceError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match status {
            StatusCode::INTERNAL_SERVER_ERROR => {
                log_internal(&self.0);
                "internal error; see the server log".to_string()
            }
            StatusCode::SERVICE_UNAVAILABLE => match &self.0 {
                ServiceError::SourceUnavailable(description) => description.clone(),
                other => {
                    log_unavailable(other);
                    Refusal::Unavailable.description().to_string()
                }
            },
            _ => self.0.to_string(),
        };
        let mut resp = (
            status,
            Json(depot_api::ErrorBody::one(self.0.code(), detail)),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.0.retry_after_secs() {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// A download / jBackend error, with the codes of docs/product.md §4.
#[derive(Debug)]
pub struct ReleaseError {
    pub refusal: Refusal,
    pub description: String,
    /// Seconds for `Retry-After` (rate limiting).
    pub retry_after: Option<u64>,
}

impl ReleaseError {
    /// A refusal with its default description.
    pub fn new(refusal: Refusal) -> Self {
        ReleaseError {
            refusal,
            description: refusal.description().into(),
            retry_after: None,
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.refusal.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<ServiceError> for ReleaseError {
    fn from(e: ServiceError) -> Self {
        let Some(refusal) = e.refusal() else {
            log_internal(&e);
            return ReleaseError::new(Refusal::Internal);
        };
        if refusal == Refusal::Unavailable {
            log_unavailable(&e);
        }
        let retry_after = e.retry_after_secs();
        match e {
            ServiceError::Denied { description, .. }
            | ServiceError::Invalid {
                detail: description,
                ..
            } => ReleaseError {
                description,
                ..ReleaseError::new(refusal)
            },
            ServiceError::SourceUnavailable(description) => ReleaseError {
                description,
                retry_after,
                ..ReleaseError::new(refusal)
            },
            _ => ReleaseError {
                retry_after,
                ..ReleaseError::new(refusal)
            },
        }
    }
}

impl IntoResponse for ReleaseError {
    fn into_response(self) -> Response {
        metrics::counter!(crate::metrics::REFUSALS, "code" => self.refusal.code()).increment(1);
        let mut resp = (
            self.status(),
            Json(Refused {
                status: "ko".into(),
                error_code: self.refusal.code().into(),
                error_description: self.description,
            }),
        )
            .into_response();
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}
