//! A user's keys: download keys (create, list, relabel, revoke) and jBackend keys (list, rotate).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use depot_api::{KeyPatch, NewKey};
use depot_service::{Depot, DownloadKeyView, JbackendKeyView, ServiceError};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::{Items, ReadErrors, WriteErrors};

use super::{ApiActor, ApiJson, ApiPath, ApiResult, created, items};

pub(super) fn routes() -> OpenApiRouter<Depot> {
    OpenApiRouter::new()
        .routes(routes!(list_keys, create_key))
        .routes(routes!(revoke_key, relabel_key))
        .routes(routes!(list_jbackend_keys))
        .routes(routes!(rotate_jbackend_key))
}

#[utoipa::path(
    post,
    path = "/users/{user}/keys",
    tag = "access",
    summary = "Create a download key (admin)",
    params(("user" = String, Path, description = "A user's id or e-mail address")),
    request_body = Option<NewKey>,
    responses((status = 201, description = "The key (the only time its full value is shown)", body = DownloadKeyView), WriteErrors)
)]
async fn create_key(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath(user): ApiPath<String>,
    body: bytes::Bytes,
) -> ApiResult {
    // The body is optional: no body, no label.
    let NewKey { label } = if body.iter().all(u8::is_ascii_whitespace) {
        NewKey::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ServiceError::invalid("bad_json", format!("the body: {e}")))?
    };
    Ok(created(
        depot
            .create_download_key(&actor, &user, label.as_deref())
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/users/{user}/keys",
    tag = "access",
    summary = "A user's download keys (admin)",
    params(("user" = String, Path, description = "A user's id or e-mail address")),
    responses((status = 200, description = "The user's keys", body = Items<DownloadKeyView>), ReadErrors)
)]
async fn list_keys(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath(user): ApiPath<String>,
) -> ApiResult<Json<Items<DownloadKeyView>>> {
    Ok(items(depot.download_keys(&actor, &user).await?))
}

#[utoipa::path(
    delete,
    path = "/users/{user}/keys/{id}",
    tag = "access",
    summary = "Revoke a download key (admin)",
    params(("user" = String, Path, description = "A user's id or e-mail address"), ("id" = i64, Path, description = "The download key's id")),
    responses((status = 204, description = "Revoked"), WriteErrors)
)]
async fn revoke_key(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath((user, id)): ApiPath<(String, i64)>,
) -> ApiResult {
    depot.revoke_download_key(&actor, &user, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    patch,
    path = "/users/{user}/keys/{id}",
    tag = "access",
    summary = "Relabel a live download key (admin)",
    params(("user" = String, Path, description = "A user's id or e-mail address"), ("id" = i64, Path, description = "The download key's id")),
    request_body = KeyPatch,
    responses((status = 200, description = "The key, changed", body = DownloadKeyView), WriteErrors)
)]
async fn relabel_key(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath((user, id)): ApiPath<(String, i64)>,
    ApiJson(p): ApiJson<KeyPatch>,
) -> ApiResult {
    let key = depot
        .relabel_download_key(&actor, &user, id, &p.label)
        .await?;
    Ok(Json(key).into_response())
}

#[utoipa::path(
    get,
    path = "/users/{user}/jbackend-keys",
    tag = "access",
    summary = "A user's jBackend key in every package group (admin)",
    params(("user" = String, Path, description = "A user's id or e-mail address")),
    responses((status = 200, description = "The user's jBackend keys", body = Items<JbackendKeyView>), ReadErrors)
)]
async fn list_jbackend_keys(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath(user): ApiPath<String>,
) -> ApiResult<Json<Items<JbackendKeyView>>> {
    Ok(items(depot.jbackend_keys(&actor, &user).await?))
}

#[utoipa::path(
    post,
    path = "/users/{user}/jbackend-keys/{group}/rotate",
    tag = "access",
    summary = "Replace a user's jBackend key in a package group (admin)",
    params(("user" = String, Path, description = "A user's id or e-mail address"), ("group" = String, Path, description = "A package group id")),
    responses((status = 200, description = "The jBackend key", body = JbackendKeyView), WriteErrors)
)]
async fn rotate_jbackend_key(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath((user, group)): ApiPath<(String, String)>,
) -> ApiResult {
    Ok(Json(depot.rotate_jbackend_key(&actor, &user, &group).await?).into_response())
}
