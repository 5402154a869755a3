//! depot's webhooks out: the vendor's endpoints and their delivery log.

use serde::{Deserialize, Serialize};

/// An endpoint depot tells what happened, signed with its secret (README, "Webhooks").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookView {
    pub id: i64,
    pub url: String,
    /// The event types it receives; `["*"]` for all.
    pub events: Vec<String>,
    /// Off when an administrator turned it off, or depot did after a delivery failed every
    /// attempt (`disabled_reason` says so); deliveries wait meanwhile.
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// The signing secret (`whsec_…`) of the `Depot-Signature` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created_at: String,
}

/// `POST /api/v1/webhooks`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// An absolute http(s) URL.
    pub url: String,
    /// Event types, comma-separated, or `*` for all: `release.published`, `release.yanked`,
    /// `membership.started`, `membership.extended`, `membership.ended`, `user.created`,
    /// `key.created`, `key.revoked`, `download.refused`, `key.suspected_shared`.
    pub events: String,
}

/// `PATCH /api/v1/webhooks/{id}`: absent fields stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<String>,
    /// Turning it on resumes the deliveries waiting for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// One event's delivery to one endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDeliveryView {
    pub id: i64,
    /// The event's id: the same in every delivery of it, re-sends included.
    pub event_id: String,
    pub event_type: String,
    pub attempts: i64,
    /// `pending`, `delivered` or `failed`.
    pub outcome: String,
    /// The HTTP status of the latest attempt.
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    /// How long the latest attempt took, in milliseconds.
    pub last_ms: Option<i64>,
    /// When it is tried next, while pending.
    pub next_attempt_at: Option<String>,
    pub created_at: String,
}
