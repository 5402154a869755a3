//! Sales from payment providers: which provider price gives which group for how long, and what
//! became of each event a provider sent (`/hooks/stripe`, `/hooks/paddle`).

use serde::{Deserialize, Serialize};

/// A provider's price (Stripe `price_…`, Paddle `pri_…`), product (`prod_…`, `pro_…`) or
/// Stripe Payment Link (`plink_…`) mapped to a group and a term.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SalePriceView {
    /// `stripe` or `paddle`.
    pub provider: String,
    pub price: String,
    pub group: i64,
    pub group_name: Option<String>,
    /// `subscription` (as long as it is paid), `lifetime`, days (`30d`) or months (`12m`).
    pub term: String,
}

/// `PUT /api/v1/sales/prices/{provider}/{price}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetSalePrice {
    pub group: i64,
    /// `subscription`, `lifetime`, days (`30d`), months (`12m`) or years (`1y`).
    pub term: String,
}

/// What became of one provider event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SaleEventView {
    pub provider: String,
    /// The provider's event id.
    pub id: String,
    /// The provider's event type (`invoice.paid`).
    pub kind: String,
    pub occurred_at: String,
    pub received_at: String,
    /// `applied`, `waiting` (for the customer's address, or the payment a refund names),
    /// `unknown_price` (no mapping: nothing changed), `ignored`, `processing`.
    pub outcome: String,
    /// What happened.
    pub detail: String,
}

/// `GET /api/v1/sales/events`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct SaleEventQuery {
    /// Only events with this outcome (`unknown_price`, `waiting`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// At most this many, newest first (default 100, at most 1000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// The answer to a provider's webhook.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SaleReceipt {
    /// `applied`, `duplicate`, `waiting`, `unknown_price` or `ignored`.
    pub outcome: String,
}
