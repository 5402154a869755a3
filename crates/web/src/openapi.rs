//! The admin API's OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]`
//! attributes as they are registered (`utoipa_axum::routes!`), served at
//! `/api/v1/openapi.json`. A handler that is routed but not documented cannot exist: every
//! `/api/v1` route goes through `routes!`.

pub use depot_api::{ErrorBody, Items};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "depot admin API",
        description = "Publish releases, manage users, memberships, package groups, keys and \
                       tokens, and read the download log and the audit log. Every call needs \
                       `Authorization: Bearer <API token>`; writes to access data need an \
                       `admin` token, publishing a `publish` token for the extension.",
    ),
    servers((url = "/api/v1")),
    security(("token" = [])),
    modifiers(&BearerToken),
    tags(
        (name = "catalogue", description = "Extensions and their releases"),
        (name = "access", description = "Users, groups, memberships, package groups, keys"),
        (name = "reports", description = "The download log, feed checks, the audit log"),
        (name = "tokens", description = "API tokens"),
    )
)]
pub struct ApiDoc;

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token (`depot_…`)"))
                    .build(),
            ),
        );
    }
}

/// The refusals of a call that reads.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum ReadErrors {
    /// A malformed path or query parameter.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// No token, or an unknown or revoked one.
    #[response(status = 401)]
    Unauthenticated(ErrorBody),
    /// The token's scope does not allow this.
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// What the path names does not exist.
    #[response(status = 404)]
    NotFound(ErrorBody),
}

/// The refusals of a call that changes something; nothing is changed by a refused call.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum WriteErrors {
    /// A malformed body, path or value.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// No token, or an unknown or revoked one.
    #[response(status = 401)]
    Unauthenticated(ErrorBody),
    /// The token's scope does not allow this.
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// What the path or body names does not exist.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// It exists already, or contradicts what exists.
    #[response(status = 409)]
    Conflict(ErrorBody),
}
