//! A key used from more addresses than one site would use is flagged (report and audit
//! entry), never blocked.

use crate::db_test;
use crate::helpers::*;

const PAID: &str = "/download/com_redj/2.0.0/com_redj-2.0.0.zip";

db_test!(keys_used_from_many_addresses_are_flagged, db => |db: Db| async move {
    // The client address comes from the (trusted) proxy's X-Forwarded-For.
    let app = TestApp::spawn_with(db, |s| s.trusted_proxies = "127.0.0.1".into()).await;
    let shared = app.subscriber_with_key("shared@example.com", "pro", 10).await;
    let _: depot_api::UserView = app
        .call(reqwest::Method::POST, "/users", &new_user("honest@example.com"))
        .await;
    app.publish_paid_redj("pro").await;
    let download = |key: String, ip: String| {
        let app = &app;
        async move {
            let r = app
                .client
                .get(app.url(&format!("{PAID}?dlid={key}")))
                .header("x-forwarded-for", ip)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "never blocked");
            r.bytes().await.unwrap();
        }
    };
    // Six addresses (more than the default five), one of them twice; two IPv6 addresses of
    // one /64 count once.
    let ips = [
        "192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.4", "192.0.2.5",
        "2001:db8::1", "2001:db8::2",
    ];
    for ip in ips {
        download(shared.key.clone(), ip.into()).await;
    }
    app.flush_events().await;

    let flagged: depot_api::Items<depot_api::SharedKey> =
        app.read("/reports/shared-keys").await;
    assert_eq!(flagged.items.len(), 1, "{flagged:?}");
    let key = &flagged.items[0];
    assert_eq!(
        (key.email.as_str(), key.key_id, key.addresses, key.downloads),
        ("shared@example.com", Some(shared.id), 6, 8)
    );
    let stricter: depot_api::Items<depot_api::SharedKey> =
        app.read("/reports/shared-keys?addresses=6").await;
    assert!(stricter.items.is_empty());
    let (_, ci) = app.token("ci", "publish", &["com_redj"]).await;
    let (status, _) = app
        .refused_as(&ci, reqwest::Method::GET, "/reports/shared-keys", None)
        .await;
    assert_eq!(status, 403, "a publish token reads no customer's keys");

    // The console shows it above the download log.
    make_admin(&app, "admin@example.com").await;
    let signed_in = console_sign_in(&app, "admin@example.com", PASSWORD).await;
    let page = browser()
        .get(app.url("/admin/downloads"))
        .header(reqwest::header::COOKIE, session_cookie(&signed_in))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let section = &page[page.find("id=\"shared-keys\"").expect("the shared-keys section")..];
    assert!(section.contains("shared@example.com") && !section.contains("honest@example.com"));

    // The watch writes one notice per key and window.
    assert_eq!(app.depot().flag_shared_keys().await.unwrap(), 1);
    assert_eq!(app.depot().flag_shared_keys().await.unwrap(), 0);
    assert_eq!(
        app.audit_actions("action=key.suspected_shared").await,
        ["key.suspected_shared"]
    );
});

db_test!(blocking_shared_keys_is_the_admins_choice, db => |db: Db| async move {
    let app = TestApp::spawn_with(db, |s| {
        s.trusted_proxies = "127.0.0.1".into();
        s.keys.shared_addresses = 2;
        s.keys.block_shared = true;
    })
    .await;
    let shared = app.subscriber_with_key("shared@example.com", "pro", 10).await;
    let path = app.publish_paid_redj("pro").await;
    let download = |ip: &'static str| {
        let app = &app;
        let key = shared.key.clone();
        async move {
            app.client
                .get(app.url(&format!("{path}?dlid={key}")))
                .header("x-forwarded-for", ip)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Three addresses: over the threshold of two, and each served until the key is flagged.
    for ip in ["192.0.2.1", "192.0.2.2", "192.0.2.3"] {
        assert_eq!(download(ip).await, 200);
    }
    app.flush_events().await;
    assert_eq!(app.depot().flag_shared_keys().await.unwrap(), 1);
    // The addresses it was flagged with keep working; a new one is refused.
    assert_eq!(download("192.0.2.2").await, 200);
    assert_eq!(download("198.51.100.9").await, 401);
});
