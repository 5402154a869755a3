//! The admin API, `/api/v1`: one module per noun, each registering its own routes, and the
//! extractors they share. Every handler carries a `#[utoipa::path]`, so the router and the
//! OpenAPI document come from the same registrations. Lists answer `{"items":[…]}`; writes need an
//! `admin` token (publishing, a `publish` token for the extension), reads any token.

mod audit;
mod extensions;
mod groups;
mod keys;
mod memberships;
mod package_groups;
mod releases;
mod reports;
mod sales;
mod tokens;
mod users;
mod webhooks;

pub(crate) use depot_api::UploadParams;
pub(crate) use releases::{
    publish_options, read_upload_form, refuse_declared_excess, set_upload_field,
};

use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use depot_service::{Actor, Depot, Principal, ServiceError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::openapi::ApiDoc;
use crate::params::bearer;

/// The admin API's router and its OpenAPI document, built from the same registrations.
pub fn router() -> (Router<Depot>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(groups::routes())
        .merge(users::routes())
        .merge(memberships::routes())
        .merge(keys::routes())
        .merge(package_groups::routes())
        .merge(reports::routes())
        .merge(extensions::routes())
        .merge(releases::routes())
        .merge(tokens::routes())
        .merge(audit::routes())
        .merge(sales::routes())
        .merge(webhooks::routes())
        .split_for_parts()
}

/// The caller as the use cases see it: who they are (for the audit log) and what their token
/// allows. The use cases check that authority themselves; handlers only pass the actor on.
pub struct ApiActor(pub Actor);

impl<S> axum::extract::FromRequestParts<S> for ApiActor
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
        Ok(ApiActor(Actor::token(&p)))
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

pub(crate) fn items<T: Serialize>(items: Vec<T>) -> Json<depot_api::Items<T>> {
    Json(depot_api::Items { items })
}

pub(crate) fn created<T: Serialize>(v: T) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

pub(crate) type ApiResult<T = Response> = Result<T, ApiError>;

/// An extractor of request parts that answers a malformed request with the API's own error body
/// and `code`, instead of axum's plain-text rejection.
macro_rules! api_extractor {
    ($(#[$doc:meta])* $name:ident, $inner:ident, $code:literal) => {
        $(#[$doc])*
        pub struct $name<T>(pub T);

        impl<S, T> FromRequestParts<S> for $name<T>
        where
            T: DeserializeOwned + Send,
            S: Send + Sync,
        {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
                match $inner::<T>::from_request_parts(parts, state).await {
                    Ok($inner(v)) => Ok($name(v)),
                    Err(e) => Err(ServiceError::invalid($code, e.body_text()).into()),
                }
            }
        }
    };
}

api_extractor!(
    /// Path parameters of the admin API, refused with `bad_path` (as JSON) when malformed.
    ApiPath,
    Path,
    "bad_path"
);
api_extractor!(
    /// A query string of the admin API, refused with `bad_query` when malformed.
    ApiQuery,
    Query,
    "bad_query"
);

/// The caller, from `Authorization: Bearer <token>`.
pub struct ApiPrincipal(pub Principal);

impl<S> FromRequestParts<S> for ApiPrincipal
where
    Depot: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let depot = Depot::from_ref(state);
        let token = bearer(&parts.headers).ok_or(ServiceError::Unauthenticated)?;
        Ok(ApiPrincipal(depot.authenticate(token).await?))
    }
}
