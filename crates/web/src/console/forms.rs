//! What every console form shares: the refusal page in words, with a link back.

use crate::pages::Who;
use askama::Template;
use askama_web::WebTemplate;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use depot_service::{Depot, ServiceError, Session};

/// What a console form does after its checks: `Ok` with the `done` code of the message to
/// show, or the service's refusal.
pub(super) type Outcome = Result<&'static str, ServiceError>;

/// `pages::submit` with the console's refusal page, which links back to `back`.
pub(super) async fn submit(
    depot: &Depot,
    session: &Session,
    headers: &HeaderMap,
    csrf: &str,
    back: &str,
    change: impl Future<Output = Outcome>,
) -> Response {
    let refuse = |why: &str| refusal(back, why);
    crate::pages::submit(depot, session, headers, csrf, back, change, refuse).await
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/refused.html")]
struct RefusedPage<'a> {
    signed_in: Option<Who<'a>>,
    flash: Option<&'a str>,
    why: &'a str,
    back: &'a str,
}

pub(super) fn refusal(back: &str, why: &str) -> Response {
    let page = RefusedPage {
        signed_in: None,
        flash: None,
        why,
        back,
    };
    (StatusCode::BAD_REQUEST, page).into_response()
}

pub(super) fn typed(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|s| !s.is_empty())
}
