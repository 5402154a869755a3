//! `/signing-key.pub` and `/signing-keys/{key_id}.pub`: the public keys that check packages'
//! `.minisig` signatures, in minisign's public-key file format.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use depot_service::{Depot, ServiceError};

use crate::error::ReleaseError;

/// Public keys change only when the vendor rotates theirs: cache briefly, like feeds.
const KEY_CACHE_CONTROL: &str = "public, max-age=300";

fn key_file(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, KEY_CACHE_CONTROL),
        ],
        body,
    )
        .into_response()
}

/// The key packages are signed with now.
#[utoipa::path(
    get,
    path = "/signing-key.pub",
    tag = "downloads",
    summary = "The public key of packages' signatures",
    description = "minisign's public-key file: check a package with \
                   `minisign -Vm package.zip -p signing-key.pub` (the signature is the \
                   package's download URL with `.minisig` appended).",
    responses((status = 200, description = "The public key", content_type = "text/plain", body = String))
)]
pub async fn current_key(State(depot): State<Depot>) -> Response {
    key_file(depot.signing_key().public_key_file().to_string())
}

/// Any key depot has signed with, by the id a `.minisig` names.
#[utoipa::path(
    get,
    path = "/signing-keys/{file}",
    tag = "downloads",
    summary = "A public key depot has signed with",
    description = "`{key_id}.pub`: the key with that id (16 hex digits, as minisign prints it), \
                   current or rotated out; a signature made before a rotation checks against it \
                   until the package is re-signed.",
    params(("file" = String, Path, description = "`{key_id}.pub`")),
    responses(
        (status = 200, description = "The public key", content_type = "text/plain", body = String),
        (status = 404, description = "No such key"),
    )
)]
pub async fn key_by_id(
    State(depot): State<Depot>,
    Path(file): Path<String>,
) -> Result<Response, ReleaseError> {
    let key_id = file.strip_suffix(".pub").ok_or(ServiceError::NotFound {
        what: "signing key",
    })?;
    Ok(key_file(depot.signing_key_file(key_id).await?))
}
