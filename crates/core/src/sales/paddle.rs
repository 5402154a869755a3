//! Paddle Billing's events (`event_id`, `event_type`, `occurred_at`, `data`). A transaction
//! names its customer by id only; the address comes with `customer.created` or
//! `customer.updated`, which may arrive after the transaction (depot keeps the transaction
//! waiting until then).

use serde_json::Value;

use super::json::{list, rfc3339_ms, text, text_of};
use super::{
    Change, Line, Payment, Period, Provider, ReadError, Refund, SaleEvent, Status,
    SubscriptionState,
};

fn bad(reason: &str) -> ReadError {
    ReadError::new(Provider::Paddle, reason)
}

pub(super) fn read(body: &[u8]) -> Result<SaleEvent, ReadError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| bad(&e.to_string()))?;
    let id = text(&v, "event_id")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| bad("no `event_id`"))?;
    let kind = text(&v, "event_type").ok_or_else(|| bad("no `event_type`"))?;
    let occurred_at = rfc3339_ms(&v, "occurred_at").ok_or_else(|| bad("no `occurred_at`"))?;
    let empty = Value::Null;
    let d = super::json::at(&v, "data").unwrap_or(&empty);
    let mut event = SaleEvent {
        id,
        kind,
        occurred_at,
        customer: text(d, "customer_id"),
        email: None,
        name: None,
        change: Change::Ignored {
            reason: "an event type depot does not act on".into(),
        },
    };
    match event.kind.as_str() {
        "customer.created" | "customer.updated" => {
            event.customer = text(d, "id");
            event.email = text(d, "email");
            event.name = text(d, "name");
            event.change = Change::Customer;
        }
        "transaction.completed" => transaction(d, &mut event),
        kind if kind.starts_with("subscription.") => subscription(d, &mut event),
        "adjustment.created" | "adjustment.updated" => adjustment(d, &mut event),
        _ => {}
    }
    Ok(event)
}

fn period(v: &Value, path: &str) -> Option<Period> {
    let start = rfc3339_ms(v, &format!("{path}/starts_at"))?;
    let end = rfc3339_ms(v, &format!("{path}/ends_at"))?;
    (end > start).then_some(Period { start, end })
}

fn lines(d: &Value, period: Option<Period>) -> Vec<Line> {
    list(d, "items")
        .iter()
        .filter_map(|i| {
            Some(Line {
                price: text_of(i, &["price/id", "price_id"])?,
                product: text_of(i, &["price/product_id", "product/id"]),
                period,
            })
        })
        .collect()
}

fn transaction(d: &Value, event: &mut SaleEvent) {
    let Some(reference) = text(d, "id") else {
        event.change = Change::Ignored {
            reason: "a transaction without an id".into(),
        };
        return;
    };
    event.change = Change::Paid(Payment {
        subscription: text(d, "subscription_id"),
        lines: lines(d, period(d, "billing_period")),
        paid_at: rfc3339_ms(d, "billed_at").unwrap_or(event.occurred_at),
        refund_refs: vec![reference.clone()],
        reference,
    });
}

fn subscription(d: &Value, event: &mut SaleEvent) {
    let Some(id) = text(d, "id") else {
        event.change = Change::Ignored {
            reason: "a subscription without an id".into(),
        };
        return;
    };
    let status = match text(d, "status").as_deref() {
        Some("trialing") => Status::Trialing,
        Some("active") => Status::Active,
        Some("past_due") => Status::PastDue,
        Some("paused") => Status::Paused,
        Some("canceled") => Status::Ended,
        _ => Status::Other,
    };
    let period_end = period(d, "current_billing_period").map(|p| p.end);
    let scheduled_cancel = text(d, "scheduled_change/action").as_deref() == Some("cancel");
    let ends_at = match status {
        Status::Ended => rfc3339_ms(d, "canceled_at"),
        Status::Paused => rfc3339_ms(d, "paused_at"),
        _ if scheduled_cancel => rfc3339_ms(d, "scheduled_change/effective_at").or(period_end),
        _ => None,
    };
    event.change = Change::Subscription(SubscriptionState {
        subscription: id,
        lines: lines(d, None),
        status,
        started_at: rfc3339_ms(d, "started_at"),
        period_end,
        ends_at,
    });
}

/// A refund or chargeback ends access once approved and whole; credits, partial and pending
/// refunds are recorded and change nothing.
fn adjustment(d: &Value, event: &mut SaleEvent) {
    let returns_money = matches!(text(d, "action").as_deref(), Some("refund" | "chargeback"));
    let full = returns_money
        && text(d, "type").as_deref() == Some("full")
        && text(d, "status").as_deref() == Some("approved");
    event.change = Change::Refund(Refund {
        refs: text(d, "transaction_id").into_iter().collect(),
        subscription: text(d, "subscription_id"),
        full,
        at: rfc3339_ms(d, "updated_at")
            .or_else(|| rfc3339_ms(d, "created_at"))
            .unwrap_or(event.occurred_at),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(kind: &str, data: Value) -> SaleEvent {
        let body = json!({"event_id": "evt_01", "event_type": kind,
                          "occurred_at": "2026-12-03T10:00:00.123456Z",
                          "notification_id": "ntf_01", "data": data});
        read(body.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn a_completed_transaction_pays_its_period() {
        let e = event(
            "transaction.completed",
            json!({"id": "txn_01", "status": "completed", "customer_id": "ctm_01",
                   "subscription_id": "sub_01", "billed_at": "2026-12-03T09:59:00Z",
                   "billing_period": {"starts_at": "2026-12-03T09:59:00Z",
                                      "ends_at": "2027-01-03T09:59:00Z"},
                   "items": [{"price": {"id": "pri_01", "product_id": "pro_01"}, "quantity": 1}]}),
        );
        assert_eq!(e.occurred_at, 1_796_292_000_123);
        assert_eq!(e.customer.as_deref(), Some("ctm_01"));
        let Change::Paid(p) = e.change else {
            panic!("{e:?}")
        };
        assert_eq!(p.subscription.as_deref(), Some("sub_01"));
        assert_eq!(p.lines[0].keys().collect::<Vec<_>>(), ["pri_01", "pro_01"]);
        assert!(p.lines[0].period.is_some_and(|p| p.end > p.start));
    }

    #[test]
    fn subscriptions_cancel_at_the_scheduled_time() {
        let e = event(
            "subscription.updated",
            json!({"id": "sub_01", "status": "active", "customer_id": "ctm_01",
                   "current_billing_period": {"starts_at": "2026-12-03T00:00:00Z",
                                              "ends_at": "2027-01-03T00:00:00Z"},
                   "scheduled_change": {"action": "cancel",
                                        "effective_at": "2027-01-03T00:00:00Z"},
                   "items": [{"price": {"id": "pri_01"}}]}),
        );
        let Change::Subscription(s) = e.change else {
            panic!()
        };
        assert_eq!(s.status, Status::Active);
        assert_eq!(s.ends_at, s.period_end);
        let e = event(
            "subscription.canceled",
            json!({"id": "sub_01", "status": "canceled", "canceled_at": "2026-12-10T00:00:00Z"}),
        );
        let Change::Subscription(s) = e.change else {
            panic!()
        };
        assert_eq!(s.status, Status::Ended);
        assert!(s.ends_at.is_some());
    }

    #[test]
    fn only_an_approved_full_refund_counts() {
        let refund = |status: &str, kind: &str| {
            let e = event(
                "adjustment.created",
                json!({"id": "adj_01", "action": "refund", "type": kind, "status": status,
                       "transaction_id": "txn_01", "customer_id": "ctm_01"}),
            );
            match e.change {
                Change::Refund(r) => r.full,
                _ => panic!(),
            }
        };
        assert!(refund("approved", "full"));
        assert!(!refund("pending_approval", "full"));
        assert!(!refund("approved", "partial"));
    }

    #[test]
    fn customers_carry_their_address() {
        let e = event(
            "customer.created",
            json!({"id": "ctm_01", "email": "buyer@example.com", "name": "B"}),
        );
        assert_eq!(e.change, Change::Customer);
        assert_eq!(e.customer.as_deref(), Some("ctm_01"));
        assert_eq!(e.email.as_deref(), Some("buyer@example.com"));
        assert!(read(b"{}").is_err());
        assert!(read(br#"{"event_id":"e","event_type":"x","occurred_at":"yesterday"}"#).is_err());
    }
}
