//! Console pages for groups: the list (with the package groups) and adding one.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use depot_service::{Depot, GroupView, PackageGroupView};
use serde::Deserialize;

use super::done_message;
use super::forms::{ConsoleForm, answer};

use crate::pages::PageResult;
use crate::pages::{Done, Who, who};
use crate::sessions::{Console, SignedIn, csrf_field};

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

async fn add_group(form: ConsoleForm<GroupForm>) -> Response {
    let f = &form.fields;
    let outcome = form
        .depot
        .add_group(&form.actor(), f.id, &f.name)
        .await
        .map(|_| "group");
    answer("/admin/groups", outcome)
}

csrf_field!(GroupForm);
