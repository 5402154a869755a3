//! Console pages for groups: the list (with the package groups) and adding one.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use depot_service::{Depot, GroupView, PackageGroupView};
use serde::Deserialize;

use super::done_message;
use super::forms::submit;
use crate::pages::PageResult;
use crate::pages::{Done, Who, who};
use crate::sessions::{Console, SignedIn};

pub(super) fn routes() -> Router<Depot> {
    Router::new().route("/groups", get(groups).post(add_group))
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/groups.html")]
struct GroupsPage<'a> {
    signed_in: Option<Who<'a>>,
    flash: Option<&'a str>,
    csrf: &'a str,
    groups: Vec<GroupView>,
    package_groups: Vec<PackageGroupView>,
}

async fn groups(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Query(done): Query<Done>,
) -> PageResult {
    let groups = depot.list_groups().await?;
    let package_groups = depot.list_package_groups().await?;
    Ok(GroupsPage {
        signed_in: who(&session),
        flash: done_message(done.done.as_deref()),
        csrf: &session.csrf,
        groups,
        package_groups,
    }
    .into_response())
}

#[derive(Deserialize)]
struct GroupForm {
    csrf: String,
    id: i64,
    name: String,
}

async fn add_group(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    headers: HeaderMap,
    Form(form): Form<GroupForm>,
) -> Response {
    let change = async {
        depot
            .add_group(&session.actor(), form.id, &form.name)
            .await
            .map(|_| "group")
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
