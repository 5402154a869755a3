//! Users: list and search, add, read, change (name, password, disabled, console access). `{user}` in a path is a user's id or e-mail address.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use depot_api::{NewUser, UserPage, UserPatch, UserQuery};
use depot_service::{Depot, UserChanges, UserView};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::{ReadErrors, WriteErrors};

use super::{ApiActor, ApiJson, ApiPath, ApiQuery, ApiResult, created};

pub(super) fn routes() -> OpenApiRouter<Depot> {
    OpenApiRouter::new()
        .routes(routes!(list_users, add_user))
        .routes(routes!(get_user, update_user))
}

#[utoipa::path(
    post,
    path = "/users",
    tag = "access",
    summary = "Create a user",
    request_body = NewUser,
    responses((status = 201, description = "The user", body = UserView), WriteErrors)
)]
async fn add_user(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiJson(u): ApiJson<NewUser>,
) -> ApiResult {
    let user = depot
        .add_user(
            &actor,
            &u.email,
            u.name.as_deref(),
            u.password.as_deref(),
            u.admin,
        )
        .await?;
    Ok(created(user))
}

#[utoipa::path(
    get,
    path = "/users",
    tag = "access",
    summary = "Users, a page at a time",
    params(UserQuery),
    responses((status = 200, description = "A page of users", body = UserPage), ReadErrors)
)]
async fn list_users(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> ApiResult<Json<UserPage>> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let users = depot
        .list_users(&actor, q.email.as_deref(), q.after.unwrap_or(0), limit)
        .await?;
    let next_after = (users.len() as i64 == limit)
        .then(|| users.last().map(|u| u.id))
        .flatten();
    Ok(Json(UserPage {
        items: users,
        next_after,
    }))
}

#[utoipa::path(
    get,
    path = "/users/{user}",
    tag = "access",
    summary = "A user",
    params(("user" = String, Path, description = "A user's id or e-mail address")),
    responses((status = 200, description = "The user", body = UserView), ReadErrors)
)]
async fn get_user(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath(user): ApiPath<String>,
) -> ApiResult {
    Ok(Json(depot.user_view(&actor, &user).await?).into_response())
}

#[utoipa::path(
    patch,
    path = "/users/{user}",
    tag = "access",
    summary = "Change a user's name, password or disabled state",
    params(("user" = String, Path, description = "A user's id or e-mail address")),
    request_body = UserPatch,
    responses((status = 200, description = "The user, changed", body = UserView), WriteErrors)
)]
async fn update_user(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath(user): ApiPath<String>,
    ApiJson(p): ApiJson<UserPatch>,
) -> ApiResult {
    let changes = UserChanges {
        name: p.name,
        disabled: p.disabled,
        password: p.password,
        admin: p.admin,
    };
    Ok(Json(depot.update_user(&actor, &user, changes).await?).into_response())
}
