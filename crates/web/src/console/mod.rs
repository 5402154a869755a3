//! The admin console at `/admin`: server-rendered pages (askama) over the same use cases as the
//! API, signed in with a password and a session cookie.
//!
//! Protection: the session cookie is `HttpOnly`, `SameSite=Strict`, scoped to `/admin` and
//! `Secure` when the public URL is https; every form carries the session's CSRF token; a POST
//! whose `Origin` is another site is refused; failed sign-ins lock the account (and the
//! client) out for a while; pages carry a strict CSP, `frame-ancestors 'none'`, a same-origin
//! referrer policy and `no-store`.

mod charts;

use std::net::SocketAddr;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use depot_service::{
    AuditEntry, AuditQuery, Depot, DownloadLogEntry, DownloadLogQuery, ExtensionView,
    ReleaseChanges, ReleaseView, SESSION_LIFETIME, ServiceError, Session,
};
use serde::Deserialize;
use subtle::ConstantTimeEq;

const COOKIE: &str = "depot_admin";

pub fn router() -> Router<Depot> {
    Router::new()
        .route("/", get(dashboard))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/extensions", get(extensions))
        .route(
            "/extensions/{extension}/releases/{version}/state",
            post(change_state),
        )
        .route("/audit", get(audit))
        .route("/downloads", get(downloads))
        .route("/static/console.css", get(stylesheet))
        .layer(axum::middleware::map_response(security_headers))
}

async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Not `no-referrer`: with it, browsers send `Origin: null` on our own form posts, and the
    // origin check could not tell them from a forged one. `same-origin` still sends nothing to
    // any other site.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
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

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/console.css"),
    )
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A signed-in administrator; anyone else is sent to the sign-in page.
pub struct SignedIn(Session);

impl FromRequestParts<Depot> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, depot: &Depot) -> Result<Self, Response> {
        let token = cookie_value(&parts.headers, COOKIE).unwrap_or_default();
        match depot.admin_session(token).await {
            Ok(Some(session)) => Ok(SignedIn(session)),
            Ok(None) => Err(Redirect::to("/admin/login").into_response()),
            Err(e) => Err(failure(e)),
        }
    }
}

/// A form the browser posted from one of our pages: its `Origin` (when sent) is ours.
fn same_origin(depot: &Depot, headers: &HeaderMap) -> bool {
    match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
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

fn forbidden(why: &str) -> Response {
    (StatusCode::FORBIDDEN, why.to_string()).into_response()
}

/// Checks a session form: same origin and the session's CSRF token. `Err` holds the refusal
/// to show.
fn check_form(
    depot: &Depot,
    headers: &HeaderMap,
    session: &Session,
    csrf: &str,
) -> Result<(), &'static str> {
    if !same_origin(depot, headers) {
        return Err("This form was posted from another site.");
    }
    if !bool::from(csrf.as_bytes().ct_eq(session.csrf.as_bytes())) {
        return Err("This form has expired: reload the page and try again.");
    }
    Ok(())
}

fn failure(e: ServiceError) -> Response {
    tracing::error!(error = %e, "console request failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal error; see the server log.",
    )
        .into_response()
}

/// The part of every page the layout needs.
struct Who<'a> {
    email: &'a str,
    csrf: &'a str,
}

fn who(session: &Session) -> Option<Who<'_>> {
    Some(Who {
        email: &session.email,
        csrf: &session.csrf,
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

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
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
    if !same_origin(&depot, &headers) {
        return forbidden("This form was posted from another site.");
    }
    match depot
        .sign_in_admin(&form.email, &form.password, &peer.ip().to_string())
        .await
    {
        Ok(new) => {
            let secure = if depot.settings().public_url.starts_with("https://") {
                "; Secure"
            } else {
                ""
            };
            let cookie = format!(
                "{COOKIE}={}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
                new.token,
                SESSION_LIFETIME.as_secs()
            );
            ([(header::SET_COOKIE, cookie)], Redirect::to("/admin")).into_response()
        }
        Err(ServiceError::RateLimited { retry_after_secs }) => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, retry_after_secs.to_string())],
            LockedPage {
                signed_in: None,
                flash: None,
                minutes: retry_after_secs.div_ceil(60),
            },
        )
            .into_response(),
        Err(ServiceError::Forbidden(why)) => (
            StatusCode::UNAUTHORIZED,
            LoginPage {
                signed_in: None,
                flash: None,
                error: Some(&why),
                email: &form.email,
            },
        )
            .into_response(),
        Err(e) => failure(e),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(depot): State<Depot>,
    SignedIn(session): SignedIn,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(why) = check_form(&depot, &headers, &session, &form.csrf) {
        return forbidden(why);
    }
    let token = cookie_value(&headers, COOKIE)
        .unwrap_or_default()
        .to_string();
    if let Err(e) = depot.sign_out(&token).await {
        return failure(e);
    }
    (
        [(
            header::SET_COOKIE,
            format!("{COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0"),
        )],
        Redirect::to("/admin/login"),
    )
        .into_response()
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

async fn dashboard(State(depot): State<Depot>, SignedIn(session): SignedIn) -> Response {
    let d = match depot.dashboard(30).await {
        Ok(d) => d,
        Err(e) => return failure(e),
    };
    DashboardPage {
        signed_in: who(&session),
        flash: None,
        extensions: d.extensions,
        days: d.days,
        downloads_chart: charts::bars(&d.downloads_per_day, 7, "Downloads per day"),
        versions_chart: charts::bars(&d.joomla_versions, 1, "Update checks per Joomla version"),
        joomla_versions: d.joomla_versions,
    }
    .into_response()
}

struct ExtensionRow {
    view: ExtensionView,
    releases: Vec<ReleaseView>,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/extensions.html")]
struct ExtensionsPage<'a> {
    signed_in: Option<Who<'a>>,
    flash: Option<&'a str>,
    csrf: &'a str,
    extensions: Vec<ExtensionRow>,
}

async fn extensions(State(depot): State<Depot>, SignedIn(session): SignedIn) -> Response {
    let result = async {
        let mut rows = Vec::new();
        for view in depot.list_extensions().await? {
            let releases = depot.list_releases(&view.name).await?;
            rows.push(ExtensionRow { view, releases });
        }
        Ok::<_, ServiceError>(rows)
    }
    .await;
    match result {
        Ok(extensions) => ExtensionsPage {
            signed_in: who(&session),
            flash: None,
            csrf: &session.csrf,
            extensions,
        }
        .into_response(),
        Err(e) => failure(e),
    }
}

#[derive(Deserialize)]
struct StateForm {
    csrf: String,
    state: String,
}

async fn change_state(
    State(depot): State<Depot>,
    SignedIn(session): SignedIn,
    Path((extension, version)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<StateForm>,
) -> Response {
    if let Err(why) = check_form(&depot, &headers, &session, &form.csrf) {
        return forbidden(why);
    }
    let changes = ReleaseChanges {
        state: Some(form.state),
        notes: None,
    };
    match depot
        .change_release(&session.actor(), &extension, &version, changes)
        .await
    {
        Ok(_) => Redirect::to(&format!("/admin/extensions#{extension}")).into_response(),
        Err(
            e @ (ServiceError::Invalid { .. }
            | ServiceError::Conflict(_)
            | ServiceError::NotFound { .. }),
        ) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
        Err(e) => failure(e),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/audit.html")]
struct AuditPage<'a> {
    signed_in: Option<Who<'a>>,
    flash: Option<&'a str>,
    entries: Vec<AuditEntry>,
}

async fn audit(State(depot): State<Depot>, SignedIn(session): SignedIn) -> Response {
    let query = AuditQuery {
        limit: Some(200),
        ..AuditQuery::default()
    };
    match depot.audit_log(query).await {
        Ok(page) => AuditPage {
            signed_in: who(&session),
            flash: None,
            entries: page.items,
        }
        .into_response(),
        Err(e) => failure(e),
    }
}

/// The download log's filter form, as typed: empty fields are no filter.
#[derive(Default, Deserialize)]
#[serde(default)]
struct DownloadFilter {
    extension: String,
    version: String,
    user: String,
    status: String,
    from: String,
    until: String,
    before: Option<i64>,
}

impl DownloadFilter {
    fn query(&self) -> Result<DownloadLogQuery, String> {
        let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let status = match text(&self.status) {
            None => None,
            Some(s) => Some(
                s.parse::<i64>()
                    .map_err(|_| format!("Status {s:?} is not a number (200, 403, …)"))?,
            ),
        };
        Ok(DownloadLogQuery {
            extension: text(&self.extension),
            version: text(&self.version),
            user: text(&self.user),
            status,
            from: text(&self.from),
            until: text(&self.until),
            before: self.before,
            limit: Some(100),
            ..DownloadLogQuery::default()
        })
    }

    /// The query string of the next (older) page.
    fn older(&self, before: i64) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("extension", self.extension.as_str()),
                ("version", &self.version),
                ("user", &self.user),
                ("status", &self.status),
                ("from", &self.from),
                ("until", &self.until),
            ])
            .append_pair("before", &before.to_string())
            .finish()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/downloads.html")]
struct DownloadsPage<'a> {
    signed_in: Option<Who<'a>>,
    flash: Option<&'a str>,
    filter: DownloadFilter,
    error: Option<String>,
    entries: Vec<DownloadLogEntry>,
    older: Option<String>,
}

async fn downloads(
    State(depot): State<Depot>,
    SignedIn(session): SignedIn,
    filter: Result<axum::extract::Query<DownloadFilter>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let filter = filter.map(|q| q.0).unwrap_or_default();
    let result = match filter.query() {
        Ok(q) => depot.download_log(q).await.map_err(|e| match e {
            ServiceError::Invalid { .. } | ServiceError::NotFound { .. } => Ok(e.to_string()),
            e => Err(e),
        }),
        Err(why) => Err(Ok(why)),
    };
    let (entries, older, error) = match result {
        Ok(page) => (page.items, page.next_before.map(|b| filter.older(b)), None),
        Err(Ok(why)) => (Vec::new(), None, Some(why)),
        Err(Err(e)) => return failure(e),
    };
    DownloadsPage {
        signed_in: who(&session),
        flash: None,
        filter,
        error,
        entries,
        older,
    }
    .into_response()
}
