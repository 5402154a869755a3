//! User groups (Joomla's notion, with its numeric ids): list, add, read, rename, delete.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use depot_api::{GroupPatch, NewGroup};
use depot_service::{Depot, GroupView};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::{Items, ReadErrors, WriteErrors};

use super::{ApiActor, ApiJson, ApiPath, ApiPrincipal, ApiResult, created, items};

pub(super) fn routes() -> OpenApiRouter<Depot> {
    OpenApiRouter::new()
        .routes(routes!(list_groups, add_group))
        .routes(routes!(get_group, rename_group, delete_group))
}

#[utoipa::path(
    post,
    path = "/groups",
    tag = "access",
    summary = "Create a user group",
    request_body = NewGroup,
    responses((status = 201, description = "The group", body = GroupView), WriteErrors)
)]
async fn add_group(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiJson(g): ApiJson<NewGroup>,
) -> ApiResult {
    Ok(created(depot.add_group(&actor, g.id, &g.name).await?))
}

#[utoipa::path(
    get,
    path = "/groups",
    tag = "access",
    summary = "User groups",
    responses((status = 200, description = "The groups", body = Items<GroupView>), ReadErrors)
)]
async fn list_groups(
    State(depot): State<Depot>,
    _: ApiPrincipal,
) -> ApiResult<Json<Items<GroupView>>> {
    Ok(items(depot.list_groups().await?))
}

#[utoipa::path(
    patch,
    path = "/groups/{id}",
    tag = "access",
    summary = "Rename a group (admin)",
    params(("id" = i64, Path, description = "The group's id")),
    request_body = GroupPatch,
    responses((status = 200, description = "The group, changed", body = GroupView), WriteErrors)
)]
async fn rename_group(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(p): ApiJson<GroupPatch>,
) -> ApiResult {
    Ok(Json(depot.rename_group(&actor, id, &p.name).await?).into_response())
}

#[utoipa::path(
    get,
    path = "/groups/{id}",
    tag = "access",
    summary = "A group",
    params(("id" = i64, Path, description = "The group's id")),
    responses((status = 200, description = "The group", body = GroupView), ReadErrors)
)]
async fn get_group(
    State(depot): State<Depot>,
    _: ApiPrincipal,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult {
    Ok(Json(depot.group_view(id).await?).into_response())
}

#[utoipa::path(
    delete,
    path = "/groups/{id}",
    tag = "access",
    summary = "Delete a group that has no memberships and no package group (admin)",
    params(("id" = i64, Path, description = "The group's id")),
    responses((status = 204, description = "Deleted"), WriteErrors)
)]
async fn delete_group(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult {
    depot.delete_group(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
