//! Releases: upload (a raw zip body or multipart with metadata), an application's builds,
//! list, read, publish, yank, notes, delete a draft.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use depot_api::{BuildParams, ReleasePatch, UploadParams};
use depot_service::{
    BuildUpload, Depot, PublishOptions, PublishOutcome, PublishedBuild, PublishedRelease,
    ReleaseChanges, ReleaseView, RolloutChange, ServiceError, Spooled, spool,
};
use futures::TryStreamExt;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::openapi::{ErrorBody, Items, ReadErrors, WriteErrors};

use super::{ApiActor, ApiJson, ApiPath, ApiResult, items};

pub(super) fn routes() -> OpenApiRouter<Depot> {
    let (schemas, paths, upload_router) = routes!(upload);
    // The uploads stream to disk and enforce the configured limit themselves.
    let upload_router = upload_router.layer(axum::extract::DefaultBodyLimit::disable());
    let (build_schemas, build_paths, build_router) = routes!(upload_build);
    let build_router = build_router.layer(axum::extract::DefaultBodyLimit::disable());
    OpenApiRouter::new()
        .routes((schemas, paths, upload_router))
        .routes((build_schemas, build_paths, build_router))
        .routes(routes!(list_releases))
        .routes(routes!(get_release, change_release, delete_release))
}

#[utoipa::path(
    get,
    path = "/extensions/{extension}/releases",
    tag = "catalogue",
    summary = "Every release of an extension",
    params(("extension" = String, Path, description = "The extension's full name, e.g. plg_system_hello")),
    responses((status = 200, description = "The extension's releases, newest first", body = Items<ReleaseView>), ReadErrors)
)]
async fn list_releases(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath(extension): ApiPath<String>,
) -> ApiResult<Json<Items<ReleaseView>>> {
    Ok(items(depot.list_releases(&actor, &extension).await?))
}

/// `GET /api/v1/extensions/{extension}/releases/{version}`.
#[utoipa::path(
    get,
    path = "/extensions/{extension}/releases/{version}",
    tag = "catalogue",
    summary = "A release",
    params(("extension" = String, Path, description = "The extension's full name, e.g. plg_system_hello"), ("version" = String, Path, description = "A release version, e.g. 1.2.0")),
    responses((status = 200, description = "The release", body = ReleaseView), ReadErrors)
)]
pub(crate) async fn get_release(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath((extension, version)): ApiPath<(String, String)>,
) -> ApiResult {
    Ok(Json(depot.release(&actor, &extension, &version).await?).into_response())
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
    responses((status = 200, description = "The release, changed", body = ReleaseView), WriteErrors)
)]
pub(crate) async fn change_release(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath((extension, version)): ApiPath<(String, String)>,
    ApiJson(p): ApiJson<ReleasePatch>,
) -> ApiResult {
    let rollout = match (p.rollout, p.rollout_paused) {
        (Some(_), Some(_)) => {
            return Err(ApiError(ServiceError::invalid(
                "bad_rollout",
                "start or end a rollout, or pause or resume it: not both at once",
            )));
        }
        (Some(Some(schedule)), None) => Some(RolloutChange::Start(schedule)),
        (Some(None), None) => Some(RolloutChange::End),
        (None, Some(true)) => Some(RolloutChange::Pause),
        (None, Some(false)) => Some(RolloutChange::Resume),
        (None, None) => None,
    };
    let changes = ReleaseChanges {
        state: p.state,
        notes: p.notes,
        rollout,
        security: p.security,
    };
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
    ApiActor(actor): ApiActor,
    ApiPath((extension, version)): ApiPath<(String, String)>,
) -> ApiResult {
    depot.delete_draft(&actor, &extension, &version).await?;
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}

/// The form field `field` of an upload's metadata, as an API error when there is no such field.
pub(crate) fn set_upload_field(
    params: &mut UploadParams,
    field: &str,
    value: String,
) -> Result<(), ServiceError> {
    params.set(field, value).map_err(|other| {
        ServiceError::invalid("unknown_field", format!("unknown form field {other:?}"))
    })
}

/// An upload's metadata as the publish use case takes it.
pub(crate) fn publish_options(params: UploadParams) -> Result<PublishOptions, ServiceError> {
    let draft = match params.draft.as_deref().map(str::trim) {
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
        joomla: params.joomla,
        stability: params.stability,
        notes: params.notes,
        draft,
        php_minimum: params.php_minimum,
        supported_databases: params.supported_databases,
        package_id: params.package_id,
        package_group: params.package_group,
        security: params.security,
    })
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
    ApiActor(actor): ApiActor,
    ApiPath((extension, version)): ApiPath<(String, String)>,
    request: Request,
) -> Result<Response, ApiError> {
    // Refused before a byte of the body is read.
    depot.check_may_publish(&actor, &extension)?;
    let (params, spooled, _) = read_upload(
        request,
        &depot,
        "the zip",
        |p: &mut UploadParams, name, text| set_upload_field(p, name, text),
    )
    .await?;
    let options = publish_options(params)?;
    let published = depot
        .publish(&actor, &extension, &version, spooled, &options)
        .await?;
    let status = if published.outcome == PublishOutcome::Created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(published)).into_response())
}

/// The multipart form of a build's upload: the file as `file`, the rest as text fields.
#[derive(ToSchema)]
#[allow(dead_code)]
struct BuildForm {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    #[schema(inline)]
    metadata: BuildParams,
}

/// `PUT /api/v1/extensions/{extension}/releases/{version}/builds/{target}/{arch}`: one
/// platform's build of an application, with the vendor's `.sig`.
#[utoipa::path(
    put,
    path = "/extensions/{extension}/releases/{version}/builds/{target}/{arch}",
    tag = "catalogue",
    summary = "Upload an application's build for one platform (the file as the body, or a multipart form)",
    description = "What a vendor's CI job per platform runs after `tauri build`: the bundle \
                   (`file`; its name is kept) and the contents of the `.sig` `tauri signer sign` \
                   wrote (`signature`), which Tauri's updater checks with the vendor's public \
                   key. The first build of a version creates the release (and the application, \
                   on its first upload); the others join it. A published release's build is \
                   never replaced by other bytes.",
    params(
        ("extension" = String, Path, description = "The application's name, e.g. acme-notes"),
        ("version" = String, Path, description = "The version, semver (1.2.0)"),
        ("target" = String, Path, description = "Tauri's target: linux, windows, darwin"),
        ("arch" = String, Path, description = "Tauri's arch: x86_64, aarch64, i686, armv7"),
        BuildParams,
    ),
    request_body(
        description = "The build",
        content(("application/octet-stream"), (BuildForm = "multipart/form-data")),
    ),
    responses(
        (status = 201, description = "A new release, with this build", body = PublishedBuild),
        (status = 200, description = "The build joined the release, replaced a draft's, or was there already", body = PublishedBuild),
        (status = 400, description = "A malformed request, platform, file name or signature", body = ErrorBody),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 403, description = "The token may not publish this application", body = ErrorBody),
        (status = 409, description = "Other bytes for a published release's build, or a clash", body = ErrorBody),
        (status = 413, description = "Larger than the upload limit", body = ErrorBody),
        (status = 422, description = "The name is another ecosystem's product", body = ErrorBody),
    )
)]
async fn upload_build(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath((extension, version, target, arch)): ApiPath<(String, String, String, String)>,
    request: Request,
) -> Result<Response, ApiError> {
    depot.check_may_publish(&actor, &extension)?;
    let (params, spooled, form_filename) = read_upload(
        request,
        &depot,
        "the build",
        |p: &mut BuildParams, name, text| {
            p.set(name, text).map_err(|other| {
                ServiceError::invalid("unknown_field", format!("unknown form field {other:?}"))
            })
        },
    )
    .await?;
    let filename = params.filename.clone().or(form_filename).ok_or_else(|| {
        ServiceError::invalid(
            "missing_filename",
            "name the build's file: filename=, or the multipart file part's name",
        )
    })?;
    let vendor_signature = params.signature.clone().ok_or_else(|| {
        ServiceError::invalid(
            "missing_signature",
            "send the .sig tauri signer wrote for the build as signature=",
        )
    })?;
    let options = publish_options(params.upload_params())?;
    let build = BuildUpload {
        target,
        arch,
        filename,
        vendor_signature,
    };
    let published = depot
        .publish_build(&actor, &extension, &version, build, spooled, &options)
        .await?;
    let status = if published.outcome == PublishOutcome::Created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(published)).into_response())
}

/// An upload's body and metadata: a multipart form (the file as `file`, with the name the form
/// gives it; the metadata as fields `set` takes) or the raw file with the metadata in the
/// query. Refuses an empty file, naming `what` should have been sent.
async fn read_upload<P: DeserializeOwned + Default>(
    request: Request,
    depot: &Depot,
    what: &str,
    mut set: impl FnMut(&mut P, &str, String) -> Result<(), ServiceError>,
) -> Result<(P, Spooled, Option<String>), ServiceError> {
    refuse_declared_excess(request.headers(), depot)?;
    let (params, spooled, filename) = if is_multipart(request.headers()) {
        let mut params = P::default();
        let (spooled, filename) =
            read_upload_form(request, depot, |name, text| set(&mut params, name, text)).await?;
        (params, spooled, filename)
    } else {
        let (parts, body) = request.into_parts();
        let Query(params) = Query::<P>::try_from_uri(&parts.uri)
            .map_err(|e| ServiceError::invalid("bad_query", e.body_text()))?;
        let stream = body.into_data_stream().map_err(std::io::Error::other);
        let settings = depot.settings();
        let spooled = spool(&settings.temp_dir, stream, settings.max_upload_bytes).await?;
        (params, spooled, None)
    };
    if spooled.size == 0 {
        return Err(ServiceError::invalid(
            "empty_body",
            format!("the upload is empty: send {what}"),
        ));
    }
    Ok((params, spooled, filename))
}

fn is_multipart(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"))
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

/// Reads a multipart upload form: the file as the `file` part (spooled to disk within the
/// upload limit, with the name the form gives it), every other part handed to `text` as a
/// small UTF-8 field.
pub(crate) async fn read_upload_form(
    request: Request,
    depot: &Depot,
    mut text: impl FnMut(&str, String) -> Result<(), ServiceError>,
) -> Result<(Spooled, Option<String>), ServiceError> {
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
            let file_name = field.file_name().map(str::to_string);
            spooled = Some((spool(&temp_dir, field, limit).await?, file_name));
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
