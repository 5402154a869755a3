//! The admin API, `/api/v1`.

use axum::extract::{FromRef, FromRequest, FromRequestParts, Multipart, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use depot_service::{
    Actor, Depot, Principal, PublishOptions, PublishOutcome, PublishedRelease, ServiceError,
    Spooled, spool,
};
use futures::TryStreamExt;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::admin::ApiPath;
use crate::error::ApiError;
use crate::openapi::{ApiDoc, ErrorBody};
use crate::params::bearer;

/// The admin API's router and its OpenAPI document, built from the same registrations.
pub fn router() -> (Router<Depot>, utoipa::openapi::OpenApi) {
    let (schemas, paths, upload_router) = routes!(upload);
    // The upload streams to disk and enforces the configured limit itself.
    let upload_router = upload_router.layer(axum::extract::DefaultBodyLimit::disable());
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(crate::admin::routes())
        .merge(crate::catalogue::routes())
        .routes((schemas, paths, upload_router))
        .routes(routes!(
            crate::catalogue::get_release,
            crate::catalogue::change_release,
            crate::catalogue::delete_release
        ))
        .split_for_parts()
}

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

/// Release metadata, from the query string (raw zip body) or from multipart text fields.
/// Release metadata; all optional (the manifest and the extension's defaults fill the gaps).
#[derive(Debug, Default, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct UploadParams {
    joomla: Option<String>,
    stability: Option<String>,
    notes: Option<String>,
    draft: Option<String>,
    php_minimum: Option<String>,
    supported_databases: Option<String>,
    package_id: Option<String>,
    package_group: Option<String>,
}

impl UploadParams {
    pub(crate) fn set(&mut self, field: &str, value: String) -> Result<(), ServiceError> {
        let slot = match field {
            "joomla" => &mut self.joomla,
            "stability" => &mut self.stability,
            "notes" => &mut self.notes,
            "draft" => &mut self.draft,
            "php_minimum" => &mut self.php_minimum,
            "supported_databases" => &mut self.supported_databases,
            "package_id" => &mut self.package_id,
            "package_group" => &mut self.package_group,
            other => {
                return Err(ServiceError::invalid(
                    "unknown_field",
                    format!("unknown form field {other:?}"),
                ));
            }
        };
        *slot = Some(value);
        Ok(())
    }

    pub(crate) fn into_options(self) -> Result<PublishOptions, ServiceError> {
        let draft = match self.draft.as_deref().map(str::trim) {
            None | Some("") | Some("0") | Some("false") | Some("no") => false,
            Some("1") | Some("true") | Some("yes") => true,
            Some(other) => {
                return Err(ServiceError::invalid(
                    "bad_draft",
                    format!("draft={other:?}: use true or false"),
                ));
            }
        };
        Ok(PublishOptions {
            joomla: self.joomla,
            stability: self.stability,
            notes: self.notes,
            draft,
            php_minimum: self.php_minimum,
            supported_databases: self.supported_databases,
            package_id: self.package_id,
            package_group: self.package_group,
        })
    }
}

/// Notes and other text fields are small; this keeps a hostile form from filling memory.
const MAX_TEXT_FIELD: usize = 256 * 1024;

/// The multipart form of an upload: the zip as `file`, the metadata as text fields.
#[derive(ToSchema)]
#[allow(dead_code)]
struct UploadForm {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    #[schema(inline)]
    #[allow(dead_code)]
    metadata: Option<UploadParams>,
}

/// `PUT /api/v1/extensions/{extension}/releases/{version}` with the zip as the body, or as the
/// `file` part of a multipart form whose other parts are the metadata fields.
#[utoipa::path(
    put,
    path = "/extensions/{extension}/releases/{version}",
    tag = "catalogue",
    summary = "Upload a release (the zip as the body, or a multipart form)",
    params(
        ("extension" = String, Path, description = "The extension's full name, e.g. plg_system_hello"),
        ("version" = String, Path, description = "The version, as in the package's manifest"),
        UploadParams,
    ),
    request_body(
        description = "The package: a Joomla extension zip",
        content(("application/zip"), ("application/octet-stream"), (UploadForm = "multipart/form-data")),
    ),
    responses(
        (status = 201, description = "A new release", body = PublishedRelease),
        (status = 200, description = "The same bytes again, or a replaced draft", body = PublishedRelease),
        (status = 400, description = "A malformed request or metadata", body = ErrorBody),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 403, description = "The token may not publish this extension", body = ErrorBody),
        (status = 404, description = "A named package group does not exist", body = ErrorBody),
        (status = 409, description = "Different bytes for a published version, or a clash", body = ErrorBody),
        (status = 413, description = "Larger than the upload limit", body = ErrorBody),
        (status = 422, description = "Not an acceptable package, or its manifest contradicts the URL", body = ErrorBody),
    )
)]
async fn upload(
    State(depot): State<Depot>,
    ApiPrincipal(principal): ApiPrincipal,
    ApiPath((extension, version)): ApiPath<(String, String)>,
    request: Request,
) -> Result<Response, ApiError> {
    if !principal.may_publish(&extension) {
        return Err(ServiceError::Forbidden(format!(
            "token {:?} may not publish {extension}",
            principal.name
        ))
        .into());
    }
    let limit = depot.settings().max_upload_bytes;
    refuse_declared_excess(request.headers(), &depot)?;
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"));
    let temp_dir = depot.settings().temp_dir.clone();

    let (params, spooled) = if is_multipart {
        let mut params = UploadParams::default();
        let spooled =
            read_upload_form(request, &depot, |name, text| params.set(name, text)).await?;
        (params, spooled)
    } else {
        let (parts, body) = request.into_parts();
        let Query(params) = Query::<UploadParams>::try_from_uri(&parts.uri)
            .map_err(|e| ServiceError::invalid("bad_query", e.body_text()))?;
        let stream = body.into_data_stream().map_err(std::io::Error::other);
        (params, spool(&temp_dir, stream, limit).await?)
    };
    if spooled.size == 0 {
        return Err(
            ServiceError::invalid("empty_body", "the upload is empty: send the zip").into(),
        );
    }
    let options = params.into_options()?;
    let published = depot
        .publish(
            &Actor::token(&principal),
            &extension,
            &version,
            spooled,
            &options,
        )
        .await?;
    let status = if published.outcome == PublishOutcome::Created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(published)).into_response())
}

/// Refuses at once a body whose declared length is over the upload limit (plus room for a
/// form's other fields), before any of it is read.
pub(crate) fn refuse_declared_excess(
    headers: &axum::http::HeaderMap,
    depot: &Depot,
) -> Result<(), ServiceError> {
    let limit = depot.settings().max_upload_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit + 64 * 1024) {
        return Err(ServiceError::TooLarge(limit));
    }
    Ok(())
}

/// Reads a multipart upload form: the zip as the `file` part (spooled to disk within the
/// upload limit), every other part handed to `text` as a small UTF-8 field.
pub(crate) async fn read_upload_form(
    request: Request,
    depot: &Depot,
    mut text: impl FnMut(&str, String) -> Result<(), ServiceError>,
) -> Result<Spooled, ServiceError> {
    let limit = depot.settings().max_upload_bytes;
    let temp_dir = depot.settings().temp_dir.clone();
    let mut form = Multipart::from_request(request, depot)
        .await
        .map_err(|e| ServiceError::invalid("bad_multipart", e.body_text()))?;
    let mut spooled = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| ServiceError::invalid("bad_multipart", e.body_text()))?
    {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            spooled = Some(spool(&temp_dir, field, limit).await?);
        } else {
            let bytes = read_small(field).await?;
            let value = String::from_utf8(bytes).map_err(|_| {
                ServiceError::invalid("bad_multipart", format!("field {name:?} is not UTF-8"))
            })?;
            text(&name, value)?;
        }
    }
    spooled.ok_or_else(|| {
        ServiceError::invalid("missing_file", "the multipart form has no \"file\" part")
    })
}

async fn read_small(
    mut field: axum::extract::multipart::Field<'_>,
) -> Result<Vec<u8>, ServiceError> {
    let mut out = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| ServiceError::invalid("bad_multipart", e.body_text()))?
    {
        if out.len() + chunk.len() > MAX_TEXT_FIELD {
            return Err(ServiceError::invalid(
                "field_too_large",
                format!("a form field is limited to {MAX_TEXT_FIELD} bytes"),
            ));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}
