//! The OpenAPI 3.1 documents. The admin API's, generated from the handlers' `#[utoipa::path]`
//! attributes as they are registered (`utoipa_axum::routes!`), served at
//! `/api/v1/openapi.json`; and the public interfaces' (feeds, downloads, the jBackend API,
//! health and metrics), built the same way, at `/openapi.json`. A handler that is routed but
//! not documented cannot exist: every such route goes through `routes!`.

pub use depot_api::jbackend::Refused;
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
        (name = "sales", description = "Payment providers' prices mapped to groups, and their events"),
        (name = "webhooks", description = "depot's webhooks out: endpoints and their delivery log"),
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

/// The public interfaces: what Joomla sites, customers and monitoring call, without a token.
/// Served at `/openapi.json`, built like [`ApiDoc`] from the handlers as they are routed.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "depot public interfaces",
        description = "Update feeds and changelogs (Joomla's XML), package downloads, the \
                       jBackend Release System API, Akeeba Release System's legacy URLs, \
                       payment providers' webhooks, and the health and metrics endpoints. Every \
                       `GET` also answers `HEAD`. Paid \
                       downloads take a download key as `dlid`, as `email` + `key`, or as \
                       `Authorization: Bearer` or as the password of HTTP basic auth (what \
                       Composer sends); refusals are jBackend's \
                       `{\"status\":\"ko\",\"error_code\":\"REL_…\"}` body.",
    ),
    components(schemas(Refused)),
    tags(
        (name = "feeds", description = "Joomla update feeds and changelogs"),
        (name = "downloads", description = "Packages, free and paid"),
        (name = "composer", description = "The Composer repository (Composer 2)"),
        (name = "wordpress", description = "WordPress plugins' and themes' update metadata (plugin-update-checker)"),
        (name = "tauri", description = "Tauri v2's updater endpoint for applications"),
        (name = "jbackend", description = "The jBackend Release System API: keys for customers"),
        (name = "sales", description = "Payment providers' webhooks (Stripe, Paddle Billing)"),
        (name = "operations", description = "Health, readiness and metrics"),
    )
)]
pub struct PublicDoc;

/// The refusals of a download: jBackend's body with its `REL_…` code.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum DownloadRefusals {
    /// `REL_ENS`, `REL_KNS`: no credentials for a paid package; `REL_BRQ`: malformed ones.
    #[response(status = 400)]
    BadRequest(Refused),
    /// `REL_INK`: an unknown or revoked key.
    #[response(status = 401)]
    InvalidKey(Refused),
    /// `REL_NAU`: no membership that allows the package; `REL_EXP`: it ended before this release.
    #[response(status = 403)]
    NotAuthorised(Refused),
    /// `REL_PNF`: no such package, or not published.
    #[response(status = 404)]
    NotFound(Refused),
    /// `REL_RLM`: too many attempts; `Retry-After` says when to try again.
    #[response(status = 429)]
    RateLimited(Refused),
    /// `REL_UNA`: the database or the identity source is away for a moment; `Retry-After`.
    #[response(status = 503)]
    Unavailable(Refused),
}

/// The refusals of a jBackend API call.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum JbackendRefusals {
    /// `REL_ENS`, `REL_KNS`, `REL_BRQ`: a missing or malformed parameter.
    #[response(status = 400)]
    BadRequest(Refused),
    /// `REL_INK`: the key is not the address's; `REL_AUF`: wrong username or password.
    #[response(status = 401)]
    Unauthenticated(Refused),
    /// `REL_NAU`: the account has no membership the package group allows.
    #[response(status = 403)]
    NotAuthorised(Refused),
    /// `REL_GNF`: no such package group.
    #[response(status = 404)]
    GroupNotFound(Refused),
    /// `REL_RLM`: too many attempts; `Retry-After` says when to try again.
    #[response(status = 429)]
    RateLimited(Refused),
    /// `REL_UNA`: the database or the identity source is away for a moment; `Retry-After`.
    #[response(status = 503)]
    Unavailable(Refused),
}
