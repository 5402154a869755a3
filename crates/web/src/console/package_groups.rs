//! Console form for package groups: adding one (the groups page lists them).

use axum::Router;
use axum::response::Response;
use axum::routing::post;
use depot_service::{Depot, NewPackageGroup, ServiceError};
use serde::Deserialize;

use super::forms::typed;
use super::forms::{ConsoleForm, answer};
use crate::sessions::csrf_field;

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
    /// The checkbox: present when ticked.
    #[serde(default)]
    private_feeds: String,
}

async fn add_package_group(form: ConsoleForm<PackageGroupForm>) -> Response {
    let f = &form.fields;
    let outcome = async {
        let groups = f
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
            id: f.id.clone(),
            groups,
            seed: None,
            name: typed(&f.name).map(String::from),
            policy: typed(&f.policy).map(String::from),
            private_feeds: Some(!f.private_feeds.is_empty()),
        };
        form.depot
            .add_package_group(&form.actor(), new)
            .await
            .map(|_| "package_group")
    }
    .await;
    answer("/admin/groups", outcome)
}

csrf_field!(PackageGroupForm);
