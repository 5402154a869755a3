//! Console forms for memberships: adding one to a user, ending a user's memberships in a group.

use axum::Router;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::post;
use depot_service::Depot;
use serde::Deserialize;

use super::forms::typed;
use super::forms::{ConsoleForm, answer};
use super::users::user_url;
use crate::sessions::csrf_field;

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

async fn add_membership(Path(user): Path<i64>, form: ConsoleForm<MembershipForm>) -> Response {
    let f = &form.fields;
    let outcome = form
        .depot
        .add_membership(
            &form.actor(),
            &user.to_string(),
            f.group,
            typed(&f.from),
            typed(&f.until),
        )
        .await
        .map(|_| "membership");
    answer(&user_url(user), outcome)
}

#[derive(Deserialize)]
struct EndForm {
    csrf: String,
    group: i64,
}

async fn end_membership(Path(user): Path<i64>, form: ConsoleForm<EndForm>) -> Response {
    let outcome = form
        .depot
        .end_membership(&form.actor(), &user.to_string(), form.fields.group, None)
        .await
        .map(|_| "ended");
    answer(&user_url(user), outcome)
}

csrf_field!(MembershipForm, EndForm);
