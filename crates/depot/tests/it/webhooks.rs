//! depot's webhooks out, against a receiver the test runs over TCP: it checks every
//! signature as a vendor's receiver would, fails the first attempts, is down across a depot
//! restart, and counts each event id; every event arrives, is accepted once, and is in the
//! delivery log. An endpoint that keeps failing is turned off and the administrators told.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use depot_api::{
    DownloadKeyView, Items, MembershipView, NewKey, NewMembership, NewUser, UserView,
    WebhookDeliveryView, WebhookView,
};
use depot_core::Clock;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::db_test;
use crate::helpers::*;

/// What the receiver saw.
#[derive(Default)]
struct Seen {
    /// Accepted (answered 200) events: id → (type, how many times accepted).
    accepted: HashMap<String, (String, usize)>,
    /// Requests answered 500 on purpose.
    failed: usize,
    /// Requests whose signature did not verify.
    bad_signatures: usize,
}

/// A webhook receiver on a TCP port: verifies `Depot-Signature` with `secret`, answers `500`
/// to the first `fail_first` requests (and to all with `fail_first == usize::MAX`), then `200`.
struct Receiver {
    /// The accepting task and every connection's: stopping aborts them all, so that a
    /// kept-alive connection cannot outlive the receiver.
    tasks: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Receiver {
    async fn start(
        port: u16,
        secret: String,
        clock: Clock,
        fail_first: usize,
        seen: Arc<Mutex<Seen>>,
    ) -> Receiver {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let tasks: Arc<Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let connections = tasks.clone();
        let accepting = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let (seen, secret, clock) = (seen.clone(), secret.clone(), clock.clone());
                let connection = tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut reader = BufReader::new(read);
                    // Keep-alive: one request after another on the connection.
                    while let Some((headers, body)) = read_request(&mut reader).await {
                        let status = answer(&seen, &secret, &clock, fail_first, &headers, &body);
                        let reply = format!("HTTP/1.1 {status}\r\ncontent-length: 2\r\n\r\nok");
                        if write.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
                connections.lock().unwrap().push(connection.abort_handle());
            }
        });
        tasks.lock().unwrap().push(accepting.abort_handle());
        Receiver { tasks }
    }

    /// Down: the port refuses connections, and open ones are closed.
    fn stop(self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

async fn read_request(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> Option<(HashMap<String, String>, Vec<u8>)> {
    let mut headers = HashMap::new();
    let mut line = String::new();
    reader.read_line(&mut line).await.ok().filter(|n| *n > 0)?;
    loop {
        line.clear();
        reader.read_line(&mut line).await.ok().filter(|n| *n > 0)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers.get("content-length")?.parse().ok()?;
    let mut body = vec![0; len];
    reader.read_exact(&mut body).await.ok()?;
    Some((headers, body))
}

/// The receiver's checks, as the README tells a vendor to write them.
fn answer(
    seen: &Mutex<Seen>,
    secret: &str,
    clock: &Clock,
    fail_first: usize,
    headers: &HashMap<String, String>,
    body: &[u8],
) -> &'static str {
    let mut seen = seen.lock().unwrap();
    let signature = headers.get("depot-signature").cloned().unwrap_or_default();
    let mut t = None;
    let mut v1 = Vec::new();
    for part in signature.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1.push(v.to_string()),
            _ => {}
        }
    }
    let verified = t.is_some_and(|t| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        let expected = hex::encode(mac.finalize().into_bytes());
        // A receiver allows a few minutes; this test moves the clock an hour at a time,
        // possibly while a delivery is on its way.
        (clock.now_ms() / 1000 - t).abs() <= 2 * 3600 && v1.contains(&expected)
    });
    if !verified {
        seen.bad_signatures += 1;
        return "400 Bad Request";
    }
    if seen.failed < fail_first {
        seen.failed += 1;
        return "500 Internal Server Error";
    }
    let event: Value = serde_json::from_slice(body).unwrap();
    let id = event["id"].as_str().unwrap().to_string();
    let kind = event["type"].as_str().unwrap().to_string();
    seen.accepted.entry(id).or_insert((kind, 0)).1 += 1;
    "200 OK"
}

/// Delivers what is due, moving the clock past each retry's pause, until `done` holds.
async fn deliver_until(app: &TestApp, what: &str, done: impl Fn() -> bool) {
    for _ in 0..60 {
        app.depot().deliver_due_webhooks().await.unwrap();
        if done() {
            return;
        }
        app.clock.advance(std::time::Duration::from_secs(3600));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{what}: not done after 60 hours of retries");
}

/// The delivery log once nothing is in flight.
async fn settled_log(app: &TestApp, hook: i64) -> Items<WebhookDeliveryView> {
    for _ in 0..100 {
        let log: Items<WebhookDeliveryView> =
            app.read(&format!("/webhooks/{hook}/deliveries")).await;
        if log.items.iter().all(|d| d.outcome != "pending") {
            return log;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("deliveries still pending");
}

fn types_accepted(seen: &Mutex<Seen>) -> Vec<String> {
    let mut types: Vec<String> = seen
        .lock()
        .unwrap()
        .accepted
        .values()
        .map(|(t, _)| t.clone())
        .collect();
    types.sort();
    types
}

db_test!(webhooks_arrive_signed_once_each_across_failures_and_a_restart, db => |db: Db| async move {
    let port = crate::mail::free_port();
    let mut app = TestApp::spawn_with(db, |s| {
        s.webhooks.first_retry_secs = 60;
        s.webhooks.max_attempts = 5;
    })
    .await;
    let hook: WebhookView = app
        .call(Method::POST, "/webhooks", &json!({"url": format!("http://127.0.0.1:{port}/hooks/depot"), "events": "*"}))
        .await;
    let secret = hook.secret.clone().expect("the secret, once");
    assert!(secret.starts_with("whsec_"), "{secret}");
    let seen = Arc::new(Mutex::new(Seen::default()));
    let receiver = Receiver::start(port, secret.clone(), app.clock.clone(), 2, seen.clone()).await;

    // Six events: a user, a membership, a release, a refused download, a key created and
    // revoked.
    app.paid_group("pro", 9).await;
    let email = "buyer@example.com";
    let _: UserView = app.call(Method::POST, "/users", &new_user(email)).await;
    let m = NewMembership { group: 9, from: None, until: None };
    let _: MembershipView = app.call(Method::POST, &format!("/users/{email}/memberships"), &m).await;
    let paid = app.publish_paid_redj("pro").await;
    // Two refused downloads from one client: one download.refused (once an hour per code
    // and client).
    for _ in 0..2 {
        assert_eq!(app.get(paid).await.status(), 400);
    }
    let key: DownloadKeyView = app.call(Method::POST, &format!("/users/{email}/keys"), &NewKey::default()).await;
    let (status, _) = app.api(Method::DELETE, &format!("/users/{email}/keys/{}", key.id), None).await;
    assert_eq!(status, 204);
    deliver_until(&app, "the first six", || seen.lock().unwrap().accepted.len() == 6).await;
    assert_eq!(types_accepted(&seen), ["download.refused", "key.created", "key.revoked", "membership.started", "release.published", "user.created"]);
    assert_eq!(seen.lock().unwrap().failed, 2, "the first two attempts failed and were retried");

    // The receiver goes down; two more events fail; depot restarts; the receiver comes back.
    receiver.stop();
    let (status, _) = app
        .api(Method::PATCH, "/extensions/com_redj/releases/2.0.0", Some(json!({"state": "yanked"})))
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .api(Method::POST, &format!("/users/{email}/memberships/end"), Some(json!({"group": 9})))
        .await;
    assert_eq!(status, 200);
    app.depot().deliver_due_webhooks().await.unwrap();
    app.restart().await;
    let receiver = Receiver::start(port, secret.clone(), app.clock.clone(), 0, seen.clone()).await;
    deliver_until(&app, "after the restart", || seen.lock().unwrap().accepted.len() == 8).await;
    assert!(types_accepted(&seen).contains(&"release.yanked".to_string()));
    assert!(types_accepted(&seen).contains(&"membership.ended".to_string()));

    // Each event accepted exactly once; every signature verified.
    {
        let s = seen.lock().unwrap();
        assert_eq!(s.bad_signatures, 0);
        assert!(s.accepted.values().all(|(_, n)| *n == 1), "{:?}", s.accepted);
    }
    // The delivery log: all delivered (once the last answer is recorded), the retried ones
    // with their attempts, status and time.
    let log = settled_log(&app, hook.id).await;
    assert_eq!(log.items.len(), 8);
    assert!(log.items.iter().all(|d| d.outcome == "delivered" && d.last_status == Some(200) && d.last_ms.is_some()), "{:?}", log.items);
    for d in &log.items {
        // The first two failed on purpose; the two made while the receiver was down failed
        // before the restart.
        let retried = ["user.created", "membership.started", "release.yanked", "membership.ended"];
        assert_eq!(d.attempts > 1, retried.contains(&d.event_type.as_str()), "{d:?}");
    }

    // A manual re-send: the same event again, which the receiver's id check recognises.
    let first = log.items.last().unwrap();
    let again: WebhookDeliveryView = app
        .call(Method::POST, &format!("/webhooks/{}/deliveries/{}/resend", hook.id, first.id), &json!({}))
        .await;
    assert_eq!(again.event_id, first.event_id);
    deliver_until(&app, "the re-send", || seen.lock().unwrap().accepted[&first.event_id].1 == 2).await;
    receiver.stop();
});

db_test!(
    an_endpoint_that_keeps_failing_is_turned_off_and_the_admins_told,
    |app: TestApp| async move {
        let port = crate::mail::free_port();
        let admin = NewUser {
            password: Some("correct horse battery".into()),
            admin: true,
            ..new_user("admin@example.com")
        };
        let _: UserView = app.call(Method::POST, "/users", &admin).await;
        let hook: WebhookView = app
            .call(
                Method::POST,
                "/webhooks",
                &json!({"url": format!("http://127.0.0.1:{port}/"), "events": "user.created"}),
            )
            .await;
        let seen = Arc::new(Mutex::new(Seen::default()));
        let receiver = Receiver::start(
            port,
            hook.secret.clone().unwrap(),
            app.clock.clone(),
            usize::MAX,
            seen.clone(),
        )
        .await;
        let _: UserView = app
            .call(Method::POST, "/users", &new_user("one@example.com"))
            .await;
        // Twenty failed attempts (the default) and the endpoint is off.
        deliver_until(&app, "giving up", || seen.lock().unwrap().failed == 20).await;
        let hooks: Items<WebhookView> = app.read("/webhooks").await;
        assert!(!hooks.items[0].enabled);
        assert!(
            hooks.items[0]
                .disabled_reason
                .as_deref()
                .unwrap()
                .contains("20 failed attempts"),
            "{:?}",
            hooks.items[0]
        );
        let log: Items<WebhookDeliveryView> =
            app.read(&format!("/webhooks/{}/deliveries", hook.id)).await;
        assert_eq!(
            (log.items[0].outcome.as_str(), log.items[0].last_status),
            ("failed", Some(500))
        );
        assert!(
            app.mail_outcomes()
                .await
                .contains(&"admin@example.com: sent".to_string())
        );
        assert!(app.audit_actions("action=webhook.disable").await.len() == 1);

        // Off, new events wait; turned on again (the receiver fixed), they are delivered.
        receiver.stop();
        let _: UserView = app
            .call(Method::POST, "/users", &new_user("two@example.com"))
            .await;
        let fixed = Receiver::start(
            port,
            hook.secret.clone().unwrap(),
            app.clock.clone(),
            0,
            seen.clone(),
        )
        .await;
        app.depot().deliver_due_webhooks().await.unwrap();
        assert!(
            seen.lock().unwrap().accepted.is_empty(),
            "nothing goes to an endpoint that is off"
        );
        let on: WebhookView = app
            .call(
                Method::PATCH,
                &format!("/webhooks/{}", hook.id),
                &json!({"enabled": true}),
            )
            .await;
        assert!(on.enabled && on.disabled_reason.is_none());
        deliver_until(&app, "after turning it on", || {
            seen.lock().unwrap().accepted.len() == 1
        })
        .await;
        fixed.stop();
    }
);
