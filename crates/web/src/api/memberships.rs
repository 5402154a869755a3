//! Memberships: a user in a group from one date until another (or open-ended); a subscription is one.

use axum::Json;
use axum::extract::State;
use depot_api::{EndMembership, Ended, NewMembership};
use depot_service::{Depot, MembershipView};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::{Items, ReadErrors, WriteErrors};

use super::{ApiActor, ApiJson, ApiPath, ApiResult, created, items};

pub(super) fn routes() -> OpenApiRouter<Depot> {
    OpenApiRouter::new()
        .routes(routes!(list_memberships, add_membership))
        .routes(routes!(end_membership))
}

#[utoipa::path(
    post,
    path = "/users/{user}/memberships",
    tag = "access",
    summary = "Add a membership",
    params(("user" = String, Path, description = "A user's id or e-mail address")),
    request_body = NewMembership,
    responses((status = 201, description = "The membership", body = MembershipView), WriteErrors)
)]
async fn add_membership(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
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

#[utoipa::path(
    post,
    path = "/users/{user}/memberships/end",
    tag = "access",
    summary = "End a user's open memberships in a group",
    params(("user" = String, Path, description = "A user's id or e-mail address")),
    request_body = EndMembership,
    responses((status = 200, description = "The membership, ended", body = Ended), WriteErrors)
)]
async fn end_membership(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
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
    responses((status = 200, description = "The user's memberships", body = Items<MembershipView>), ReadErrors)
)]
async fn list_memberships(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath(user): ApiPath<String>,
) -> ApiResult<Json<Items<MembershipView>>> {
    Ok(items(depot.memberships(&actor, &user).await?))
}
