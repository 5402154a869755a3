//! Extensions: list, read (with the feed URL and the manifest snippet), change what feeds show, delete one that never had a release.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use depot_api::ExtensionPatch;
use depot_service::{Depot, ExtensionChanges, ExtensionView};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::{Items, ReadErrors, WriteErrors};

use super::{ApiActor, ApiJson, ApiPath, ApiResult, items};

pub(super) fn routes() -> OpenApiRouter<Depot> {
    OpenApiRouter::new()
        .routes(routes!(list_extensions))
        .routes(routes!(get_extension, set_extension, delete_extension))
}

#[utoipa::path(
    get,
    path = "/extensions",
    tag = "catalogue",
    summary = "Extensions",
    responses((status = 200, description = "The extensions", body = Items<ExtensionView>), ReadErrors)
)]
async fn list_extensions(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<Items<ExtensionView>>> {
    Ok(items(depot.list_extensions(&actor).await?))
}

#[utoipa::path(
    get,
    path = "/extensions/{extension}",
    tag = "catalogue",
    summary = "An extension, with its manifest snippet",
    params(("extension" = String, Path, description = "The extension's full name, e.g. plg_system_hello")),
    responses((status = 200, description = "The extension", body = ExtensionView), ReadErrors)
)]
async fn get_extension(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath(extension): ApiPath<String>,
) -> ApiResult {
    Ok(Json(depot.extension_view(&actor, &extension).await?).into_response())
}

#[utoipa::path(
    patch,
    path = "/extensions/{extension}",
    tag = "catalogue",
    summary = "Make an extension paid or free, or change what feeds show of it",
    params(("extension" = String, Path, description = "The extension's full name, e.g. plg_system_hello")),
    request_body = ExtensionPatch,
    responses((status = 200, description = "The extension, changed", body = ExtensionView), WriteErrors)
)]
async fn set_extension(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath(extension): ApiPath<String>,
    ApiJson(p): ApiJson<ExtensionPatch>,
) -> ApiResult {
    let changes = ExtensionChanges {
        package_group: p.package_group,
        title: p.title,
        description: p.description,
        info_url: p.info_url,
        default_joomla: p.default_joomla,
    };
    Ok(Json(depot.update_extension(&actor, &extension, changes).await?).into_response())
}

#[utoipa::path(
    delete,
    path = "/extensions/{extension}",
    tag = "catalogue",
    summary = "Delete an extension that never had a release (admin)",
    params(("extension" = String, Path, description = "The extension's full name, e.g. plg_system_hello")),
    responses((status = 204, description = "Deleted"), WriteErrors)
)]
async fn delete_extension(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath(extension): ApiPath<String>,
) -> ApiResult {
    depot.delete_extension(&actor, &extension).await?;
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}
