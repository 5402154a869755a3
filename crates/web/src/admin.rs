//! The admin API for who may download: groups, users, memberships, package groups, an
//! extension's package group, download keys and jBackend keys. `{user}` in a path is a user's id
//! or e-mail address. Lists answer `{"items":[…]}`; writes need an `admin` token, reads any token.

use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use depot_service::{Depot, DownloadLogQuery, NewPackageGroup, ServiceError, UserChanges};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

use crate::api::ApiPrincipal;
use crate::error::ApiError;

pub fn router() -> Router<Depot> {
    Router::new()
        .route("/groups", get(list_groups).post(add_group))
        .route("/users", get(list_users).post(add_user))
        .route("/users/{user}", get(get_user).patch(update_user))
        .route(
            "/users/{user}/memberships",
            get(list_memberships).post(add_membership),
        )
        .route("/users/{user}/memberships/end", post(end_membership))
        .route("/users/{user}/keys", get(list_keys).post(create_key))
        .route("/users/{user}/keys/{id}", delete(revoke_key))
        .route("/users/{user}/jbackend-keys", get(list_jbackend_keys))
        .route(
            "/users/{user}/jbackend-keys/{group}/rotate",
            post(rotate_jbackend_key),
        )
        .route(
            "/package-groups",
            get(list_package_groups).post(add_package_group),
        )
        .route("/extensions/{extension}", patch(set_extension))
        .route("/download-events", get(download_log))
        .route("/feed-checks", get(feed_checks))
}

/// A caller whose token may change things.
pub struct Admin;

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
        Ok(Admin)
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

fn items<T: Serialize>(items: Vec<T>) -> Json<Value> {
    Json(json!({ "items": items }))
}

fn created<T: Serialize>(v: T) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

type ApiResult<T = Response> = Result<T, ApiError>;

/// Distinguishes a field set to `null` (`Some(None)`) from a missing one (`None`).
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewGroup {
    id: i64,
    name: String,
}

async fn add_group(
    State(depot): State<Depot>,
    _: Admin,
    ApiJson(g): ApiJson<NewGroup>,
) -> ApiResult {
    Ok(created(depot.add_group(g.id, &g.name).await?))
}

async fn list_groups(State(depot): State<Depot>, _: ApiPrincipal) -> ApiResult<Json<Value>> {
    Ok(items(depot.list_groups().await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    email: String,
    name: Option<String>,
    password: Option<String>,
}

async fn add_user(State(depot): State<Depot>, _: Admin, ApiJson(u): ApiJson<NewUser>) -> ApiResult {
    let user = depot
        .add_user(&u.email, u.name.as_deref(), u.password.as_deref())
        .await?;
    Ok(created(user))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserQuery {
    /// A part of the address.
    email: Option<String>,
    /// The last id of the previous page.
    after: Option<i64>,
    limit: Option<i64>,
}

async fn list_users(
    State(depot): State<Depot>,
    _: ApiPrincipal,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> ApiResult<Json<Value>> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let users = depot
        .list_users(q.email.as_deref(), q.after.unwrap_or(0), limit)
        .await?;
    let next_after = (users.len() as i64 == limit)
        .then(|| users.last().map(|u| u.id))
        .flatten();
    Ok(Json(json!({ "items": users, "next_after": next_after })))
}

async fn get_user(
    State(depot): State<Depot>,
    _: ApiPrincipal,
    Path(user): Path<String>,
) -> ApiResult {
    Ok(Json(depot.user_view(&user).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    #[serde(default, deserialize_with = "nullable")]
    name: Option<Option<String>>,
    disabled: Option<bool>,
    password: Option<String>,
}

async fn update_user(
    State(depot): State<Depot>,
    _: Admin,
    Path(user): Path<String>,
    ApiJson(p): ApiJson<UserPatch>,
) -> ApiResult {
    let changes = UserChanges {
        name: p.name,
        disabled: p.disabled,
        password: p.password,
    };
    Ok(Json(depot.update_user(&user, changes).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMembership {
    group: i64,
    from: Option<String>,
    until: Option<String>,
}

async fn add_membership(
    State(depot): State<Depot>,
    _: Admin,
    Path(user): Path<String>,
    ApiJson(m): ApiJson<NewMembership>,
) -> ApiResult {
    let membership = depot
        .add_membership(&user, m.group, m.from.as_deref(), m.until.as_deref())
        .await?;
    Ok(created(membership))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndMembership {
    group: i64,
    at: Option<String>,
}

async fn end_membership(
    State(depot): State<Depot>,
    _: Admin,
    Path(user): Path<String>,
    ApiJson(m): ApiJson<EndMembership>,
) -> ApiResult<Json<Value>> {
    let ended = depot
        .end_membership(&user, m.group, m.at.as_deref())
        .await?;
    Ok(Json(json!({ "ended": ended })))
}

async fn list_memberships(
    State(depot): State<Depot>,
    _: ApiPrincipal,
    Path(user): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(items(depot.memberships(&user).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPackageGroupBody {
    id: String,
    groups: Vec<i64>,
    seed: Option<String>,
    name: Option<String>,
    policy: Option<String>,
}

async fn add_package_group(
    State(depot): State<Depot>,
    _: Admin,
    ApiJson(b): ApiJson<NewPackageGroupBody>,
) -> ApiResult {
    let group = depot
        .add_package_group(NewPackageGroup {
            id: b.id,
            groups: b.groups,
            seed: b.seed,
            name: b.name,
            policy: b.policy,
        })
        .await?;
    Ok(created(group))
}

async fn list_package_groups(
    State(depot): State<Depot>,
    _: ApiPrincipal,
) -> ApiResult<Json<Value>> {
    Ok(items(depot.list_package_groups().await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtensionPatch {
    /// A package group id makes the extension paid; `null` makes it free. Required, so that an
    /// empty body cannot make a paid extension free by accident.
    #[serde(deserialize_with = "nullable")]
    package_group: Option<Option<String>>,
}

async fn set_extension(
    State(depot): State<Depot>,
    _: Admin,
    Path(extension): Path<String>,
    ApiJson(p): ApiJson<ExtensionPatch>,
) -> ApiResult<Json<Value>> {
    let group = p.package_group.flatten();
    depot
        .set_extension_package_group(&extension, group.as_deref())
        .await?;
    Ok(Json(
        json!({ "extension": extension, "package_group": group }),
    ))
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    label: Option<String>,
}

async fn create_key(
    State(depot): State<Depot>,
    _: Admin,
    Path(user): Path<String>,
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
        depot.create_download_key(&user, label.as_deref()).await?,
    ))
}

async fn list_keys(
    State(depot): State<Depot>,
    _: Admin,
    Path(user): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(items(depot.download_keys(&user).await?))
}

async fn revoke_key(
    State(depot): State<Depot>,
    _: Admin,
    Path((user, id)): Path<(String, i64)>,
) -> ApiResult {
    depot.revoke_download_key(&user, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_jbackend_keys(
    State(depot): State<Depot>,
    _: Admin,
    Path(user): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(items(depot.jbackend_keys(&user).await?))
}

async fn rotate_jbackend_key(
    State(depot): State<Depot>,
    _: Admin,
    Path((user, group)): Path<(String, String)>,
) -> ApiResult {
    Ok(Json(depot.rotate_jbackend_key(&user, &group).await?).into_response())
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

async fn download_log(
    State(depot): State<Depot>,
    _: ApiPrincipal,
    ApiQuery(q): ApiQuery<DownloadLogQuery>,
) -> ApiResult<Json<depot_service::DownloadLogPage>> {
    Ok(Json(depot.download_log(q).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedCheckQuery {
    extension: Option<String>,
    from: Option<String>,
    until: Option<String>,
}

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
