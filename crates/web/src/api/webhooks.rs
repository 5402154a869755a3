//! depot's webhooks out: endpoints, their delivery log, re-sending a delivery.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use depot_api::{Items, NewWebhook, WebhookPatch};
use depot_service::{Depot, WebhookDeliveryView, WebhookView};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::{ReadErrors, WriteErrors};

use super::{ApiActor, ApiJson, ApiPath, ApiQuery, ApiResult, created, items};

pub(super) fn routes() -> OpenApiRouter<Depot> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, add_webhook))
        .routes(routes!(update_webhook, delete_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(resend_delivery))
}

#[utoipa::path(
    post,
    path = "/webhooks",
    tag = "webhooks",
    summary = "Add a webhook endpoint (admin)",
    description = "The answer holds the endpoint's signing secret: each delivery carries \
                   `Depot-Signature: t={unix seconds},v1={hex HMAC-SHA256 of \"{t}.{body}\"}`.",
    request_body = NewWebhook,
    responses((status = 201, description = "The endpoint, with its secret", body = WebhookView), WriteErrors)
)]
async fn add_webhook(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiJson(w): ApiJson<NewWebhook>,
) -> ApiResult {
    Ok(created(depot.add_webhook(&actor, &w.url, &w.events).await?))
}

#[utoipa::path(
    get,
    path = "/webhooks",
    tag = "webhooks",
    summary = "Webhook endpoints (admin)",
    responses((status = 200, description = "The endpoints", body = Items<WebhookView>), ReadErrors)
)]
async fn list_webhooks(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<Items<WebhookView>>> {
    Ok(items(depot.webhooks(&actor).await?))
}

#[utoipa::path(
    patch,
    path = "/webhooks/{id}",
    tag = "webhooks",
    summary = "Change an endpoint, or turn it on or off (admin)",
    params(("id" = i64, Path, description = "The endpoint's id")),
    request_body = WebhookPatch,
    responses((status = 200, description = "The endpoint, changed", body = WebhookView), WriteErrors)
)]
async fn update_webhook(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(p): ApiJson<WebhookPatch>,
) -> ApiResult {
    let w = depot
        .update_webhook(&actor, id, p.url.as_deref(), p.events.as_deref(), p.enabled)
        .await?;
    Ok(Json(w).into_response())
}

#[utoipa::path(
    delete,
    path = "/webhooks/{id}",
    tag = "webhooks",
    summary = "Delete an endpoint and its deliveries (admin)",
    params(("id" = i64, Path, description = "The endpoint's id")),
    responses((status = 204, description = "Deleted"), WriteErrors)
)]
async fn delete_webhook(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult {
    depot.delete_webhook(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /webhooks/{id}/deliveries`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct DeliveryQuery {
    /// At most this many, newest first (default 100).
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/webhooks/{id}/deliveries",
    tag = "webhooks",
    summary = "An endpoint's delivery log, newest first (admin)",
    params(("id" = i64, Path, description = "The endpoint's id"), DeliveryQuery),
    responses((status = 200, description = "The deliveries", body = Items<WebhookDeliveryView>), ReadErrors)
)]
async fn list_deliveries(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> ApiResult<Json<Items<WebhookDeliveryView>>> {
    let limit = q.limit.unwrap_or(100);
    Ok(items(depot.webhook_deliveries(&actor, id, limit).await?))
}

#[utoipa::path(
    post,
    path = "/webhooks/{id}/deliveries/{delivery}/resend",
    tag = "webhooks",
    summary = "Send a delivery's event again, same id and body (admin)",
    params(
        ("id" = i64, Path, description = "The endpoint's id"),
        ("delivery" = i64, Path, description = "The delivery's id"),
    ),
    responses((status = 201, description = "The new delivery, due now", body = WebhookDeliveryView), WriteErrors)
)]
async fn resend_delivery(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath((id, delivery)): ApiPath<(i64, i64)>,
) -> ApiResult {
    Ok(created(depot.resend_webhook(&actor, id, delivery).await?))
}
