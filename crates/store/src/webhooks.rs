//! depot's webhooks out: the vendor's endpoints, and a durable outbox of deliveries that
//! several instances drain (a row is claimed with a lease, as the mail outbox's are).

use sqlx::FromRow;

use crate::{Store, StoreError};

#[derive(Clone, Debug, FromRow)]
pub struct WebhookEndpointRow {
    pub id: i64,
    pub url: String,
    /// The signing secret (`whsec_…`), shown to administrators only.
    pub secret: String,
    /// `*` or a comma-separated list of event types.
    pub events: String,
    /// 0 or 1.
    pub enabled: i64,
    /// Why depot turned it off (it kept failing).
    pub disabled_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Clone, Debug, FromRow)]
pub struct WebhookDeliveryRow {
    pub id: i64,
    pub endpoint_id: i64,
    /// The event's id (`evt_…`): the same in every delivery of the event, re-sends included,
    /// so a receiver can drop what it has seen.
    pub event_id: String,
    pub event_type: String,
    pub body: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub locked_until: Option<i64>,
    pub done_at: Option<i64>,
    /// `delivered` or `failed` once done.
    pub outcome: Option<String>,
    /// The HTTP status of the latest attempt (none when it got no answer).
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    /// How long the latest attempt took, in milliseconds.
    pub last_ms: Option<i64>,
    pub created_at: i64,
}

impl Store {
    pub async fn add_webhook_endpoint(
        &self,
        url: &str,
        secret: &str,
        events: &str,
    ) -> Result<WebhookEndpointRow, StoreError> {
        Ok(sqlx::query_as(
            "INSERT INTO webhook_endpoints (url, secret, events, enabled, created_at, \
             updated_at) VALUES ($1, $2, $3, 1, $4, $4) RETURNING *",
        )
        .bind(url)
        .bind(secret)
        .bind(events)
        .bind(self.now_ms())
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn webhook_endpoints(&self) -> Result<Vec<WebhookEndpointRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM webhook_endpoints ORDER BY id")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    pub async fn webhook_endpoint(
        &self,
        id: i64,
    ) -> Result<Option<WebhookEndpointRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM webhook_endpoints WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Changes an endpoint; `None` leaves a field as it is. Enabling clears the reason it was
    /// turned off and makes its waiting deliveries due now.
    pub async fn update_webhook_endpoint(
        &self,
        id: i64,
        url: Option<&str>,
        events: Option<&str>,
        enabled: Option<bool>,
        disabled_reason: Option<&str>,
    ) -> Result<bool, StoreError> {
        let now = self.now_ms();
        let mut tx = self.pool.begin().await?;
        let changed = sqlx::query(
            "UPDATE webhook_endpoints SET url = COALESCE($1, url), \
             events = COALESCE($2, events), enabled = COALESCE($3, enabled), \
             disabled_reason = CASE WHEN $3 = 1 THEN NULL ELSE COALESCE($4, disabled_reason) END, \
             updated_at = $5 WHERE id = $6",
        )
        .bind(url)
        .bind(events)
        .bind(enabled.map(i64::from))
        .bind(disabled_reason)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if enabled == Some(true) {
            sqlx::query(
                "UPDATE webhook_deliveries SET next_attempt_at = $1 \
                 WHERE endpoint_id = $2 AND done_at IS NULL",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(changed > 0)
    }

    pub async fn delete_webhook_endpoint(&self, id: i64) -> Result<bool, StoreError> {
        Ok(sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected()
            > 0)
    }

    /// Queues one event for one endpoint, due now.
    pub async fn enqueue_webhook(
        &self,
        endpoint_id: i64,
        event_id: &str,
        event_type: &str,
        body: &str,
    ) -> Result<i64, StoreError> {
        let now = self.now_ms();
        Ok(sqlx::query_scalar(
            "INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, body, attempts, \
             next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 0, $5, $5) RETURNING id",
        )
        .bind(endpoint_id)
        .bind(event_id)
        .bind(event_type)
        .bind(body)
        .bind(now)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Deliveries due now to enabled endpoints that no instance holds, oldest first.
    pub async fn due_webhooks(
        &self,
        now: i64,
        limit: i64,
    ) -> Result<Vec<WebhookDeliveryRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT d.* FROM webhook_deliveries d \
             JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             WHERE d.done_at IS NULL AND d.next_attempt_at <= $1 AND e.enabled = 1 \
             AND (d.locked_until IS NULL OR d.locked_until < $1) ORDER BY d.id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Takes a delivery until `lease_until`, counting the attempt; `false` when another
    /// instance took it first.
    pub async fn claim_webhook(
        &self,
        id: i64,
        now: i64,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "UPDATE webhook_deliveries SET locked_until = $1, attempts = attempts + 1 \
             WHERE id = $2 AND done_at IS NULL AND (locked_until IS NULL OR locked_until < $3)",
        )
        .bind(lease_until)
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1)
    }

    /// Records an attempt: done (`outcome` set) or due again at `next_attempt_at`.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_webhook_attempt(
        &self,
        id: i64,
        status: Option<i64>,
        error: Option<&str>,
        ms: i64,
        outcome: Option<&str>,
        next_attempt_at: i64,
    ) -> Result<(), StoreError> {
        let now = self.now_ms();
        sqlx::query(
            "UPDATE webhook_deliveries SET last_status = $1, last_error = $2, last_ms = $3, \
             outcome = $4, done_at = CASE WHEN $4 IS NULL THEN NULL ELSE $5 END, \
             next_attempt_at = $6, locked_until = NULL WHERE id = $7",
        )
        .bind(status)
        .bind(error)
        .bind(ms)
        .bind(outcome)
        .bind(now)
        .bind(next_attempt_at)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An endpoint's deliveries, newest first.
    pub async fn webhook_deliveries(
        &self,
        endpoint_id: i64,
        limit: i64,
    ) -> Result<Vec<WebhookDeliveryRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT * FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(endpoint_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn webhook_delivery(
        &self,
        id: i64,
    ) -> Result<Option<WebhookDeliveryRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM webhook_deliveries WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Deliveries not yet done, for `/metrics`: how many, and when the oldest was queued.
    pub async fn webhook_backlog(&self) -> Result<(i64, Option<i64>), StoreError> {
        Ok(sqlx::query_as(
            "SELECT COUNT(*), MIN(created_at) FROM webhook_deliveries WHERE done_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await?)
    }
}
