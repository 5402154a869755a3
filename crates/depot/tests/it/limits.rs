//! Every rate limit of the sign-in pages and password links, at its exact threshold, with the
//! seconds it says to wait, through the use cases the console and account pages call. (The
//! jBackend API's limits are pinned over HTTP beside their features: `paid.rs`, `mail.rs`.)

use std::time::Duration;

use depot_service::{Actor, ServiceError, SessionKind};

use crate::db_test;
use crate::helpers::*;

const PASSWORD: &str = "a long enough password";
const WINDOW: Duration = Duration::from_secs(15 * 60);

fn retry_secs<T>(result: Result<T, ServiceError>) -> u64 {
    match result {
        Err(ServiceError::RateLimited { retry_after_secs }) => retry_after_secs,
        Err(other) => panic!("expected a rate limit, got {other:?}"),
        Ok(_) => panic!("expected a rate limit, got through"),
    }
}

async fn add_customer(app: &TestApp, email: &str) {
    app.depot()
        .add_user(&Actor::system("test"), email, None, Some(PASSWORD), false)
        .await
        .unwrap();
}

db_test!(
    sign_in_locks_an_account_for_one_address_after_five_failures,
    |app: TestApp| async move {
        add_customer(&app, "c@example.com").await;
        let depot = app.depot();
        let sign_in = |password: &'static str, ip: &'static str| {
            depot.sign_in(SessionKind::Account, "c@example.com", password, ip)
        };
        app.at_window_start(WINDOW);
        for _ in 0..5 {
            assert!(matches!(
                sign_in("wrong", "192.0.2.1").await,
                Err(ServiceError::Forbidden(_))
            ));
        }
        // The sixth attempt from that address is refused before the password is looked at…
        assert_retry_secs(retry_secs(sign_in(PASSWORD, "192.0.2.1").await), WINDOW);
        // …while the owner, elsewhere, is not locked out by the guesser.
        sign_in(PASSWORD, "192.0.2.2")
            .await
            .expect("another address signs in");
        app.clock.advance(WINDOW);
        sign_in(PASSWORD, "192.0.2.1")
            .await
            .expect("unlocked in the next window");
    }
);

db_test!(
    guessing_from_many_addresses_locks_the_account_until_a_password_link,
    |app: TestApp| async move {
        add_customer(&app, "c@example.com").await;
        let depot = app.depot();
        app.at_window_start(WINDOW);
        // Fifty failures, from fifty addresses (none reaches its own limit).
        for i in 0..50 {
            let ip = format!("198.51.100.{i}");
            assert!(matches!(
                depot
                    .sign_in(SessionKind::Account, "c@example.com", "wrong", &ip)
                    .await,
                Err(ServiceError::Forbidden(_))
            ));
        }
        let locked = depot
            .sign_in(SessionKind::Account, "c@example.com", PASSWORD, "192.0.2.7")
            .await;
        assert_retry_secs(retry_secs(locked), WINDOW);
        // The owner's way back in: a mailed password link lifts the lock at once.
        depot
            .request_password_link("c@example.com", "192.0.2.7")
            .await
            .unwrap();
        app.settle_mail().await;
        let link = mailed_link(&app);
        let token = link.split("token=").nth(1).unwrap();
        depot
            .set_password_by_link(token, "a new long password", "192.0.2.7")
            .await
            .expect("the link works while the account is locked");
        depot
            .sign_in(
                SessionKind::Account,
                "c@example.com",
                "a new long password",
                "192.0.2.8",
            )
            .await
            .expect("signed in after the reset, in the same window");
    }
);

db_test!(
    sign_in_locks_a_client_after_twenty_failures,
    |app: TestApp| async move {
        add_customer(&app, "c@example.com").await;
        let depot = app.depot();
        app.at_window_start(WINDOW);
        // Twenty failures, each for another (unknown) account, so that no account lock is reached.
        for i in 0..20 {
            let email = format!("nobody{i}@example.com");
            assert!(matches!(
                depot
                    .sign_in(SessionKind::Account, &email, "wrong", "192.0.2.9")
                    .await,
                Err(ServiceError::Forbidden(_))
            ));
        }
        let locked = depot
            .sign_in(SessionKind::Account, "c@example.com", PASSWORD, "192.0.2.9")
            .await;
        assert_retry_secs(retry_secs(locked), WINDOW);
        // Another client is not locked out.
        depot
            .sign_in(
                SessionKind::Account,
                "c@example.com",
                PASSWORD,
                "192.0.2.10",
            )
            .await
            .expect("another address signs in");
        app.clock.advance(WINDOW);
        depot
            .sign_in(SessionKind::Account, "c@example.com", PASSWORD, "192.0.2.9")
            .await
            .expect("unlocked in the next window");
    }
);

db_test!(
    password_links_three_per_address,
    |app: TestApp| async move {
        let depot = app.depot();
        app.at_window_start(WINDOW);
        for _ in 0..3 {
            depot
                .request_password_link("c@example.com", "192.0.2.1")
                .await
                .unwrap();
        }
        let limited = depot
            .request_password_link("c@example.com", "192.0.2.2")
            .await;
        assert_retry_secs(retry_secs(limited), WINDOW);
        app.clock.advance(WINDOW);
        depot
            .request_password_link("c@example.com", "192.0.2.1")
            .await
            .unwrap();
    }
);

db_test!(
    password_links_ten_per_client_a_minute,
    |app: TestApp| async move {
        let depot = app.depot();
        let minute = Duration::from_secs(60);
        app.at_window_start(minute);
        for i in 0..10 {
            depot
                .request_password_link(&format!("c{i}@example.com"), "192.0.2.1")
                .await
                .unwrap();
        }
        let limited = depot
            .request_password_link("c10@example.com", "192.0.2.1")
            .await;
        assert_retry_secs(retry_secs(limited), minute);
        app.clock.advance(minute);
        depot
            .request_password_link("c11@example.com", "192.0.2.1")
            .await
            .unwrap();
    }
);

/// Twenty failed `keybyauth` attempts from `client` (as `X-Forwarded-For` says), each for
/// another account so that only the per-address limit counts; then the status of one more from
/// `client` and of one from `other`.
async fn per_address_limit_with_forwarding(app: &TestApp, client: &str, other: &str) -> (u16, u16) {
    app.paid_group("pro", 9).await;
    app.at_window_start(Duration::from_secs(60));
    let attempt = |from: &str, n: usize| {
        app.client
            .post(app.url("/post/release/keybyauth/pro"))
            .header("x-forwarded-for", from)
            .form(&[
                ("username", format!("u{n}@example.com")),
                ("password", "wrong".to_string()),
            ])
            .send()
    };
    for n in 0..20 {
        let from = client.replace("{n}", &n.to_string());
        assert_eq!(attempt(&from, n).await.unwrap().status(), 401);
    }
    let again = client.replace("{n}", "20");
    let again = attempt(&again, 20).await.unwrap().status().as_u16();
    let other = attempt(other, 21).await.unwrap().status().as_u16();
    (again, other)
}

// Behind a trusted proxy, each client behind it has its own limits: one abuser does not lock
// everyone out.
db_test!(trusted_proxies_name_the_client, db => |db: Db| async move {
    let app = TestApp::spawn_with(db, |s| s.trusted_proxies = "127.0.0.1".into()).await;
    let (again, other) =
        per_address_limit_with_forwarding(&app, "203.0.113.1", "203.0.113.2").await;
    assert_eq!((again, other), (429, 401));
});

// Without one, `X-Forwarded-For` is the client's own claim and changes nothing: varying it does
// not escape the limit.
db_test!(
    forwarded_headers_from_anyone_else_are_ignored,
    |app: TestApp| async move {
        let (again, other) =
            per_address_limit_with_forwarding(&app, "203.0.113.{n}", "198.51.100.1").await;
        assert_eq!((again, other), (429, 429));
    }
);
