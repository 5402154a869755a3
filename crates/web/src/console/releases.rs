//! Console pages for releases: publish, yank, notes, deleting a draft, and uploading a package.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use depot_core::ReleaseState;
use depot_service::{Depot, ReleaseChanges, RolloutChange, ServiceError};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::extensions::extension_answer;
use super::forms::ConsoleForm;
use crate::api::{
    UploadParams, publish_options, read_upload_form, refuse_declared_excess, set_upload_field,
};
use crate::pages::PageError;
use crate::pages::{CsrfOnly, FOREIGN_FORM, Who, same_origin, user_error, who};
use crate::sessions::{Console, SignedIn, csrf_field};

pub(super) fn routes() -> Router<Depot> {
    Router::new()
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
        .route(
            "/extensions/{extension}/releases/{version}/rollout",
            post(change_rollout),
        )
        .route(
            "/upload",
            get(upload_page)
                .post(upload)
                // The upload streams to disk and enforces the configured limit itself.
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
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

#[derive(Deserialize)]
struct RolloutForm {
    csrf: String,
    /// `start` (with `schedule`), `pause`, `resume` or `end`.
    action: String,
    #[serde(default)]
    schedule: String,
}

async fn change_rollout(
    Path(release): Path<(String, String)>,
    form: ConsoleForm<RolloutForm>,
) -> Response {
    let f = &form.fields;
    let rollout = match f.action.as_str() {
        "start" => RolloutChange::Start(f.schedule.clone()),
        "pause" => RolloutChange::Pause,
        "resume" => RolloutChange::Resume,
        _ => RolloutChange::End,
    };
    let changes = ReleaseChanges {
        state: None,
        notes: None,
        rollout: Some(rollout),
        ..ReleaseChanges::default()
    };
    apply_release_change(&form, release, changes, "rollout").await
}

/// Applies a release change from a form.
async fn apply_release_change<T>(
    form: &ConsoleForm<T>,
    (extension, version): (String, String),
    changes: ReleaseChanges,
    done: &'static str,
) -> Response {
    let outcome = form
        .depot
        .change_release(&form.actor(), &extension, &version, changes)
        .await
        .map(|_| done);
    extension_answer(&extension, outcome)
}

async fn change_state(
    Path(release): Path<(String, String)>,
    form: ConsoleForm<StateForm>,
) -> Response {
    let state = form.fields.state.clone();
    // The page's message is named after the state reached (see `done_message`).
    let done = match state.parse() {
        Ok(ReleaseState::Yanked) => ReleaseState::Yanked.as_str(),
        _ => ReleaseState::Published.as_str(),
    };
    let changes = ReleaseChanges {
        state: Some(state),
        notes: None,
        rollout: None,
        ..ReleaseChanges::default()
    };
    apply_release_change(&form, release, changes, done).await
}

async fn change_notes(
    Path(release): Path<(String, String)>,
    form: ConsoleForm<NotesForm>,
) -> Response {
    // An empty box clears the notes.
    let notes = Some(form.fields.notes.clone()).filter(|n| !n.trim().is_empty());
    let changes = ReleaseChanges {
        state: None,
        notes: Some(notes),
        rollout: None,
        ..ReleaseChanges::default()
    };
    apply_release_change(&form, release, changes, "notes").await
}

async fn delete_draft(
    Path((extension, version)): Path<(String, String)>,
    form: ConsoleForm<CsrfOnly>,
) -> Response {
    let outcome = form
        .depot
        .delete_draft(&form.actor(), &extension, &version)
        .await
        .map(|()| "deleted");
    extension_answer(&extension, outcome)
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

pub(super) async fn render_upload(
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
        let (spooled, _) = read_upload_form(request, &depot, |name, text| match name {
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

csrf_field!(StateForm, NotesForm, RolloutForm);
