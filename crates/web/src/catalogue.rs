//! The admin API for the catalogue and for access to the API itself: extensions and their
//! releases (list, read, publish, yank, notes), API tokens, and the audit log.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use depot_service::{
    AuditPage, AuditQuery, Depot, ExtensionChanges, ExtensionView, ReleaseChanges, ReleaseView,
    Scope, ServiceError, TokenView,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::admin::{Admin, ApiJson, ApiPath, ApiQuery, ApiResult, created, items, nullable};
use crate::api::ApiPrincipal;
use crate::openapi::{Items, ReadErrors, WriteErrors};

pub fn routes() -> OpenApiRouter<Depot> {
    OpenApiRouter::new()
        .routes(routes!(list_extensions))
        .routes(routes!(get_extension, set_extension, delete_extension))
        .routes(routes!(list_releases))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(audit_log))
}

#[utoipa::path(
    get,
    path = "/extensions",
    tag = "catalogue",
    summary = "Extensions",
    responses((status = 200, body = Items<ExtensionView>), ReadErrors)
)]
async fn list_extensions(State(depot): State<Depot>, _: ApiPrincipal) -> ApiResult<Json<Value>> {
    Ok(items(depot.list_extensions().await?))
}

#[utoipa::path(
    get,
    path = "/extensions/{extension}",
    tag = "catalogue",
    summary = "An extension, with its manifest snippet",
    params(("extension" = String, Path, description = "The extension's full name, e.g. plg_system_hello")),
    responses((status = 200, body = ExtensionView), ReadErrors)
)]
async fn get_extension(
    State(depot): State<Depot>,
    _: ApiPrincipal,
    ApiPath(extension): ApiPath<String>,
) -> ApiResult {
    Ok(Json(depot.extension_view(&extension).await?).into_response())
}

/// Changes to an extension; an absent field stays as it is, so an empty body changes nothing
/// (and is refused), and only an explicit `"package_group": null` makes a paid extension free.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ExtensionPatch {
    /// A package group id makes the extension paid; `null` makes it free.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    package_group: Option<Option<String>>,
    /// The name feeds show.
    title: Option<String>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
    /// An http(s) address; `null` removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    info_url: Option<Option<String>>,
    /// Joomla targets of releases uploaded without their own, e.g. `4.4,5,6`.
    default_joomla: Option<String>,
}

#[utoipa::path(
    patch,
    path = "/extensions/{extension}",
    tag = "catalogue",
    summary = "Make an extension paid or free, or change what feeds show of it",
    params(("extension" = String, Path, description = "The extension's full name, e.g. plg_system_hello")),
    request_body = ExtensionPatch,
    responses((status = 200, body = ExtensionView), WriteErrors)
)]
async fn set_extension(
    State(depot): State<Depot>,
    Admin(actor): Admin,
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
    Admin(actor): Admin,
    ApiPath(extension): ApiPath<String>,
) -> ApiResult {
    depot.delete_extension(&actor, &extension).await?;
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    get,
    path = "/extensions/{extension}/releases",
    tag = "catalogue",
    summary = "Every release of an extension",
    params(("extension" = String, Path, description = "The extension's full name, e.g. plg_system_hello")),
    responses((status = 200, body = Items<ReleaseView>), ReadErrors)
)]
async fn list_releases(
    State(depot): State<Depot>,
    _: ApiPrincipal,
    ApiPath(extension): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    Ok(items(depot.list_releases(&extension).await?))
}

/// `GET /api/v1/extensions/{extension}/releases/{version}`.
#[utoipa::path(
    get,
    path = "/extensions/{extension}/releases/{version}",
    tag = "catalogue",
    summary = "A release",
    params(("extension" = String, Path, description = "The extension's full name, e.g. plg_system_hello"), ("version" = String, Path, description = "A release version, e.g. 1.2.0")),
    responses((status = 200, body = ReleaseView), ReadErrors)
)]
pub(crate) async fn get_release(
    State(depot): State<Depot>,
    _: ApiPrincipal,
    ApiPath((extension, version)): ApiPath<(String, String)>,
) -> ApiResult {
    Ok(Json(depot.release(&extension, &version).await?).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReleasePatch {
    /// `published` or `yanked`.
    state: Option<String>,
    /// `null` removes the notes.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    notes: Option<Option<String>>,
}

/// `PATCH /api/v1/extensions/{extension}/releases/{version}`: publish a draft, yank, put back,
/// change the notes. A token that may publish the extension may do all of these.
#[utoipa::path(
    patch,
    path = "/extensions/{extension}/releases/{version}",
    tag = "catalogue",
    summary = "Publish, yank or change the notes of a release",
    params(("extension" = String, Path, description = "The extension's full name, e.g. plg_system_hello"), ("version" = String, Path, description = "A release version, e.g. 1.2.0")),
    request_body = ReleasePatch,
    responses((status = 200, body = ReleaseView), WriteErrors)
)]
pub(crate) async fn change_release(
    State(depot): State<Depot>,
    ApiPrincipal(principal): ApiPrincipal,
    ApiPath((extension, version)): ApiPath<(String, String)>,
    ApiJson(p): ApiJson<ReleasePatch>,
) -> ApiResult {
    if !principal.may_publish(&extension) {
        return Err(ServiceError::Forbidden(format!(
            "token {:?} may not change releases of {extension}",
            principal.name
        ))
        .into());
    }
    let changes = ReleaseChanges {
        state: p.state,
        notes: p.notes,
    };
    let actor = depot_service::Actor::token(&principal);
    Ok(Json(
        depot
            .change_release(&actor, &extension, &version, changes)
            .await?,
    )
    .into_response())
}

/// `DELETE /api/v1/extensions/{extension}/releases/{version}`: delete a draft. A release that
/// was ever published is never deleted (yank it).
#[utoipa::path(
    delete,
    path = "/extensions/{extension}/releases/{version}",
    tag = "catalogue",
    summary = "Delete a draft",
    params(("extension" = String, Path, description = "The extension's full name, e.g. plg_system_hello"), ("version" = String, Path, description = "A release version, e.g. 1.2.0")),
    responses((status = 204, description = "Deleted"), WriteErrors)
)]
pub(crate) async fn delete_release(
    State(depot): State<Depot>,
    ApiPrincipal(principal): ApiPrincipal,
    ApiPath((extension, version)): ApiPath<(String, String)>,
) -> ApiResult {
    if !principal.may_publish(&extension) {
        return Err(ServiceError::Forbidden(format!(
            "token {:?} may not change releases of {extension}",
            principal.name
        ))
        .into());
    }
    let actor = depot_service::Actor::token(&principal);
    depot.delete_draft(&actor, &extension, &version).await?;
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    get,
    path = "/tokens",
    tag = "tokens",
    summary = "API tokens (admin)",
    responses((status = 200, body = Items<TokenView>), ReadErrors)
)]
async fn list_tokens(State(depot): State<Depot>, _: Admin) -> ApiResult<Json<Value>> {
    Ok(items(depot.list_tokens().await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    /// `admin`, `publish` or `read`.
    scope: String,
    /// For a publish token: the extensions it may publish (all when absent).
    extensions: Option<Vec<String>>,
}

#[utoipa::path(
    post,
    path = "/tokens",
    tag = "tokens",
    summary = "Create an API token; the answer is the only place it is shown (admin)",
    request_body = NewToken,
    responses((status = 201, body = CreatedToken), WriteErrors)
)]
async fn create_token(
    State(depot): State<Depot>,
    Admin(actor): Admin,
    ApiJson(t): ApiJson<NewToken>,
) -> ApiResult<Response> {
    let extensions = t.extensions.map(|e| e.join(","));
    let scope = Scope::parse(&t.scope, extensions.as_deref())
        .map_err(|e| ServiceError::invalid("bad_scope", e))?;
    let (view, token) = depot.create_token(&actor, &t.name, &scope).await?;
    Ok(created(CreatedToken { view, token }))
}

/// A new token's listing plus the token itself, shown this once: only its hash is kept.
#[derive(Serialize, ToSchema)]
struct CreatedToken {
    #[serde(flatten)]
    view: TokenView,
    token: String,
}

#[utoipa::path(
    delete,
    path = "/tokens/{id}",
    tag = "tokens",
    summary = "Revoke an API token (admin)",
    params(("id" = i64, Path, description = "The token's id")),
    responses((status = 200, body = TokenView), WriteErrors)
)]
async fn revoke_token(
    State(depot): State<Depot>,
    Admin(actor): Admin,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult {
    Ok(Json(depot.revoke_token(&actor, id).await?).into_response())
}

#[utoipa::path(
    get,
    path = "/audit-log",
    tag = "reports",
    summary = "The audit log, newest first (admin)",
    params(AuditQuery),
    responses((status = 200, body = AuditPage), ReadErrors)
)]
async fn audit_log(
    State(depot): State<Depot>,
    _: Admin,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<depot_service::AuditPage>> {
    Ok(Json(depot.audit_log(q).await?))
}
