//! The console's Sales page: provider prices mapped to groups, and the events the providers
//! sent with what became of each (an unknown price stands out: nothing was granted for it).

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use depot_service::{Depot, GroupView, SaleEventQuery, SaleEventView, SalePriceView};
use serde::Deserialize;

use super::done_message;
use super::forms::{ConsoleForm, answer};

use crate::pages::PageResult;
use crate::pages::{Who, who};
use crate::sessions::{Console, SignedIn, csrf_field};

pub(super) fn routes() -> Router<Depot> {
    Router::new()
        .route("/sales", get(sales))
        .route("/sales/prices", post(map_price))
        .route("/sales/prices/remove", post(unmap_price))
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/sales.html")]
struct SalesPage<'a> {
    signed_in: Option<Who<'a>>,
    flash: Option<&'a str>,
    csrf: &'a str,
    prices: Vec<SalePriceView>,
    groups: Vec<GroupView>,
    events: Vec<SaleEventView>,
    /// The outcome the events are filtered by ("" for all).
    outcome: String,
}

#[derive(Deserialize)]
struct SalesQuery {
    done: Option<String>,
    #[serde(default)]
    outcome: String,
}

/// The outcomes the filter offers.
const OUTCOMES: [&str; 5] = [
    "applied",
    "unknown_price",
    "waiting",
    "ignored",
    "processing",
];

async fn sales(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Query(q): Query<SalesQuery>,
) -> PageResult {
    let outcome = OUTCOMES
        .into_iter()
        .find(|o| *o == q.outcome)
        .unwrap_or_default()
        .to_string();
    let actor = session.actor();
    let query = SaleEventQuery {
        outcome: (!outcome.is_empty()).then(|| outcome.clone()),
        limit: Some(200),
    };
    Ok(SalesPage {
        signed_in: who(&session),
        flash: done_message(q.done.as_deref()),
        csrf: &session.csrf,
        prices: depot.sale_prices(&actor).await?,
        groups: depot.list_groups().await?,
        events: depot.sale_events(&actor, &query).await?,
        outcome,
    }
    .into_response())
}

#[derive(Deserialize)]
struct PriceForm {
    csrf: String,
    provider: String,
    price: String,
    group: i64,
    term: String,
}

async fn map_price(form: ConsoleForm<PriceForm>) -> Response {
    let f = &form.fields;
    let outcome = form
        .depot
        .set_sale_price(&form.actor(), &f.provider, &f.price, f.group, &f.term)
        .await
        .map(|_| "price");
    answer("/admin/sales", outcome)
}

#[derive(Deserialize)]
struct UnmapForm {
    csrf: String,
    provider: String,
    price: String,
}

async fn unmap_price(form: ConsoleForm<UnmapForm>) -> Response {
    let f = &form.fields;
    let outcome = form
        .depot
        .remove_sale_price(&form.actor(), &f.provider, &f.price)
        .await
        .map(|_| "unmapped");
    answer("/admin/sales", outcome)
}

csrf_field!(PriceForm, UnmapForm);
