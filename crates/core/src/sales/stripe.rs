//! Stripe's events (an `event` object: `id`, `type`, `created`, `data.object`). Fields that
//! moved between API versions are read from both places (`invoice.subscription` before
//! 2025-03-31, `invoice.parent.subscription_details.subscription` since; a subscription's
//! `current_period_end` on the subscription before, on its items since).

use serde_json::Value;

use super::json::{at, boolean, int, list, secs_ms, text, text_of};
use super::{
    Change, Line, Payment, Period, Provider, ReadError, Refund, SaleEvent, Status,
    SubscriptionState,
};

fn bad(reason: &str) -> ReadError {
    ReadError::new(Provider::Stripe, reason)
}

pub(super) fn read(body: &[u8]) -> Result<SaleEvent, ReadError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| bad(&e.to_string()))?;
    let id = text(&v, "id")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| bad("no event id"))?;
    let kind = text(&v, "type").ok_or_else(|| bad("no event type"))?;
    let occurred_at = secs_ms(&v, "created").ok_or_else(|| bad("no `created` time"))?;
    let o = at(&v, "data/object").ok_or_else(|| bad("no `data.object`"))?;
    let mut event = SaleEvent {
        id,
        kind,
        occurred_at,
        customer: id_of(o, "customer"),
        email: None,
        name: None,
        change: Change::Ignored {
            reason: "an event type depot does not act on".into(),
        },
    };
    match event.kind.as_str() {
        "checkout.session.completed" => checkout(o, &mut event),
        "invoice.paid" => invoice(o, &mut event),
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => subscription(o, &mut event),
        "charge.refunded" => refund(o, &mut event),
        // Not among the events a vendor must send, but they name a customer that another
        // event may be waiting for.
        "customer.created" | "customer.updated" => {
            event.customer = text(o, "id");
            event.email = text(o, "email");
            event.name = text(o, "name");
            event.change = Change::Customer;
        }
        _ => {}
    }
    Ok(event)
}

/// An id that may come as a string or as the expanded object.
fn id_of(o: &Value, field: &str) -> Option<String> {
    text(o, field).or_else(|| text(o, &format!("{field}/id")))
}

/// A completed Checkout: the customer's address, and a one-off purchase when nothing else will
/// report it. A subscription's payment, or a purchase with invoice creation on, arrives as
/// `invoice.paid` with its prices; Stripe's checkout event itself carries no line items, so a
/// one-off purchase without an invoice is known by its Payment Link.
fn checkout(o: &Value, event: &mut SaleEvent) {
    event.email = text_of(o, &["customer_details/email", "customer_email"]);
    event.name = text(o, "customer_details/name");
    let paid = matches!(
        text(o, "payment_status").as_deref(),
        Some("paid" | "no_payment_required")
    );
    let one_off = text(o, "mode").as_deref() == Some("payment") && id_of(o, "invoice").is_none();
    event.change = if paid && one_off {
        let mut lines: Vec<Line> = list(o, "line_items/data")
            .iter()
            .filter_map(|l| line(l, None))
            .collect();
        if let Some(link) = id_of(o, "payment_link") {
            lines.push(Line {
                price: link,
                product: None,
                period: None,
            });
        }
        let reference = text(o, "id").unwrap_or_else(|| event.id.clone());
        Change::Paid(Payment {
            refund_refs: [Some(reference.clone()), id_of(o, "payment_intent")]
                .into_iter()
                .flatten()
                .collect(),
            reference,
            subscription: None,
            lines,
            paid_at: event.occurred_at,
        })
    } else if paid {
        Change::Customer
    } else {
        Change::Ignored {
            reason: "the checkout is not paid yet".into(),
        }
    };
}

/// A line of an invoice or a checkout: its price and product, and the period when it has one.
fn line(l: &Value, period: Option<Period>) -> Option<Line> {
    let price = text_of(
        l,
        &[
            "price/id",
            "pricing/price_details/price",
            "plan/id",
            "price",
        ],
    )?;
    let product = text_of(
        l,
        &[
            "price/product",
            "pricing/price_details/product",
            "plan/product",
        ],
    );
    Some(Line {
        price,
        product,
        period,
    })
}

fn invoice(o: &Value, event: &mut SaleEvent) {
    event.email = text(o, "customer_email");
    event.name = text(o, "customer_name");
    let Some(reference) = text(o, "id") else {
        event.change = Change::Ignored {
            reason: "an invoice without an id".into(),
        };
        return;
    };
    let lines = list(o, "lines/data")
        .iter()
        // Credit for unused time after a plan change pays for nothing.
        .filter(|l| int(l, "amount").is_none_or(|a| a >= 0))
        .filter_map(|l| {
            let period = match (secs_ms(l, "period/start"), secs_ms(l, "period/end")) {
                (Some(start), Some(end)) if end > start => Some(Period { start, end }),
                _ => None,
            };
            line(l, period)
        })
        .collect();
    event.change = Change::Paid(Payment {
        subscription: text_of(
            o,
            &["subscription", "parent/subscription_details/subscription"],
        ),
        lines,
        paid_at: secs_ms(o, "status_transitions/paid_at").unwrap_or(event.occurred_at),
        refund_refs: [
            Some(reference.clone()),
            id_of(o, "charge"),
            id_of(o, "payment_intent"),
        ]
        .into_iter()
        .flatten()
        .collect(),
        reference,
    });
}

fn subscription(o: &Value, event: &mut SaleEvent) {
    let Some(id) = text(o, "id") else {
        event.change = Change::Ignored {
            reason: "a subscription without an id".into(),
        };
        return;
    };
    let items = list(o, "items/data");
    let status = if event.kind == "customer.subscription.deleted" {
        Status::Ended
    } else {
        match text(o, "status").as_deref() {
            Some("trialing") => Status::Trialing,
            Some("active") => Status::Active,
            Some("past_due") => Status::PastDue,
            Some("paused") => Status::Paused,
            Some("canceled") => Status::Ended,
            _ => Status::Other,
        }
    };
    let period_end = match status {
        Status::Trialing => secs_ms(o, "trial_end"),
        _ => None,
    }
    .or_else(|| secs_ms(o, "current_period_end"))
    .or_else(|| {
        items
            .iter()
            .filter_map(|i| secs_ms(i, "current_period_end"))
            .max()
    });
    let ends_at = match status {
        Status::Ended => secs_ms(o, "ended_at").or_else(|| secs_ms(o, "canceled_at")),
        _ if boolean(o, "cancel_at_period_end") == Some(true) => period_end,
        _ => secs_ms(o, "cancel_at"),
    };
    event.change = Change::Subscription(SubscriptionState {
        subscription: id,
        lines: items.iter().filter_map(|i| line(i, None)).collect(),
        status,
        started_at: secs_ms(o, "start_date"),
        period_end,
        ends_at,
    });
}

fn refund(o: &Value, event: &mut SaleEvent) {
    event.email = text(o, "billing_details/email");
    event.change = Change::Refund(Refund {
        refs: [
            text(o, "id"),
            id_of(o, "invoice"),
            id_of(o, "payment_intent"),
        ]
        .into_iter()
        .flatten()
        .collect(),
        subscription: None,
        // `refunded` is true only once the whole amount went back.
        full: boolean(o, "refunded") == Some(true),
        at: event.occurred_at,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(kind: &str, object: Value) -> SaleEvent {
        let body = json!({"id": "evt_1", "object": "event", "type": kind, "created": 1_700_000_000,
                          "data": {"object": object}});
        read(body.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn an_invoice_pays_its_subscription_period() {
        let e = event(
            "invoice.paid",
            json!({"id": "in_1", "object": "invoice", "customer": "cus_1",
                   "customer_email": "Buyer@Example.com", "subscription": "sub_1",
                   "charge": "ch_1", "payment_intent": "pi_1",
                   "status_transitions": {"paid_at": 1_700_000_100},
                   "lines": {"data": [
                       {"amount": 1000, "period": {"start": 1_700_000_000, "end": 1_702_592_000},
                        "price": {"id": "price_pro", "product": "prod_pro"}},
                       {"amount": -500, "period": {"start": 1_700_000_000, "end": 1_702_592_000},
                        "price": {"id": "price_old", "product": "prod_old"}}]}}),
        );
        assert_eq!(e.customer.as_deref(), Some("cus_1"));
        assert_eq!(e.email.as_deref(), Some("Buyer@Example.com"));
        let Change::Paid(p) = e.change else {
            panic!("{e:?}")
        };
        assert_eq!(p.subscription.as_deref(), Some("sub_1"));
        assert_eq!(p.paid_at, 1_700_000_100_000);
        assert_eq!(p.refund_refs, ["in_1", "ch_1", "pi_1"]);
        assert_eq!(p.lines.len(), 1);
        assert_eq!(
            p.lines[0].keys().collect::<Vec<_>>(),
            ["price_pro", "prod_pro"]
        );
        assert_eq!(
            p.lines[0].period,
            Some(Period {
                start: 1_700_000_000_000,
                end: 1_702_592_000_000
            })
        );
    }

    #[test]
    fn newer_api_versions_move_fields() {
        let e = event(
            "invoice.paid",
            json!({"id": "in_2", "customer": {"id": "cus_2"},
                   "parent": {"subscription_details": {"subscription": "sub_2"}},
                   "lines": {"data": [{"amount": 900, "period": {"start": 1, "end": 2},
                       "pricing": {"price_details": {"price": "price_2", "product": "prod_2"}}}]}}),
        );
        assert_eq!(e.customer.as_deref(), Some("cus_2"));
        let Change::Paid(p) = e.change else { panic!() };
        assert_eq!(p.subscription.as_deref(), Some("sub_2"));
        assert_eq!(p.lines[0].price, "price_2");
        let e = event(
            "customer.subscription.updated",
            json!({"id": "sub_2", "customer": "cus_2", "status": "active",
                   "cancel_at_period_end": true,
                   "items": {"data": [{"current_period_end": 1_702_592_000,
                                        "price": {"id": "price_2"}}]}}),
        );
        let Change::Subscription(s) = e.change else {
            panic!()
        };
        assert_eq!(s.period_end, Some(1_702_592_000_000));
        assert_eq!(s.ends_at, Some(1_702_592_000_000));
    }

    #[test]
    fn subscriptions_end_and_charges_refund() {
        let e = event(
            "customer.subscription.deleted",
            json!({"id": "sub_1", "customer": "cus_1", "status": "canceled",
                   "ended_at": 1_700_000_500, "current_period_end": 1_702_592_000}),
        );
        let Change::Subscription(s) = e.change else {
            panic!()
        };
        assert_eq!(
            (s.status, s.ends_at),
            (Status::Ended, Some(1_700_000_500_000))
        );
        let e = event(
            "charge.refunded",
            json!({"id": "ch_1", "customer": "cus_1", "payment_intent": "pi_1",
                   "refunded": true, "amount": 1000, "amount_refunded": 1000}),
        );
        let Change::Refund(r) = e.change else {
            panic!()
        };
        assert!(r.full);
        assert_eq!(r.refs, ["ch_1", "pi_1"]);
        let e = event(
            "charge.refunded",
            json!({"id": "ch_1", "refunded": false, "amount_refunded": 10}),
        );
        assert!(matches!(
            e.change,
            Change::Refund(Refund { full: false, .. })
        ));
    }

    #[test]
    fn checkouts_name_the_customer_and_one_off_purchases() {
        let e = event(
            "checkout.session.completed",
            json!({"id": "cs_1", "mode": "subscription", "payment_status": "paid",
                   "customer": "cus_1", "subscription": "sub_1",
                   "customer_details": {"email": "a@example.com", "name": "A"}}),
        );
        assert_eq!(e.change, Change::Customer);
        assert_eq!(e.name.as_deref(), Some("A"));
        let e = event(
            "checkout.session.completed",
            json!({"id": "cs_2", "mode": "payment", "payment_status": "paid",
                   "payment_link": "plink_1", "payment_intent": "pi_2",
                   "customer_details": {"email": "a@example.com"}}),
        );
        let Change::Paid(p) = e.change else { panic!() };
        assert_eq!(p.lines[0].price, "plink_1");
        assert_eq!(p.refund_refs, ["cs_2", "pi_2"]);
        let e = event(
            "checkout.session.completed",
            json!({"id": "cs_3", "mode": "payment", "payment_status": "unpaid"}),
        );
        assert!(matches!(e.change, Change::Ignored { .. }));
    }

    #[test]
    fn other_shapes_are_refused_or_ignored() {
        assert!(read(b"not json").is_err());
        assert!(read(br#"{"type":"invoice.paid","created":1,"data":{"object":{}}}"#).is_err());
        assert!(read(br#"{"id":"evt","type":"invoice.paid","data":{"object":{}}}"#).is_err());
        let e = event("payment_intent.created", json!({"id": "pi_1"}));
        assert!(matches!(e.change, Change::Ignored { .. }));
        let e = event(
            "customer.created",
            json!({"id": "cus_9", "email": "c@example.com"}),
        );
        assert_eq!(
            (e.change, e.customer.as_deref()),
            (Change::Customer, Some("cus_9"))
        );
    }
}
