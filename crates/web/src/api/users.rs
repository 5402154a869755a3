//! Users: list and search, add, read, change (name, password, disabled, console access). `{user}` in a path is a user's id or e-mail address.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use depot_service::{Depot, UserChanges, UserView};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::{ReadErrors, WriteErrors};

use super::{Admin, ApiJson, ApiPath, ApiPrincipal, ApiQuery, ApiResult, created, nullable};

pub(super) fn routes() -> OpenApiRouter<Depot> {
    OpenApiRouter::new()
        .routes(routes!(list_users, add_user))
        .routes(routes!(get_user, update_user))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewUser {
    email: String,
    name: Option<String>,
    password: Option<String>,
    /// May sign in to the admin console (needs a password).
    #[serde(default)]
    admin: bool,
}

#[utoipa::path(
    post,
    path = "/users",
    tag = "access",
    summary = "Create a user",
    request_body = NewUser,
    responses((status = 201, body = UserView), WriteErrors)
)]
async fn add_user(
    State(depot): State<Depot>,
    Admin(actor): Admin,
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct UserQuery {
    /// A part of the address.
    email: Option<String>,
    /// The last id of the previous page.
    after: Option<i64>,
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/users",
    tag = "access",
    summary = "Users, a page at a time",
    params(UserQuery),
    responses((status = 200, body = UserPage), ReadErrors)
)]
async fn list_users(
    State(depot): State<Depot>,
    _: ApiPrincipal,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> ApiResult<Json<UserPage>> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let users = depot
        .list_users(q.email.as_deref(), q.after.unwrap_or(0), limit)
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
    responses((status = 200, body = UserView), ReadErrors)
)]
async fn get_user(
    State(depot): State<Depot>,
    _: ApiPrincipal,
    ApiPath(user): ApiPath<String>,
) -> ApiResult {
    Ok(Json(depot.user_view(&user).await?).into_response())
}

/// A page of users.
#[derive(Serialize, ToSchema)]
struct UserPage {
    items: Vec<UserView>,
    /// Pass as `after` for the next page; `null` on the last page.
    next_after: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    /// `null` clears the name.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    name: Option<Option<String>>,
    disabled: Option<bool>,
    password: Option<String>,
    admin: Option<bool>,
}

#[utoipa::path(
    patch,
    path = "/users/{user}",
    tag = "access",
    summary = "Change a user's name, password or disabled state",
    params(("user" = String, Path, description = "A user's id or e-mail address")),
    request_body = UserPatch,
    responses((status = 200, body = UserView), WriteErrors)
)]
async fn update_user(
    State(depot): State<Depot>,
    Admin(actor): Admin,
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
