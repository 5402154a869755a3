//! What every console form shares: the refusal page in words, with a link back.

use crate::pages::Who;
use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use depot_service::ServiceError;

use crate::sessions::{Console, SessionForm};

/// What a console form does after its checks: `Ok` with the `done` code of the message to
/// show, or the service's refusal.
pub(super) type Outcome = Result<&'static str, ServiceError>;

/// A console form, checked before its handler runs (see `SessionForm`).
pub(super) type ConsoleForm<T> = SessionForm<Console, T>;

/// Back to `back` with the change's message, or the console's refusal page linking back there.
pub(super) fn answer(back: &str, outcome: Outcome) -> Response {
    crate::pages::answer(back, outcome, |why| refusal(back, why))
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
