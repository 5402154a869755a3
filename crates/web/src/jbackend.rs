//! `/post/release/{keybymail,keybyauth,validate}/{package_group}`: the jBackend Release System API.
//!
//! Parameters come from the query string (the seed's examples), a form body or a JSON object;
//! the body wins over the query. Answers are `{"status":"ok",…}` or the `REL_…` failure body.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request, State};
use depot_api::jbackend::{Done, IssuedKey};
use depot_core::Refusal;
use depot_service::Depot;

use crate::error::ReleaseError;
use crate::openapi::JbackendRefusals;
use crate::params::params;

/// Bodies of this API are a few short fields.
const MAX_BODY: usize = 64 * 1024;

/// One call of the API: the package group in the path, the parameters, the client's address.
pub struct Call {
    group: String,
    params: HashMap<String, String>,
    client_ip: String,
}

impl Call {
    fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

impl<S: Send + Sync> FromRequest<S> for Call {
    type Rejection = ReleaseError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let malformed = || ReleaseError::new(Refusal::BadRequest);
        let (mut parts, body) = req.into_parts();
        let Path(group) = Path::<String>::from_request_parts(&mut parts, state)
            .await
            .map_err(|_| malformed())?;
        let client_ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip().to_string())
            .unwrap_or_default();
        let body = axum::body::to_bytes(body, MAX_BODY)
            .await
            .map_err(|_| malformed())?;
        let params = params(&parts.headers, parts.uri.query(), &body)?;
        Ok(Call {
            group,
            params,
            client_ip,
        })
    }
}

/// The parameters of the jBackend API, for the document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct JbackendParams {
    /// The account's e-mail address (`keybymail`, `validate`; `keybyauth` takes it too).
    email: Option<String>,
    /// The key to check (`validate`).
    key: Option<String>,
    /// The account's username or e-mail address (`keybyauth`).
    username: Option<String>,
    /// The account's password (`keybyauth`).
    password: Option<String>,
}

/// The package group in every jBackend path.
const GROUP: &str = "A package group id (or a Joomla group id that names one)";

#[utoipa::path(
    post,
    path = "/post/release/keybyauth/{group}",
    tag = "jbackend",
    summary = "The account's key for a package group, for its username and password",
    params(("group" = String, Path, description = GROUP)),
    request_body(
        description = "`username` (or `email`) and `password`, as a form, a JSON object or the \
                       query string",
        content(
            (JbackendParams = "application/x-www-form-urlencoded"),
            (JbackendParams = "application/json"),
        ),
    ),
    responses(
        (status = 200, description = "The key", body = IssuedKey),
        JbackendRefusals,
    )
)]
pub async fn key_by_auth(
    State(depot): State<Depot>,
    call: Call,
) -> Result<Json<IssuedKey>, ReleaseError> {
    let username = call.param("username").or_else(|| call.param("email"));
    let issued = depot
        .key_by_auth(
            &call.group,
            username,
            call.param("password"),
            &call.client_ip,
        )
        .await?;
    Ok(Json(issued))
}

#[utoipa::path(
    post,
    path = "/post/release/validate/{group}",
    tag = "jbackend",
    summary = "Whether a key is the address's and its membership allows the package group",
    params(("group" = String, Path, description = GROUP)),
    request_body(
        description = "`email` and `key`, as a form, a JSON object or the query string",
        content(
            (JbackendParams = "application/x-www-form-urlencoded"),
            (JbackendParams = "application/json"),
        ),
    ),
    responses(
        (status = 200, description = "The key is valid", body = Done),
        JbackendRefusals,
    )
)]
pub async fn validate(
    State(depot): State<Depot>,
    mut call: Call,
) -> Result<Json<Done>, ReleaseError> {
    let (email, key) = (call.params.remove("email"), call.params.remove("key"));
    depot
        .validate_key(&call.group, email, key, &call.client_ip)
        .await?;
    Ok(Json(Done::ok()))
}

/// Always `{"status":"ok"}` for a well-formed request: whether a mail goes out is decided later,
/// so the answer tells nothing about the address.
#[utoipa::path(
    post,
    path = "/post/release/keybymail/{group}",
    tag = "jbackend",
    summary = "Mail the address its key for a package group, if it has one",
    description = "The answer is the same whether or not the address is known.",
    params(("group" = String, Path, description = GROUP)),
    request_body(
        description = "`email`, as a form, a JSON object or the query string",
        content(
            (JbackendParams = "application/x-www-form-urlencoded"),
            (JbackendParams = "application/json"),
        ),
    ),
    responses(
        (status = 200, description = "Accepted", body = Done),
        JbackendRefusals,
    )
)]
pub async fn key_by_mail(
    State(depot): State<Depot>,
    call: Call,
) -> Result<Json<Done>, ReleaseError> {
    depot
        .key_by_mail(&call.group, call.param("email"), &call.client_ip)
        .await?;
    Ok(Json(Done::ok()))
}
