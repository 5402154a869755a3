//! The customer account pages at `/account`: a user signs in (or sets a password through an
//! e-mailed link), sees their memberships and when each ends, and copies, creates, labels and
//! revokes their download keys and the jBackend key of each package group they are entitled to,
//! and downloads what they bought.
//! Same protection as the console (`crate::pages`), with its own cookie scoped to `/account`.

use std::net::SocketAddr;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::Method;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use depot_service::{
    AccountExtension, Credentials, Depot, DownloadKeyView, ExtensionView, JbackendKeyView,
    MembershipView, PASSWORD_LINK_LIFETIME, ServiceError,
};

use crate::downloads::{self, Client};
use crate::error::ReleaseError;
use crate::sendfile::Files;
use serde::Deserialize;

use crate::pages::{CsrfOnly, Done, FOREIGN_FORM, LoginForm, Who, same_origin, who};
use crate::pages::{PageError, PageResult};
use crate::sessions::{
    Account, SessionForm, SignInRefused, SignedIn, csrf_field, sign_in, sign_out, signed_in,
};

pub fn router(depot: &Depot) -> Router<Depot> {
    let csp = crate::pages::branded_csp(depot);
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(sign_out::<Account>))
        .route("/forgot", get(forgot_page).post(forgot))
        .route("/password", get(password_page).post(set_password))
        .route("/keys", post(create_key))
        .route("/keys/{key}/label", post(relabel_key))
        .route("/keys/{key}/revoke", post(revoke_key))
        .route("/jbackend/{group}/rotate", post(rotate_key))
        .route("/sessions/{session}/end", post(end_session))
        .route("/download/{extension}/{version}/{filename}", get(download))
        .route("/static/console.css", get(crate::console::stylesheet))
        .route("/static/brand.css", get(brand_stylesheet))
        .route("/static/pages.js", get(crate::console::script))
        .route("/static/favicon.svg", get(crate::console::favicon))
        .layer(axum::middleware::map_response_with_state(
            csp,
            |State(csp): State<HeaderValue>, response: Response| async move {
                crate::pages::with_security_headers(response, csp)
            },
        ))
}

/// The vendor's accent colour (`branding.accent`, checked to be `#rrggbb` at start) over the
/// shared stylesheet.
async fn brand_stylesheet(State(depot): State<Depot>) -> Response {
    let accent = depot.settings().branding.accent();
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        format!(":root {{ --accent: {accent}; }}\n"),
    )
        .into_response()
}

/// Fixed texts for `?done=…` (see the console's `done_message`).
fn done_message(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "key" => "New download key created.",
        "label" => "Label saved.",
        "revoked" => "Key revoked: it no longer downloads anything.",
        "rotated" => "jBackend key replaced: the old one no longer works.",
        "password" => "Password set: you are signed in.",
        "session" => "Session ended: that browser is signed out.",
        _ => return None,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "account/login.html")]
struct LoginPage<'a> {
    signed_in: Option<Who<'a>>,
    brand: &'a depot_service::Branding,
    flash: Option<&'a str>,
    error: Option<&'a str>,
    email: &'a str,
    site: Option<SiteAccounts<'a>>,
}

/// What the pages say when customers may also sign in with their account on the vendor's
/// Joomla site (`[identity] kind = "joomla"`).
struct SiteAccounts<'a> {
    /// Where the site resets a password (`identity.password_reset_url`), if configured.
    reset_url: Option<&'a str>,
}

fn site_accounts(depot: &Depot) -> Option<SiteAccounts<'_>> {
    depot.settings().joomla.as_ref().map(|j| SiteAccounts {
        reset_url: j.password_reset_url.as_deref(),
    })
}

async fn login_page(State(depot): State<Depot>) -> Response {
    LoginPage {
        signed_in: None,
        brand: &depot.settings().branding,
        flash: None,
        error: None,
        email: "",
        site: site_accounts(&depot),
    }
    .into_response()
}

async fn login(
    State(depot): State<Depot>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let refused = |status, why: &str| {
        let page = LoginPage {
            signed_in: None,
            brand: &depot.settings().branding,
            flash: None,
            error: Some(why),
            email: &form.email,
            site: site_accounts(&depot),
        };
        (status, page).into_response()
    };
    match sign_in::<Account>(&depot, peer, &headers, &form).await {
        Ok(home) => home,
        Err(SignInRefused::Locked { retry_after_secs }) => {
            let why = format!(
                "Too many failed attempts: try again in {} minutes, or set a new password.",
                retry_after_secs.div_ceil(60)
            );
            let mut response = refused(StatusCode::TOO_MANY_REQUESTS, &why);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after_secs.into());
            response
        }
        Err(SignInRefused::Wrong(why)) => refused(StatusCode::UNAUTHORIZED, &why),
        Err(SignInRefused::Foreign) => PageError::Forbidden(FOREIGN_FORM).into_response(),
        Err(SignInRefused::Failed(e)) => PageError::Failed(e).into_response(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "account/forgot.html")]
struct ForgotPage<'a> {
    signed_in: Option<Who<'a>>,
    brand: &'a depot_service::Branding,
    flash: Option<&'a str>,
    error: Option<String>,
    /// The request was taken: the same page for every address.
    sent: bool,
    minutes: u64,
    site: Option<SiteAccounts<'a>>,
}

fn forgot_response(
    depot: &Depot,
    status: StatusCode,
    error: Option<String>,
    sent: bool,
) -> Response {
    let page = ForgotPage {
        signed_in: None,
        brand: &depot.settings().branding,
        flash: None,
        error,
        sent,
        minutes: PASSWORD_LINK_LIFETIME.as_secs() / 60,
        site: site_accounts(depot),
    };
    (status, page).into_response()
}

async fn forgot_page(State(depot): State<Depot>) -> Response {
    forgot_response(&depot, StatusCode::OK, None, false)
}

#[derive(Deserialize)]
struct ForgotForm {
    email: String,
}

/// Asks for a password link. The answer is the same whether or not the address belongs to a
/// customer, so the page cannot be used to find out who is one.
async fn forgot(
    State(depot): State<Depot>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<ForgotForm>,
) -> Response {
    if !same_origin(&depot, &headers) {
        return PageError::Forbidden(FOREIGN_FORM).into_response();
    }
    match depot
        .request_password_link(&form.email, &peer.ip().to_string())
        .await
    {
        Ok(()) => forgot_response(&depot, StatusCode::OK, None, true),
        Err(e @ ServiceError::Invalid { .. }) => {
            forgot_response(&depot, StatusCode::BAD_REQUEST, Some(e.to_string()), false)
        }
        Err(ServiceError::RateLimited { retry_after_secs }) => {
            let mut response = forgot_response(
                &depot,
                StatusCode::TOO_MANY_REQUESTS,
                Some(format!(
                    "Too many requests: try again in {} minutes.",
                    retry_after_secs.div_ceil(60)
                )),
                false,
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after_secs.into());
            response
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "account/password.html")]
struct PasswordPage<'a> {
    signed_in: Option<Who<'a>>,
    brand: &'a depot_service::Branding,
    flash: Option<&'a str>,
    token: &'a str,
    works: bool,
    error: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct LinkQuery {
    token: String,
}

/// The page a password link opens. It only looks at the link, so a mail scanner that follows
/// links does not spend it; the token goes on in the form, and the page sends no referrer.
async fn password_page(
    State(depot): State<Depot>,
    query: Result<Query<LinkQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let token = query.map(|q| q.0.token).unwrap_or_default();
    let works = depot.password_link_works(&token).await?;
    Ok(PasswordPage {
        signed_in: None,
        brand: &depot.settings().branding,
        flash: None,
        token: &token,
        works,
        error: None,
    }
    .into_response())
}

#[derive(Deserialize)]
struct PasswordForm {
    token: String,
    password: String,
    confirm: String,
}

async fn set_password(
    State(depot): State<Depot>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    if !same_origin(&depot, &headers) {
        return PageError::Forbidden(FOREIGN_FORM).into_response();
    }
    let refused = |works: bool, why: String| {
        let page = PasswordPage {
            signed_in: None,
            brand: &depot.settings().branding,
            flash: None,
            token: &form.token,
            works,
            error: Some(why),
        };
        (StatusCode::BAD_REQUEST, page).into_response()
    };
    if form.password != form.confirm {
        return refused(true, "The two passwords differ.".into());
    }
    match depot
        .set_password_by_link(&form.token, &form.password, &peer.ip().to_string())
        .await
    {
        Ok(new) => signed_in::<Account>(&depot, &new),
        Err(e @ ServiceError::Invalid { .. }) => refused(true, e.to_string()),
        Err(e @ ServiceError::Forbidden(_)) => refused(false, e.to_string()),
        Err(e) => PageError::from(e).into_response(),
    }
}

/// A package group the customer may download now, with its jBackend key and its extensions.
struct Entitlement {
    key: JbackendKeyView,
    extensions: Vec<ExtensionView>,
}

#[derive(Template, WebTemplate)]
#[template(path = "account/home.html")]
struct HomePage<'a> {
    signed_in: Option<Who<'a>>,
    brand: &'a depot_service::Branding,
    flash: Option<&'a str>,
    csrf: &'a str,
    memberships: Vec<MembershipView>,
    keys: Vec<DownloadKeyView>,
    revoked: usize,
    entitlements: Vec<Entitlement>,
    downloads: Vec<AccountExtension>,
    sessions: Vec<depot_service::SessionListing>,
}

async fn home(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Account>,
    Query(done): Query<Done>,
) -> PageResult {
    let id = session.user_id.to_string();
    let memberships = depot.memberships(&session.actor(), &id).await?;
    let keys = depot.download_keys(&session.actor(), &id).await?;
    let extensions = depot.list_extensions(&session.actor()).await?;
    let entitlements = depot
        .jbackend_keys(&session.actor(), &id)
        .await?
        .into_iter()
        .filter(|k| k.entitled)
        .map(|key| Entitlement {
            extensions: extensions
                .iter()
                .filter(|e| e.package_group.as_deref() == Some(key.package_group.as_str()))
                .cloned()
                .collect(),
            key,
        })
        .collect();
    let (live, revoked): (Vec<_>, Vec<_>) = keys.into_iter().partition(|k| !k.revoked);
    Ok(HomePage {
        signed_in: who(&session),
        brand: &depot.settings().branding,
        flash: done_message(done.done.as_deref()),
        csrf: &session.csrf,
        memberships,
        keys: live,
        revoked: revoked.len(),
        entitlements,
        downloads: depot.account_downloads(session.user_id).await?,
        sessions: depot.own_sessions(&session).await?,
    }
    .into_response())
}

/// A package from the account page: the session is the credential (no key in the URL), and
/// the checks, the download log and the answer are those of any download.
async fn download(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Account>,
    Path((extension, version, filename)): Path<(String, String, String)>,
    method: Method,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    files: Option<Extension<Files>>,
) -> Result<Response, ReleaseError> {
    let download = depot
        .resolve_download(&extension, &version, &filename)
        .await?;
    let credentials = Credentials::Account(session.user_id);
    let client = Client::new(peer, files);
    downloads::serve(&depot, download, credentials, &method, &headers, &client).await
}

#[derive(Template, WebTemplate)]
#[template(path = "account/refused.html")]
struct RefusedPage<'a> {
    signed_in: Option<Who<'a>>,
    brand: &'a depot_service::Branding,
    flash: Option<&'a str>,
    why: &'a str,
}

/// An account form, checked before its handler runs (see `SessionForm`).
type AccountForm<T> = SessionForm<Account, T>;

/// Back to the account page with the change's message, or the refusal in words.
fn answer<T>(form: &AccountForm<T>, outcome: Result<&'static str, ServiceError>) -> Response {
    let refuse = |why: &str| {
        let page = RefusedPage {
            signed_in: who(&form.session),
            brand: &form.depot.settings().branding,
            flash: None,
            why,
        };
        (StatusCode::BAD_REQUEST, page).into_response()
    };
    crate::pages::answer("/account", outcome, refuse)
}

#[derive(Deserialize)]
struct KeyForm {
    csrf: String,
    #[serde(default)]
    label: String,
}

csrf_field!(KeyForm);

/// The signed-in customer's own user, as the use cases name users.
fn own<A, T>(form: &SessionForm<A, T>) -> String {
    form.session.user_id.to_string()
}

async fn create_key(form: AccountForm<KeyForm>) -> Response {
    let label = Some(form.fields.label.trim()).filter(|l| !l.is_empty());
    let outcome = form
        .depot
        .create_download_key(&form.actor(), &own(&form), label)
        .await
        .map(|_| "key");
    answer(&form, outcome)
}

async fn relabel_key(Path(key): Path<i64>, form: AccountForm<KeyForm>) -> Response {
    let outcome = form
        .depot
        .relabel_download_key(&form.actor(), &own(&form), key, &form.fields.label)
        .await
        .map(|_| "label");
    answer(&form, outcome)
}

/// Ends one of the customer's own sessions: a browser elsewhere, or this one (which then lands
/// on the sign-in page).
async fn end_session(Path(id): Path<i64>, form: AccountForm<CsrfOnly>) -> Response {
    let outcome = form
        .depot
        .end_own_session(&form.session, id)
        .await
        .map(|()| "session");
    answer(&form, outcome)
}

async fn revoke_key(Path(key): Path<i64>, form: AccountForm<CsrfOnly>) -> Response {
    let outcome = form
        .depot
        .revoke_download_key(&form.actor(), &own(&form), key)
        .await
        .map(|()| "revoked");
    answer(&form, outcome)
}

async fn rotate_key(Path(group): Path<String>, form: AccountForm<CsrfOnly>) -> Response {
    let outcome = async {
        // Only a group the customer is entitled to (the page shows no other).
        let entitled = form
            .depot
            .jbackend_keys(&form.actor(), &own(&form))
            .await?
            .iter()
            .any(|k| k.package_group == group && k.entitled);
        if !entitled {
            return Err(ServiceError::NotFound {
                what: "package group",
            });
        }
        form.depot
            .rotate_jbackend_key(&form.actor(), &own(&form), &group)
            .await
            .map(|_| "rotated")
    }
    .await;
    answer(&form, outcome)
}
