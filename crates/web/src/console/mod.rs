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
mod sales;
mod users;
mod webhooks;

use std::net::SocketAddr;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use depot_api::Statistics;
use depot_core::ReleaseState;
use depot_service::{Depot, ServiceError};

use crate::pages::{FOREIGN_FORM, LoginForm, Who, asset, who};
use crate::pages::{PageError, PageResult};
use crate::sessions::{Console, SignInRefused, SignedIn, sign_in, sign_out};

pub fn router() -> Router<Depot> {
    Router::new()
        .route("/", get(dashboard))
        .route("/statistics.csv", get(statistics_csv))
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
        .merge(sales::routes())
        .merge(webhooks::routes())
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
        "rollout" => "Rollout changed: feeds follow it now.",
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
        "price" => "Price mapped: its payments now give the group.",
        "unmapped" => "Price no longer mapped.",
        "webhook" => "Endpoint added: its secret is in the list.",
        "webhook_on" => "Endpoint on: what waited for it is on its way.",
        "webhook_off" => "Endpoint off: events for it are no longer kept.",
        "webhook_deleted" => "Endpoint deleted.",
        "resent_webhook" => "The event is on its way again.",
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
    /// Every extension's name, for the selector.
    names: Vec<String>,
    s: Statistics,
    /// The query string of this view (for the CSV link).
    query: String,
    error: Option<String>,
    downloads_chart: String,
    checks_chart: String,
    versions_chart: String,
}

/// What the statistics show: one extension or all, the last days.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct StatisticsView {
    extension: String,
    days: Option<i64>,
}

impl StatisticsView {
    fn extension(&self) -> Option<&str> {
        Some(self.extension.trim()).filter(|e| !e.is_empty())
    }

    fn days(&self) -> i64 {
        self.days.unwrap_or(30).clamp(1, 366)
    }

    fn query(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("extension", self.extension.trim())
            .append_pair("days", &self.days().to_string())
            .finish()
    }
}

fn day_values(days: &[depot_api::DayCount]) -> Vec<(String, i64)> {
    days.iter().map(|d| (d.day.clone(), d.count)).collect()
}

/// The console's first page: the statistics, of every extension or the one chosen.
async fn dashboard(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Query(view): Query<StatisticsView>,
) -> PageResult {
    let actor = session.actor();
    let (s, error) = match depot
        .statistics(&actor, view.extension(), view.days())
        .await
    {
        Ok(s) => (s, None),
        Err(e @ ServiceError::NotFound { .. }) => (
            depot.statistics(&actor, None, view.days()).await?,
            Some(format!("{e}: showing every extension")),
        ),
        Err(e) => return Err(e.into()),
    };
    let label_every = (s.days as usize / 5).max(1);
    let versions: Vec<(String, i64)> = s
        .joomla_versions
        .iter()
        .map(|v| (v.name.clone(), v.count))
        .collect();
    Ok(DashboardPage {
        signed_in: who(&session),
        flash: None,
        names: depot
            .list_extensions(&actor)
            .await?
            .into_iter()
            .map(|e| e.name)
            .collect(),
        downloads_chart: charts::bars(
            &day_values(&s.downloads_per_day),
            label_every,
            "Downloads per day",
        ),
        checks_chart: charts::bars(
            &day_values(&s.checks_per_day),
            label_every,
            "Update checks per day",
        ),
        versions_chart: charts::bars(&versions, 1, "Update checks per Joomla version"),
        query: view.query(),
        error,
        s,
    }
    .into_response())
}

/// The same numbers as the page, as CSV (one row per number: `metric,day,name,count,bytes`).
async fn statistics_csv(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Query(view): Query<StatisticsView>,
) -> PageResult {
    let s = depot
        .statistics(&session.actor(), view.extension(), view.days())
        .await?;
    let filename = format!(
        "depot-statistics-{}-{}d.csv",
        view.extension().unwrap_or("all"),
        s.days
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        statistics_to_csv(&s),
    )
        .into_response())
}

/// A CSV field: quoted when it holds a separator, a quote or a line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn statistics_to_csv(s: &Statistics) -> String {
    let mut out = String::from("metric,day,name,count,bytes\n");
    let mut row = |metric: &str, day: &str, name: &str, count: i64, bytes: Option<i64>| {
        out.push_str(&format!(
            "{metric},{},{},{count},{}\n",
            csv_field(day),
            csv_field(name),
            bytes.map(|b| b.to_string()).unwrap_or_default()
        ));
    };
    for d in &s.downloads_per_day {
        row("downloads", &d.day, "", d.count, None);
    }
    for d in &s.checks_per_day {
        row("update_checks", &d.day, "", d.count, None);
    }
    row("active_sites_7_days", "", "", s.active_sites_7_days, None);
    row("active_sites_30_days", "", "", s.active_sites_30_days, None);
    for v in &s.joomla_versions {
        row("joomla_version", "", &v.name, v.count, None);
    }
    for r in &s.releases {
        let name = format!("{} {}", r.extension, r.version);
        row("release_downloads", "", &name, r.downloads, Some(r.bytes));
    }
    for r in &s.refusals {
        row("refusals", "", &r.name, r.count, None);
    }
    out
}
