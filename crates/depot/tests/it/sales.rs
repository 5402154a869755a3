//! Sales become memberships by themselves: Stripe's and Paddle Billing's webhooks, with events
//! built from their documented shapes and signed by the tests with the documented schemes
//! (HMAC-SHA256 over `t.body` for Stripe, `ts:body` for Paddle), sent over HTTP to the running
//! server; the welcome mail read from a real SMTP server.

use depot_api::{DownloadKeyView, Items, MembershipView, NewKey, SaleEventView, SalePriceView};
use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::db_test;
use crate::helpers::*;
use crate::mail::{SmtpSink, free_port};

const STRIPE_SECRET: &str = "whsec_test_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH";
const PADDLE_SECRET: &str =
    "pdl_ntfset_01gkpjp8bkm3tm53kdgkx6sms7_6h3qd3uFSi9YCD3OLYAShQI90XTI5vEI";
const DAY: i64 = 86_400;
const BUYER: &str = "buyer@example.com";

fn hmac_hex(secret: &str, parts: &[&[u8]]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    for p in parts {
        m.update(p);
    }
    hex::encode(m.finalize().into_bytes())
}

/// Unix seconds by the server's clock (the signatures' timestamps are checked against it).
fn now(app: &TestApp) -> i64 {
    app.clock.now_ms() / 1000
}

fn rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// POSTs a body with a signature header; returns the status and the JSON answer.
async fn deliver(
    app: &TestApp,
    provider: &str,
    header: &str,
    signature: &str,
    body: &str,
) -> (u16, Value) {
    let r = app
        .client
        .post(app.url(&format!("/hooks/{provider}")))
        .header(header, signature)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A Stripe event, signed as Stripe signs it (`Stripe-Signature: t=…,v1=…`) at `signed_at`.
async fn stripe_at(app: &TestApp, event: &Value, signed_at: i64) -> (u16, Value) {
    let body = event.to_string();
    let sig = hmac_hex(
        STRIPE_SECRET,
        &[signed_at.to_string().as_bytes(), b".", body.as_bytes()],
    );
    let header = format!("t={signed_at},v1={sig}");
    deliver(app, "stripe", "Stripe-Signature", &header, &body).await
}

/// A Stripe event signed now; returns the outcome.
async fn stripe(app: &TestApp, event: &Value) -> String {
    let (status, body) = stripe_at(app, event, now(app)).await;
    assert_eq!(status, 200, "{body}");
    body["outcome"].as_str().unwrap().to_string()
}

fn stripe_event(id: &str, kind: &str, created: i64, object: Value) -> Value {
    json!({"id": id, "object": "event", "api_version": "2024-06-20", "type": kind,
           "created": created, "livemode": false, "data": {"object": object}})
}

/// `invoice.paid` for one period of subscription `sub`.
fn invoice_paid(id: &str, invoice: &str, period: (i64, i64), price: &str) -> Value {
    stripe_event(
        id,
        "invoice.paid",
        period.0,
        json!({"id": invoice, "object": "invoice", "customer": "cus_buyer",
               "customer_email": BUYER, "customer_name": "Ann Buyer",
               "subscription": "sub_pro", "charge": format!("ch_{invoice}"),
               "payment_intent": format!("pi_{invoice}"), "status": "paid",
               "status_transitions": {"paid_at": period.0},
               "lines": {"object": "list", "data": [
                   {"id": "il_1", "object": "line_item", "amount": 4900, "currency": "eur",
                    "period": {"start": period.0, "end": period.1},
                    "price": {"id": price, "object": "price", "product": "prod_pro"}}]}}),
    )
}

/// `customer.subscription.updated`, cancelling at `cancel_at` when given.
fn subscription_updated(id: &str, created: i64, period_end: i64, cancel_at: Option<i64>) -> Value {
    stripe_event(
        id,
        "customer.subscription.updated",
        created,
        json!({"id": "sub_pro", "object": "subscription", "customer": "cus_buyer",
               "status": "active", "cancel_at_period_end": false, "cancel_at": cancel_at,
               "current_period_end": period_end, "start_date": created,
               "items": {"data": [{"price": {"id": "price_pro", "product": "prod_pro"}}]}}),
    )
}

async fn memberships(app: &TestApp, email: &str) -> Vec<MembershipView> {
    let m: Items<MembershipView> = app.read(&format!("/users/{email}/memberships")).await;
    m.items
}

async fn events(app: &TestApp, query: &str) -> Vec<SaleEventView> {
    let e: Items<SaleEventView> = app.read(&format!("/sales/events{query}")).await;
    e.items
}

async fn map_price(app: &TestApp, provider: &str, price: &str, term: &str) -> SalePriceView {
    app.call(
        Method::PUT,
        &format!("/sales/prices/{provider}/{price}"),
        &json!({"group": 9, "term": term}),
    )
    .await
}

db_test!(a_stripe_subscription_from_first_payment_to_refund, db => |db: Db| async move {
    let dir = tempfile::tempdir().unwrap();
    let Some(sink) = SmtpSink::start(dir.path(), free_port(), false) else {
        return;
    };
    let app = TestApp::spawn_with(db, |s| {
        sink.configure(s);
        s.branding.name = "ReDJ Shop".into();
        s.sales.stripe_webhook_secret = Some(STRIPE_SECRET.into());
    })
    .await;
    app.paid_group("pro", 9).await;
    let download = app.publish_paid_redj("pro").await;
    let t = now(&app);
    let first = (t - 60, t + 30 * DAY);

    // A payment for a price depot has no mapping for: recorded, visible, nothing changes.
    let paid = invoice_paid("evt_paid_1", "in_1", first, "price_pro");
    assert_eq!(stripe(&app, &paid).await, "unknown_price");
    let (status, _) = app.api(Method::GET, &format!("/users/{BUYER}"), None).await;
    assert_eq!(status, 404, "no account without a mapping");
    let unknown = events(&app, "?outcome=unknown_price").await;
    assert_eq!(unknown.len(), 1);
    assert!(unknown[0].detail.contains("price_pro"), "{unknown:?}");

    // Mapping the price applies it: the account, the membership to the period's end, a welcome.
    let mapped = map_price(&app, "stripe", "price_pro", "subscription").await;
    assert_eq!((mapped.group, mapped.term.as_str()), (9, "subscription"));
    let m = memberships(&app, BUYER).await;
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0].valid_until.as_deref(), Some(rfc3339(first.1).as_str()));
    assert_eq!((m[0].group, m[0].source.as_str(), m[0].active), (9, "stripe", true));
    assert_eq!(events(&app, "?outcome=applied").await[0].id, "evt_paid_1");
    app.settle_mail().await;
    let mail = decoded(&sink.wait_for(1).await[0]);
    assert!(mail.contains(&format!("To: {BUYER}")), "{mail}");
    assert!(mail.contains("Subject: Welcome to ReDJ Shop"), "{mail}");
    assert!(mail.contains("/account/password?token="), "{mail}");
    assert!(mail.contains("Pro subscribers"), "the group bought: {mail}");

    // The customer downloads with a key of their own.
    let key: DownloadKeyView = app
        .call(Method::POST, &format!("/users/{BUYER}/keys"), &NewKey::default())
        .await;
    let paid_url = format!("{download}?dlid={}", key.key);
    assert_eq!(app.get(&paid_url).await.status(), 200);

    // The same event again, and a bad or stale signature: nothing changes.
    assert_eq!(stripe(&app, &paid).await, "duplicate");
    let body = invoice_paid("evt_forged", "in_9", (t, t + 900 * DAY), "price_pro").to_string();
    let forged = format!("t={t},v1={}", hmac_hex("whsec_wrong", &[t.to_string().as_bytes(), b".", body.as_bytes()]));
    let (status, answer) = deliver(&app, "stripe", "Stripe-Signature", &forged, &body).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["errors"][0]["code"], "bad_signature");
    let (status, _) = deliver(&app, "stripe", "Stripe-Signature", "", &body).await;
    assert_eq!(status, 400);
    let (status, _) = stripe_at(&app, &invoice_paid("evt_stale", "in_8", first, "price_pro"), t - 301).await;
    assert_eq!(status, 400, "a signature older than the tolerance");
    let (status, _) = deliver(&app, "stripe", "Stripe-Signature", &format!("t={t},v1=00"), "{}").await;
    assert_eq!(status, 400);
    assert_eq!(events(&app, "").await.len(), 1, "refused deliveries record nothing");
    assert_eq!(memberships(&app, BUYER).await, m);

    // The renewal extends it to the next period's end.
    let second = (first.1, first.1 + 30 * DAY);
    assert_eq!(stripe(&app, &invoice_paid("evt_paid_2", "in_2", second, "price_pro")).await, "applied");
    let m = memberships(&app, BUYER).await;
    assert_eq!(m.len(), 1, "one subscription, one membership");
    assert_eq!(m[0].valid_until.as_deref(), Some(rfc3339(second.1).as_str()));
    // Its "renewed" mail leaves now (a mail is composed when it is sent).
    app.settle_mail().await;

    // A cancellation ten days into the period, then an older update (not cancelled) arriving
    // late: the newer state wins.
    let cancel_at = second.0 + 10 * DAY;
    let cancel = subscription_updated("evt_cancel", t + 10, second.1, Some(cancel_at));
    assert_eq!(stripe(&app, &cancel).await, "applied");
    let older = subscription_updated("evt_older", t + 5, second.1, None);
    assert_eq!(stripe(&app, &older).await, "applied");
    assert_eq!(memberships(&app, BUYER).await[0].valid_until.as_deref(), Some(rfc3339(cancel_at).as_str()));

    // A partial refund changes nothing; the full refund ends it now.
    let refund = |id: &str, full: bool| stripe_event(id, "charge.refunded", now(&app),
        json!({"id": "ch_in_2", "object": "charge", "customer": "cus_buyer",
               "payment_intent": "pi_in_2", "amount": 4900,
               "amount_refunded": if full { 4900 } else { 900 }, "refunded": full}));
    assert_eq!(stripe(&app, &refund("evt_partial", false)).await, "ignored");
    assert!(memberships(&app, BUYER).await[0].active);
    assert_eq!(stripe(&app, &refund("evt_refund", true)).await, "applied");
    let m = memberships(&app, BUYER).await;
    assert!(!m[0].active, "{m:?}");
    assert_eq!(app.get(&paid_url).await.status(), 403);

    // Everything is in the audit log under the provider's name.
    let actions = app.audit_actions("actor=stripe").await;
    for action in ["user.create", "membership.add", "membership.extend", "membership.end"] {
        assert!(actions.iter().any(|a| a == action), "{action} in {actions:?}");
    }
    // One welcome, one "renewed" (the cancellation and the refund end it: no mail says so
    // before the end has come).
    app.settle_mail().await;
    let mails: Vec<String> = sink.messages().iter().map(|m| decoded(m)).collect();
    assert_eq!(mails.len(), 2, "{mails:?}");
    let renewed = mails.iter().find(|m| m.contains("Subject: Renewed:")).expect("a renewed mail");
    assert!(renewed.contains(&format!("Subject: Renewed: Pro subscribers until {}", &rfc3339(second.1)[..10])), "{renewed}");
});

/// A Paddle Billing event, signed as Paddle signs it (`Paddle-Signature: ts=…;h1=…`).
async fn paddle(app: &TestApp, event_id: &str, kind: &str, occurred: i64, data: Value) -> String {
    let body = json!({"event_id": event_id, "event_type": kind, "occurred_at": rfc3339(occurred),
                      "notification_id": format!("ntf_{event_id}"), "data": data})
    .to_string();
    let ts = now(app);
    let sig = hmac_hex(
        PADDLE_SECRET,
        &[ts.to_string().as_bytes(), b":", body.as_bytes()],
    );
    let (status, answer) = deliver(
        app,
        "paddle",
        "Paddle-Signature",
        &format!("ts={ts};h1={sig}"),
        &body,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    answer["outcome"].as_str().unwrap().to_string()
}

fn transaction(id: &str, price: &str, subscription: Option<&str>, period: (i64, i64)) -> Value {
    json!({"id": id, "status": "completed", "customer_id": "ctm_buyer",
           "subscription_id": subscription, "origin": "web", "currency_code": "EUR",
           "billed_at": rfc3339(period.0),
           "billing_period": subscription.map(|_| json!({"starts_at": rfc3339(period.0), "ends_at": rfc3339(period.1)})),
           "items": [{"price": {"id": price, "product_id": "pro_redj"}, "quantity": 1}]})
}

db_test!(paddle_events_in_any_order_give_the_same_dates, db => |db: Db| async move {
    let app = TestApp::spawn_with(db, |s| {
        s.sales.paddle_webhook_secret = Some(PADDLE_SECRET.into());
    })
    .await;
    app.paid_group("pro", 9).await;
    map_price(&app, "paddle", "pri_monthly", "subscription").await;
    map_price(&app, "paddle", "pri_year", "12m").await;
    let t = now(&app);
    let first = (t - 60, t + 30 * DAY);
    let second = (first.1, first.1 + 30 * DAY);

    // The renewal and a scheduled cancellation arrive first, before the purchase and before
    // the customer's address: they wait.
    let renewal = transaction("txn_2", "pri_monthly", Some("sub_01"), second);
    assert_eq!(paddle(&app, "evt_2", "transaction.completed", second.0, renewal).await, "waiting");
    let cancel = json!({"id": "sub_01", "status": "active", "customer_id": "ctm_buyer",
        "started_at": rfc3339(first.0),
        "current_billing_period": {"starts_at": rfc3339(second.0), "ends_at": rfc3339(second.1)},
        "scheduled_change": {"action": "cancel", "effective_at": rfc3339(second.1), "resume_at": null},
        "items": [{"price": {"id": "pri_monthly", "product_id": "pro_redj"}}]});
    assert_eq!(paddle(&app, "evt_3", "subscription.updated", t + 5, cancel).await, "waiting");
    let purchase = transaction("txn_1", "pri_monthly", Some("sub_01"), first);
    assert_eq!(paddle(&app, "evt_1", "transaction.completed", first.0, purchase).await, "waiting");
    assert_eq!(events(&app, "?outcome=waiting").await.len(), 3);

    // The customer's address arrives: everything waiting applies, as if in order.
    let customer = json!({"id": "ctm_buyer", "email": "Buyer@Example.com", "name": "Ann Buyer"});
    assert_eq!(paddle(&app, "evt_0", "customer.created", t - 120, customer).await, "applied");
    assert!(events(&app, "?outcome=waiting").await.is_empty());
    let m = memberships(&app, BUYER).await;
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0].valid_from, rfc3339(first.0));
    assert_eq!(m[0].valid_until.as_deref(), Some(rfc3339(second.1).as_str()));
    assert_eq!(m[0].source, "paddle");

    // A one-off year bought while another year runs starts where that one ends.
    let year = |id: &str, at: i64| transaction(id, "pri_year", None, (at, at));
    assert_eq!(paddle(&app, "evt_y2", "transaction.completed", t + 100 * DAY, year("txn_y2", t + 100 * DAY)).await, "applied");
    assert_eq!(paddle(&app, "evt_y1", "transaction.completed", t, year("txn_y1", t)).await, "applied");
    // (The subscription's membership is the one from the first period.)
    let mut spans: Vec<(String, Option<String>)> = memberships(&app, BUYER).await.into_iter()
        .filter(|m| m.valid_from != rfc3339(first.0))
        .map(|m| (m.valid_from, m.valid_until)).collect();
    spans.sort();
    let year_end = add_months(t, 12);
    assert_eq!(spans, vec![
        (rfc3339(t), Some(rfc3339(year_end))),
        (rfc3339(year_end), Some(rfc3339(add_months(year_end, 12)))),
    ]);

    // An approved full refund of the subscription's purchase ends it now; a pending one does not.
    let adjustment = |status: &str| json!({"id": "adj_01", "action": "refund", "type": "full",
        "status": status, "transaction_id": "txn_1", "subscription_id": "sub_01",
        "customer_id": "ctm_buyer", "created_at": rfc3339(now(&app)), "updated_at": rfc3339(now(&app))});
    assert_eq!(paddle(&app, "evt_r0", "adjustment.created", t + 10, adjustment("pending_approval")).await, "ignored");
    assert_eq!(paddle(&app, "evt_r1", "adjustment.updated", t + 20, adjustment("approved")).await, "applied");
    let sub = memberships(&app, BUYER).await.into_iter().find(|m| m.valid_from == rfc3339(first.0)).unwrap();
    assert!(!sub.active, "{sub:?}");
    assert!(app.audit_actions("actor=paddle").await.iter().any(|a| a == "membership.end"));
});

/// `secs` plus calendar months, as depot counts a fixed term.
fn add_months(secs: i64, months: u32) -> i64 {
    depot_core::sales::Term::Months(months)
        .end_after(secs * 1000)
        .unwrap()
        / 1000
}

db_test!(webhooks_need_their_secret, |app: TestApp| async move {
    // No secret configured: the endpoint does not exist.
    let (status, _) = deliver(&app, "stripe", "Stripe-Signature", "t=1,v1=00", "{}").await;
    assert_eq!(status, 404);
    let (status, _) = deliver(&app, "gumroad", "X-Signature", "x", "{}").await;
    assert_eq!(status, 404);
    // Mappings are checked before they are stored.
    for (path, body, code) in [
        (
            "/sales/prices/stripe/price_1",
            json!({"group": 9, "term": "subscription"}),
            "unknown_group",
        ),
        (
            "/sales/prices/gumroad/price_1",
            json!({"group": 9, "term": "12m"}),
            "unknown_provider",
        ),
        (
            "/sales/prices/stripe/price_1",
            json!({"group": 9, "term": "weekly"}),
            "bad_term",
        ),
    ] {
        let (status, answer) = app.api(Method::PUT, path, Some(body)).await;
        assert_eq!(
            (status, answer["errors"][0]["code"].as_str()),
            (400, Some(code)),
            "{path}"
        );
    }
    let prices: Items<SalePriceView> = app.read("/sales/prices").await;
    assert!(prices.items.is_empty());
});

db_test!(
    customers_hear_before_and_after_a_membership_ends,
    db => |db: Db| async move {
        let dir = tempfile::tempdir().unwrap();
        let Some(sink) = SmtpSink::start(dir.path(), free_port(), false) else {
            return;
        };
        let app = TestApp::spawn_with(db, |s| sink.configure(s)).await;
        app.paid_group("pro", 9).await;
        let (status, _) = app
            .api(
                Method::PATCH,
                "/package-groups/pro",
                Some(json!({"policy": "keep-released"})),
            )
            .await;
        assert_eq!(status, 200);
        let t = now(&app);
        let member = |email: &'static str, from: i64, until: Option<i64>| {
            let app = &app;
            async move {
                let (status, _) = app
                    .api(Method::POST, "/users", Some(json!({"email": email})))
                    .await;
                assert!(status == 201 || status == 409);
                let body = json!({"group": 9, "from": rfc3339(from), "until": until.map(rfc3339)});
                let (status, answer) = app
                    .api(
                        Method::POST,
                        &format!("/users/{email}/memberships"),
                        Some(body),
                    )
                    .await;
                assert_eq!(status, 201, "{answer}");
            }
        };
        // Ends in five days; open-ended; ends in five days but a second membership carries on.
        member("ann@example.com", t - DAY, Some(t + 5 * DAY)).await;
        member("bob@example.com", t - DAY, None).await;
        member("cat@example.com", t - DAY, Some(t + 5 * DAY)).await;
        member("cat@example.com", t + 5 * DAY, Some(t + 60 * DAY)).await;

        assert_eq!(app.depot().send_membership_notices().await.unwrap(), 1);
        assert_eq!(
            app.depot().send_membership_notices().await.unwrap(),
            0,
            "once per membership"
        );
        assert_eq!(app.mail_outcomes().await, ["ann@example.com: sent"]);
        let mail = decoded(&sink.wait_for(1).await[0]);
        assert!(
            mail.contains(&format!(
                "Subject: Your access to Pro subscribers ends on {}",
                &rfc3339(t + 5 * DAY)[..10]
            )),
            "{mail}"
        );
        assert!(mail.contains("in 5 days"), "{mail}");
        assert!(
            mail.contains("you keep downloading the releases published before that date"),
            "{mail}"
        );

        // Six days later it has ended: what the customer keeps, and how to renew.
        app.clock
            .advance(std::time::Duration::from_secs(6 * 86_400));
        assert_eq!(app.depot().send_membership_notices().await.unwrap(), 1);
        assert_eq!(app.depot().send_membership_notices().await.unwrap(), 0);
        app.settle_mail().await;
        let mails = sink.wait_for(2).await;
        let mail = mails.iter().map(|m| decoded(m)).find(|m| m.contains("has ended")).expect("the ended mail");
        assert!(mail.contains("To: ann@example.com"), "{mail}");
        assert!(
            mail.contains("Subject: Your access to Pro subscribers has ended"),
            "{mail}"
        );
        assert!(
            mail.contains("stay downloadable with your download keys"),
            "{mail}"
        );
        assert!(mail.contains("/account"), "{mail}");
    }
);

db_test!(customer_mails_can_be_turned_off, db => |db: Db| async move {
    let app = TestApp::spawn_with(db, |s| {
        s.customer_mails.ending_soon_days = 0;
        s.customer_mails.ended = false;
    })
    .await;
    app.paid_group("pro", 9).await;
    let t = now(&app);
    let (status, _) = app.api(Method::POST, "/users", Some(json!({"email": "ann@example.com"}))).await;
    assert_eq!(status, 201);
    let body = json!({"group": 9, "from": rfc3339(t - DAY), "until": rfc3339(t + DAY)});
    let (status, _) = app.api(Method::POST, "/users/ann@example.com/memberships", Some(body)).await;
    assert_eq!(status, 201);
    assert_eq!(app.depot().send_membership_notices().await.unwrap(), 0);
    app.clock.advance(std::time::Duration::from_secs(2 * 86_400));
    assert_eq!(app.depot().send_membership_notices().await.unwrap(), 0);
});
