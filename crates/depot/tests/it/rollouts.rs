//! Staged rollouts: a release offered to a share of sites that grows on its schedule, each
//! site's cohort stable (for Joomla, by its address and the extension), paused in one action,
//! ended when the schedule is over; collection sites get it when everyone does.

use std::collections::HashSet;
use std::time::Duration;

use depot_api::*;
use reqwest::Method;

use crate::db_test;
use crate::helpers::*;

/// Sites, by the address their requests come from (through a trusted proxy).
const SITES: usize = 1000;

fn site(i: usize) -> String {
    format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256)
}

/// The sites whose feed offers `version` now.
async fn offered(app: &TestApp, version: &str) -> HashSet<usize> {
    let mut seen = HashSet::new();
    for i in 0..SITES {
        let feed = app
            .client
            .get(app.url("/updates/plg_system_hello.xml"))
            .header("X-Forwarded-For", site(i))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if feed.contains(&format!("<version>{version}</version>")) {
            seen.insert(i);
        }
        assert!(feed.contains("<version>1.0.0</version>"), "{feed}");
    }
    seen
}

async fn rollout(app: &TestApp, patch: serde_json::Value) -> ReleaseView {
    let (status, body) = app
        .api(
            Method::PATCH,
            "/extensions/plg_system_hello/releases/1.1.0",
            Some(patch),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).unwrap()
}

const HOUR: Duration = Duration::from_secs(3600);

db_test!(staged_rollout_shares_grow_on_schedule, db => |db: Db| async move {
    let app = TestApp::spawn_with(db, |s| s.trusted_proxies = "127.0.0.1".into()).await;
    app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "a"), "").await;
    app.publish("plg_system_hello", "1.1.0", plugin_zip("1.1.0", "b"), "").await;
    let view = rollout(&app, serde_json::json!({"rollout": "5,25@24h,100@48h"})).await;
    let r = view.rollout.expect("a rollout");
    assert_eq!((r.schedule.as_str(), r.percent, r.paused), ("5,25@24h,100@48h", 5, false));

    // 5 % of the sites at first (binomial: 50 ± 7 of 1,000).
    let first = offered(&app, "1.1.0").await;
    assert!((25..=80).contains(&first.len()), "5 %: {}", first.len());
    // The collection lists the previous release while the rollout runs.
    let collection = app.text("/updates/collection.xml").await;
    assert!(collection.contains("version=\"1.0.0\""), "{collection}");

    // A day later, 25 %: everyone who had it still has it.
    app.clock.advance(24 * HOUR);
    let second = offered(&app, "1.1.0").await;
    assert!((200..=300).contains(&second.len()), "25 %: {}", second.len());
    assert!(first.is_subset(&second));
    eprintln!("rollout shares: {} then {} of {SITES}", first.len(), second.len());

    // Paused: the share stays, however long.
    let view = rollout(&app, serde_json::json!({"rollout_paused": true})).await;
    assert!(view.rollout.as_ref().unwrap().paused);
    app.clock.advance(48 * HOUR);
    assert_eq!(offered(&app, "1.1.0").await, second);
    assert_eq!(app.depot().complete_rollouts().await.unwrap(), 0, "a paused rollout is not over");

    // Resumed: it goes on from where it stopped (a day to go), then everyone has it, and the
    // finished rollout ends, so that the collection lists the release.
    rollout(&app, serde_json::json!({"rollout_paused": false})).await;
    assert_eq!(offered(&app, "1.1.0").await, second);
    app.clock.advance(24 * HOUR);
    assert_eq!(offered(&app, "1.1.0").await.len(), SITES);
    assert_eq!(app.depot().complete_rollouts().await.unwrap(), 1);
    let view: ReleaseView = app.read("/extensions/plg_system_hello/releases/1.1.0").await;
    assert!(view.rollout.is_none());
    let collection = app.text("/updates/collection.xml").await;
    assert!(collection.contains("version=\"1.1.0\""), "{collection}");
    let actions = app.audit_actions("action=release.rollout").await;
    assert_eq!(actions.len(), 3, "{actions:?}");
});

db_test!(rollouts_are_checked, |app: TestApp| async move {
    app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "a"), "")
        .await;
    app.publish(
        "plg_system_hello",
        "1.1.0",
        plugin_zip("1.1.0", "b"),
        "draft=1",
    )
    .await;
    let path = "/extensions/plg_system_hello/releases/1.1.0";
    // Only a published release is rolled out.
    let (status, _) = app
        .api(
            Method::PATCH,
            path,
            Some(serde_json::json!({"rollout": "5,100@24h"})),
        )
        .await;
    assert_eq!(status, 409);
    // Publishing and starting at once works.
    let (status, body) = app
        .api(
            Method::PATCH,
            path,
            Some(serde_json::json!({"state": "published", "rollout": "10,100@24h"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for bad in ["", "5", "50,10@2h,100@3h", "5,100@2d"] {
        let (status, body) = app
            .api(
                Method::PATCH,
                path,
                Some(serde_json::json!({"rollout": bad})),
            )
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["errors"][0]["code"], "bad_rollout");
    }
    let (status, _) = app
        .api(
            Method::PATCH,
            path,
            Some(serde_json::json!({"rollout": "5,100@2h", "rollout_paused": true})),
        )
        .await;
    assert_eq!(status, 400);
    // Ending it offers the release to every site; pausing what does not run is a conflict.
    let view = rollout(&app, serde_json::json!({"rollout": null})).await;
    assert!(view.rollout.is_none());
    let (status, _) = app
        .api(
            Method::PATCH,
            path,
            Some(serde_json::json!({"rollout_paused": true})),
        )
        .await;
    assert_eq!(status, 409);
    // Yanking is the rollback: the release leaves every feed in one action.
    rollout(&app, serde_json::json!({"rollout": "5,100@24h"})).await;
    let (status, _) = app
        .api(
            Method::PATCH,
            path,
            Some(serde_json::json!({"state": "yanked"})),
        )
        .await;
    assert_eq!(status, 200);
    let feed = app.text("/updates/plg_system_hello.xml").await;
    assert!(!feed.contains("1.1.0"), "{feed}");
});

/// A WordPress plugin zip (its folder, its header).
fn wordpress_zip(version: &str) -> Vec<u8> {
    let header = format!("<?php\n/*\n * Plugin Name: Roll\n * Version: {version}\n */\n");
    zip_of(&[("roll/roll.php", header.as_bytes())])
}

fn composer_zip(version: &str) -> Vec<u8> {
    let _ = version;
    zip_of(&[(
        "composer.json",
        br#"{"name": "acme/roll", "autoload": {"psr-4": {"Acme\\Roll\\": "src/"}}}"#,
    )])
}

async fn start(app: &TestApp, product: &str) {
    let (status, body) = app
        .api(
            Method::PATCH,
            &format!("/extensions/{product}/releases/1.1.0"),
            Some(serde_json::json!({"rollout": "50,100@24h"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// How many of 200 clients (by `client` → a request) get an answer that names 1.1.0.
async fn share<F, Fut>(ask: F) -> usize
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = String>,
{
    let mut n = 0;
    for i in 0..200 {
        if ask(i).await.contains("1.1.0") {
            n += 1;
        }
    }
    n
}

db_test!(other_clients_follow_a_rollout, db => |db: Db| async move {
    let app = TestApp::spawn_with(db, |s| s.trusted_proxies = "127.0.0.1".into()).await;
    app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "a"), "").await;
    app.publish("plg_system_hello", "1.1.0", plugin_zip("1.1.0", "b"), "").await;
    app.publish("roll", "1.0.0", wordpress_zip("1.0.0"), "").await;
    app.publish("roll", "1.1.0", wordpress_zip("1.1.0"), "").await;
    app.publish("acme%2Froll", "1.0.0", composer_zip("1.0.0"), "").await;
    app.publish("acme%2Froll", "1.1.0", composer_zip("1.1.0"), "").await;
    for version in ["1.0.0", "1.1.0"] {
        let r = app
            .client
            .put(app.url(&format!(
                "/api/v1/extensions/roll-app/releases/{version}/builds/linux/x86_64?filename=roll.AppImage&signature={}",
                tauri_signature()
            )))
            .bearer_auth(&app.admin_token)
            .body(format!("roll {version}"))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }
    for product in ["plg_system_hello", "roll", "acme%2Froll", "roll-app"] {
        start(&app, product).await;
    }
    let app = &app;
    let get = |path: String, site: usize| async move {
        let r = app
            .client
            .get(app.url(&path))
            .header("X-Forwarded-For", site_of(site))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        // Chosen per client: no shared cache may keep it.
        assert_eq!(r.headers()["cache-control"], "private, no-cache", "{path}");
        r.text().await.unwrap()
    };
    // latest.json by the client's own id (one address for all).
    let latest = share(|i| {
        get(
            format!("/releases/plg_system_hello/latest.json?client_id=install-{i}"),
            0,
        )
    })
    .await;
    // WordPress and Composer by the asking site's address.
    let wordpress = share(|i| get("/wordpress/roll/info.json".into(), i)).await;
    let composer = share(|i| get("/composer/p2/acme/roll.json".into(), i)).await;
    // Tauri's check from 1.0.0: an update inside the share, 204 outside it.
    let mut tauri = 0;
    for i in 0..200 {
        let r = app
            .client
            .get(app.url("/tauri/roll-app/linux/x86_64/1.0.0"))
            .header("X-Forwarded-For", site_of(i))
            .send()
            .await
            .unwrap();
        match r.status().as_u16() {
            200 => {
                assert!(r.text().await.unwrap().contains("\"version\": \"1.1.0\""));
                tauri += 1;
            }
            status => assert_eq!(status, 204),
        }
    }
    eprintln!(
        "50 % rollout: latest.json {latest}, WordPress {wordpress}, Composer {composer}, \
         Tauri {tauri} of 200"
    );
    for (what, n) in [
        ("latest.json", latest),
        ("wordpress", wordpress),
        ("composer", composer),
        ("tauri", tauri),
    ] {
        assert!((70..=130).contains(&n), "{what}: {n} of 200");
    }
    // Everyone once the schedule is over.
    app.clock.advance(24 * HOUR);
    let latest = share(|i| {
        get(
            format!("/releases/plg_system_hello/latest.json?client_id=install-{i}"),
            0,
        )
    })
    .await;
    assert_eq!(latest, 200);
});

/// A `.sig` of the form `tauri signer sign` writes, URL-encoded (depot checks its form; no
/// updater verifies it here).
fn tauri_signature() -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let line = b64.encode([b"Ed".as_slice(), &[1u8; 72]].concat());
    let sig = b64.encode(format!(
        "untrusted comment: signature from tauri secret key\n{line}\ntrusted comment: t\nAAAA\n"
    ));
    url::form_urlencoded::byte_serialize(sig.as_bytes()).collect()
}

fn site_of(i: usize) -> String {
    format!("10.9.{}.{}", i / 256, i % 256)
}

db_test!(the_console_runs_a_rollout, |app: TestApp| async move {
    app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "a"), "")
        .await;
    app.publish("plg_system_hello", "1.1.0", plugin_zip("1.1.0", "b"), "")
        .await;
    make_admin(&app, "admin@example.com").await;
    let cookie = session_cookie(&console_sign_in(&app, "admin@example.com", PASSWORD).await);
    let page = || async {
        browser()
            .get(app.url("/admin/extensions"))
            .header("Cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let html = page().await;
    assert!(html.contains("Start a staged rollout"), "{html}");
    let csrf = csrf_of(&html);
    let post = |fields: Vec<(&'static str, String)>| {
        let (cookie, app) = (cookie.clone(), &app);
        async move {
            browser()
                .post(app.url("/admin/extensions/plg_system_hello/releases/1.1.0/rollout"))
                .header("Cookie", cookie)
                .header("Origin", app.base.clone())
                .form(&fields)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let status = post(vec![
        ("csrf", csrf.clone()),
        ("action", "start".into()),
        ("schedule", "10,100@24h".into()),
    ])
    .await;
    assert_eq!(status, 303);
    let html = page().await;
    assert!(
        html.contains("rolling out: 10 % of sites") && html.contains("0 downloads so far"),
        "{html}"
    );
    // The downloads of the new release so far.
    let r = app
        .get("/download/plg_system_hello/1.1.0/plg_system_hello-1.1.0.zip")
        .await;
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap();
    app.flush_events().await;
    let html = page().await;
    assert!(html.contains("1 downloads so far"), "{html}");
    let status = post(vec![("csrf", csrf.clone()), ("action", "pause".into())]).await;
    assert_eq!(status, 303);
    assert!(page().await.contains("10 % of sites, paused"));
    let status = post(vec![("csrf", csrf), ("action", "end".into())]).await;
    assert_eq!(status, 303);
    assert!(!page().await.contains("rolling out"));
});
