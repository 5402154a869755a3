//! API tokens: list (never the tokens themselves), create (the token is in this answer only), revoke.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use depot_api::{CreatedToken, NewToken};
use depot_service::{Depot, Scope, ServiceError, TokenView};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::{Items, ReadErrors, WriteErrors};

use super::{ApiActor, ApiJson, ApiPath, ApiResult, created, items};

pub(super) fn routes() -> OpenApiRouter<Depot> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

#[utoipa::path(
    get,
    path = "/tokens",
    tag = "tokens",
    summary = "API tokens (admin)",
    responses((status = 200, description = "The API tokens", body = Items<TokenView>), ReadErrors)
)]
async fn list_tokens(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<Items<TokenView>>> {
    Ok(items(depot.list_tokens(&actor).await?))
}

#[utoipa::path(
    post,
    path = "/tokens",
    tag = "tokens",
    summary = "Create an API token; the answer is the only place it is shown (admin)",
    request_body = NewToken,
    responses((status = 201, description = "The token (the only time its secret is shown)", body = CreatedToken), WriteErrors)
)]
async fn create_token(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiJson(t): ApiJson<NewToken>,
) -> ApiResult<Response> {
    let extensions = t.extensions.map(|e| e.join(","));
    let scope = Scope::parse(&t.scope, extensions.as_deref())
        .map_err(|e| ServiceError::invalid("bad_scope", e))?;
    let (view, token) = depot.create_token(&actor, &t.name, &scope).await?;
    Ok(created(CreatedToken { view, token }))
}

#[utoipa::path(
    delete,
    path = "/tokens/{id}",
    tag = "tokens",
    summary = "Revoke an API token (admin)",
    params(("id" = i64, Path, description = "The token's id")),
    responses((status = 200, description = "The token, revoked", body = TokenView), WriteErrors)
)]
async fn revoke_token(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult {
    Ok(Json(depot.revoke_token(&actor, id).await?).into_response())
}
