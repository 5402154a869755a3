//! Console forms for memberships: adding one to a user, ending a user's memberships in a group.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use axum::{Form, Router};
use depot_service::Depot;
use serde::Deserialize;

use super::forms::{submit, typed};
use super::users::user_url;
use crate::sessions::{Console, SignedIn};

pub(super) fn routes() -> Router<Depot> {
    Router::new()
        .route("/users/{user}/memberships", post(add_membership))
        .route("/users/{user}/memberships/end", post(end_membership))
}

#[derive(Deserialize)]
struct MembershipForm {
    csrf: String,
    group: i64,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
}

async fn add_membership(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Path(user): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<MembershipForm>,
) -> Response {
    let change = async {
        depot
            .add_membership(
                &session.actor(),
                &user.to_string(),
                form.group,
                typed(&form.from),
                typed(&form.until),
            )
            .await
            .map(|_| "membership")
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

#[derive(Deserialize)]
struct EndForm {
    csrf: String,
    group: i64,
}

async fn end_membership(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Path(user): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<EndForm>,
) -> Response {
    let change = async {
        depot
            .end_membership(&session.actor(), &user.to_string(), form.group, None)
            .await
            .map(|_| "ended")
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
