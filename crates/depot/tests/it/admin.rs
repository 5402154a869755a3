//! The admin API for access management: scopes, validation and conflicts, each answered with
//! `{"errors":[…]}` and a fitting status, and nothing changed by a refused request.

use depot_api::{
    DownloadKeyView, DownloadLogPage, Ended, ExtensionPatch, ExtensionView, FeedCheckCount,
    GroupView, Items, JbackendKeyView, MembershipView, NewGroup, NewKey, NewMembership,
    NewPackageGroup, NewUser, PackageGroupView, UserPage, UserPatch, UserView,
};
use depot_service::Scope;
use reqwest::Method;
use serde::de::IgnoredAny;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::*;

fn code(v: &Value) -> &str {
    v["errors"][0]["code"].as_str().unwrap_or_default()
}

fn redj_zip(version: &str) -> Vec<u8> {
    let manifest = format!(
        r#"<?xml version="1.0"?><extension type="component" method="upgrade"><name>ReDJ</name><element>com_redj</element><version>{version}</version></extension>"#
    );
    zip_of(&[("redj.xml", manifest.as_bytes())])
}

db_test!(tokens_and_scopes, |app: TestApp| async move {
    let (_, read) = app
        .depot()
        .create_token(
            &depot_service::Actor::system("test"),
            "reader",
            &Scope::Read,
        )
        .await
        .unwrap();
    let (_, publish) = app
        .depot()
        .create_token(
            &depot_service::Actor::system("test"),
            "ci",
            &Scope::Publish(None),
        )
        .await
        .unwrap();
    let body = json!({"id": 9, "name": "Subscribers"});
    for token in [&read, &publish] {
        let (s, v) = app
            .api_as(token, Method::POST, "/groups", Some(body.clone()))
            .await;
        assert_eq!((s, code(&v)), (403, "forbidden"), "{v}");
    }
    let (s, _) = app
        .api_as("depot_nope", Method::POST, "/groups", Some(body.clone()))
        .await;
    assert_eq!(s, 401);
    let r = app
        .client
        .get(app.url("/api/v1/groups"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    // Nothing was created; a read token may list.
    let groups: Items<GroupView> = app.read_as(&read, "/groups").await;
    assert_eq!(groups.items, []);
    // Keys are secrets: a read token does not see them.
    let _: UserView = app
        .call(Method::POST, "/users", &new_user("a@example.com"))
        .await;
    let (s, _) = app
        .api_as(&read, Method::GET, "/users/a@example.com/keys", None)
        .await;
    assert_eq!(s, 403);
    let u: UserView = app.read_as(&read, "/users/a@example.com").await;
    assert_eq!(u.email, "a@example.com");
});

db_test!(users_groups_and_memberships, |app: TestApp| async move {
    // Groups.
    let subscribers = NewGroup {
        id: 9,
        name: "Subscribers".into(),
    };
    let g: GroupView = app.call(Method::POST, "/groups", &subscribers).await;
    assert_eq!((g.id, g.name.as_str()), (9, "Subscribers"));
    for (body, status, expected) in [
        (json!({"id": 9, "name": "Again"}), 409, "conflict"),
        (json!({"id": 0, "name": "Zero"}), 400, "bad_group"),
        (json!({"id": 10, "name": " "}), 400, "bad_name"),
        (json!({"id": 10}), 400, "bad_json"),
        (json!({"id": 10, "name": "x", "extra": 1}), 400, "bad_json"),
    ] {
        let (s, v) = app.api(Method::POST, "/groups", Some(body.clone())).await;
        assert_eq!((s, code(&v)), (status, expected), "{body}");
    }
    let r = app
        .client
        .post(app.url("/api/v1/groups"))
        .bearer_auth(&app.admin_token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(code(&r.json().await.unwrap()), "bad_json");

    // Users: e-mails are unique after trimming and lower-casing.
    let body = NewUser {
        name: Some("Sub".into()),
        ..new_user(" Sub@Example.COM ")
    };
    let v: UserView = app.call(Method::POST, "/users", &body).await;
    assert_eq!(v.email, "sub@example.com");
    assert!(!v.has_password);
    for (body, status, expected) in [
        (json!({"email": "SUB@example.com"}), 409, "conflict"),
        (json!({"email": "not-an-address"}), 400, "bad_email"),
        (
            json!({"email": "new@example.com", "password": "short"}),
            400,
            "bad_password",
        ),
    ] {
        let (s, v) = app.api(Method::POST, "/users", Some(body.clone())).await;
        assert_eq!((s, code(&v)), (status, expected), "{body}");
    }
    let v: UserPage = app.read("/users?email=new@").await;
    assert_eq!(v.items, [], "a refused user is not half-created");
    let (s, v) = app
        .api(Method::GET, "/users/nobody@example.com", None)
        .await;
    assert_eq!((s, code(&v)), (404, "not_found"));

    // Changes: disable, clear the name, set a password.
    let patch = UserPatch {
        disabled: Some(true),
        name: Some(None),
        password: Some("long enough pw".into()),
        admin: None,
    };
    let v: UserView = app
        .call(Method::PATCH, "/users/sub@example.com", &patch)
        .await;
    assert_eq!((v.disabled, v.name, v.has_password), (true, None, true));
    let v: UserView = app.read(&format!("/users/{}", v.id)).await;
    assert_eq!(v.email, "sub@example.com");

    // Memberships.
    let path = "/users/sub@example.com/memberships";
    for (body, status, expected) in [
        (json!({"group": 12}), 400, "unknown_group"),
        (json!({"group": 9, "from": "yesterday"}), 400, "bad_date"),
        (
            json!({"group": 9, "from": "2026-02-01", "until": "2026-01-01"}),
            400,
            "bad_dates",
        ),
    ] {
        let (s, v) = app.api(Method::POST, path, Some(body.clone())).await;
        assert_eq!((s, code(&v)), (status, expected), "{body}");
    }
    let past = NewMembership {
        group: 9,
        from: Some("2020-01-01".into()),
        until: Some("2020-12-31T12:00:00Z".into()),
    };
    let v: MembershipView = app.call(Method::POST, path, &past).await;
    assert_eq!(v.valid_from, "2020-01-01T00:00:00Z");
    assert_eq!(v.valid_until.as_deref(), Some("2020-12-31T12:00:00Z"));
    assert!(!v.active);
    let open = NewMembership {
        group: 9,
        from: None,
        until: None,
    };
    let v: MembershipView = app.call(Method::POST, path, &open).await;
    assert_eq!((v.active, v.valid_until), (true, None));
    let v: Items<MembershipView> = app.read(path).await;
    assert_eq!(v.items.len(), 2);
    assert_eq!(v.items[0].group_name.as_deref(), Some("Subscribers"));
    let v: Ended = app
        .call(Method::POST, &format!("{path}/end"), &json!({"group": 9}))
        .await;
    assert_eq!(v, Ended { ended: 1 });
    let (s, v) = app
        .api(
            Method::POST,
            &format!("{path}/end"),
            Some(json!({"group": 9})),
        )
        .await;
    assert_eq!((s, code(&v)), (404, "not_found"));

    // Pagination.
    for i in 0..5 {
        let _: UserView = app
            .call(
                Method::POST,
                "/users",
                &new_user(&format!("p{i}@example.org")),
            )
            .await;
    }
    let page: UserPage = app.read("/users?email=example.org&limit=2").await;
    assert_eq!(page.items.len(), 2);
    let mut seen = 2;
    let mut after = page.next_after.unwrap();
    loop {
        let page: UserPage = app
            .read(&format!("/users?email=example.org&limit=2&after={after}"))
            .await;
        seen += page.items.len();
        match page.next_after {
            Some(n) => after = n,
            None => break,
        }
    }
    assert_eq!(seen, 5);
    let (s, v) = app.api(Method::GET, "/users?limit=many", None).await;
    assert_eq!((s, code(&v)), (400, "bad_query"));
});

db_test!(
    package_groups_and_paid_extensions,
    |app: TestApp| async move {
        let subscribers = NewGroup {
            id: 9,
            name: "Subscribers".into(),
        };
        let _: GroupView = app.call(Method::POST, "/groups", &subscribers).await;
        for (body, status, expected) in [
            (json!({"id": "pro", "groups": [12]}), 400, "unknown_group"),
            (json!({"id": "pro", "groups": []}), 400, "no_groups"),
            (
                json!({"id": "a b", "groups": [9]}),
                400,
                "bad_package_group",
            ),
            (
                json!({"id": "pro", "groups": [9], "policy": "forever"}),
                400,
                "bad_policy",
            ),
        ] {
            let (s, v) = app
                .api(Method::POST, "/package-groups", Some(body.clone()))
                .await;
            assert_eq!((s, code(&v)), (status, expected), "{body}");
        }
        let pro = NewPackageGroup {
            id: "pro".into(),
            groups: vec![9],
            seed: Some("SEED".into()),
            name: Some("Pro".into()),
            policy: Some("keep-released".into()),
            private_feeds: None,
        };
        let v: PackageGroupView = app.call(Method::POST, "/package-groups", &pro).await;
        assert_eq!(
            v,
            PackageGroupView {
                id: "pro".into(),
                name: "Pro".into(),
                groups: vec![9],
                policy: "keep-released".into(),
                private_feeds: false,
            }
        );
        let (s, v) = app
            .api(
                Method::POST,
                "/package-groups",
                Some(json!({"id": "pro", "groups": [9]})),
            )
            .await;
        assert_eq!((s, code(&v)), (409, "conflict"));
        let (_, v) = app.api(Method::GET, "/package-groups", None).await;
        assert!(!v.to_string().contains("SEED"), "seeds are never shown");
        let v: Items<PackageGroupView> = serde_json::from_value(v).unwrap();
        assert_eq!(v.items.len(), 1);

        // Paid, then free again; the feed and download follow at once.
        app.publish("com_redj", "1.0.0", redj_zip("1.0.0"), "")
            .await;
        let download = "/download/com_redj/1.0.0/com_redj-1.0.0.zip";
        for (ext, body, status) in [
            ("com_nope", json!({"package_group": "pro"}), 404),
            ("com_redj", json!({"package_group": "nope"}), 404),
            ("com_redj", json!({}), 400),
        ] {
            let (s, _) = app
                .api(
                    Method::PATCH,
                    &format!("/extensions/{ext}"),
                    Some(body.clone()),
                )
                .await;
            assert_eq!(s, status, "{ext} {body}");
        }
        assert_eq!(app.get(download).await.status(), 200);
        let set = |package_group: Option<&str>| ExtensionPatch {
            package_group: Some(package_group.map(String::from)),
            ..ExtensionPatch::default()
        };
        let e: ExtensionView = app
            .call(Method::PATCH, "/extensions/com_redj", &set(Some("pro")))
            .await;
        assert_eq!(e.package_group.as_deref(), Some("pro"));
        assert_eq!(app.get(download).await.status(), 400);
        let e: ExtensionView = app
            .call(Method::PATCH, "/extensions/com_redj", &set(None))
            .await;
        assert_eq!(e.package_group, None);
        assert_eq!(app.get(download).await.status(), 200);
    }
);

db_test!(download_and_jbackend_keys, |app: TestApp| async move {
    // One package group, for the jBackend key.
    app.paid_group("pro", 9).await;
    // Download keys: default labels, conflicts, revocation one by one.
    for email in ["a@example.com", "b@example.com"] {
        let _: UserView = app.call(Method::POST, "/users", &new_user(email)).await;
    }
    let keys = "/users/a@example.com/keys";
    let r = app
        .client
        .post(app.url(&format!("/api/v1{keys}")))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "no body: a default label");
    let first: DownloadKeyView = r.json().await.unwrap();
    assert_eq!(first.label, "default");
    let second: DownloadKeyView = app.call(Method::POST, keys, &NewKey::default()).await;
    assert_eq!(second.label, "default-2");
    let (s, v) = app
        .api(Method::POST, keys, Some(json!({"label": "default"})))
        .await;
    assert_eq!((s, code(&v)), (409, "conflict"));
    let (s, v) = app
        .api(Method::POST, keys, Some(json!({"label": "x".repeat(101)})))
        .await;
    assert_eq!((s, code(&v)), (400, "bad_label"));
    let key = &first.key;
    assert!(key.starts_with("dk") && key.len() == 40, "{key}");
    let id = first.id;
    let (s, _) = app
        .api(
            Method::DELETE,
            &format!("/users/b@example.com/keys/{id}"),
            None,
        )
        .await;
    assert_eq!(s, 404, "another user's key");
    let (s, _) = app.api(Method::DELETE, &format!("{keys}/{id}"), None).await;
    assert_eq!(s, 204);
    let (s, v) = app.api(Method::DELETE, &format!("{keys}/{id}"), None).await;
    assert_eq!((s, code(&v)), (409, "conflict"));
    let v: Items<DownloadKeyView> = app.read(keys).await;
    let listed: Vec<(String, bool)> = v.items.into_iter().map(|k| (k.label, k.revoked)).collect();
    assert_eq!(
        listed,
        [("default-2".into(), false), ("default".into(), true)]
    );
    // A revoked label can be used again.
    let label = NewKey {
        label: Some("default".into()),
    };
    let again: DownloadKeyView = app.call(Method::POST, keys, &label).await;
    assert_eq!((again.label.as_str(), again.revoked), ("default", false));

    // jBackend keys: one per package group; rotation changes it.
    let v: Items<JbackendKeyView> = app.read("/users/a@example.com/jbackend-keys").await;
    let before = v.items[0].key.clone();
    assert!(!v.items[0].entitled);
    let rotated: JbackendKeyView = app
        .call(
            Method::POST,
            "/users/a@example.com/jbackend-keys/pro/rotate",
            &(),
        )
        .await;
    assert_ne!(rotated.key, before);
    let (s, _) = app
        .api(
            Method::POST,
            "/users/a@example.com/jbackend-keys/nope/rotate",
            None,
        )
        .await;
    assert_eq!(s, 404);
});

db_test!(download_log_and_feed_checks, |app: TestApp| async move {
    // Feed checks are counted per UTC day: start at a day's start, so that midnight cannot
    // split the counts.
    app.at_window_start(std::time::Duration::from_secs(86_400));
    app.publish("com_redj", "1.0.0", redj_zip("1.0.0"), "")
        .await;
    app.publish("com_redj", "1.1.0", redj_zip("1.1.0"), "")
        .await;
    app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "x"), "")
        .await;
    let dlid_key = app.subscriber_with_key("buyer@example.com", "pro", 9).await;
    let (dlid, key_id) = (dlid_key.key.as_str(), dlid_key.id);
    let paid = ExtensionPatch {
        package_group: Some(Some("pro".into())),
        ..ExtensionPatch::default()
    };
    let _: IgnoredAny = app
        .call(Method::PATCH, "/extensions/plg_system_hello", &paid)
        .await;
    let joomla = |v: &str| format!("Mozilla/5.0 Joomla!/{v} Joomla");
    for _ in 0..3 {
        app.get("/download/com_redj/1.0.0/com_redj-1.0.0.zip").await;
    }
    app.get("/download/com_redj/1.1.0/com_redj-1.1.0.zip").await;
    let paid = "/download/plg_system_hello/1.0.0/plg_system_hello-1.0.0.zip";
    assert_eq!(app.get(paid).await.status(), 400);
    assert_eq!(app.get(&format!("{paid}?dlid={dlid}")).await.status(), 200);
    for v in ["4.4.14", "5.2.1", "5.2.3"] {
        app.client
            .get(app.url("/updates/com_redj.xml"))
            .header("user-agent", joomla(v))
            .send()
            .await
            .unwrap();
    }
    app.flush_events().await;

    let app = &app;
    let log = |q: String| async move { app.read::<DownloadLogPage>(&q).await };
    let all = log("/download-events".into()).await;
    assert_eq!(all.items.len(), 6);
    assert_eq!(all.items[0].extension, "plg_system_hello");
    assert_eq!(all.items[0].key_id, Some(key_id));
    assert_eq!(all.items[5].version, "1.0.0");
    for (query, count) in [
        ("extension=com_redj".to_string(), 4),
        ("extension=com_redj&version=1.1.0".into(), 1),
        ("status=400".into(), 1),
        ("user=buyer@example.com".into(), 1),
        (format!("key={key_id}"), 1),
        ("from=2000-01-01&until=2001-01-01".into(), 0),
    ] {
        let page = log(format!("/download-events?{query}")).await;
        assert_eq!(page.items.len(), count, "{query}");
    }
    // Pages of two, newest first, until the last.
    let page = log("/download-events?limit=2".into()).await;
    let mut ids: Vec<i64> = page.items.iter().map(|e| e.id).collect();
    let mut before = page.next_before;
    while let Some(b) = before {
        let page = log(format!("/download-events?limit=2&before={b}")).await;
        ids.extend(page.items.iter().map(|e| e.id));
        before = page.next_before;
    }
    assert_eq!(ids.len(), 6);
    assert!(ids.windows(2).all(|w| w[0] > w[1]));
    for (q, status, expected) in [
        ("/download-events?version=1.0.0", 400, "bad_filter"),
        ("/download-events?extension=com_nope", 404, "not_found"),
        ("/download-events?from=someday", 400, "bad_date"),
        ("/download-events?colour=red", 400, "bad_query"),
        ("/download-events?status=ok", 400, "bad_query"),
    ] {
        let refused = app.refused(Method::GET, q, None).await;
        assert_eq!(refused, (status, expected.to_string()), "{q}");
    }

    // Feed requests per day and Joomla version.
    let checks: Items<FeedCheckCount> = app.read("/feed-checks?extension=com_redj").await;
    let mut seen: Vec<(String, i64)> = checks
        .items
        .into_iter()
        .map(|c| (c.joomla_version, c.checks))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("4.4.14".to_string(), 1),
            ("5.2.1".to_string(), 1),
            ("5.2.3".to_string(), 1)
        ]
    );
    let none: Items<FeedCheckCount> = app
        .read("/feed-checks?extension=com_redj&until=2001-01-01")
        .await;
    assert_eq!(none.items, []);
});

// A NUL character (`%00`, `\u0000`) is refused or simply not found, never an internal error
// (PostgreSQL cannot store or compare such text; SQLite can), on the admin API and on the
// public endpoints alike.
db_test!(
    nul_characters_are_refused_not_fatal,
    |app: TestApp| async move {
        app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "a"), "")
            .await;
        for path in [
            "/users/x%00y",
            "/users/x%00y/keys",
            "/extensions/plg_x%00/releases",
            "/extensions/plg_system_hello/releases/1.0%00",
            "/audit-log?action=x%00",
            "/audit-log?subject=%00",
            "/download-events?user=a%00b",
            "/feed-checks?extension=%00",
        ] {
            let (s, v) = app.api(Method::GET, path, None).await;
            // Refused, not found, or (a filter, on SQLite) matching nothing.
            assert!([200, 400, 404].contains(&s), "GET {path}: {s} {v}");
            assert_ne!(code(&v), "internal", "GET {path}");
        }
        for (method, path, body) in [
            (
                Method::PATCH,
                "/extensions/plg_system_hello",
                json!({"package_group": "p\u{0}"}),
            ),
            (
                Method::PATCH,
                "/extensions/plg_system_hello/releases/1.0.0",
                json!({"notes": "a\u{0}b"}),
            ),
            (
                Method::POST,
                "/users",
                json!({"email": "a\u{0}@example.com"}),
            ),
            (
                Method::POST,
                "/tokens",
                json!({"name": "ci\u{0}", "scope": "read"}),
            ),
        ] {
            let (s, v) = app.api(method.clone(), path, Some(body)).await;
            assert!(s < 500, "{method} {path}: {s} {v}");
        }
        for path in [
            "/download/plg_system_hello/1.0.0%00/x.zip",
            "/get/release/download/a%00b",
            "/updates/plg%00.xml",
        ] {
            let s = app.get(path).await.status().as_u16();
            assert!([400, 404].contains(&s), "{path}: {s}");
        }
        for path in [
            "/post/release/validate/pro%00",
            "/post/release/keybyauth/pro",
            "/post/release/keybymail/pro",
        ] {
            let (s, v) = app
                .post_form(
                    path,
                    &[
                        ("email", "a\u{0}@example.com"),
                        ("username", "u\u{0}"),
                        ("password", "p"),
                        ("key", "k"),
                    ],
                )
                .await;
            assert!(s < 500, "{path}: {s} {v}");
        }
    }
);

// Least privilege: a publish token for one extension reaches that extension's catalogue and
// nothing of the customers (addresses, memberships, the download log with client addresses);
// a read token reads them; an admin token changes them.
db_test!(
    a_publish_token_sees_no_customer,
    |app: TestApp| async move {
        app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "a"), "")
            .await;
        app.publish("com_redj", "1.0.0", redj_zip("1.0.0"), "")
            .await;
        let _: UserView = app
            .call(Method::POST, "/users", &new_user("buyer@example.com"))
            .await;
        let (_, ci) = app.token("ci", "publish", &["plg_system_hello"]).await;
        let (_, reader) = app.token("reader", "read", &[]).await;
        for path in [
            "/users",
            "/users/buyer@example.com",
            "/users/buyer@example.com/memberships",
            "/users/buyer@example.com/keys",
            "/download-events",
            "/audit-log",
            "/extensions/com_redj",
            "/extensions/com_redj/releases",
            "/extensions/com_redj/releases/1.0.0",
        ] {
            let refused = app.refused_as(&ci, Method::GET, path, None).await;
            assert_eq!(refused, (403, "forbidden".into()), "{path}");
        }
        let mine: Items<ExtensionView> = app.read_as(&ci, "/extensions").await;
        let names: Vec<&str> = mine.items.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["plg_system_hello"]);
        let _: ExtensionView = app.read_as(&ci, "/extensions/plg_system_hello").await;
        // A read token reads customers and the log; keys stay an admin's.
        let users: UserPage = app.read_as(&reader, "/users").await;
        assert_eq!(users.items.len(), 1);
        let _: DownloadLogPage = app.read_as(&reader, "/download-events").await;
        let all: Items<ExtensionView> = app.read_as(&reader, "/extensions").await;
        assert_eq!(all.items.len(), 2);
        let (s, _) = app
            .refused_as(&reader, Method::GET, "/users/buyer@example.com/keys", None)
            .await;
        assert_eq!(s, 403);
    }
);
