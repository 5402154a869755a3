//! The admin console at `/admin`: server-rendered pages (askama) over the same use cases as the
//! API, signed in with a password and a session cookie (see `crate::pages` for the protection
//! every page and form gets). Failed sign-ins lock the account, and the client, out for a while.

mod audit;
mod charts;
mod extensions;
mod forms;
mod groups;
mod keys;
mod memberships;
mod package_groups;
mod releases;
mod reports;
mod users;

use std::net::SocketAddr;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use depot_core::ReleaseState;
use depot_service::Depot;

use crate::pages::{FOREIGN_FORM, LoginForm, Who, asset, who};
use crate::pages::{PageError, PageResult};
use crate::sessions::{Console, SignInRefused, SignedIn, sign_in, sign_out};

pub fn router() -> Router<Depot> {
    Router::new()
        .route("/", get(dashboard))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(sign_out::<Console>))
        .merge(extensions::routes())
        .merge(releases::routes())
        .merge(users::routes())
        .merge(memberships::routes())
        .merge(keys::routes())
        .merge(groups::routes())
        .merge(package_groups::routes())
        .merge(audit::routes())
        .merge(reports::routes())
        .route("/static/console.css", get(stylesheet))
        .route("/static/pages.js", get(script))
        .route("/static/favicon.svg", get(favicon))
        .layer(axum::middleware::map_response(
            crate::pages::security_headers,
        ))
}

pub(crate) async fn stylesheet() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../static/console.css"),
    )
}

pub(crate) async fn favicon() -> Response {
    asset("image/svg+xml", include_str!("../../static/favicon.svg"))
}

pub(crate) async fn script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../static/pages.js"),
    )
}

/// The message a page shows after a change redirected to it (`?done=…`): fixed texts only, so
/// that a link cannot make the console say anything else.
fn done_message(code: Option<&str>) -> Option<&'static str> {
    let code = code?;
    if let Ok(state) = code.parse::<ReleaseState>() {
        return match state {
            ReleaseState::Published => Some("Published."),
            ReleaseState::Yanked => Some("Yanked: sites no longer see this release."),
            ReleaseState::Draft => None,
        };
    }
    Some(match code {
        "uploaded" => "Uploaded.",
        "notes" => "Notes saved.",
        "deleted" => "Draft deleted.",
        "extension" => "Extension saved: feeds show the change now.",
        "user" => "User saved.",
        "membership" => "Membership added.",
        "ended" => "Membership ended.",
        "key" => "Download key created.",
        "revoked" => "Key revoked: it no longer downloads anything.",
        "rotated" => "jBackend key replaced: the old one no longer works.",
        "resent" => "The keys are on their way by e-mail.",
        "link" => "A password link is on its way by e-mail.",
        "group" => "Group created.",
        "package_group" => "Package group created.",
        _ => return None,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/login.html")]
struct LoginPage<'a> {
    signed_in: Option<Who<'a>>,
    flash: Option<&'a str>,
    error: Option<&'a str>,
    email: &'a str,
}

async fn login_page() -> LoginPage<'static> {
    LoginPage {
        signed_in: None,
        flash: None,
        error: None,
        email: "",
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/locked.html")]
struct LockedPage<'a> {
    signed_in: Option<Who<'a>>,
    flash: Option<&'a str>,
    minutes: u64,
}

async fn login(
    State(depot): State<Depot>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    match sign_in::<Console>(&depot, peer, &headers, &form).await {
        Ok(home) => home,
        Err(SignInRefused::Locked { retry_after_secs }) => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, retry_after_secs.to_string())],
            LockedPage {
                signed_in: None,
                flash: None,
                minutes: retry_after_secs.div_ceil(60),
            },
        )
            .into_response(),
        Err(SignInRefused::Wrong(why)) => (
            StatusCode::UNAUTHORIZED,
            LoginPage {
                signed_in: None,
                flash: None,
                error: Some(&why),
                email: &form.email,
            },
        )
            .into_response(),
        Err(SignInRefused::Foreign) => PageError::Forbidden(FOREIGN_FORM).into_response(),
        Err(SignInRefused::Failed(e)) => PageError::Failed(e).into_response(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage<'a> {
    signed_in: Option<Who<'a>>,
    flash: Option<&'a str>,
    extensions: usize,
    days: i64,
    joomla_versions: Vec<(String, i64)>,
    downloads_chart: String,
    versions_chart: String,
}

async fn dashboard(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
) -> PageResult {
    let d = depot.dashboard(30).await?;
    Ok(DashboardPage {
        signed_in: who(&session),
        flash: None,
        extensions: d.extensions,
        days: d.days,
        downloads_chart: charts::bars(&d.downloads_per_day, 7, "Downloads per day"),
        versions_chart: charts::bars(&d.joomla_versions, 1, "Update checks per Joomla version"),
        joomla_versions: d.joomla_versions,
    }
    .into_response())
}
