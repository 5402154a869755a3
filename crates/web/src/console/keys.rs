//! Console forms for a user's keys: download keys created and revoked, jBackend keys replaced or
//! mailed again.

use axum::Router;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::post;
use depot_service::Depot;
use serde::Deserialize;

use super::forms::typed;
use super::forms::{ConsoleForm, answer};
use super::users::user_url;
use crate::pages::CsrfOnly;
use crate::sessions::csrf_field;

pub(super) fn routes() -> Router<Depot> {
    Router::new()
        .route("/users/{user}/keys", post(create_key))
        .route("/users/{user}/keys/{key}/revoke", post(revoke_key))
        .route("/users/{user}/jbackend/{group}/rotate", post(rotate_key))
        .route("/users/{user}/jbackend/{group}/resend", post(resend_keys))
}

#[derive(Deserialize)]
struct KeyForm {
    csrf: String,
    #[serde(default)]
    label: String,
}

async fn create_key(Path(user): Path<i64>, form: ConsoleForm<KeyForm>) -> Response {
    let label = typed(&form.fields.label);
    let outcome = form
        .depot
        .create_download_key(&form.actor(), &user.to_string(), label)
        .await
        .map(|_| "key");
    answer(&user_url(user), outcome)
}

async fn revoke_key(Path((user, key)): Path<(i64, i64)>, form: ConsoleForm<CsrfOnly>) -> Response {
    let outcome = form
        .depot
        .revoke_download_key(&form.actor(), &user.to_string(), key)
        .await
        .map(|()| "revoked");
    answer(&user_url(user), outcome)
}

async fn rotate_key(
    Path((user, group)): Path<(i64, String)>,
    form: ConsoleForm<CsrfOnly>,
) -> Response {
    let outcome = form
        .depot
        .rotate_jbackend_key(&form.actor(), &user.to_string(), &group)
        .await
        .map(|_| "rotated");
    answer(&user_url(user), outcome)
}

async fn resend_keys(
    Path((user, group)): Path<(i64, String)>,
    form: ConsoleForm<CsrfOnly>,
) -> Response {
    let outcome = form
        .depot
        .resend_keys(&form.actor(), &user.to_string(), &group)
        .await
        .map(|()| "resent");
    answer(&user_url(user), outcome)
}

csrf_field!(KeyForm);
