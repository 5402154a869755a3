//! Console pages for the catalogue: extensions and their releases (publish, yank, notes) and
//! uploading a package.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use depot_core::ReleaseState;
use depot_service::{
    Depot, ExtensionChanges, ExtensionView, ReleaseChanges, ReleaseView, ServiceError,
};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::done_message;
use crate::api::{
    UploadParams, publish_options, read_upload_form, refuse_declared_excess, set_upload_field,
};
use crate::pages::{CsrfOnly, Done, FOREIGN_FORM, Who, same_origin, user_error, who};
use crate::pages::{PageError, PageResult};
use crate::sessions::{Console, SignedIn};

pub(super) fn routes() -> Router<Depot> {
    Router::new()
        .route("/extensions", get(extensions))
        .route(
            "/extensions/{extension}/releases/{version}/state",
            post(change_state),
        )
        .route(
            "/extensions/{extension}/releases/{version}/notes",
            post(change_notes),
        )
        .route(
            "/extensions/{extension}/releases/{version}/delete",
            post(delete_draft),
        )
        .route("/extensions/{extension}", post(edit_extension))
        .route(
            "/upload",
            get(upload_page)
                .post(upload)
                // The upload streams to disk and enforces the configured limit itself.
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
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
    package_groups: Vec<String>,
}

async fn extensions(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Query(done): Query<Done>,
) -> PageResult {
    let mut extensions = Vec::new();
    for view in depot.list_extensions().await? {
        let releases = depot.list_releases(&view.name).await?;
        extensions.push(ExtensionRow { view, releases });
    }
    let package_groups: Vec<String> = depot
        .list_package_groups()
        .await?
        .into_iter()
        .map(|g| g.id)
        .collect();
    Ok(ExtensionsPage {
        signed_in: who(&session),
        flash: done_message(done.done.as_deref()),
        csrf: &session.csrf,
        extensions,
        package_groups,
    }
    .into_response())
}

#[derive(Deserialize)]
struct StateForm {
    csrf: String,
    state: String,
}

#[derive(Deserialize)]
struct NotesForm {
    csrf: String,
    notes: String,
}

/// Applies a release change from a form.
async fn apply_release_change(
    depot: &Depot,
    session: &depot_service::Session,
    headers: &HeaderMap,
    csrf: &str,
    (extension, version): (String, String),
    changes: ReleaseChanges,
    done: &'static str,
) -> Response {
    let change = async {
        depot
            .change_release(&session.actor(), &extension, &version, changes)
            .await
            .map(|_| done)
    };
    extension_form(depot, session, headers, csrf, &extension, change).await
}

async fn change_state(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Path(release): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<StateForm>,
) -> Response {
    // The page's message is named after the state reached (see `done_message`).
    let done = match form.state.parse() {
        Ok(ReleaseState::Yanked) => ReleaseState::Yanked.as_str(),
        _ => ReleaseState::Published.as_str(),
    };
    let changes = ReleaseChanges {
        state: Some(form.state),
        notes: None,
    };
    apply_release_change(
        &depot, &session, &headers, &form.csrf, release, changes, done,
    )
    .await
}

async fn change_notes(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Path(release): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<NotesForm>,
) -> Response {
    // An empty box clears the notes.
    let changes = ReleaseChanges {
        state: None,
        notes: Some(Some(form.notes).filter(|n| !n.trim().is_empty())),
    };
    apply_release_change(
        &depot, &session, &headers, &form.csrf, release, changes, "notes",
    )
    .await
}

/// The answer to an extension form: back to its card with the message, or the refusal.
async fn extension_form(
    depot: &Depot,
    session: &depot_service::Session,
    headers: &HeaderMap,
    csrf: &str,
    extension: &str,
    change: impl Future<Output = Result<&'static str, ServiceError>>,
) -> Response {
    let back = format!("/admin/extensions#{extension}");
    let refuse = |why: &str| super::people::refusal(&back, why);
    // `pages::submit` appends `?done=…` to the path; the card's anchor goes after it.
    let response = crate::pages::submit(
        depot,
        session,
        headers,
        csrf,
        "/admin/extensions",
        change,
        refuse,
    )
    .await;
    with_anchor(response, extension)
}

/// Adds `#anchor` to a redirect's location.
fn with_anchor(mut response: Response, anchor: &str) -> Response {
    let location = response
        .headers()
        .get(axum::http::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .map(|l| format!("{l}#{anchor}"));
    if let Some(l) = location.and_then(|l| axum::http::HeaderValue::from_str(&l).ok()) {
        response
            .headers_mut()
            .insert(axum::http::header::LOCATION, l);
    }
    response
}

async fn delete_draft(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Path((extension, version)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let change = async {
        depot
            .delete_draft(&session.actor(), &extension, &version)
            .await
            .map(|()| "deleted")
    };
    extension_form(&depot, &session, &headers, &form.csrf, &extension, change).await
}

#[derive(Deserialize)]
struct ExtensionForm {
    csrf: String,
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    info_url: String,
    default_joomla: String,
    /// Empty: free.
    #[serde(default)]
    package_group: String,
}

async fn edit_extension(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Path(extension): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ExtensionForm>,
) -> Response {
    let optional = |s: String| Some(s).filter(|s| !s.trim().is_empty());
    let changes = ExtensionChanges {
        package_group: Some(optional(form.package_group)),
        title: Some(form.title),
        description: Some(optional(form.description)),
        info_url: Some(optional(form.info_url)),
        default_joomla: Some(form.default_joomla),
    };
    let change = async {
        depot
            .update_extension(&session.actor(), &extension, changes)
            .await
            .map(|_| "extension")
    };
    extension_form(&depot, &session, &headers, &form.csrf, &extension, change).await
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/upload.html")]
struct UploadPage<'a> {
    signed_in: Option<Who<'a>>,
    flash: Option<&'a str>,
    csrf: &'a str,
    error: Option<String>,
    package_groups: Vec<String>,
    max_mib: u64,
}

async fn render_upload(
    depot: &Depot,
    session: &depot_service::Session,
    error: Option<String>,
) -> Response {
    let package_groups = match depot.list_package_groups().await {
        Ok(groups) => groups.into_iter().map(|g| g.id).collect(),
        Err(e) => return PageError::from(e).into_response(),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = UploadPage {
        signed_in: who(session),
        flash: None,
        csrf: &session.csrf,
        error,
        package_groups,
        max_mib: depot.settings().max_upload_bytes / (1024 * 1024),
    };
    (status, page).into_response()
}

async fn upload_page(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
) -> Response {
    render_upload(&depot, &session, None).await
}

/// The upload form (multipart: `csrf`, `file`, and the API's metadata fields). The page's
/// script sends the same form with a progress bar; without script the browser posts it.
async fn upload(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    request: Request,
) -> Response {
    if !same_origin(&depot, request.headers()) {
        return PageError::Forbidden(FOREIGN_FORM).into_response();
    }
    let result = async {
        refuse_declared_excess(request.headers(), &depot)?;
        let mut params = UploadParams::default();
        let mut csrf = String::new();
        let spooled = read_upload_form(request, &depot, |name, text| match name {
            "csrf" => {
                csrf = text;
                Ok(())
            }
            // An empty field of the form is no value.
            _ if text.trim().is_empty() => Ok(()),
            _ => set_upload_field(&mut params, name, text),
        })
        .await?;
        if !bool::from(csrf.as_bytes().ct_eq(session.csrf.as_bytes())) {
            return Err(ServiceError::Forbidden(
                "This form has expired: reload the page and try again.".into(),
            ));
        }
        if spooled.size == 0 {
            return Err(ServiceError::invalid(
                "empty_body",
                "Choose a package (a .zip file) to upload.",
            ));
        }
        depot
            .publish_package(&session.actor(), spooled, &publish_options(params)?)
            .await
    }
    .await;
    match result {
        Ok(release) => Redirect::to(&format!(
            "/admin/extensions?done=uploaded#{}",
            release.extension
        ))
        .into_response(),
        Err(e) => match user_error(e) {
            Ok(why) => render_upload(&depot, &session, Some(why)).await,
            Err(e) => e.into_response(),
        },
    }
}
