//! Payment providers' webhooks: `POST /hooks/stripe` and `POST /hooks/paddle`. The body is
//! read raw (the signature covers its exact bytes) and handed to the sales use case; any `2xx`
//! tells the provider not to send the event again, so a failure depot may recover from
//! (the database away) answers `503`, which providers retry.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use depot_api::SaleReceipt;
use depot_core::sales::Provider;
use depot_service::{Depot, ServiceError};

use crate::error::ApiError;

#[utoipa::path(
    post,
    path = "/hooks/{provider}",
    tag = "sales",
    summary = "A payment provider's webhook",
    description = "Stripe (`Stripe-Signature`) or Paddle Billing (`Paddle-Signature`) events, \
                   signed with the endpoint's secret (`[sales]` in the configuration). Each \
                   event id is applied once; a bad or stale signature changes nothing.",
    params(("provider" = String, Path, description = "`stripe` or `paddle`")),
    request_body(content = String, content_type = "application/json", description = "The provider's event, as it sent it"),
    responses(
        (status = 200, description = "Received (applied, a duplicate, kept for later, or ignored)", body = SaleReceipt),
        (status = 400, description = "A missing, bad or stale signature, or not the provider's event shape", body = depot_api::ErrorBody),
        (status = 404, description = "Not a provider, or no signing secret configured for it", body = depot_api::ErrorBody),
        (status = 503, description = "The database is away for a moment: the provider retries", body = depot_api::ErrorBody),
    )
)]
pub(crate) async fn provider_webhook(
    State(depot): State<Depot>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<SaleReceipt>, ApiError> {
    let provider = Provider::parse(&provider).ok_or(ServiceError::NotFound {
        what: "payment provider",
    })?;
    let signature = headers
        .get(provider.signature_header())
        .and_then(|v| v.to_str().ok());
    let outcome = depot
        .receive_sale_webhook(provider, signature, &body)
        .await?;
    Ok(Json(SaleReceipt {
        outcome: outcome.as_str().into(),
    }))
}
