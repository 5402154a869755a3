//! The admin API for who may download: groups, users, memberships, package groups, download
//! keys and jBackend keys (an extension's package group is set in `catalogue`). `{user}` in a path is a user's id
//! or e-mail address. Lists answer `{"items":[…]}`; writes need an `admin` token, reads any token.

use axum::Json;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use depot_service::{
    Actor, Depot, DownloadKeyView, DownloadLogPage, DownloadLogQuery, FeedCheckCount, GroupView,
    JbackendKeyView, MembershipView, NewPackageGroup, PackageGroupView, ServiceError, UserChanges,
    UserView,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::ApiPrincipal;
use crate::error::ApiError;
use crate::openapi::{Items, ReadErrors, WriteErrors};

pub fn routes() -> OpenApiRouter<Depot> {
    OpenApiRouter::new()
        .routes(routes!(list_groups, add_group))
        .routes(routes!(get_group, rename_group, delete_group))
        .routes(routes!(list_users, add_user))
        .routes(routes!(get_user, update_user))
        .routes(routes!(list_memberships, add_membership))
        .routes(routes!(end_membership))
        .routes(routes!(list_keys, create_key))
        .routes(routes!(revoke_key, relabel_key))
        .routes(routes!(list_jbackend_keys))
        .routes(routes!(rotate_jbackend_key))
        .routes(routes!(list_package_groups, add_package_group))
        .routes(routes!(
            get_package_group,
            update_package_group,
            delete_package_group
        ))
        .routes(routes!(download_log))
        .routes(routes!(feed_checks))
}

/// A caller whose token may change things, as the audit log names it.
pub struct Admin(pub Actor);

impl<S> axum::extract::FromRequestParts<S> for Admin
where
    Depot: axum::extract::FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let ApiPrincipal(p) = ApiPrincipal::from_request_parts(parts, state).await?;
        if !p.may_administer() {
            return Err(ServiceError::Forbidden(format!(
                "token {:?} ({} scope) may not change users, groups or keys: use an admin token",
                p.name,
                p.scope.name()
            ))
            .into());
        }
        Ok(Admin(Actor::token(&p)))
    }
}

/// A JSON body whose errors are API errors (`bad_json`), not axum's plain-text rejections.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(e) => Err(ServiceError::invalid("bad_json", e.body_text()).into()),
        }
    }
}

pub(crate) fn items<T: Serialize>(items: Vec<T>) -> Json<Value> {
    Json(json!({ "items": items }))
}

pub(crate) fn created<T: Serialize>(v: T) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

pub(crate) type ApiResult<T = Response> = Result<T, ApiError>;

/// Distinguishes a field set to `null` (`Some(None)`) from a missing one (`None`).
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewGroup {
    id: i64,
    name: String,
}

#[utoipa::path(
    post,
    path = "/groups",
    tag = "access",
    summary = "Create a user group",
    request_body = NewGroup,
    responses((status = 201, body = GroupView), WriteErrors)
)]
async fn add_group(
    State(depot): State<Depot>,
    Admin(actor): Admin,
    ApiJson(g): ApiJson<NewGroup>,
) -> ApiResult {
    Ok(created(depot.add_group(&actor, g.id, &g.name).await?))
}

#[utoipa::path(
    get,
    path = "/groups",
    tag = "access",
    summary = "User groups",
    responses((status = 200, body = Items<GroupView>), ReadErrors)
)]
async fn list_groups(State(depot): State<Depot>, _: ApiPrincipal) -> ApiResult<Json<Value>> {
    Ok(items(depot.list_groups().await?))
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewMembership {
    group: i64,
    from: Option<String>,
    until: Option<String>,
}

#[utoipa::path(
    post,
    path = "/users/{user}/memberships",
    tag = "access",
    summary = "Add a membership",
    params(("user" = String, Path, description = "A user's id or e-mail address")),
    request_body = NewMembership,
    responses((status = 201, body = MembershipView), WriteErrors)
)]
async fn add_membership(
    State(depot): State<Depot>,
    Admin(actor): Admin,
    ApiPath(user): ApiPath<String>,
    ApiJson(m): ApiJson<NewMembership>,
) -> ApiResult {
    let membership = depot
        .add_membership(
            &actor,
            &user,
            m.group,
            m.from.as_deref(),
            m.until.as_deref(),
        )
        .await?;
    Ok(created(membership))
}

/// How many memberships were ended.
#[derive(Serialize, ToSchema)]
struct Ended {
    ended: u64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EndMembership {
    group: i64,
    at: Option<String>,
}

#[utoipa::path(
    post,
    path = "/users/{user}/memberships/end",
    tag = "access",
    summary = "End a user's open memberships in a group",
    params(("user" = String, Path, description = "A user's id or e-mail address")),
    request_body = EndMembership,
    responses((status = 200, body = Ended), WriteErrors)
)]
async fn end_membership(
    State(depot): State<Depot>,
    Admin(actor): Admin,
    ApiPath(user): ApiPath<String>,
    ApiJson(m): ApiJson<EndMembership>,
) -> ApiResult<Json<Ended>> {
    let ended = depot
        .end_membership(&actor, &user, m.group, m.at.as_deref())
        .await?;
    Ok(Json(Ended { ended }))
}

#[utoipa::path(
    get,
    path = "/users/{user}/memberships",
    tag = "access",
    summary = "A user's memberships",
    params(("user" = String, Path, description = "A user's id or e-mail address")),
    responses((status = 200, body = Items<MembershipView>), ReadErrors)
)]
async fn list_memberships(
    State(depot): State<Depot>,
    _: ApiPrincipal,
    ApiPath(user): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    Ok(items(depot.memberships(&user).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewPackageGroupBody {
    id: String,
    groups: Vec<i64>,
    seed: Option<String>,
    name: Option<String>,
    policy: Option<String>,
}

#[utoipa::path(
    post,
    path = "/package-groups",
    tag = "access",
    summary = "Create a package group",
    request_body = NewPackageGroupBody,
    responses((status = 201, body = PackageGroupView), WriteErrors)
)]
async fn add_package_group(
    State(depot): State<Depot>,
    Admin(actor): Admin,
    ApiJson(b): ApiJson<NewPackageGroupBody>,
) -> ApiResult {
    let group = depot
        .add_package_group(
            &actor,
            NewPackageGroup {
                id: b.id,
                groups: b.groups,
                seed: b.seed,
                name: b.name,
                policy: b.policy,
            },
        )
        .await?;
    Ok(created(group))
}

#[utoipa::path(
    get,
    path = "/package-groups",
    tag = "access",
    summary = "Package groups",
    responses((status = 200, body = Items<PackageGroupView>), ReadErrors)
)]
async fn list_package_groups(
    State(depot): State<Depot>,
    _: ApiPrincipal,
) -> ApiResult<Json<Value>> {
    Ok(items(depot.list_package_groups().await?))
}

#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewKey {
    label: Option<String>,
}

#[utoipa::path(
    post,
    path = "/users/{user}/keys",
    tag = "access",
    summary = "Create a download key (admin)",
    params(("user" = String, Path, description = "A user's id or e-mail address")),
    request_body = Option<NewKey>,
    responses((status = 201, body = DownloadKeyView), WriteErrors)
)]
async fn create_key(
    State(depot): State<Depot>,
    Admin(actor): Admin,
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
    responses((status = 200, body = Items<DownloadKeyView>), ReadErrors)
)]
async fn list_keys(
    State(depot): State<Depot>,
    _: Admin,
    ApiPath(user): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    Ok(items(depot.download_keys(&user).await?))
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
    Admin(actor): Admin,
    ApiPath((user, id)): ApiPath<(String, i64)>,
) -> ApiResult {
    depot.revoke_download_key(&actor, &user, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct KeyPatch {
    label: String,
}

#[utoipa::path(
    patch,
    path = "/users/{user}/keys/{id}",
    tag = "access",
    summary = "Relabel a live download key (admin)",
    params(("user" = String, Path, description = "A user's id or e-mail address"), ("id" = i64, Path, description = "The download key's id")),
    request_body = KeyPatch,
    responses((status = 200, body = DownloadKeyView), WriteErrors)
)]
async fn relabel_key(
    State(depot): State<Depot>,
    Admin(actor): Admin,
    ApiPath((user, id)): ApiPath<(String, i64)>,
    ApiJson(p): ApiJson<KeyPatch>,
) -> ApiResult {
    let key = depot
        .relabel_download_key(&actor, &user, id, &p.label)
        .await?;
    Ok(Json(key).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct GroupPatch {
    name: String,
}

#[utoipa::path(
    patch,
    path = "/groups/{id}",
    tag = "access",
    summary = "Rename a group (admin)",
    params(("id" = i64, Path, description = "The group's id")),
    request_body = GroupPatch,
    responses((status = 200, body = GroupView), WriteErrors)
)]
async fn rename_group(
    State(depot): State<Depot>,
    Admin(actor): Admin,
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
    responses((status = 200, body = GroupView), ReadErrors)
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
    Admin(actor): Admin,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult {
    depot.delete_group(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PackageGroupPatch {
    /// The display name.
    name: Option<String>,
    /// `active` or `keep-released`.
    policy: Option<String>,
}

#[utoipa::path(
    patch,
    path = "/package-groups/{group}",
    tag = "access",
    summary = "Rename a package group or change its policy (admin)",
    params(("group" = String, Path, description = "A package group id")),
    request_body = PackageGroupPatch,
    responses((status = 200, body = PackageGroupView), WriteErrors)
)]
async fn update_package_group(
    State(depot): State<Depot>,
    Admin(actor): Admin,
    ApiPath(group): ApiPath<String>,
    ApiJson(p): ApiJson<PackageGroupPatch>,
) -> ApiResult {
    let view = depot
        .update_package_group(&actor, &group, p.name.as_deref(), p.policy.as_deref())
        .await?;
    Ok(Json(view).into_response())
}

#[utoipa::path(
    get,
    path = "/package-groups/{group}",
    tag = "access",
    summary = "A package group",
    params(("group" = String, Path, description = "A package group id")),
    responses((status = 200, body = PackageGroupView), ReadErrors)
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
    Admin(actor): Admin,
    ApiPath(group): ApiPath<String>,
) -> ApiResult {
    depot.delete_package_group(&actor, &group).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    get,
    path = "/users/{user}/jbackend-keys",
    tag = "access",
    summary = "A user's jBackend key in every package group (admin)",
    params(("user" = String, Path, description = "A user's id or e-mail address")),
    responses((status = 200, body = Items<JbackendKeyView>), ReadErrors)
)]
async fn list_jbackend_keys(
    State(depot): State<Depot>,
    _: Admin,
    ApiPath(user): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    Ok(items(depot.jbackend_keys(&user).await?))
}

#[utoipa::path(
    post,
    path = "/users/{user}/jbackend-keys/{group}/rotate",
    tag = "access",
    summary = "Replace a user's jBackend key in a package group (admin)",
    params(("user" = String, Path, description = "A user's id or e-mail address"), ("group" = String, Path, description = "A package group id")),
    responses((status = 200, body = JbackendKeyView), WriteErrors)
)]
async fn rotate_jbackend_key(
    State(depot): State<Depot>,
    Admin(actor): Admin,
    ApiPath((user, group)): ApiPath<(String, String)>,
) -> ApiResult {
    Ok(Json(depot.rotate_jbackend_key(&actor, &user, &group).await?).into_response())
}

/// Path parameters of the admin API, refused with `bad_path` (as JSON) when malformed.
pub struct ApiPath<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(ApiPath(v)),
            Err(e) => Err(ServiceError::invalid("bad_path", e.body_text()).into()),
        }
    }
}

/// A query string of the admin API, refused with `bad_query` when malformed.
pub struct ApiQuery<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(e) => Err(ServiceError::invalid("bad_query", e.body_text()).into()),
        }
    }
}

#[utoipa::path(
    get,
    path = "/download-events",
    tag = "reports",
    summary = "The download log, newest first",
    params(DownloadLogQuery),
    responses((status = 200, body = DownloadLogPage), ReadErrors)
)]
async fn download_log(
    State(depot): State<Depot>,
    _: ApiPrincipal,
    ApiQuery(q): ApiQuery<DownloadLogQuery>,
) -> ApiResult<Json<depot_service::DownloadLogPage>> {
    Ok(Json(depot.download_log(q).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct FeedCheckQuery {
    extension: Option<String>,
    from: Option<String>,
    until: Option<String>,
}

#[utoipa::path(
    get,
    path = "/feed-checks",
    tag = "reports",
    summary = "Feed requests per day and Joomla version",
    params(FeedCheckQuery),
    responses((status = 200, body = Items<FeedCheckCount>), ReadErrors)
)]
async fn feed_checks(
    State(depot): State<Depot>,
    _: ApiPrincipal,
    ApiQuery(q): ApiQuery<FeedCheckQuery>,
) -> ApiResult<Json<Value>> {
    Ok(items(
        depot
            .feed_check_counts(
                q.extension.as_deref(),
                q.from.as_deref(),
                q.until.as_deref(),
            )
            .await?,
    ))
}
