//! API tokens managed over the API, and the audit log: every change names who made it.

use reqwest::Method;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::*;

fn code(v: &Value) -> &str {
    v["errors"][0]["code"].as_str().unwrap_or_default()
}

db_test!(tokens_over_the_api, |app: TestApp| async move {
    let (s, v) = app
        .api(
            Method::POST,
            "/tokens",
            Some(json!({"name": "ci", "scope": "publish", "extensions": ["plg_system_hello"]})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let ci = v["token"].as_str().unwrap().to_string();
    let id = v["id"].as_i64().unwrap();
    assert_eq!(v["extensions"], json!(["plg_system_hello"]));

    // Listed without the token itself.
    let (s, list) = app.api(Method::GET, "/tokens", None).await;
    assert_eq!(s, 200);
    assert!(!list.to_string().contains(&ci));
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"ci") && names.contains(&"test admin"),
        "{names:?}"
    );

    // Works until revoked, then 401; a second revocation is a conflict.
    app.upload_as(
        &ci,
        "plg_system_hello",
        "1.0.0",
        plugin_zip("1.0.0", "a"),
        "",
    )
    .await
    .error_for_status()
    .unwrap();
    let (s, v) = app
        .api(Method::DELETE, &format!("/tokens/{id}"), None)
        .await;
    assert_eq!(s, 200);
    assert!(v["revoked_at"].is_string());
    let r = app
        .upload_as(
            &ci,
            "plg_system_hello",
            "1.0.1",
            plugin_zip("1.0.1", "b"),
            "",
        )
        .await;
    assert_eq!(r.status(), 401);
    let (s, v) = app
        .api(Method::DELETE, &format!("/tokens/{id}"), None)
        .await;
    assert_eq!((s, code(&v)), (409, "conflict"));

    // Only admins manage tokens; bad scopes are refused.
    let (_, v) = app
        .api(
            Method::POST,
            "/tokens",
            Some(json!({"name": "r", "scope": "read"})),
        )
        .await;
    let read = v["token"].as_str().unwrap().to_string();
    let (s, v) = app.api_as(&read, Method::GET, "/tokens", None).await;
    assert_eq!((s, code(&v)), (403, "forbidden"));
    for body in [
        json!({"name": "x", "scope": "root"}),
        json!({"name": "x", "scope": "admin", "extensions": ["com_a"]}),
        json!({"name": "", "scope": "read"}),
    ] {
        let (s, v) = app.api(Method::POST, "/tokens", Some(body.clone())).await;
        assert_eq!(s, 400, "{body} → {v}");
    }
});

db_test!(every_change_is_audited, |app: TestApp| async move {
    let (_, v) = app
        .api(
            Method::POST,
            "/tokens",
            Some(json!({"name": "ops", "scope": "admin"})),
        )
        .await;
    let ops = v["token"].as_str().unwrap().to_string();
    let ops_id = v["id"].as_i64().unwrap();
    let call = |method: Method, path: &'static str, body: Option<Value>| {
        let (app, ops) = (&app, ops.clone());
        async move {
            let (s, v) = app.api_as(&ops, method, path, body).await;
            assert!((200..300).contains(&s), "{path}: {s} {v}");
            v
        }
    };
    call(Method::POST, "/groups", Some(json!({"id": 9, "name": "S"}))).await;
    call(
        Method::POST,
        "/users",
        Some(json!({"email": "Buyer@Example.com", "password": "a long passphrase"})),
    )
    .await;
    call(
        Method::POST,
        "/users/buyer@example.com/memberships",
        Some(json!({"group": 9, "until": "2030-01-01"})),
    )
    .await;
    call(
        Method::POST,
        "/package-groups",
        Some(json!({"id": "pro", "groups": [9], "seed": "SEED-NOT-IN-THE-LOG"})),
    )
    .await;
    let key = call(Method::POST, "/users/buyer@example.com/keys", None).await;
    call(
        Method::PATCH,
        "/users/buyer@example.com",
        Some(json!({"disabled": true, "password": "another passphrase"})),
    )
    .await;
    app.upload_as(
        &ops,
        "plg_system_hello",
        "1.0.0",
        plugin_zip("1.0.0", "a"),
        "",
    )
    .await
    .error_for_status()
    .unwrap();
    call(
        Method::PATCH,
        "/extensions/plg_system_hello/releases/1.0.0",
        Some(json!({"state": "yanked"})),
    )
    .await;
    // A refused request leaves no entry.
    let (s, _) = app
        .api_as(
            &ops,
            Method::POST,
            "/groups",
            Some(json!({"id": 9, "name": "again"})),
        )
        .await;
    assert_eq!(s, 409);

    let (s, log) = app.api(Method::GET, "/audit-log", None).await;
    assert_eq!(s, 200);
    let entries = log["items"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "release.yank",
            "release.publish",
            "user.update",
            "download_key.create",
            "package_group.create",
            "membership.add",
            "user.create",
            "group.create",
            "token.create",
            "token.create",
        ]
    );
    for e in &entries[..8] {
        assert_eq!(
            e["actor"],
            json!({"kind": "token", "id": ops_id, "name": "ops"}),
            "{e}"
        );
        assert!(e["at"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(entries[0]["subject"], "plg_system_hello 1.0.0");
    assert_eq!(entries[6]["subject"], "buyer@example.com");
    assert_eq!(entries[2]["detail"]["disabled"], true);
    // Secrets never reach the log.
    let text = log.to_string();
    for secret in [
        "a long passphrase",
        "another passphrase",
        "SEED-NOT-IN-THE-LOG",
        key["key"].as_str().unwrap(),
        &ops,
    ] {
        assert!(!text.contains(secret), "{secret} is in the audit log");
    }

    // Filters: an action family, a subject, an actor; pages.
    let (_, v) = app.api(Method::GET, "/audit-log?action=user.", None).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    let (_, v) = app
        .api(Method::GET, "/audit-log?subject=buyer@example.com", None)
        .await;
    assert_eq!(v["items"].as_array().unwrap().len(), 4);
    let (_, v) = app
        .api(Method::GET, "/audit-log?actor=test%20admin", None)
        .await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    assert_eq!(v["items"][0]["subject"], "ops");
    // The first token was made on the server itself, not through the API.
    assert_eq!(entries[9]["actor"]["kind"], "system");
    let (_, page) = app.api(Method::GET, "/audit-log?limit=5", None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
    let next = page["next_before"].as_i64().unwrap();
    let (_, rest) = app
        .api(Method::GET, &format!("/audit-log?before={next}"), None)
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 5);
    let (s, v) = app
        .api(Method::GET, "/audit-log?from=yesterday", None)
        .await;
    assert_eq!((s, code(&v)), (400, "bad_date"));

    // Only admins read it.
    let (_, v) = app
        .api(
            Method::POST,
            "/tokens",
            Some(json!({"name": "r", "scope": "read"})),
        )
        .await;
    let (s, _) = app
        .api_as(
            v["token"].as_str().unwrap(),
            Method::GET,
            "/audit-log",
            None,
        )
        .await;
    assert_eq!(s, 403);
});
