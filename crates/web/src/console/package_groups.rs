//! Console form for package groups: adding one (the groups page lists them).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use axum::{Form, Router};
use depot_service::{Depot, NewPackageGroup, ServiceError};
use serde::Deserialize;

use super::forms::{submit, typed};
use crate::sessions::{Console, SignedIn};

pub(super) fn routes() -> Router<Depot> {
    Router::new().route("/package-groups", post(add_package_group))
}

#[derive(Deserialize)]
struct PackageGroupForm {
    csrf: String,
    id: String,
    #[serde(default)]
    name: String,
    /// Allowed user groups, comma-separated ids.
    groups: String,
    #[serde(default)]
    policy: String,
}

async fn add_package_group(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    headers: HeaderMap,
    Form(form): Form<PackageGroupForm>,
) -> Response {
    let change = async {
        let groups = form
            .groups
            .split(',')
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(|g| {
                g.parse::<i64>().map_err(|_| {
                    ServiceError::invalid("bad_group", format!("{g:?} is not a group id"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let new = NewPackageGroup {
            id: form.id,
            groups,
            seed: None,
            name: typed(&form.name).map(String::from),
            policy: typed(&form.policy).map(String::from),
        };
        depot
            .add_package_group(&session.actor(), new)
            .await
            .map(|_| "package_group")
    };
    submit(
        &depot,
        &session,
        &headers,
        &form.csrf,
        "/admin/groups",
        change,
    )
    .await
}
