//! Package groups (jBackend's notion): which groups may download an extension, its key seed, its policy.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use depot_api::{NewPackageGroup, PackageGroupPatch};
use depot_service::{Depot, PackageGroupView};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::{Items, ReadErrors, WriteErrors};

use super::{ApiActor, ApiJson, ApiPath, ApiPrincipal, ApiResult, created, items};

pub(super) fn routes() -> OpenApiRouter<Depot> {
    OpenApiRouter::new()
        .routes(routes!(list_package_groups, add_package_group))
        .routes(routes!(
            get_package_group,
            update_package_group,
            delete_package_group
        ))
}

#[utoipa::path(
    post,
    path = "/package-groups",
    tag = "access",
    summary = "Create a package group",
    request_body = NewPackageGroup,
    responses((status = 201, description = "The package group", body = PackageGroupView), WriteErrors)
)]
async fn add_package_group(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiJson(b): ApiJson<NewPackageGroup>,
) -> ApiResult {
    let group = depot.add_package_group(&actor, b).await?;
    Ok(created(group))
}

#[utoipa::path(
    get,
    path = "/package-groups",
    tag = "access",
    summary = "Package groups",
    responses((status = 200, description = "The package groups", body = Items<PackageGroupView>), ReadErrors)
)]
async fn list_package_groups(
    State(depot): State<Depot>,
    _: ApiPrincipal,
) -> ApiResult<Json<Items<PackageGroupView>>> {
    Ok(items(depot.list_package_groups().await?))
}

#[utoipa::path(
    patch,
    path = "/package-groups/{group}",
    tag = "access",
    summary = "Rename a package group, or change its policy or private feeds (admin)",
    params(("group" = String, Path, description = "A package group id")),
    request_body = PackageGroupPatch,
    responses((status = 200, description = "The package group, changed", body = PackageGroupView), WriteErrors)
)]
async fn update_package_group(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath(group): ApiPath<String>,
    ApiJson(p): ApiJson<PackageGroupPatch>,
) -> ApiResult {
    let view = depot.update_package_group(&actor, &group, &p).await?;
    Ok(Json(view).into_response())
}

#[utoipa::path(
    get,
    path = "/package-groups/{group}",
    tag = "access",
    summary = "A package group",
    params(("group" = String, Path, description = "A package group id")),
    responses((status = 200, description = "The package group", body = PackageGroupView), ReadErrors)
)]
async fn get_package_group(
    State(depot): State<Depot>,
    _: ApiPrincipal,
    ApiPath(group): ApiPath<String>,
) -> ApiResult {
    Ok(Json(depot.package_group_view_of(&group).await?).into_response())
}

#[utoipa::path(
    delete,
    path = "/package-groups/{group}",
    tag = "access",
    summary = "Delete a package group that no extension belongs to (admin)",
    params(("group" = String, Path, description = "A package group id")),
    responses((status = 204, description = "Deleted"), WriteErrors)
)]
async fn delete_package_group(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath(group): ApiPath<String>,
) -> ApiResult {
    depot.delete_package_group(&actor, &group).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
