//! The catalogue through the admin API: extensions with their manifest snippet, a release's
//! life (draft → published → yanked → published), notes, and who may do which.

use reqwest::Method;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::*;

fn code(v: &Value) -> &str {
    v["errors"][0]["code"].as_str().unwrap_or_default()
}

const DL: &str = "/download/plg_system_hello/1.1.0/plg_system_hello-1.1.0.zip";

db_test!(release_lifecycle, |app: TestApp| async move {
    app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "a"), "")
        .await;
    app.publish(
        "plg_system_hello",
        "1.1.0",
        plugin_zip("1.1.0", "b"),
        "draft=1",
    )
    .await;
    let feed = || app.text("/updates/plg_system_hello.xml");
    assert!(!feed().await.contains("<version>1.1.0</version>"));
    assert_eq!(
        app.get(DL).await.status(),
        404,
        "a draft is not downloadable"
    );

    // Listing: every state, newest version first.
    let (s, v) = app
        .api(Method::GET, "/extensions/plg_system_hello/releases", None)
        .await;
    assert_eq!(s, 200);
    let states: Vec<(&str, &str)> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["version"].as_str().unwrap(), r["state"].as_str().unwrap()))
        .collect();
    assert_eq!(states, [("1.1.0", "draft"), ("1.0.0", "published")]);

    // Publish the draft: in the feed at once, downloadable.
    let (s, v) = app
        .api(
            Method::PATCH,
            "/extensions/plg_system_hello/releases/1.1.0",
            Some(json!({"state": "published"})),
        )
        .await;
    assert_eq!((s, v["state"].as_str()), (200, Some("published")), "{v}");
    assert!(v["published_at"].is_string());
    assert!(feed().await.contains("<version>1.1.0</version>"));
    assert_eq!(app.get(DL).await.status(), 200);

    // Notes reach the changelog feed; null removes them.
    let (s, v) = app
        .api(
            Method::PATCH,
            "/extensions/plg_system_hello/releases/1.1.0",
            Some(json!({"notes": "## Fixed\n- the <frobnicator>"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let changelog = app.text("/changelogs/plg_system_hello.xml").await;
    assert!(
        changelog.contains("<item>the &lt;frobnicator&gt;</item>"),
        "{changelog}"
    );
    let (s, v) = app
        .api(
            Method::PATCH,
            "/extensions/plg_system_hello/releases/1.1.0",
            Some(json!({"notes": null})),
        )
        .await;
    assert_eq!((s, &v["notes"]), (200, &Value::Null));

    // Yank: gone from the feed and the downloads; 1.0.0 is what sites are offered again.
    let (s, v) = app
        .api(
            Method::PATCH,
            "/extensions/plg_system_hello/releases/1.1.0",
            Some(json!({"state": "yanked"})),
        )
        .await;
    assert_eq!((s, v["state"].as_str()), (200, Some("yanked")));
    let xml = feed().await;
    assert!(!xml.contains("<version>1.1.0</version>"));
    assert!(xml.contains("<version>1.0.0</version>"));
    assert_eq!(app.get(DL).await.status(), 404);

    // A published release never becomes a draft again (its bytes could then be replaced);
    // unknown states and fields are refused; nothing changes.
    for (body, status, expected) in [
        (json!({"state": "draft"}), 409, "conflict"),
        (json!({"state": "gone"}), 400, "bad_state"),
        (json!({"stat": "published"}), 400, "bad_json"),
    ] {
        let (s, v) = app
            .api(
                Method::PATCH,
                "/extensions/plg_system_hello/releases/1.1.0",
                Some(body),
            )
            .await;
        assert_eq!((s, code(&v)), (status, expected), "{v}");
    }
    let (s, v) = app
        .api(
            Method::PATCH,
            "/extensions/plg_system_hello/releases/9.9.9",
            Some(json!({"state": "published"})),
        )
        .await;
    assert_eq!((s, code(&v)), (404, "not_found"));
    let (_, v) = app
        .api(
            Method::GET,
            "/extensions/plg_system_hello/releases/1.1.0",
            None,
        )
        .await;
    assert_eq!(v["state"], "yanked");

    // Back again.
    let (s, _) = app
        .api(
            Method::PATCH,
            "/extensions/plg_system_hello/releases/1.1.0",
            Some(json!({"state": "published"})),
        )
        .await;
    assert_eq!(s, 200);
    assert!(feed().await.contains("<version>1.1.0</version>"));
});

db_test!(
    extensions_and_their_manifest_snippet,
    |app: TestApp| async move {
        app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "a"), "")
            .await;
        let (s, v) = app.api(Method::GET, "/extensions", None).await;
        assert_eq!(s, 200);
        assert_eq!(v["items"][0]["name"], "plg_system_hello");
        let (s, v) = app
            .api(Method::GET, "/extensions/plg_system_hello", None)
            .await;
        assert_eq!(s, 200);
        assert_eq!(
            (
                v["type"].as_str(),
                v["folder"].as_str(),
                v["element"].as_str()
            ),
            (Some("plugin"), Some("system"), Some("hello"))
        );
        let feed_url = app.url("/updates/plg_system_hello.xml");
        assert_eq!(v["feed_url"], feed_url.as_str());
        let snippet = v["manifest_snippet"].as_str().unwrap();
        assert!(
            snippet.contains(&format!(">{feed_url}</server>")),
            "{snippet}"
        );
        assert!(
            !snippet.contains("<dlid"),
            "a free extension asks for no key"
        );

        // Paid: the snippet asks Joomla for a Download Key.
        app.api(Method::POST, "/groups", Some(json!({"id": 9, "name": "S"})))
            .await;
        app.api(
            Method::POST,
            "/package-groups",
            Some(json!({"id": "pro", "groups": [9]})),
        )
        .await;
        let (s, _) = app
            .api(
                Method::PATCH,
                "/extensions/plg_system_hello",
                Some(json!({"package_group": "pro"})),
            )
            .await;
        assert_eq!(s, 200);
        let (_, v) = app
            .api(Method::GET, "/extensions/plg_system_hello", None)
            .await;
        assert_eq!(v["package_group"], "pro");
        assert!(
            v["manifest_snippet"]
                .as_str()
                .unwrap()
                .ends_with("<dlid prefix=\"dlid=\" suffix=\"\"/>")
        );
        let (s, v) = app.api(Method::GET, "/extensions/com_nothing", None).await;
        assert_eq!((s, code(&v)), (404, "not_found"));
    }
);

db_test!(
    release_changes_follow_token_scopes,
    |app: TestApp| async move {
        app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "a"), "")
            .await;
        let token = |scope: Value| {
            let app = &app;
            async move {
                let (s, v) = app.api(Method::POST, "/tokens", Some(scope)).await;
                assert_eq!(s, 201, "{v}");
                v["token"].as_str().unwrap().to_string()
            }
        };
        let read = token(json!({"name": "r", "scope": "read"})).await;
        let other =
            token(json!({"name": "o", "scope": "publish", "extensions": ["com_other"]})).await;
        let own =
            token(json!({"name": "ci", "scope": "publish", "extensions": ["plg_system_hello"]}))
                .await;
        let yank = json!({"state": "yanked"});
        let path = "/extensions/plg_system_hello/releases/1.0.0";
        for t in [&read, &other] {
            let (s, v) = app.api_as(t, Method::PATCH, path, Some(yank.clone())).await;
            assert_eq!((s, code(&v)), (403, "forbidden"), "{v}");
            // Reading is fine with any token.
            let (s, v) = app.api_as(t, Method::GET, path, None).await;
            assert_eq!((s, v["state"].as_str()), (200, Some("published")));
        }
        let (s, v) = app.api_as(&own, Method::PATCH, path, Some(yank)).await;
        assert_eq!((s, v["state"].as_str()), (200, Some("yanked")));
    }
);

db_test!(
    drafts_are_deleted_and_names_change,
    |app: TestApp| async move {
        app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "a"), "")
            .await;
        app.publish(
            "plg_system_hello",
            "1.1.0",
            plugin_zip("1.1.0", "b"),
            "draft=1",
        )
        .await;
        let release = |v: &str| format!("/extensions/plg_system_hello/releases/{v}");

        // A published release is never deleted; a draft is, with its file.
        let (s, v) = app.api(Method::DELETE, &release("1.0.0"), None).await;
        assert_eq!((s, code(&v)), (409, "conflict"), "{v}");
        let (s, _) = app.api(Method::DELETE, &release("1.1.0"), None).await;
        assert_eq!(s, 204);
        let (s, _) = app.api(Method::GET, &release("1.1.0"), None).await;
        assert_eq!(s, 404);
        let (s, _) = app.api(Method::DELETE, &release("1.1.0"), None).await;
        assert_eq!(s, 404);
        assert!(
            app.text("/updates/plg_system_hello.xml")
                .await
                .contains("1.0.0")
        );
        // The version is free again: other bytes may be published under it.
        app.publish("plg_system_hello", "1.1.0", plugin_zip("1.1.0", "c"), "")
            .await;
        let (_, log) = app
            .api(Method::GET, "/audit-log?action=release.delete", None)
            .await;
        assert_eq!(log["items"][0]["subject"], "plg_system_hello 1.1.0");

        // An extension with releases is not deleted; one whose only draft was deleted is.
        let (s, v) = app
            .api(Method::DELETE, "/extensions/plg_system_hello", None)
            .await;
        assert_eq!((s, code(&v)), (409, "conflict"));
        let manifest = r#"<?xml version="1.0"?><extension type="component" method="upgrade"><name>Oops</name><element>com_oops</element><version>0.1.0</version></extension>"#;
        app.publish(
            "com_oops",
            "0.1.0",
            zip_of(&[("oops.xml", manifest.as_bytes())]),
            "draft=1",
        )
        .await;
        let (s, _) = app.api(Method::DELETE, "/extensions/com_oops", None).await;
        assert_eq!(s, 409, "its draft first");
        let (s, _) = app
            .api(Method::DELETE, "/extensions/com_oops/releases/0.1.0", None)
            .await;
        assert_eq!(s, 204);
        let (s, _) = app.api(Method::DELETE, "/extensions/com_oops", None).await;
        assert_eq!(s, 204);
        let (s, _) = app.api(Method::GET, "/extensions/com_oops", None).await;
        assert_eq!(s, 404);

        // Groups and package groups are renamed; a package group's policy changes.
        app.api(
            Method::POST,
            "/groups",
            Some(json!({"id": 9, "name": "Pro"})),
        )
        .await;
        let (s, v) = app
            .api(
                Method::PATCH,
                "/groups/9",
                Some(json!({"name": "Pro subscribers"})),
            )
            .await;
        assert_eq!((s, v["name"].as_str()), (200, Some("Pro subscribers")));
        let (s, v) = app.api(Method::GET, "/groups/9", None).await;
        assert_eq!((s, v["name"].as_str()), (200, Some("Pro subscribers")));
        let (s, _) = app
            .api(Method::PATCH, "/groups/999", Some(json!({"name": "x"})))
            .await;
        assert_eq!(s, 404);
        app.api(
            Method::POST,
            "/package-groups",
            Some(json!({"id": "pro", "groups": [9]})),
        )
        .await;
        let (s, v) = app
            .api(
                Method::PATCH,
                "/package-groups/pro",
                Some(json!({"policy": "forever"})),
            )
            .await;
        assert_eq!((s, code(&v)), (400, "bad_policy"));
        let (s, v) = app
            .api(
                Method::PATCH,
                "/package-groups/pro",
                Some(json!({"name": "Pro", "policy": "keep-released"})),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            (v["name"].as_str(), v["policy"].as_str()),
            (Some("Pro"), Some("keep-released"))
        );
        let (s, v) = app.api(Method::GET, "/package-groups/pro", None).await;
        assert_eq!((s, v["policy"].as_str()), (200, Some("keep-released")));

        // Download keys are relabelled; two live keys of a user never share a label.
        app.api(
            Method::POST,
            "/users",
            Some(json!({"email": "b@example.com"})),
        )
        .await;
        let (_, first) = app
            .api(
                Method::POST,
                "/users/b@example.com/keys",
                Some(json!({"label": "one"})),
            )
            .await;
        app.api(
            Method::POST,
            "/users/b@example.com/keys",
            Some(json!({"label": "two"})),
        )
        .await;
        let path = format!("/users/b@example.com/keys/{}", first["id"]);
        let (s, v) = app
            .api(
                Method::PATCH,
                &path,
                Some(json!({"label": "www.example.com"})),
            )
            .await;
        assert_eq!((s, v["label"].as_str()), (200, Some("www.example.com")));
        assert_eq!(v["key"], first["key"], "the key itself stays");
        let (s, v) = app
            .api(Method::PATCH, &path, Some(json!({"label": "two"})))
            .await;
        assert_eq!((s, code(&v)), (409, "conflict"), "{v}");
    }
);

db_test!(
    extension_metadata_and_deletions,
    |app: TestApp| async move {
        app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "a"), "")
            .await;
        let feed = || app.text("/updates/plg_system_hello.xml");
        let ext = "/extensions/plg_system_hello";

        // What feeds show is edited through the API, and the feed follows at once.
        let (s, v) = app.api(Method::PATCH, ext, Some(json!({}))).await;
        assert_eq!((s, code(&v)), (400, "nothing_to_change"));
        let (s, v) = app
            .api(
                Method::PATCH,
                ext,
                Some(json!({"info_url": "javascript:alert(1)"})),
            )
            .await;
        assert_eq!((s, code(&v)), (400, "bad_metadata"));
        let (s, v) = app
            .api(
                Method::PATCH,
                ext,
                Some(json!({"default_joomla": "banana"})),
            )
            .await;
        assert_eq!((s, code(&v)), (400, "bad_joomla_targets"));
        let (s, v) = app
            .api(Method::PATCH, ext, Some(json!({"title": " "})))
            .await;
        assert_eq!((s, code(&v)), (400, "bad_metadata"));
        let before = feed().await;
        let (s, v) = app
            .api(
                Method::PATCH,
                ext,
                Some(json!({
                    "title": "Hello & Goodbye",
                    "description": "Says hello",
                    "info_url": "https://example.com/hello",
                })),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            (v["title"].as_str(), v["package_group"].as_str()),
            (Some("Hello & Goodbye"), None)
        );
        let after = feed().await;
        assert_ne!(before, after);
        assert!(
            after.contains("Hello &amp; Goodbye") && after.contains("https://example.com/hello"),
            "{after}"
        );
        // A body without package_group leaves a paid extension paid.
        app.api(
            Method::POST,
            "/groups",
            Some(json!({"id": 9, "name": "Pro"})),
        )
        .await;
        app.api(
            Method::POST,
            "/package-groups",
            Some(json!({"id": "pro", "groups": [9]})),
        )
        .await;
        let (s, v) = app
            .api(Method::PATCH, ext, Some(json!({"package_group": "pro"})))
            .await;
        assert_eq!((s, v["package_group"].as_str()), (200, Some("pro")));
        let (_, v) = app
            .api(Method::PATCH, ext, Some(json!({"description": null})))
            .await;
        assert_eq!(
            (v["package_group"].as_str(), &v["description"]),
            (Some("pro"), &Value::Null)
        );

        // Groups and package groups in use are refused, with the reason; unused ones go.
        let (s, v) = app.api(Method::DELETE, "/package-groups/pro", None).await;
        assert_eq!((s, code(&v)), (409, "conflict"));
        assert!(v.to_string().contains("still has extensions"), "{v}");
        let (s, v) = app.api(Method::DELETE, "/groups/9", None).await;
        assert_eq!((s, code(&v)), (409, "conflict"));
        app.api(Method::PATCH, ext, Some(json!({"package_group": null})))
            .await;
        let (s, _) = app.api(Method::DELETE, "/package-groups/pro", None).await;
        assert_eq!(s, 204);
        let (s, _) = app.api(Method::DELETE, "/package-groups/pro", None).await;
        assert_eq!(s, 404);
        app.api(
            Method::POST,
            "/users",
            Some(json!({"email": "m@example.com"})),
        )
        .await;
        app.api(
            Method::POST,
            "/users/m@example.com/memberships",
            Some(json!({"group": 9, "until": "2020-01-01T00:00:00Z", "from": "2019-01-01"})),
        )
        .await;
        let (s, v) = app.api(Method::DELETE, "/groups/9", None).await;
        assert_eq!(s, 409, "an ended membership is history: {v}");
        assert!(v.to_string().contains("1 membership"), "{v}");
        app.api(
            Method::POST,
            "/groups",
            Some(json!({"id": 10, "name": "Unused"})),
        )
        .await;
        let (s, _) = app.api(Method::DELETE, "/groups/10", None).await;
        assert_eq!(s, 204);
        let (_, groups) = app.api(Method::GET, "/groups", None).await;
        assert_eq!(groups["items"].as_array().unwrap().len(), 1);
        let (_, log) = app
            .api(Method::GET, "/audit-log?action=group.delete", None)
            .await;
        assert_eq!(log["items"][0]["subject"], "10");
    }
);
