//! The catalogue through the admin API: extensions with their manifest snippet, a release's
//! life (draft → published → yanked → published), notes, and who may do which.

use depot_api::{
    AuditPage, CreatedToken, DownloadKeyView, ExtensionPatch, ExtensionView, GroupPatch, GroupView,
    Items, KeyPatch, NewKey, NewToken, PackageGroupPatch, PackageGroupView, ReleasePatch,
    ReleaseView, UserView,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::*;

fn code(v: &Value) -> &str {
    v["errors"][0]["code"].as_str().unwrap_or_default()
}

/// A change of the extension's package group only (`None`: free).
fn in_group(package_group: Option<&str>) -> ExtensionPatch {
    ExtensionPatch {
        package_group: Some(package_group.map(String::from)),
        ..ExtensionPatch::default()
    }
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
    let v: Items<ReleaseView> = app.read("/extensions/plg_system_hello/releases").await;
    let states: Vec<(&str, &str)> = v
        .items
        .iter()
        .map(|r| (r.version.as_str(), r.state.as_str()))
        .collect();
    assert_eq!(states, [("1.1.0", "draft"), ("1.0.0", "published")]);

    // Publish the draft: in the feed at once, downloadable.
    let path = "/extensions/plg_system_hello/releases/1.1.0";
    let patch = |state: Option<&str>, notes: Option<Option<&str>>| ReleasePatch {
        state: state.map(String::from),
        notes: notes.map(|n| n.map(String::from)),
        ..ReleasePatch::default()
    };
    let v: ReleaseView = app
        .call(Method::PATCH, path, &patch(Some("published"), None))
        .await;
    assert_eq!(v.state, "published");
    assert!(v.published_at.is_some());
    assert!(feed().await.contains("<version>1.1.0</version>"));
    assert_eq!(app.get(DL).await.status(), 200);

    // Notes reach the changelog feed; null removes them.
    let notes = Some(Some("## Fixed\n- the <frobnicator>"));
    let v: ReleaseView = app.call(Method::PATCH, path, &patch(None, notes)).await;
    assert!(v.notes.is_some());
    let changelog = app.text("/changelogs/plg_system_hello.xml").await;
    assert!(
        changelog.contains("<item>the &lt;frobnicator&gt;</item>"),
        "{changelog}"
    );
    let v: ReleaseView = app
        .call(Method::PATCH, path, &patch(None, Some(None)))
        .await;
    assert_eq!(v.notes, None);

    // Yank: gone from the feed and the downloads; 1.0.0 is what sites are offered again.
    let v: ReleaseView = app
        .call(Method::PATCH, path, &patch(Some("yanked"), None))
        .await;
    assert_eq!(v.state, "yanked");
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
        let refused = app.refused(Method::PATCH, path, Some(body)).await;
        assert_eq!(refused, (status, expected.into()));
    }
    let refused = app
        .refused(
            Method::PATCH,
            "/extensions/plg_system_hello/releases/9.9.9",
            Some(json!({"state": "published"})),
        )
        .await;
    assert_eq!(refused, (404, "not_found".into()));
    let v: ReleaseView = app.read(path).await;
    assert_eq!(v.state, "yanked");

    // Back again.
    let _: ReleaseView = app
        .call(Method::PATCH, path, &patch(Some("published"), None))
        .await;
    assert!(feed().await.contains("<version>1.1.0</version>"));
});

db_test!(
    extensions_and_their_manifest_snippet,
    |app: TestApp| async move {
        app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "a"), "")
            .await;
        let v: Items<ExtensionView> = app.read("/extensions").await;
        assert_eq!(v.items[0].name, "plg_system_hello");
        let v: ExtensionView = app.read("/extensions/plg_system_hello").await;
        assert_eq!(
            (v.kind.as_str(), v.folder.as_deref(), v.element.as_str()),
            ("plugin", Some("system"), "hello")
        );
        let feed_url = app.url("/updates/plg_system_hello.xml");
        assert_eq!(v.feed_url, feed_url);
        let snippet = &v.manifest_snippet;
        assert!(
            snippet.contains(&format!(">{feed_url}</server>")),
            "{snippet}"
        );
        assert!(
            !snippet.contains("<dlid"),
            "a free extension asks for no key"
        );

        // Paid: the snippet asks Joomla for a Download Key.
        app.paid_group("pro", 9).await;
        let v: ExtensionView = app
            .call(
                Method::PATCH,
                "/extensions/plg_system_hello",
                &in_group(Some("pro")),
            )
            .await;
        assert_eq!(v.package_group.as_deref(), Some("pro"));
        let v: ExtensionView = app.read("/extensions/plg_system_hello").await;
        assert_eq!(v.package_group.as_deref(), Some("pro"));
        assert!(
            v.manifest_snippet
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
        let token = |name: &str, scope: &str, extensions: Option<&str>| {
            let body = NewToken {
                name: name.into(),
                scope: scope.into(),
                extensions: extensions.map(|e| vec![e.to_string()]),
            };
            let app = &app;
            async move {
                let t: CreatedToken = app.call(Method::POST, "/tokens", &body).await;
                assert_eq!(t.view.scope, body.scope);
                t.token
            }
        };
        let read = token("r", "read", None).await;
        let other = token("o", "publish", Some("com_other")).await;
        let own = token("ci", "publish", Some("plg_system_hello")).await;
        let yank = json!({"state": "yanked"});
        let path = "/extensions/plg_system_hello/releases/1.0.0";
        for t in [&read, &other] {
            let refused = app
                .refused_as(t, Method::PATCH, path, Some(yank.clone()))
                .await;
            assert_eq!(refused, (403, "forbidden".into()));
        }
        // A read token reads the whole catalogue; a publish token only its own extensions'.
        let v: ReleaseView = app.read_as(&read, path).await;
        assert_eq!(v.state, "published");
        let refused = app.refused_as(&other, Method::GET, path, None).await;
        assert_eq!(refused, (403, "forbidden".into()));
        let v: ReleaseView = app.read_as(&own, path).await;
        assert_eq!(v.state, "published");
        let (s, v) = app.api_as(&own, Method::PATCH, path, Some(yank)).await;
        let v: ReleaseView = serde_json::from_value(v).unwrap();
        assert_eq!((s, v.state.as_str()), (200, "yanked"));
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
        let log: AuditPage = app.read("/audit-log?action=release.delete").await;
        assert_eq!(log.items[0].subject, "plg_system_hello 1.1.0");

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
        app.paid_group("pro", 9).await;
        let rename = GroupPatch {
            name: "Pro subscribers".into(),
        };
        let v: GroupView = app.call(Method::PATCH, "/groups/9", &rename).await;
        assert_eq!(v.name, "Pro subscribers");
        let v: GroupView = app.read("/groups/9").await;
        assert_eq!(v.name, "Pro subscribers");
        let (s, _) = app
            .api(Method::PATCH, "/groups/999", Some(json!({"name": "x"})))
            .await;
        assert_eq!(s, 404);
        let (s, v) = app
            .api(
                Method::PATCH,
                "/package-groups/pro",
                Some(json!({"policy": "forever"})),
            )
            .await;
        assert_eq!((s, code(&v)), (400, "bad_policy"));
        let change = PackageGroupPatch {
            name: Some("Pro".into()),
            policy: Some("keep-released".into()),
            private_feeds: None,
        };
        let v: PackageGroupView = app
            .call(Method::PATCH, "/package-groups/pro", &change)
            .await;
        assert_eq!(
            (v.name.as_str(), v.policy.as_str()),
            ("Pro", "keep-released")
        );
        let v: PackageGroupView = app.read("/package-groups/pro").await;
        assert_eq!(v.policy, "keep-released");

        // Download keys are relabelled; two live keys of a user never share a label.
        let _: UserView = app
            .call(Method::POST, "/users", &new_user("b@example.com"))
            .await;
        let keys = "/users/b@example.com/keys";
        let label = |l: &str| NewKey {
            label: Some(l.into()),
        };
        let first: DownloadKeyView = app.call(Method::POST, keys, &label("one")).await;
        let _: DownloadKeyView = app.call(Method::POST, keys, &label("two")).await;
        let path = format!("{keys}/{}", first.id);
        let relabel = KeyPatch {
            label: "www.example.com".into(),
        };
        let v: DownloadKeyView = app.call(Method::PATCH, &path, &relabel).await;
        assert_eq!(v.label, "www.example.com");
        assert_eq!(v.key, first.key, "the key itself stays");
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
        let metadata = ExtensionPatch {
            title: Some("Hello & Goodbye".into()),
            description: Some(Some("Says hello".into())),
            info_url: Some(Some("https://example.com/hello".into())),
            ..ExtensionPatch::default()
        };
        let v: ExtensionView = app.call(Method::PATCH, ext, &metadata).await;
        assert_eq!(
            (v.title.as_str(), v.package_group),
            ("Hello & Goodbye", None)
        );
        let after = feed().await;
        assert_ne!(before, after);
        assert!(
            after.contains("Hello &amp; Goodbye") && after.contains("https://example.com/hello"),
            "{after}"
        );
        // A body without package_group leaves a paid extension paid.
        app.paid_group("pro", 9).await;
        let v: ExtensionView = app.call(Method::PATCH, ext, &in_group(Some("pro"))).await;
        assert_eq!(v.package_group.as_deref(), Some("pro"));
        let no_description = ExtensionPatch {
            description: Some(None),
            ..ExtensionPatch::default()
        };
        let v: ExtensionView = app.call(Method::PATCH, ext, &no_description).await;
        assert_eq!(
            (v.package_group.as_deref(), v.description),
            (Some("pro"), None)
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
