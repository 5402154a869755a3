//! Paid packages: credentials, entitlement and the codes of docs/product.md §4 (the seed's story).

use std::time::Duration;

use depot_core::keys;

use crate::db_test;
use crate::helpers::*;

const DAY: i64 = 86_400_000;

fn redj_zip(version: &str) -> Vec<u8> {
    let manifest = format!(
        r#"<?xml version="1.0"?><extension type="component" method="upgrade"><name>ReDJ Enterprise</name><element>com_redj</element><version>{version}</version></extension>"#
    );
    zip_of(&[("redj.xml", manifest.as_bytes())])
}

struct Fixture {
    path: String,
    secret: Vec<u8>,
    subscriber: i64,
    group: i64,
}

/// ReDJ Community (free) and ReDJ Enterprise (package group `redj_enterprise`, groups 9 and 12);
/// one subscriber in group 12.
async fn seed_story(app: &TestApp, policy: &str) -> Fixture {
    let store = app.depot().store();
    store.create_group(9, "ReDJ subscribers").await.unwrap();
    store.create_group(12, "ReDJ resellers").await.unwrap();
    let pg = store
        .create_package_group(
            "redj_enterprise",
            "ReDJ Enterprise",
            "HASH123KEY456",
            policy,
            false,
            &[9, 12],
        )
        .await
        .unwrap();
    app.publish(
        "com_redj",
        "1.9.0",
        redj_zip("1.9.0"),
        "package_id=redj_ent_190",
    )
    .await;
    let ext = store.extension_by_name("com_redj").await.unwrap().unwrap();
    store
        .set_extension_package_group(ext.id, Some(pg.id))
        .await
        .unwrap();
    let user = store
        .create_user("subscriber@example.com", Some("Sub"))
        .await
        .unwrap();
    store
        .add_membership(user.id, 12, app.clock.now_ms() - 30 * DAY, None, "test")
        .await
        .unwrap();
    Fixture {
        path: "/get/release/download/redj_ent_190".into(),
        secret: app.depot().settings().secret.expose().to_vec(),
        subscriber: user.id,
        group: pg.id,
    }
}

async fn refusal(app: &TestApp, url: &str) -> (u16, String, String) {
    let r = app.get(url).await;
    let status = r.status().as_u16();
    assert_ne!(status, 200, "{url}");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ko");
    (
        status,
        body["error_code"].as_str().unwrap().to_string(),
        body["error_description"].as_str().unwrap().to_string(),
    )
}

db_test!(the_seed_story, |app: TestApp| async move {
    app.publish(
        "plg_system_hello",
        "1.0.0",
        plugin_zip("1.0.0", "free"),
        "package_id=redj_com_190",
    )
    .await;
    let f = seed_story(&app, "active").await;
    let zip = redj_zip("1.9.0");

    // Free: no credentials needed. Paid without credentials: the seed's REL_ENS.
    assert_eq!(
        app.get("/get/release/download/redj_com_190").await.status(),
        200
    );
    assert_eq!(
        refusal(&app, &f.path).await,
        (400, "REL_ENS".into(), "Email not specified".into())
    );
    let (s, code, _) = refusal(&app, &format!("{}?email=subscriber@example.com", f.path)).await;
    assert_eq!((s, code.as_str()), (400, "REL_KNS"));
    let (s, code, _) = refusal(&app, &format!("{}?email=not-an-email&key=abc", f.path)).await;
    assert_eq!((s, code.as_str()), (400, "REL_BRQ"));

    // email + key, in the query and as a POST form; the e-mail compares case-insensitively.
    let key = keys::jbackend_key(&f.secret, "HASH123KEY456", "subscriber@example.com", 0);
    let r = app
        .get(&format!(
            "{}?email=Subscriber@Example.com&key={key}",
            f.path
        ))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "private, no-store");
    assert_eq!(r.bytes().await.unwrap().as_ref(), zip.as_slice());
    let form = [("email", "subscriber@example.com"), ("key", key.as_str())];
    let r = app
        .client
        .post(app.url(&f.path))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (s, code, _) = refusal(
        &app,
        &format!(
            "{}?email=subscriber@example.com&key={}",
            f.path,
            "0".repeat(32)
        ),
    )
    .await;
    assert_eq!((s, code.as_str()), (401, "REL_INK"));
    let (s, code, _) = refusal(
        &app,
        &format!("{}?email=nobody@example.com&key={key}", f.path),
    )
    .await;
    assert_eq!((s, code.as_str()), (401, "REL_INK"));

    // A download key appended as Joomla does (after ? or &amp;), and as a bearer token.
    let row = app
        .depot()
        .store()
        .create_download_key(f.subscriber, "www.example.com")
        .await
        .unwrap();
    let dlid = keys::download_key(&f.secret, row.id as u64, row.version as u32);
    let feed = app.text("/updates/com_redj.xml").await;
    let url = download_url(update_blocks(&feed)[0]);
    for u in [
        format!("{url}?dlid={dlid}"),
        format!("{url}?src=feed&amp;dlid={dlid}"),
    ] {
        let r = app.client.get(&u).send().await.unwrap();
        assert_eq!(r.status(), 200, "{u}");
        assert_eq!(
            r.headers()["content-disposition"],
            "attachment; filename=\"com_redj-1.9.0.zip\""
        );
        assert_eq!(r.bytes().await.unwrap().as_ref(), zip.as_slice());
    }
    let r = app
        .client
        .get(&url)
        .bearer_auth(&dlid)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.client.get(&url).send().await.unwrap().status(),
        400,
        "no key: not 200"
    );
});

// The seed story once access ends: the same keys refused, each with its code.
db_test!(the_seed_story_when_access_ends, |app: TestApp| async move {
    let f = seed_story(&app, "active").await;
    let key = keys::jbackend_key(&f.secret, "HASH123KEY456", "subscriber@example.com", 0);
    let row = app
        .depot()
        .store()
        .create_download_key(f.subscriber, "www.example.com")
        .await
        .unwrap();
    let dlid = keys::download_key(&f.secret, row.id as u64, row.version as u32);
    assert_eq!(
        app.get(&format!("{}?dlid={dlid}", f.path)).await.status(),
        200
    );

    // A non-subscriber is not authorised.
    let other = app
        .depot()
        .store()
        .create_user("someone@example.com", None)
        .await
        .unwrap();
    let other_key = keys::jbackend_key(&f.secret, "HASH123KEY456", "someone@example.com", 0);
    let (s, code, _) = refusal(
        &app,
        &format!("{}?email=someone@example.com&key={other_key}", f.path),
    )
    .await;
    assert_eq!((s, code.as_str()), (403, "REL_NAU"));
    let _ = other;

    // Revoked download key; rotated jBackend key.
    app.depot()
        .store()
        .revoke_download_key(row.id)
        .await
        .unwrap();
    let (s, code, _) = refusal(&app, &format!("{}?dlid={dlid}", f.path)).await;
    assert_eq!((s, code.as_str()), (401, "REL_INK"));
    app.depot()
        .store()
        .bump_jbackend_key_version(f.subscriber, f.group)
        .await
        .unwrap();
    let (s, code, _) = refusal(
        &app,
        &format!("{}?email=subscriber@example.com&key={key}", f.path),
    )
    .await;
    assert_eq!((s, code.as_str()), (401, "REL_INK"));
    let new_key = keys::jbackend_key(&f.secret, "HASH123KEY456", "subscriber@example.com", 1);
    assert_eq!(
        app.get(&format!(
            "{}?email=subscriber@example.com&key={new_key}",
            f.path
        ))
        .await
        .status(),
        200
    );

    // The membership ends: REL_EXP, naming the date.
    let ended = app.clock.now_ms() - 2 * DAY;
    app.depot()
        .store()
        .end_memberships(f.subscriber, 12, ended)
        .await
        .unwrap();
    let (s, code, desc) = refusal(
        &app,
        &format!("{}?email=subscriber@example.com&key={new_key}", f.path),
    )
    .await;
    assert_eq!((s, code.as_str()), (403, "REL_EXP"));
    let day = time::OffsetDateTime::from_unix_timestamp(ended / 1000)
        .unwrap()
        .date()
        .to_string();
    assert!(
        desc.contains(&day) && desc.contains("ReDJ Enterprise"),
        "{desc}"
    );

    // A disabled user gets nothing, even with an active membership.
    app.depot()
        .store()
        .add_membership(f.subscriber, 9, app.clock.now_ms() - DAY, None, "renewal")
        .await
        .unwrap();
    assert_eq!(
        app.get(&format!(
            "{}?email=subscriber@example.com&key={new_key}",
            f.path
        ))
        .await
        .status(),
        200
    );
    app.depot()
        .store()
        .set_user_disabled(f.subscriber, true)
        .await
        .unwrap();
    let (s, code, _) = refusal(
        &app,
        &format!("{}?email=subscriber@example.com&key={new_key}", f.path),
    )
    .await;
    assert_eq!((s, code.as_str()), (403, "REL_NAU"));

    // Events name the user and key id, never the key.
    app.flush_events().await;
    let events = app
        .depot()
        .store()
        .recent_download_events(100)
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event.user_id == Some(f.subscriber) && e.event.key_id == Some(row.id))
    );
    assert!(
        events
            .iter()
            .any(|e| e.event.error_code.as_deref() == Some("REL_EXP"))
    );
    for e in &events {
        let text = format!("{e:?}");
        assert!(!text.contains(&key) && !text.contains(&dlid), "{text}");
    }
});

db_test!(keep_what_you_paid_for, |app: TestApp| async move {
    let f = seed_story(&app, "keep-released").await;
    let key = keys::jbackend_key(&f.secret, "HASH123KEY456", "subscriber@example.com", 0);
    // The membership ends after 1.9.0 was published; 2.0.0 comes later.
    app.clock.advance(std::time::Duration::from_secs(60));
    app.depot()
        .store()
        .end_memberships(f.subscriber, 12, app.clock.now_ms())
        .await
        .unwrap();
    app.clock.advance(std::time::Duration::from_secs(60));
    app.publish(
        "com_redj",
        "2.0.0",
        redj_zip("2.0.0"),
        "package_id=redj_ent_200",
    )
    .await;
    let q = format!("?email=subscriber@example.com&key={key}");
    assert_eq!(
        app.get(&format!("{}{q}", f.path)).await.status(),
        200,
        "1.9.0 was paid for"
    );
    let (s, code, _) = refusal(&app, &format!("/get/release/download/redj_ent_200{q}")).await;
    assert_eq!((s, code.as_str()), (403, "REL_EXP"));
});

db_test!(
    malformed_credentials_are_never_500,
    |app: TestApp| async move {
        let f = seed_story(&app, "active").await;
        let long = "x".repeat(5000);
        for q in [
            format!("?dlid={long}"),
            "?dlid=dk%00%FF".to_string(),
            "?dlid=dkAAAA".to_string(),
            format!("?email={long}@example.com&key=1"),
            "?email=a%40b.co&key=%E2%82%AC".to_string(),
            "?email=&key=".to_string(),
            "?amp;dlid=zzz".to_string(),
        ] {
            let r = app.get(&format!("{}{q}", f.path)).await;
            let status = r.status().as_u16();
            assert!((400..500).contains(&status), "{q}: {status}");
        }
    }
);

db_test!(jbackend_validate, |app: TestApp| async move {
    let f = seed_story(&app, "active").await;
    let key = keys::jbackend_key(&f.secret, "HASH123KEY456", "subscriber@example.com", 0);
    let path = "/post/release/validate/redj_enterprise";
    let (s, body) = app
        .post_form(path, &[("email", "subscriber@example.com"), ("key", &key)])
        .await;
    assert_eq!((s, body), (200, serde_json::json!({"status": "ok"})));
    // The seed's query-string form works too.
    let r = app
        .client
        .post(app.url(&format!("{path}?email=subscriber@example.com&key={key}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for (form, status, code) in [
        (vec![("key", key.as_str())], 400, "REL_ENS"),
        (vec![("email", "subscriber@example.com")], 400, "REL_KNS"),
        (
            vec![
                ("email", "subscriber@example.com"),
                ("key", "00000000000000000000000000000000"),
            ],
            401,
            "REL_INK",
        ),
        (
            vec![("email", "bad address"), ("key", key.as_str())],
            400,
            "REL_BRQ",
        ),
    ] {
        let (s, body) = app.post_form(path, &form).await;
        assert_eq!(
            (s, body["error_code"].as_str().unwrap()),
            (status, code),
            "{form:?}"
        );
        assert_eq!(body["status"], "ko");
    }
    let (s, body) = app
        .post_form(
            "/post/release/validate/nope",
            &[("email", "a@b.co"), ("key", &key)],
        )
        .await;
    assert_eq!((s, body["error_code"].as_str().unwrap()), (404, "REL_GNF"));
});

db_test!(jbackend_keybyauth, |app: TestApp| async move {
    let f = seed_story(&app, "active").await;
    app.depot()
        .set_password(f.subscriber, "correct horse battery")
        .await
        .unwrap();
    let path = "/post/release/keybyauth/redj_enterprise";
    let (s, body) = app
        .post_form(
            path,
            &[
                ("username", "Subscriber@Example.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let key = keys::jbackend_key(&f.secret, "HASH123KEY456", "subscriber@example.com", 0);
    assert_eq!(
        body,
        serde_json::json!({"status": "ok", "email": "subscriber@example.com", "key": key})
    );
    // The key it returns downloads the package.
    assert_eq!(
        app.get(&format!(
            "{}?email=subscriber@example.com&key={key}",
            f.path
        ))
        .await
        .status(),
        200
    );
    // JSON body.
    let r = app
        .client
        .post(app.url(path))
        .json(&serde_json::json!({"email": "subscriber@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // A wrong password and an unknown account look the same.
    let (s1, b1) = app
        .post_form(
            path,
            &[
                ("username", "subscriber@example.com"),
                ("password", "wrong password"),
            ],
        )
        .await;
    let (s2, b2) = app
        .post_form(
            path,
            &[
                ("username", "nobody@example.com"),
                ("password", "wrong password"),
            ],
        )
        .await;
    assert_eq!((s1, &b1), (401, &b2));
    assert_eq!((s2, b1["error_code"].as_str().unwrap()), (401, "REL_AUF"));

    // A non-subscriber with the right password is not authorised.
    let other = app
        .depot()
        .store()
        .create_user("free@example.com", None)
        .await
        .unwrap();
    app.depot()
        .set_password(other.id, "another password")
        .await
        .unwrap();
    let (s, body) = app
        .post_form(
            path,
            &[
                ("username", "free@example.com"),
                ("password", "another password"),
            ],
        )
        .await;
    assert_eq!((s, body["error_code"].as_str().unwrap()), (403, "REL_NAU"));

    // Per account: five attempts a minute, whatever the address they come from.
    app.assert_limit(
        path,
        |_| form(&[("username", "free@example.com"), ("password", "x")]),
        5,
        401,
        Duration::from_secs(60),
    )
    .await;
    // Per client address: twenty a minute, over every account.
    app.assert_limit(
        path,
        |i| {
            form(&[
                ("username", &format!("u{i}@example.com")),
                ("password", "x"),
            ])
        },
        20,
        401,
        Duration::from_secs(60),
    )
    .await;
});

db_test!(import_from_jbackend, |app: TestApp| async move {
    let folder = app.dir.path().join("files");
    std::fs::create_dir_all(folder.join("public/joomla/redj")).unwrap();
    std::fs::create_dir_all(folder.join("private/joomla/redj")).unwrap();
    std::fs::write(
        folder.join("public/joomla/redj/plg_hello.zip"),
        plugin_zip("1.9.0", "community"),
    )
    .unwrap();
    std::fs::write(
        folder.join("private/joomla/redj/com_redj.zip"),
        redj_zip("1.9.0"),
    )
    .unwrap();
    std::fs::write(folder.join("private/joomla/redj/broken.zip"), b"not a zip").unwrap();
    let groups = app.dir.path().join("groups.txt");
    std::fs::write(&groups, "# jBackend package groups\nredj_enterprise;9,12;HASH123KEY456;ReDJ Enterprise\nbroken;nine\n").unwrap();
    let packages = app.dir.path().join("packages.txt");
    std::fs::write(
        &packages,
        "redj_com_190;/public/joomla/redj/plg_hello.zip\n\
         redj_ent_190;/private/joomla/redj/com_redj.zip;redj_enterprise\n\
         bad_one;/private/joomla/redj/broken.zip;redj_enterprise\n\
         escape;../../etc/passwd\n\
         missing_group;/public/joomla/redj/plg_hello.zip;nope\n",
    )
    .unwrap();
    let run = {
        let settings = app.settings.clone();
        let (packages, groups, folder) = (packages.clone(), groups.clone(), folder.clone());
        move || {
            let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_depot"));
            c.args([
                "import",
                "jbackend",
                "--packages",
                packages.to_str().unwrap(),
                "--groups",
                groups.to_str().unwrap(),
                "--folder",
                folder.to_str().unwrap(),
            ])
            .env("DEPOT_DATA_DIR", &settings.data_dir)
            .env("DEPOT_DATABASE_URL", settings.database_url())
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
        }
    };
    let out = tokio::task::spawn_blocking(run.clone()).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !out.status.success(),
        "failed lines make the exit code non-zero"
    );
    assert!(
        stdout.contains("imported  package group redj_enterprise"),
        "{stdout}"
    );
    assert!(
        stdout.contains("imported  plg_system_hello 1.9.0 as redj_com_190"),
        "{stdout}"
    );
    assert!(
        stdout.contains("imported  com_redj 1.9.0 as redj_ent_190"),
        "{stdout}"
    );
    for (line, why) in [
        ("groups.txt:3", "not a number"),
        ("packages.txt:3", "not a zip"),
        ("packages.txt:4", "outside"),
        ("packages.txt:5", "does not exist"),
    ] {
        assert!(
            stderr.lines().any(|l| l.contains(line) && l.contains(why)),
            "{line} {why}: {stderr}"
        );
    }

    // The server sees it all: the free package is free, the paid one needs the seed's key.
    app.depot().invalidate_catalogue();
    assert_eq!(
        app.get("/get/release/download/redj_com_190").await.status(),
        200
    );
    let (s, code, _) = refusal(&app, "/get/release/download/redj_ent_190").await;
    assert_eq!((s, code.as_str()), (400, "REL_ENS"));
    let user = app
        .depot()
        .store()
        .create_user("subscriber@example.com", None)
        .await
        .unwrap();
    app.depot()
        .store()
        .add_membership(user.id, 9, app.clock.now_ms() - DAY, None, "test")
        .await
        .unwrap();
    let secret = app.depot().settings().secret.expose().to_vec();
    let key = keys::jbackend_key(&secret, "HASH123KEY456", "subscriber@example.com", 0);
    let r = app
        .get(&format!(
            "/get/release/download/redj_ent_190?email=subscriber@example.com&key={key}"
        ))
        .await;
    assert_eq!(r.status(), 200);

    // Running it again changes nothing.
    let again = tokio::task::spawn_blocking(run).await.unwrap();
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(!stdout.contains("imported "), "{stdout}");
    assert!(
        stdout.contains("unchanged com_redj 1.9.0 as redj_ent_190"),
        "{stdout}"
    );
});

db_test!(publish_into_a_package_group, |app: TestApp| async move {
    seed_story(&app, "active").await;
    let r = app
        .upload(
            "plg_system_hello",
            "1.0.0",
            plugin_zip("1.0.0", "p"),
            "package_group=nope",
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(
        app.depot()
            .store()
            .extension_by_name("plg_system_hello")
            .await
            .unwrap()
            .is_none()
    );
    // Paid from its very first release: never downloadable without a key.
    app.publish(
        "plg_system_hello",
        "1.0.0",
        plugin_zip("1.0.0", "p"),
        "package_group=redj_enterprise",
    )
    .await;
    let (s, code, _) = refusal(
        &app,
        "/download/plg_system_hello/1.0.0/plg_system_hello-1.0.0.zip",
    )
    .await;
    assert_eq!((s, code.as_str()), (400, "REL_ENS"));
});

// Validation answers whether a key works: sixty a minute per client address, then 429, so that
// it cannot be used to try keys fast.
db_test!(validate_is_rate_limited, |app: TestApp| async move {
    seed_story(&app, "active").await;
    let wrong = "0".repeat(32);
    app.assert_limit(
        "/post/release/validate/redj_enterprise",
        |_| form(&[("email", "subscriber@example.com"), ("key", &wrong)]),
        60,
        401,
        Duration::from_secs(60),
    )
    .await;
});
