//! Sales from payment providers: the price mappings, and what became of each provider event.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use depot_api::{Items, SaleEventQuery, SetSalePrice};
use depot_service::{Depot, SaleEventView, SalePriceView};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::{ReadErrors, WriteErrors};

use super::{ApiActor, ApiJson, ApiPath, ApiQuery, ApiResult, items};

pub(super) fn routes() -> OpenApiRouter<Depot> {
    OpenApiRouter::new()
        .routes(routes!(list_prices))
        .routes(routes!(set_price, remove_price))
        .routes(routes!(list_events))
}

#[utoipa::path(
    get,
    path = "/sales/prices",
    tag = "sales",
    summary = "Provider prices mapped to groups",
    responses((status = 200, description = "The mappings", body = Items<SalePriceView>), ReadErrors)
)]
async fn list_prices(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
) -> ApiResult<Json<Items<SalePriceView>>> {
    Ok(items(depot.sale_prices(&actor).await?))
}

#[utoipa::path(
    put,
    path = "/sales/prices/{provider}/{price}",
    tag = "sales",
    summary = "Map a provider's price, product or payment link to a group and a term (admin)",
    description = "Events that named this price before it was mapped (`unknown_price`) are \
                   applied now. Sales made earlier keep the term they were made with.",
    params(
        ("provider" = String, Path, description = "`stripe` or `paddle`"),
        ("price" = String, Path, description = "`price_…`, `prod_…`, `plink_…` (Stripe); `pri_…`, `pro_…` (Paddle)"),
    ),
    request_body = SetSalePrice,
    responses((status = 200, description = "The mapping", body = SalePriceView), WriteErrors)
)]
async fn set_price(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath((provider, price)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<SetSalePrice>,
) -> ApiResult {
    let view = depot
        .set_sale_price(&actor, &provider, &price, body.group, &body.term)
        .await?;
    Ok(Json(view).into_response())
}

#[utoipa::path(
    delete,
    path = "/sales/prices/{provider}/{price}",
    tag = "sales",
    summary = "Remove a price mapping (admin); memberships already made stay",
    params(
        ("provider" = String, Path, description = "`stripe` or `paddle`"),
        ("price" = String, Path, description = "The mapped id"),
    ),
    responses((status = 204, description = "Removed"), WriteErrors)
)]
async fn remove_price(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiPath((provider, price)): ApiPath<(String, String)>,
) -> ApiResult {
    depot.remove_sale_price(&actor, &provider, &price).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    get,
    path = "/sales/events",
    tag = "sales",
    summary = "Provider events received, newest first",
    params(SaleEventQuery),
    responses((status = 200, description = "The events", body = Items<SaleEventView>), ReadErrors)
)]
async fn list_events(
    State(depot): State<Depot>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<SaleEventQuery>,
) -> ApiResult<Json<Items<SaleEventView>>> {
    Ok(items(depot.sale_events(&actor, &q).await?))
}
