//! The console's Webhooks page: endpoints (add, turn on or off, delete) and, for the one
//! chosen, its delivery log with a re-send button. An endpoint depot turned off says why.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use depot_service::{Depot, WebhookDeliveryView, WebhookView};
use serde::Deserialize;

use super::done_message;
use super::forms::{ConsoleForm, answer};

use crate::pages::PageResult;
use crate::pages::{Who, who};
use crate::sessions::{Console, SignedIn, csrf_field};

pub(super) fn routes() -> Router<Depot> {
    Router::new()
        .route("/webhooks", get(webhooks).post(add_webhook))
        .route("/webhooks/switch", post(switch_webhook))
        .route("/webhooks/delete", post(delete_webhook))
        .route("/webhooks/resend", post(resend))
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/webhooks.html")]
struct WebhooksPage<'a> {
    signed_in: Option<Who<'a>>,
    flash: Option<&'a str>,
    csrf: &'a str,
    webhooks: Vec<WebhookView>,
    /// The endpoint whose log is shown, and its deliveries.
    chosen: Option<(WebhookView, Vec<WebhookDeliveryView>)>,
    event_types: &'static [&'static str],
}

#[derive(Deserialize)]
struct WebhooksQuery {
    done: Option<String>,
    id: Option<i64>,
}

async fn webhooks(
    State(depot): State<Depot>,
    SignedIn(session, _): SignedIn<Console>,
    Query(q): Query<WebhooksQuery>,
) -> PageResult {
    let actor = session.actor();
    let webhooks = depot.webhooks(&actor).await?;
    let chosen = match webhooks.iter().find(|w| Some(w.id) == q.id) {
        Some(w) => Some((
            w.clone(),
            depot.webhook_deliveries(&actor, w.id, 100).await?,
        )),
        None => None,
    };
    Ok(WebhooksPage {
        signed_in: who(&session),
        flash: done_message(q.done.as_deref()),
        csrf: &session.csrf,
        webhooks,
        chosen,
        event_types: &depot_core::webhooks::EVENT_TYPES,
    }
    .into_response())
}

#[derive(Deserialize)]
struct AddForm {
    csrf: String,
    url: String,
    events: String,
}

async fn add_webhook(form: ConsoleForm<AddForm>) -> Response {
    let f = &form.fields;
    let outcome = form
        .depot
        .add_webhook(&form.actor(), &f.url, &f.events)
        .await
        .map(|_| "webhook");
    answer("/admin/webhooks", outcome)
}

#[derive(Deserialize)]
struct SwitchForm {
    csrf: String,
    id: i64,
    enabled: bool,
}

async fn switch_webhook(form: ConsoleForm<SwitchForm>) -> Response {
    let f = &form.fields;
    let outcome = form
        .depot
        .update_webhook(&form.actor(), f.id, None, None, Some(f.enabled))
        .await
        .map(|w| {
            if w.enabled {
                "webhook_on"
            } else {
                "webhook_off"
            }
        });
    answer("/admin/webhooks", outcome)
}

#[derive(Deserialize)]
struct DeleteForm {
    csrf: String,
    id: i64,
}

async fn delete_webhook(form: ConsoleForm<DeleteForm>) -> Response {
    let f = &form.fields;
    let outcome = form
        .depot
        .delete_webhook(&form.actor(), f.id)
        .await
        .map(|_| "webhook_deleted");
    answer("/admin/webhooks", outcome)
}

#[derive(Deserialize)]
struct ResendForm {
    csrf: String,
    id: i64,
    delivery: i64,
}

async fn resend(form: ConsoleForm<ResendForm>) -> Response {
    let f = &form.fields;
    let outcome = form
        .depot
        .resend_webhook(&form.actor(), f.id, f.delivery)
        .await
        .map(|_| "resent_webhook");
    answer(&format!("/admin/webhooks?id={}", f.id), outcome)
}

csrf_field!(AddForm, SwitchForm, DeleteForm, ResendForm);
