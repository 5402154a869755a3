//! `depot webhook`: endpoints depot tells what happened, and their delivery log.

use clap::Subcommand;
use depot_api::{Items, NewWebhook, WebhookDeliveryView, WebhookPatch, WebhookView};
use reqwest::Method;
use serde::de::IgnoredAny;
use serde_json::json;

use crate::client::Api;
use crate::output::{Output, show, table};

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Add an endpoint; prints its signing secret.
    #[command(
        after_help = "Examples:\n  depot webhook add --endpoint https://crm.example.com/depot --events '*'\n  depot webhook add --endpoint https://example.com/hook --events membership.started,membership.ended"
    )]
    Add {
        /// The endpoint: an absolute http(s) URL. (`--url` is the depot server's.)
        #[arg(long)]
        endpoint: String,
        /// Event types, comma-separated, or `*` for all.
        #[arg(long, default_value = "*")]
        events: String,
    },
    /// Every endpoint, with its secret.
    List,
    /// Change an endpoint's URL or events, or turn it on or off.
    Update {
        /// The endpoint's id.
        #[arg(long)]
        id: i64,
        /// A new endpoint URL.
        #[arg(long)]
        endpoint: Option<String>,
        /// New event types, comma-separated, or `*`.
        #[arg(long)]
        events: Option<String>,
        /// `true` to turn it on (what waits is sent), `false` to turn it off.
        #[arg(long)]
        enabled: Option<bool>,
    },
    /// Delete an endpoint and its delivery log.
    Delete {
        /// The endpoint's id.
        #[arg(long)]
        id: i64,
    },
    /// An endpoint's delivery log, newest first.
    Deliveries {
        /// The endpoint's id.
        #[arg(long)]
        id: i64,
        /// The most deliveries to show.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Send a delivery's event again (same id and body).
    Resend {
        /// The endpoint's id.
        #[arg(long)]
        id: i64,
        /// The delivery's id (from `depot webhook deliveries`).
        #[arg(long)]
        delivery: i64,
    },
}

pub async fn webhook(api: &Api, out: &Output, cmd: WebhookCommand) -> anyhow::Result<()> {
    match cmd {
        WebhookCommand::Add { endpoint, events } => {
            let w: WebhookView = api
                .send(
                    Method::POST,
                    &["webhooks"],
                    &NewWebhook {
                        url: endpoint,
                        events,
                    },
                )
                .await?;
            show(out, &w, |w| {
                outln!("webhook {} added for {}", w.id, w.url);
                outln!("signing secret: {}", w.secret.as_deref().unwrap_or("-"));
            });
        }
        WebhookCommand::List => {
            let v: Items<WebhookView> = api.get(&["webhooks"]).await?;
            show(out, &v, |v| {
                table(
                    &["ID", "URL", "EVENTS", "ON", "NOTE"],
                    v.items
                        .iter()
                        .map(|w| {
                            vec![
                                w.id.to_string(),
                                w.url.clone(),
                                w.events.join(","),
                                if w.enabled { "yes" } else { "no" }.into(),
                                w.disabled_reason.clone().unwrap_or_default(),
                            ]
                        })
                        .collect(),
                )
            });
        }
        WebhookCommand::Update {
            id,
            endpoint,
            events,
            enabled,
        } => {
            let patch = WebhookPatch {
                url: endpoint,
                events,
                enabled,
            };
            let w: WebhookView = api
                .send(Method::PATCH, &["webhooks", &id.to_string()], &patch)
                .await?;
            show(out, &w, |w| {
                let state = if w.enabled { "on" } else { "off" };
                outln!("webhook {} ({}) is {state}", w.id, w.url)
            });
        }
        WebhookCommand::Delete { id } => {
            let _: IgnoredAny = api
                .act(Method::DELETE, &["webhooks", &id.to_string()])
                .await?;
            show(out, &json!({"deleted": id}), |_| {
                outln!("webhook {id} deleted")
            });
        }
        WebhookCommand::Deliveries { id, limit } => {
            let v: Items<WebhookDeliveryView> = api
                .get_with(
                    &["webhooks", &id.to_string(), "deliveries"],
                    &json!({"limit": limit}),
                )
                .await?;
            show(out, &v, |v| {
                table(
                    &["ID", "EVENT", "TYPE", "OUTCOME", "TRIES", "STATUS", "MS"],
                    v.items
                        .iter()
                        .map(|d| {
                            vec![
                                d.id.to_string(),
                                d.event_id.clone(),
                                d.event_type.clone(),
                                d.outcome.clone(),
                                d.attempts.to_string(),
                                d.last_status.map(|s| s.to_string()).unwrap_or_default(),
                                d.last_ms.map(|s| s.to_string()).unwrap_or_default(),
                            ]
                        })
                        .collect(),
                )
            });
        }
        WebhookCommand::Resend { id, delivery } => {
            let d: WebhookDeliveryView = api
                .send(
                    Method::POST,
                    &[
                        "webhooks",
                        &id.to_string(),
                        "deliveries",
                        &delivery.to_string(),
                        "resend",
                    ],
                    &json!({}),
                )
                .await?;
            show(out, &d, |d| {
                outln!(
                    "{} ({}) queued again as delivery {}",
                    d.event_id,
                    d.event_type,
                    d.id
                )
            });
        }
    }
    Ok(())
}
