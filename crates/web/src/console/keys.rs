//! Console forms for a user's keys: download keys created and revoked, jBackend keys replaced or
//! mailed again.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use axum::{Form, Router};
use depot_service::Depot;
use serde::Deserialize;

use super::forms::{submit, typed};
use super::users::user_url;
use crate::pages::CsrfOnly;
use crate::sessions::{Console, SignedIn};

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

async fn create_key(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Path(user): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<KeyForm>,
) -> Response {
    let change = async {
        depot
            .create_download_key(&session.actor(), &user.to_string(), typed(&form.label))
            .await
            .map(|_| "key")
    };
    submit(
        &depot,
        &session,
        &headers,
        &form.csrf,
        &user_url(user),
        change,
    )
    .await
}

async fn revoke_key(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Path((user, key)): Path<(i64, i64)>,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let change = async {
        depot
            .revoke_download_key(&session.actor(), &user.to_string(), key)
            .await
            .map(|()| "revoked")
    };
    submit(
        &depot,
        &session,
        &headers,
        &form.csrf,
        &user_url(user),
        change,
    )
    .await
}

async fn rotate_key(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Path((user, group)): Path<(i64, String)>,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let change = async {
        depot
            .rotate_jbackend_key(&session.actor(), &user.to_string(), &group)
            .await
            .map(|_| "rotated")
    };
    submit(
        &depot,
        &session,
        &headers,
        &form.csrf,
        &user_url(user),
        change,
    )
    .await
}

async fn resend_keys(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Path((user, group)): Path<(i64, String)>,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let change = async {
        depot
            .resend_keys(&session.actor(), &user.to_string(), &group)
            .await
            .map(|()| "resent")
    };
    submit(
        &depot,
        &session,
        &headers,
        &form.csrf,
        &user_url(user),
        change,
    )
    .await
}
