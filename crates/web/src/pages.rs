//! What the browser pages (the admin console and the customer account pages) share: session
//! cookies, the check that a form was posted from one of our own pages, security headers and the
//! answer to a failure.
//!
//! Protection: session cookies are `HttpOnly`, `SameSite=Strict`, scoped to their area and
//! `Secure` when the public URL is https; every form carries the session's CSRF token; a POST
//! from another site is refused; pages carry a strict CSP, `frame-ancestors 'none'`,
//! `no-referrer` (keys are on these pages, and the password link is in a URL) and `no-store`.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use depot_service::{Depot, ServiceError, Session};
use serde::Deserialize;
use subtle::ConstantTimeEq;

/// The pages' policy: everything from depot itself; images also from `data:`.
const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; \
                   img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(crate) async fn security_headers(response: Response) -> Response {
    with_security_headers(response, HeaderValue::from_static(CSP))
}

/// The policy of pages that show the vendor's logo (`branding.logo_url`): its origin may serve
/// images too.
pub(crate) fn branded_csp(depot: &Depot) -> HeaderValue {
    let origin = depot
        .settings()
        .branding
        .logo_url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .map(|u| u.origin().ascii_serialization())
        .filter(|o| o != "null");
    match origin {
        Some(origin) => HeaderValue::from_str(&CSP.replace(
            "img-src 'self' data:",
            &format!("img-src 'self' data: {origin}"),
        ))
        .unwrap_or_else(|_| HeaderValue::from_static(CSP)),
        None => HeaderValue::from_static(CSP),
    }
}

pub(crate) fn with_security_headers(mut response: Response, csp: HeaderValue) -> Response {
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The pages' stylesheet and script, compiled in: no build step, no file to deploy.
pub(crate) fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

pub(crate) fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A session cookie for the pages under `path`; an empty token with no lifetime clears it.
pub(crate) fn session_cookie(
    depot: &Depot,
    name: &str,
    path: &str,
    token: &str,
    lifetime: Duration,
) -> String {
    let secure = if depot.settings().public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{name}={token}; Path={path}; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        lifetime.as_secs()
    )
}

/// Whether a form was posted from one of depot's own pages. Browsers say so in
/// `Sec-Fetch-Site`, whatever the page's referrer policy; under `no-referrer` their `Origin`
/// is only `null`. Without `Sec-Fetch-Site` (older browsers), `Origin` must be ours when sent;
/// a client that sends neither is not a browser posting a form from another site.
pub(crate) fn same_origin(depot: &Depot, headers: &HeaderMap) -> bool {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return site == "same-origin";
    }
    match header(header::ORIGIN.as_str()) {
        None => true,
        Some(origin) => {
            let public = depot.settings().public_url.trim_end_matches('/');
            // The public URL without its path: scheme://host[:port].
            let end = public
                .find("://")
                .and_then(|i| public[i + 3..].find('/').map(|j| i + 3 + j))
                .unwrap_or(public.len());
            origin == &public[..end]
        }
    }
}

pub(crate) const FOREIGN_FORM: &str = "This form was posted from another site.";

fn forbidden(why: &str) -> Response {
    (StatusCode::FORBIDDEN, why.to_string()).into_response()
}

/// Checks a session form: same origin and the session's CSRF token.
pub(crate) fn check_form(
    depot: &Depot,
    headers: &HeaderMap,
    session: &Session,
    csrf: &str,
) -> Result<(), PageError> {
    if !same_origin(depot, headers) {
        return Err(PageError::Forbidden(FOREIGN_FORM));
    }
    if !bool::from(csrf.as_bytes().ct_eq(session.csrf.as_bytes())) {
        return Err(PageError::Forbidden(
            "This form has expired: reload the page and try again.",
        ));
    }
    Ok(())
}

/// What a page answers when it cannot show what was asked, so that page handlers use `?`.
/// (A refusal the user can act on is not one of these: each page shows it in its own words,
/// see `submit`.)
#[derive(Debug)]
pub(crate) enum PageError {
    /// A form from another site, or with a stale CSRF token: 403, in words.
    Forbidden(&'static str),
    /// A failure that is not the user's: logged, and a plain 500 without details.
    Failed(ServiceError),
}

impl From<ServiceError> for PageError {
    fn from(e: ServiceError) -> Self {
        PageError::Failed(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Forbidden(why) => forbidden(why),
            PageError::Failed(e) => failure(e),
        }
    }
}

/// A page handler's answer.
pub(crate) type PageResult<T = Response> = Result<T, PageError>;

/// A failure that is not the user's: logged, and a plain page without details (`503` with
/// `Retry-After` while the database is away, else `500`).
fn failure(e: ServiceError) -> Response {
    if let Some(secs) = e.retry_after_secs() {
        tracing::warn!(error = %e, "page request failed: the database is unavailable");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(axum::http::header::RETRY_AFTER, secs.to_string())],
            "Temporarily unavailable; try again in a few seconds.",
        )
            .into_response();
    }
    tracing::error!(error = %e, "page request failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal error; see the server log.",
    )
        .into_response()
}

/// A refusal the user can act on (a bad date, a taken label, an unknown user) in words, or
/// `Err` with the error for anything else (see `failure`).
pub(crate) fn user_error(e: ServiceError) -> Result<String, PageError> {
    match e {
        ServiceError::Invalid { .. }
        | ServiceError::Conflict(_)
        | ServiceError::NotFound { .. }
        | ServiceError::Mismatch(_)
        | ServiceError::Forbidden(_)
        | ServiceError::TooLarge(_)
        | ServiceError::Package(_)
        | ServiceError::UploadAborted(_)
        | ServiceError::RateLimited { .. } => Ok(e.to_string()),
        e => Err(PageError::Failed(e)),
    }
}

/// The answer to a checked form (`sessions::SessionForm`): a redirect to `back` with the
/// change's `done` code (the page shows the matching message), or `refuse(why)` when the change
/// was refused for a reason the user can act on.
pub(crate) fn answer(
    back: &str,
    outcome: Result<&'static str, ServiceError>,
    refuse: impl FnOnce(&str) -> Response,
) -> Response {
    match outcome {
        Ok(done) => {
            let sep = if back.contains('?') { '&' } else { '?' };
            Redirect::to(&format!("{back}{sep}done={done}")).into_response()
        }
        Err(e) => match user_error(e) {
            Ok(why) => refuse(&why),
            Err(e) => e.into_response(),
        },
    }
}

/// The `?done=code` a page gets after a form redirected to it (see `submit`).
#[derive(Default, Deserialize)]
pub(crate) struct Done {
    pub done: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    pub email: String,
    pub password: String,
}

/// A form that carries nothing but the session's CSRF token (a button).
#[derive(Deserialize)]
pub(crate) struct CsrfOnly {
    pub csrf: String,
}

crate::sessions::csrf_field!(CsrfOnly);

/// The part of every page the layout needs.
pub(crate) struct Who<'a> {
    pub email: &'a str,
    pub csrf: &'a str,
}

pub(crate) fn who(session: &Session) -> Option<Who<'_>> {
    Some(Who {
        email: &session.email,
        csrf: &session.csrf,
    })
}
