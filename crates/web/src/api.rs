//! The admin API, `/api/v1`.

use axum::extract::{
    FromRef, FromRequest, FromRequestParts, Multipart, Path, Query, Request, State,
};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use depot_service::{Depot, Principal, PublishOptions, PublishOutcome, ServiceError, spool};
use futures::TryStreamExt;
use serde::Deserialize;

use crate::error::ApiError;
use crate::params::bearer;

pub fn router() -> Router<Depot> {
    crate::admin::router().route(
        "/extensions/{extension}/releases/{version}",
        axum::routing::put(upload)
            // The upload streams to disk and enforces the configured limit itself.
            .layer(axum::extract::DefaultBodyLimit::disable()),
    )
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
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadParams {
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
    fn set(&mut self, field: &str, value: String) -> Result<(), ServiceError> {
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

    fn into_options(self) -> Result<PublishOptions, ServiceError> {
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

/// `PUT /api/v1/extensions/{extension}/releases/{version}` with the zip as the body, or as the
/// `file` part of a multipart form whose other parts are the metadata fields.
async fn upload(
    State(depot): State<Depot>,
    ApiPrincipal(principal): ApiPrincipal,
    Path((extension, version)): Path<(String, String)>,
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
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit + 64 * 1024) {
        return Err(ServiceError::TooLarge(limit).into());
    }
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"));
    let temp_dir = depot.settings().temp_dir.clone();

    let (params, spooled) = if is_multipart {
        let mut form = Multipart::from_request(request, &depot)
            .await
            .map_err(|e| ServiceError::invalid("bad_multipart", e.body_text()))?;
        let mut params = UploadParams::default();
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
                let text = String::from_utf8(bytes).map_err(|_| {
                    ServiceError::invalid("bad_multipart", format!("field {name:?} is not UTF-8"))
                })?;
                params.set(&name, text)?;
            }
        }
        let spooled = spooled.ok_or_else(|| {
            ServiceError::invalid("missing_file", "the multipart form has no \"file\" part")
        })?;
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
        .publish(&extension, &version, spooled, &options)
        .await?;
    let status = if published.outcome == PublishOutcome::Created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(published)).into_response())
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
