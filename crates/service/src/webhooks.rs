//! depot's webhooks out: what happened, told to the vendor's other systems.
//!
//! Every audited change that is an event (`depot_core::webhooks::event_for_audit`), and a
//! refused download (at most one per code and client per `REFUSAL_EVERY`), becomes one
//! delivery row per subscribed endpoint, written to the database before the change's caller
//! hears of it. A task on every instance drains the rows: a signed `POST`, retried with
//! growing pauses across restarts and instances (a lease per row); a `2xx` ends it. A delivery
//! that fails every attempt turns its endpoint off and tells the administrators (mail, console).
//! Receivers drop duplicates by the event's `id` (a lease that lapsed mid-request may send an
//! event twice; a re-send sends it again on purpose).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use depot_core::webhooks::{self, SIGNATURE_HEADER};
use depot_store::{WebhookDeliveryRow, WebhookEndpointRow};
use serde_json::{Value, json};

use crate::input::rfc3339;
use crate::{Actor, Depot, ServiceError, ServiceResult};

pub use depot_api::{WebhookDeliveryView, WebhookView};

/// `[webhooks]`: how deliveries are tried.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// Attempts before a delivery is given up and its endpoint turned off.
    pub max_attempts: u32,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// The pause after the first failure, doubled after each further one up to an hour.
    pub first_pause: Duration,
    /// How often an instance looks for deliveries due (retries, other instances' events).
    pub poll: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            max_attempts: 20,
            timeout: Duration::from_secs(10),
            first_pause: Duration::from_secs(10),
            poll: Duration::from_secs(5),
        }
    }
}

const MAX_PAUSE: Duration = Duration::from_secs(3600);
/// A refused download is told at most this often per refusal code and client.
const REFUSAL_EVERY: Duration = Duration::from_secs(3600);
/// The outbox kind of the mail telling an administrator an endpoint was turned off.
pub(crate) const KIND_WEBHOOK_DISABLED: &str = "webhook_disabled";
/// An answer's body kept in the delivery log, at most.
const KEEP_ERROR: usize = 300;

/// The refusals told recently, per instance (`download.refused` is rate-limited).
#[derive(Default)]
pub(crate) struct RecentRefusals(Mutex<HashMap<String, Instant>>);

impl RecentRefusals {
    /// Whether `key` may be told now (and, if so, notes that it was).
    fn admit(&self, key: String) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if seen.len() > 10_000 {
            seen.retain(|_, at| now.duration_since(*at) < REFUSAL_EVERY);
        }
        match seen.get(&key) {
            Some(at) if now.duration_since(*at) < REFUSAL_EVERY => false,
            _ => {
                seen.insert(key, now);
                true
            }
        }
    }
}

fn pause_after(first: Duration, attempts: i64) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 16) as u32;
    first.saturating_mul(1 << doublings).min(MAX_PAUSE)
}

fn new_secret() -> String {
    format!(
        "whsec_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>())
    )
}

fn check_url(url: &str) -> ServiceResult<String> {
    let url = url.trim();
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(u.to_string()),
        _ => Err(ServiceError::invalid(
            "bad_url",
            format!("{url:?} is not an absolute http(s) URL"),
        )),
    }
}

fn check_events(events: &str) -> ServiceResult<String> {
    webhooks::parse_event_types(events).map_err(|e| ServiceError::invalid("bad_events", e))
}

fn view(e: WebhookEndpointRow, with_secret: bool) -> WebhookView {
    WebhookView {
        id: e.id,
        url: e.url,
        events: e.events.split(',').map(String::from).collect(),
        enabled: e.enabled != 0,
        disabled_reason: e.disabled_reason,
        secret: with_secret.then_some(e.secret),
        created_at: rfc3339(e.created_at),
    }
}

fn delivery_view(d: WebhookDeliveryRow) -> WebhookDeliveryView {
    WebhookDeliveryView {
        id: d.id,
        event_id: d.event_id,
        event_type: d.event_type,
        attempts: d.attempts,
        outcome: d.outcome.unwrap_or_else(|| "pending".into()),
        last_status: d.last_status,
        last_error: d.last_error,
        last_ms: d.last_ms,
        next_attempt_at: (d.done_at.is_none()).then(|| rfc3339(d.next_attempt_at)),
        created_at: rfc3339(d.created_at),
    }
}

impl Depot {
    /// Adds an endpoint; the answer carries its signing secret (also readable later by an
    /// administrator).
    pub async fn add_webhook(
        &self,
        actor: &Actor,
        url: &str,
        events: &str,
    ) -> ServiceResult<WebhookView> {
        actor.require_admin()?;
        let url = check_url(url)?;
        let events = check_events(events)?;
        let row = self
            .store()
            .add_webhook_endpoint(&url, &new_secret(), &events)
            .await?;
        let detail = json!({"id": row.id, "events": events});
        self.audit(actor, "webhook.create", &url, detail).await?;
        Ok(view(row, true))
    }

    pub async fn webhooks(&self, actor: &Actor) -> ServiceResult<Vec<WebhookView>> {
        actor.require_admin()?;
        Ok(self
            .store()
            .webhook_endpoints()
            .await?
            .into_iter()
            .map(|e| view(e, true))
            .collect())
    }

    async fn existing_webhook(&self, id: i64) -> ServiceResult<WebhookEndpointRow> {
        self.store()
            .webhook_endpoint(id)
            .await?
            .ok_or(ServiceError::NotFound { what: "webhook" })
    }

    /// Changes an endpoint's URL, events, or whether it is on (turning it on resumes what
    /// waits for it).
    pub async fn update_webhook(
        &self,
        actor: &Actor,
        id: i64,
        url: Option<&str>,
        events: Option<&str>,
        enabled: Option<bool>,
    ) -> ServiceResult<WebhookView> {
        actor.require_admin()?;
        let before = self.existing_webhook(id).await?;
        let url = url.map(check_url).transpose()?;
        let events = events.map(check_events).transpose()?;
        self.store()
            .update_webhook_endpoint(id, url.as_deref(), events.as_deref(), enabled, None)
            .await?;
        let detail = json!({"id": id, "url": url, "events": events, "enabled": enabled});
        self.audit(actor, "webhook.update", &before.url, detail)
            .await?;
        Ok(view(self.existing_webhook(id).await?, true))
    }

    pub async fn delete_webhook(&self, actor: &Actor, id: i64) -> ServiceResult<()> {
        actor.require_admin()?;
        let before = self.existing_webhook(id).await?;
        self.store().delete_webhook_endpoint(id).await?;
        self.audit(actor, "webhook.delete", &before.url, json!({"id": id}))
            .await
    }

    /// An endpoint's delivery log, newest first.
    pub async fn webhook_deliveries(
        &self,
        actor: &Actor,
        id: i64,
        limit: i64,
    ) -> ServiceResult<Vec<WebhookDeliveryView>> {
        actor.require_admin()?;
        self.existing_webhook(id).await?;
        Ok(self
            .store()
            .webhook_deliveries(id, limit.clamp(1, 1000))
            .await?
            .into_iter()
            .map(delivery_view)
            .collect())
    }

    /// Sends a delivery's event again (same id and body), as a new delivery due now.
    pub async fn resend_webhook(
        &self,
        actor: &Actor,
        id: i64,
        delivery: i64,
    ) -> ServiceResult<WebhookDeliveryView> {
        actor.require_admin()?;
        let endpoint = self.existing_webhook(id).await?;
        let d = self
            .store()
            .webhook_delivery(delivery)
            .await?
            .filter(|d| d.endpoint_id == id)
            .ok_or(ServiceError::NotFound {
                what: "webhook delivery",
            })?;
        let new = self
            .store()
            .enqueue_webhook(id, &d.event_id, &d.event_type, &d.body)
            .await?;
        self.inner.webhooks_due.notify_one();
        let detail = json!({"id": id, "event": d.event_id});
        self.audit(actor, "webhook.resend", &endpoint.url, detail)
            .await?;
        self.store()
            .webhook_delivery(new)
            .await?
            .map(delivery_view)
            .ok_or(ServiceError::NotFound {
                what: "webhook delivery",
            })
    }

    /// Queues `event_type` for every enabled endpoint that wants it. `data` is the event's
    /// body (`data` in the JSON sent).
    pub(crate) async fn emit_webhook(&self, event_type: &str, data: Value) -> ServiceResult<()> {
        let endpoints = self.store().webhook_endpoints().await?;
        // An endpoint depot turned off (it kept failing) still collects its events, sent when
        // it is turned on again; one an administrator turned off does not.
        let wanting: Vec<_> = endpoints
            .iter()
            .filter(|e| e.enabled != 0 || e.disabled_reason.is_some())
            .filter(|e| webhooks::subscribes(&e.events, event_type))
            .collect();
        if wanting.is_empty() {
            return Ok(());
        }
        let id = format!(
            "evt_{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 15]>())
        );
        let body = json!({
            "id": id,
            "type": event_type,
            "created": self.now_ms().div_euclid(1000),
            "data": data,
        })
        .to_string();
        for e in wanting {
            self.store()
                .enqueue_webhook(e.id, &id, event_type, &body)
                .await?;
        }
        self.inner.webhooks_due.notify_one();
        Ok(())
    }

    /// `download.refused`, at most once per code and client per hour on each instance. The
    /// request never waits on it, and never fails for it.
    pub(crate) fn emit_refusal(&self, code: &str, client: &str, filename: &str) {
        if !self.inner.recent_refusals.admit(format!("{code} {client}")) {
            return;
        }
        let depot = self.clone();
        // The client's address stays out of it: the code and the file are what a vendor acts on.
        let data = json!({"code": code, "filename": filename});
        tokio::spawn(async move {
            if let Err(e) = depot.emit_webhook("download.refused", data).await {
                tracing::warn!(error = %e, "download.refused not queued");
            }
        });
    }

    /// Delivers every delivery due now; returns how many it finished.
    pub async fn deliver_due_webhooks(&self) -> ServiceResult<usize> {
        let _pass = self.inner.webhook_pass.lock().await;
        let mut finished = 0;
        loop {
            let now = self.now_ms();
            let due = self.store().due_webhooks(now, 20).await?;
            if due.is_empty() {
                return Ok(finished);
            }
            let mut claimed_any = false;
            for row in due {
                let lease = self.settings().webhooks.timeout + Duration::from_secs(30);
                let until = now + lease.as_millis() as i64;
                if !self.store().claim_webhook(row.id, now, until).await? {
                    continue;
                }
                claimed_any = true;
                if self.deliver_webhook(row).await? {
                    finished += 1;
                }
            }
            if !claimed_any {
                return Ok(finished);
            }
        }
    }

    /// One attempt; returns whether the delivery is finished.
    async fn deliver_webhook(&self, row: WebhookDeliveryRow) -> ServiceResult<bool> {
        let Some(endpoint) = self.store().webhook_endpoint(row.endpoint_id).await? else {
            return Ok(true);
        };
        let settings = &self.settings().webhooks;
        let timestamp = self.now_ms().div_euclid(1000);
        let signature =
            webhooks::signature(endpoint.secret.as_bytes(), timestamp, row.body.as_bytes());
        let started = Instant::now();
        let answer = self
            .inner
            .http
            .post(&endpoint.url)
            .timeout(settings.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .body(row.body.clone())
            .send()
            .await;
        let (status, error) = match answer {
            Ok(r) if r.status().is_success() => (Some(i64::from(r.status().as_u16())), None),
            Ok(r) => {
                let status = r.status().as_u16();
                let text = r.text().await.unwrap_or_default();
                let text: String = text.chars().take(KEEP_ERROR).collect();
                (
                    Some(i64::from(status)),
                    Some(format!("HTTP {status}: {text}")),
                )
            }
            // The error's text names the URL, which is the administrator's own.
            Err(e) => (None, Some(e.to_string())),
        };
        let ms = started.elapsed().as_millis() as i64;
        let attempts = row.attempts + 1;
        let Some(error) = error else {
            self.store()
                .record_webhook_attempt(
                    row.id,
                    status,
                    None,
                    ms,
                    Some("delivered"),
                    row.next_attempt_at,
                )
                .await?;
            return Ok(true);
        };
        if attempts >= i64::from(settings.max_attempts) {
            self.store()
                .record_webhook_attempt(
                    row.id,
                    status,
                    Some(&error),
                    ms,
                    Some("failed"),
                    row.next_attempt_at,
                )
                .await?;
            self.turn_off_webhook(&endpoint, attempts, &error).await?;
            return Ok(true);
        }
        let next = self.now_ms() + pause_after(settings.first_pause, attempts).as_millis() as i64;
        tracing::warn!(webhook = endpoint.id, delivery = row.id, attempts, error = %error,
                       "webhook delivery failed; will retry");
        self.store()
            .record_webhook_attempt(row.id, status, Some(&error), ms, None, next)
            .await?;
        Ok(false)
    }

    /// An endpoint that failed a delivery on every attempt is turned off (its other deliveries
    /// wait until it is turned on again), and every administrator is told.
    async fn turn_off_webhook(
        &self,
        endpoint: &WebhookEndpointRow,
        attempts: i64,
        error: &str,
    ) -> ServiceResult<()> {
        let reason = format!("turned off after {attempts} failed attempts; the last: {error}");
        self.store()
            .update_webhook_endpoint(endpoint.id, None, None, Some(false), Some(&reason))
            .await?;
        tracing::error!(webhook = endpoint.id, url = %endpoint.url, "webhook turned off: it keeps failing");
        let actor = Actor::system("webhooks");
        self.audit(
            &actor,
            "webhook.disable",
            &endpoint.url,
            json!({"id": endpoint.id, "reason": reason}),
        )
        .await?;
        for admin in self.store().admins().await? {
            self.queue_mail(KIND_WEBHOOK_DISABLED, &admin.email, None)
                .await?;
        }
        Ok(())
    }

    /// The endpoints turned off, for the mail telling an administrator.
    pub(crate) async fn disabled_webhooks(&self) -> ServiceResult<Vec<WebhookEndpointRow>> {
        Ok(self
            .store()
            .webhook_endpoints()
            .await?
            .into_iter()
            .filter(|e| e.enabled == 0 && e.disabled_reason.is_some())
            .collect())
    }
}

/// Delivers while the service runs: at once when an event was queued, otherwise every `poll`.
pub(crate) async fn deliver_loop(depot: Depot) {
    let poll = depot.settings().webhooks.poll;
    loop {
        if let Err(e) = depot.deliver_due_webhooks().await {
            tracing::warn!(error = %e, "webhook delivery pass failed");
        }
        tokio::select! {
            _ = depot.inner.webhooks_due.notified() => {}
            _ = tokio::time::sleep(poll) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_an_hour() {
        let first = Duration::from_secs(10);
        assert_eq!(pause_after(first, 1), Duration::from_secs(10));
        assert_eq!(pause_after(first, 3), Duration::from_secs(40));
        assert_eq!(pause_after(first, 30), MAX_PAUSE);
    }

    #[test]
    fn refusals_are_told_once_an_hour_per_code_and_client() {
        let r = RecentRefusals::default();
        assert!(r.admit("REL_INK 203.0.113.7".into()));
        assert!(!r.admit("REL_INK 203.0.113.7".into()));
        assert!(r.admit("REL_NAU 203.0.113.7".into()));
    }

    #[test]
    fn urls_and_events_are_checked() {
        assert!(check_url("https://hooks.example.com/depot").is_ok());
        assert!(check_url("ftp://example.com").is_err());
        assert!(check_url("/relative").is_err());
        assert!(check_events("user.created").is_ok());
        assert!(check_events("user.deleted").is_err());
    }
}
