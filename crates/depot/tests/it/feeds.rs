//! Feeds as the Joomla updater reads them (docs/joomla-client.md Part B).

use crate::db_test;
use crate::helpers::*;

/// Checks every Part B rule the server controls on one extension feed.
fn assert_joomla_rules(xml: &str) {
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"));
    for block in update_blocks(xml) {
        assert_eq!(block.matches("<targetplatform ").count(), 1, "{block}");
        let tp = &block[block.find("<targetplatform ").unwrap()..];
        let tp = &tp[..tp.find("/>").unwrap()];
        assert!(tp.contains("name=\"joomla\""), "{tp}");
        let regex = tp
            .split("version=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert!(!regex.contains('/'), "regex with the delimiter: {regex}");
        assert_eq!(elements(block, "client").len(), 1, "client always present");
        if elements(block, "type") == ["plugin"] {
            assert_eq!(elements(block, "folder").len(), 1, "plugins carry folder");
        }
        for field in [
            "tag",
            "sha256",
            "sha512",
            "php_minimum",
            "version",
            "element",
            "type",
            "client",
        ] {
            for v in elements(block, field) {
                assert_eq!(v, v.trim(), "whitespace inside <{field}>");
                assert!(!v.contains('\n'), "newline inside <{field}>");
            }
        }
        assert_eq!(elements(block, "tag").len(), 1, "exactly one tag");
        for v in elements(block, "version") {
            assert!(!v.starts_with('v') && !v.contains('+'), "bad version {v}");
            let tag = elements(block, "tag")[0];
            let implied = ["dev", "alpha", "beta", "rc"]
                .into_iter()
                .find(|s| v.to_lowercase().contains(&format!("-{s}")))
                .unwrap_or("stable");
            assert_eq!(tag, implied, "tag matches {v}");
        }
        for h in elements(block, "sha256")
            .iter()
            .chain(elements(block, "sha512").iter())
        {
            assert!(
                h.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
                "{h}"
            );
        }
        if regex.starts_with('3') {
            assert!(
                !block.contains("supported_databases"),
                "J3 block with a DB check"
            );
        }
        assert_eq!(
            block
                .matches("<downloadurl type=\"full\" format=\"zip\">")
                .count(),
            1
        );
    }
}

db_test!(feed_follows_the_joomla_rules, |app: TestApp| async move {
    app.publish(
        "plg_system_hello",
        "1.0.0",
        plugin_zip("1.0.0", "a"),
        "joomla=3.10,4,5&php_minimum=7.4&supported_databases=mysql%3D5.7,mariadb%3D10.3,postgresql%3D11&notes=-%20first",
    )
    .await;
    app.publish(
        "plg_system_hello",
        "1.1.0-beta2",
        plugin_zip("1.1.0-beta2", "b"),
        "joomla=5,6",
    )
    .await;
    let xml = app.text("/updates/plg_system_hello.xml").await;
    assert_joomla_rules(&xml);
    let blocks = update_blocks(&xml);
    // 1.1.0-beta2 × {5,6} then 1.0.0 × {3,4,5}: newest first.
    let versions: Vec<&str> = blocks.iter().map(|b| elements(b, "version")[0]).collect();
    assert_eq!(
        versions,
        ["1.1.0-beta2", "1.1.0-beta2", "1.0.0", "1.0.0", "1.0.0"]
    );
    assert!(blocks[0].contains(r#"version="5\.[0-9]+""#));
    assert!(blocks[2].contains(r#"version="3\.10\.[0-9]+""#));
    assert!(blocks[0].contains("<tag>beta</tag>"));
    assert_eq!(
        xml.matches("<supported_databases ").count(),
        2,
        "only J4/J5 blocks of 1.0.0"
    );
    assert!(blocks[2].contains("<php_minimum>7.4</php_minimum>"));
    assert_eq!(elements(blocks[0], "element"), ["hello"]);
    assert_eq!(elements(blocks[0], "folder"), ["system"]);
    assert_eq!(elements(blocks[0], "client"), ["site"]);

    // Each sha256 and sha512 is the hash of the exact bytes its download URL serves: Joomla
    // checks whichever it finds and refuses the update on a mismatch.
    for block in &blocks {
        let url = download_url(block);
        let bytes = app.bytes_at(&url).await;
        assert_eq!(elements(block, "sha256"), [sha256_hex(&bytes)]);
        assert_eq!(elements(block, "sha512"), [sha512_hex(&bytes)]);
    }
});

db_test!(golden_feeds, |app: TestApp| async move {
    app.publish(
        "com_widgets",
        "2.0.0",
        component_zip("2.0.0"),
        "joomla=4.4,5&php_minimum=8.1",
    )
    .await;
    let xml = app.text("/updates/com_widgets.xml").await;
    let sha256 = sha256_hex(&component_zip("2.0.0"));
    let normalised = xml
        .replace(&app.base, "http://depot.test")
        .replace(&sha256, "SHA256");
    let normalised = normalised.replace(&sha512_hex(&component_zip("2.0.0")), "SHA512");
    let golden = include_str!("golden/com_widgets.xml");
    assert_eq!(
        normalised, golden,
        "the feed differs from tests/it/golden/com_widgets.xml"
    );

    let collection = app
        .text("/updates/collection.xml")
        .await
        .replace(&app.base, "http://depot.test");
    assert_eq!(collection, include_str!("golden/collection.xml"));
});

db_test!(drafts_and_yanked_never_appear, |app: TestApp| async move {
    app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "a"), "")
        .await;
    app.publish(
        "plg_system_hello",
        "1.1.0",
        plugin_zip("1.1.0", "b"),
        "draft=true",
    )
    .await;
    let xml = app.text("/updates/plg_system_hello.xml").await;
    assert!(xml.contains("<version>1.0.0</version>"));
    assert!(!xml.contains("1.1.0"), "a draft appeared: {xml}");
    let r = app
        .get("/download/plg_system_hello/1.1.0/plg_system_hello-1.1.0.zip")
        .await;
    assert_eq!(r.status(), 404);

    // Yank 1.0.0 through the store (the API for it comes with the admin issue).
    let ext = app
        .depot()
        .store()
        .extension_by_name("plg_system_hello")
        .await
        .unwrap()
        .unwrap();
    let rel = app
        .depot()
        .store()
        .release(ext.id, "1.0.0")
        .await
        .unwrap()
        .unwrap();
    app.depot()
        .store()
        .set_release_state(rel.release.id, depot_core::ReleaseState::Yanked)
        .await
        .unwrap();
    app.depot().invalidate_catalogue();
    let xml = app.text("/updates/plg_system_hello.xml").await;
    assert!(update_blocks(&xml).is_empty(), "{xml}");
    let collection = app.text("/updates/collection.xml").await;
    assert!(!collection.contains("hello"), "{collection}");
});

db_test!(conditional_requests, |app: TestApp| async move {
    app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "a"), "")
        .await;
    let r = app.get("/updates/plg_system_hello.xml").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/xml; charset=utf-8"
    );
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let lm = r.headers()["last-modified"].to_str().unwrap().to_string();
    let again = |h: &'static str, v: String| {
        let c = app.client.clone();
        let url = app.url("/updates/plg_system_hello.xml");
        async move { c.get(url).header(h, v).send().await.unwrap() }
    };
    let r = again("if-none-match", etag.clone()).await;
    assert_eq!(r.status(), 304);
    assert_eq!(r.headers()["etag"], etag.as_str());
    assert_eq!(
        again("if-none-match", format!("W/{etag}")).await.status(),
        304
    );
    assert_eq!(
        again("if-none-match", "\"other\"".into()).await.status(),
        200
    );
    assert_eq!(again("if-modified-since", lm.clone()).await.status(), 304);
    assert_eq!(
        again("if-modified-since", "Mon, 01 Jan 2001 00:00:00 GMT".into())
            .await
            .status(),
        200
    );

    // A new release changes the feed and its validator at once.
    app.publish("plg_system_hello", "1.0.1", plugin_zip("1.0.1", "b"), "")
        .await;
    let r = again("if-none-match", etag.clone()).await;
    assert_eq!(r.status(), 200);
    assert_ne!(r.headers()["etag"], etag.as_str());
});

db_test!(unknown_and_odd_names, |app: TestApp| async move {
    assert_eq!(app.get("/updates/com_nothing.xml").await.status(), 404);
    assert_eq!(app.get("/updates/com_nothing").await.status(), 404);
    assert_eq!(app.get("/updates/.xml").await.status(), 404);
    assert_eq!(app.get("/changelogs/com_nothing.xml").await.status(), 404);
    assert_eq!(
        app.get("/updates/com_nothing.xml/extension.xml")
            .await
            .status(),
        404
    );
    // An extension with no published release has an empty, valid feed.
    app.publish("com_widgets", "1.0.0", component_zip("1.0.0"), "draft=1")
        .await;
    let xml = app.text("/updates/com_widgets.xml").await;
    assert!(update_blocks(&xml).is_empty());
    assert!(xml.contains("<updates>"));
});

db_test!(changelog_and_collection, |app: TestApp| async move {
    app.publish(
        "plg_system_hello",
        "1.0.0",
        plugin_zip("1.0.0", "a"),
        "joomla=4,5&notes=%23%23%20Fixed%0A-%20a%20%3Cbug%3E%0ASecurity%3A%0A-%20XSS",
    )
    .await;
    app.publish("com_widgets", "2.0.0", component_zip("2.0.0"), "joomla=5")
        .await;
    app.publish(
        "com_widgets",
        "2.1.0-rc1",
        component_zip("2.1.0-rc1"),
        "joomla=5,6",
    )
    .await;
    let log = app.text("/changelogs/plg_system_hello.xml").await;
    assert!(
        log.contains("<fix>\n      <item>a &lt;bug&gt;</item>"),
        "{log}"
    );
    assert!(log.contains("<security>\n      <item>XSS</item>"), "{log}");
    assert!(log.contains("<element>hello</element>"));

    let collection = app.text("/updates/collection.xml").await;
    let entries: Vec<&str> = collection
        .lines()
        .filter(|l| l.contains("<extension "))
        .collect();
    // hello for J5 and J4, widgets 2.0.0 for J5 (the rc is not stable).
    assert_eq!(entries.len(), 3, "{collection}");
    for e in &entries {
        assert!(e.contains(" targetplatformversion=\""), "{e}");
        assert!(e.contains(" client=\""), "{e}");
        assert!(e.contains(" detailsurl=\""), "{e}");
        assert!(
            e.trim().ends_with("/>"),
            "one self-closed element per line: {e}"
        );
        assert!(
            !e.contains("TargetPlatform") && !e.contains("Client="),
            "lower-case attributes"
        );
    }
    assert!(
        entries
            .iter()
            .filter(|e| e.contains("element=\"hello\""))
            .all(|e| e.contains("folder=\"system\""))
    );
    assert!(!collection.contains("2.1.0-rc1"));
});

db_test!(feed_requests_are_counted, |app: TestApp| async move {
    // Feed checks are counted per UTC day: start at a day's start, so that midnight cannot
    // split the counts.
    app.at_window_start(std::time::Duration::from_secs(86_400));
    app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "a"), "")
        .await;
    for ua in [
        "Mozilla/5.0 Joomla!/5.2.1 Joomla",
        "Mozilla/5.0 Joomla!/5.2.1 Joomla",
        "Mozilla/5.0 Joomla!/4.4.9 Joomla",
        "curl/8",
    ] {
        let r = app
            .client
            .get(app.url("/updates/plg_system_hello.xml"))
            .header("user-agent", ua)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    app.flush_events().await;
    let ext = app
        .depot()
        .store()
        .extension_by_name("plg_system_hello")
        .await
        .unwrap()
        .unwrap();
    let counts: Vec<(String, i64)> = app
        .depot()
        .store()
        .feed_checks_of(ext.id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.joomla_version, c.checks))
        .collect();
    assert_eq!(
        counts,
        [
            ("4.4.9".to_string(), 1),
            ("5.2.1".to_string(), 2),
            ("unknown".to_string(), 1)
        ]
    );
});

db_test!(
    a_second_instance_sees_a_publish_within_a_second,
    |app: TestApp| async move {
        // Another process on the same database and storage: its cache must follow this one's writes.
        let mut settings = app.settings.clone();
        settings.listen = "127.0.0.1:0".into();
        let other = depot::startup::Server::start(&settings).await.unwrap();
        let other_url = format!("http://{}/updates/plg_system_hello.xml", other.addr);
        app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "a"), "")
            .await;
        let first = app.text_at(&other_url).await;
        assert!(first.contains("<version>1.0.0</version>"));
        // Now cached on the other instance; publish again through the first.
        app.publish("plg_system_hello", "1.0.1", plugin_zip("1.0.1", "b"), "")
            .await;
        within_a_second(
            std::time::Instant::now(),
            "the other instance's feed",
            || async {
                app.text_at(&other_url)
                    .await
                    .contains("<version>1.0.1</version>")
            },
        )
        .await;
        other.shutdown().await.unwrap();
    }
);

// Feeds are joined from stored release fragments: a restart (fragments read back from the
// database) serves the same bytes under the same ETag, and a release change shows at once.
db_test!(
    feeds_are_the_same_after_a_restart,
    |app: TestApp| async move {
        let mut app = app;
        for v in ["1.0.0", "1.10.0", "1.9.0", "1.10.1-beta1"] {
            app.publish(
                "plg_system_hello",
                v,
                plugin_zip(v, v),
                "joomla=4,5&notes=-%20a%20fix",
            )
            .await;
        }
        let fetch = |app: &TestApp, path: &'static str| {
            let (client, url) = (app.client.clone(), app.url(path));
            async move {
                let r = client.get(url).send().await.unwrap();
                let etag = r.headers()["etag"].to_str().unwrap().to_string();
                (etag, r.text().await.unwrap())
            }
        };
        const FEED: &str = "/updates/plg_system_hello.xml";
        const CHANGELOG: &str = "/changelogs/plg_system_hello.xml";
        let (etag, feed) = fetch(&app, FEED).await;
        let versions: Vec<&str> = feed
            .match_indices("<version>")
            .map(|(at, _)| &feed[at + 9..at + 9 + feed[at + 9..].find('<').unwrap()])
            .collect();
        // Newest first, one <update> per Joomla major.
        assert_eq!(
            versions,
            [
                "1.10.1-beta1",
                "1.10.1-beta1",
                "1.10.0",
                "1.10.0",
                "1.9.0",
                "1.9.0",
                "1.0.0",
                "1.0.0"
            ]
        );
        let changelog = fetch(&app, CHANGELOG).await;
        app.restart().await;
        assert_eq!(fetch(&app, FEED).await, (etag.clone(), feed.clone()));
        assert_eq!(fetch(&app, CHANGELOG).await, changelog);

        let (status, _) = app
            .api(
                reqwest::Method::PATCH,
                "/extensions/plg_system_hello/releases/1.9.0",
                Some(serde_json::json!({"notes": "- another fix"})),
            )
            .await;
        assert_eq!(status, 200);
        let (etag_after, feed_after) = fetch(&app, FEED).await;
        assert_eq!(feed_after, feed, "notes are not in the update feed");
        assert_eq!(etag_after, etag);
        let (_, changelog_after) = fetch(&app, CHANGELOG).await;
        assert!(changelog_after.contains("another fix"), "{changelog_after}");
        let (status, _) = app
            .api(
                reqwest::Method::PATCH,
                "/extensions/plg_system_hello/releases/1.10.0",
                Some(serde_json::json!({"state": "yanked"})),
            )
            .await;
        assert_eq!(status, 200);
        let (etag_after, feed_after) = fetch(&app, FEED).await;
        assert_ne!(etag_after, etag);
        assert!(!feed_after.contains("<version>1.10.0</version>"));
    }
);

// After a write to a few releases, a feed is patched by them (`feed_changes`) instead of
// reading the order of all: after every kind of write, the patched feed is byte for byte what
// a restarted instance reads in full, and so is one further back than the log reaches.
db_test!(
    patched_feeds_are_the_feeds_read_in_full,
    |app: TestApp| async move {
        let mut app = app;
        for v in ["1.0.0", "1.2.0", "1.1.0"] {
            app.publish("plg_system_hello", v, plugin_zip(v, v), "joomla=4,5")
                .await;
        }
        let fetch_all = |app: &TestApp| {
            let (client, feed, changelog) = (
                app.client.clone(),
                app.url("/updates/plg_system_hello.xml"),
                app.url("/changelogs/plg_system_hello.xml"),
            );
            async move {
                let mut got = Vec::new();
                for url in [feed, changelog] {
                    let r = client.get(url).send().await.unwrap();
                    assert_eq!(r.status(), 200);
                    // (A feed during a rollout is per site: it names no Last-Modified.)
                    let header = |name: &str| {
                        r.headers()
                            .get(name)
                            .map(|v| v.to_str().unwrap().to_string())
                    };
                    let (etag, modified) = (header("etag"), header("last-modified"));
                    got.push((etag, modified, r.text().await.unwrap()));
                }
                got
            }
        };
        fetch_all(&app).await;
        let release = |v: &str| format!("/extensions/plg_system_hello/releases/{v}");
        let steps: Vec<(&str, Option<serde_json::Value>)> = vec![
            ("1.1.0", Some(serde_json::json!({"notes": "- a fix"}))),
            ("1.2.0", Some(serde_json::json!({"state": "yanked"}))),
            ("1.1.5", None),
            ("1.2.0", Some(serde_json::json!({"state": "published"}))),
            ("2.0.0", None),
            ("2.0.0", Some(serde_json::json!({"rollout": "10,100@24h"}))),
            ("1.0.0", Some(serde_json::json!({"notes": null}))),
        ];
        for (version, patch) in steps {
            match &patch {
                Some(body) => {
                    let (status, _) = app
                        .api(
                            reqwest::Method::PATCH,
                            &release(version),
                            Some(body.clone()),
                        )
                        .await;
                    assert_eq!(status, 200, "{version} {body}");
                }
                None => {
                    app.publish(
                        "plg_system_hello",
                        version,
                        plugin_zip(version, version),
                        "",
                    )
                    .await;
                }
            }
            let patched = fetch_all(&app).await;
            app.restart().await;
            assert_eq!(fetch_all(&app).await, patched, "after {version} {patch:?}");
        }
        assert!(
            fetch_all(&app).await[0]
                .2
                .contains("<version>1.1.5</version>")
        );

        // More writes than the log keeps: the order is read in full.
        let id = app
            .depot()
            .store()
            .releases_of(
                app.depot()
                    .store()
                    .extension_by_name("plg_system_hello")
                    .await
                    .unwrap()
                    .unwrap()
                    .id,
            )
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.release.version == "1.1.0")
            .unwrap()
            .release
            .id;
        for n in 0..300 {
            app.depot()
                .store()
                .set_release_notes(id, Some(&format!("- fix {n}")))
                .await
                .unwrap();
        }
        app.depot().invalidate_catalogue();
        let far = fetch_all(&app).await;
        assert!(far[1].2.contains("fix 299"), "{}", far[1].2);
        app.restart().await;
        assert_eq!(fetch_all(&app).await, far);
    }
);

db_test!(
    a_release_that_raises_a_minimum_is_flagged_for_collections,
    |app: TestApp| async move {
        let first = app
            .publish(
                "plg_system_hello",
                "1.0.0",
                plugin_zip("1.0.0", "a"),
                "php_minimum=7.4",
            )
            .await;
        assert!(first.warnings.is_empty(), "{:?}", first.warnings);
        // Same minimum: nothing to say.
        let same = app
            .publish(
                "plg_system_hello",
                "1.1.0",
                plugin_zip("1.1.0", "b"),
                "php_minimum=7.4",
            )
            .await;
        assert!(same.warnings.is_empty(), "{:?}", same.warnings);
        // A beta is not in the collection.
        let beta = app
            .publish(
                "plg_system_hello",
                "2.0.0-beta1",
                plugin_zip("2.0.0-beta1", "c"),
                "php_minimum=8.2",
            )
            .await;
        assert!(beta.warnings.is_empty(), "{:?}", beta.warnings);
        let raised = app
            .publish(
                "plg_system_hello",
                "2.0.0",
                plugin_zip("2.0.0", "d"),
                "php_minimum=8.2&supported_databases=mysql%3D8.0,mariadb%3D10.4",
            )
            .await;
        assert_eq!(raised.warnings.len(), 1, "{:?}", raised.warnings);
        let warning = &raised.warnings[0];
        for words in [
            "2.0.0 raises PHP 7.4 → 8.2",
            "mysql any → 8.0",
            "drops postgresql",
            "over 1.1.0",
            "collection.xml",
            "type=\"extension\"",
            "/updates/plg_system_hello.xml",
        ] {
            assert!(warning.contains(words), "{words:?} in {warning}");
        }
        // The chosen behaviour: the collection keeps offering the newest release (sites that
        // can run it get it), while the extension feed carries each release's minimum, which
        // Joomla checks before it installs.
        let collection = app.text("/updates/collection.xml").await;
        assert!(collection.contains("version=\"2.0.0\""), "{collection}");
        let feed = app.text("/updates/plg_system_hello.xml").await;
        assert!(feed.contains("<php_minimum>8.2</php_minimum>"), "{feed}");
        assert!(feed.contains("<php_minimum>7.4</php_minimum>"), "{feed}");

        // The console says so on the extension's card.
        make_admin(&app, "admin@example.com").await;
        let cookie = session_cookie(&console_sign_in(&app, "admin@example.com", PASSWORD).await);
        let html = browser()
            .get(app.url("/admin/extensions"))
            .header("Cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains("2.0.0 raises PHP 7.4 → 8.2") && html.contains("collection.xml"),
            "{html}"
        );
    }
);

db_test!(
    private_feeds_answer_a_customers_key_only,
    |app: TestApp| async move {
        let key = app
            .subscriber_with_key("ann@example.com", "pro", 7)
            .await
            .key;
        let path = app.publish_paid_redj("pro").await;
        app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "a"), "")
            .await;
        // Public until the package group says otherwise.
        assert_eq!(app.get("/updates/com_redj.xml").await.status(), 200);
        let patch = depot_api::PackageGroupPatch {
            private_feeds: Some(true),
            ..Default::default()
        };
        let view: depot_api::PackageGroupView = app
            .call(reqwest::Method::PATCH, "/package-groups/pro", &patch)
            .await;
        assert!(view.private_feeds);

        // Without a key, or with one that opens nothing, the extension is unknown everywhere.
        for path in [
            "/updates/com_redj.xml",
            "/updates/com_redj.xml?dlid=dkAAAAAAAAAAEAAAAAOHVeHZ9y4BCnwPFDLbkYfg",
            "/changelogs/com_redj.xml",
            "/releases/com_redj/latest.json",
        ] {
            assert_eq!(app.get(path).await.status(), 404, "{path}");
        }
        let collection = app.text("/updates/collection.xml").await;
        assert!(!collection.contains("com_redj"), "{collection}");
        assert!(collection.contains("hello"), "{collection}");
        // A stranger with a valid key of their own sees nothing either.
        let stranger: depot_api::UserView = app
            .call(
                reqwest::Method::POST,
                "/users",
                &new_user("bob@example.com"),
            )
            .await;
        let bob: depot_api::DownloadKeyView = app
            .call(
                reqwest::Method::POST,
                "/users/bob@example.com/keys",
                &depot_api::NewKey::default(),
            )
            .await;
        assert!(stranger.id > 0);
        let r = app
            .get(&format!("/updates/com_redj.xml?dlid={}", bob.key))
            .await;
        assert_eq!(r.status(), 404);

        // The customer's key in the update site's URL: the feed, privately, with the key on
        // the download URL so that Joomla fetches the package with it.
        let r = app.get(&format!("/updates/com_redj.xml?dlid={key}")).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["cache-control"], "private, no-cache");
        let etag = r.headers()["etag"].clone();
        let feed = r.text().await.unwrap();
        let url = download_url(update_blocks(&feed)[0]);
        assert_eq!(url, app.url(&format!("{path}?dlid={key}")));
        assert_eq!(app.get(&format!("{path}?dlid={key}")).await.status(), 200);
        let r = app
            .client
            .get(app.url(&format!("/updates/com_redj.xml?dlid={key}")))
            .header("If-None-Match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304);
        let r = app
            .get(&format!("/releases/com_redj/latest.json?dlid={key}"))
            .await;
        assert_eq!(r.status(), 200);
        let r = app
            .get(&format!("/changelogs/com_redj.xml?dlid={key}"))
            .await;
        assert_eq!(r.status(), 200);
        // The console's snippet says where the key goes.
        let view: depot_api::ExtensionView = app.read("/extensions/com_redj").await;
        assert!(
            view.manifest_snippet.contains("?dlid=KEY"),
            "{}",
            view.manifest_snippet
        );

        // Public again: everyone sees it, the collection lists it.
        let patch = depot_api::PackageGroupPatch {
            private_feeds: Some(false),
            ..Default::default()
        };
        let _: depot_api::PackageGroupView = app
            .call(reqwest::Method::PATCH, "/package-groups/pro", &patch)
            .await;
        assert_eq!(app.get("/updates/com_redj.xml").await.status(), 200);
        assert!(
            app.text("/updates/collection.xml")
                .await
                .contains("com_redj")
        );
    }
);

db_test!(
    a_release_carries_its_security_level,
    |app: TestApp| async move {
        const FEED: &str = "/updates/plg_system_hello.xml";
        let p = app
            .publish(
                "plg_system_hello",
                "1.0.1",
                plugin_zip("1.0.1", "fix"),
                "security=3&joomla=4,5",
            )
            .await;
        assert_eq!(p.version, "1.0.1");
        let feed = app.text(FEED).await;
        // One per `<update>` (one per targeted Joomla major), after the stability tag.
        assert_eq!(
            feed.matches("</tags>\n    <security>3</security>\n")
                .count(),
            2,
            "{feed}"
        );
        let release: depot_api::ReleaseView = app
            .read("/extensions/plg_system_hello/releases/1.0.1")
            .await;
        assert_eq!(release.security, Some(3));

        let path = "/extensions/plg_system_hello/releases/1.0.1";
        let (status, body) = app
            .api(
                reqwest::Method::PATCH,
                path,
                Some(serde_json::json!({"security": 5})),
            )
            .await;
        assert_eq!(
            (status, body["errors"][0]["code"].as_str()),
            (400, Some("bad_security"))
        );
        let (status, body) = app
            .api(
                reqwest::Method::PATCH,
                path,
                Some(serde_json::json!({"security": 1})),
            )
            .await;
        assert_eq!((status, body["security"].as_u64()), (200, Some(1)));
        assert_eq!(
            app.text(FEED)
                .await
                .matches("<security>1</security>")
                .count(),
            2
        );
        let (status, body) = app
            .api(
                reqwest::Method::PATCH,
                path,
                Some(serde_json::json!({"security": null})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("security").is_none(), "{body}");
        assert!(!app.text(FEED).await.contains("<security>"));

        let r = app
            .upload(
                "plg_system_hello",
                "1.0.2",
                plugin_zip("1.0.2", "x"),
                "security=high",
            )
            .await;
        assert_eq!(r.status(), 400);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["code"], "bad_security");
    }
);

db_test!(
    feeds_go_out_compressed_to_clients_that_accept_it,
    |app: TestApp| async move {
        const FEED: &str = "/updates/plg_system_hello.xml";
        for minor in 0..3 {
            let version = format!("1.{minor}.0");
            app.publish(
                "plg_system_hello",
                &version,
                plugin_zip(&version, "z"),
                "joomla=4,5",
            )
            .await;
        }
        let plain = app.get(FEED).await;
        let plain_etag = plain.headers()["etag"].to_str().unwrap().to_string();
        assert!(plain.headers().get("content-encoding").is_none());
        let plain = plain.text().await.unwrap();
        assert!(plain.len() > 1024, "{plain}");

        // gzip, decoded by flate2.
        let r = app
            .client
            .get(app.url(FEED))
            .header("Accept-Encoding", "gzip, deflate")
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["content-encoding"], "gzip");
        assert_eq!(r.headers()["vary"], "Accept-Encoding");
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        assert_eq!(etag, format!("{}-gz\"", plain_etag.trim_end_matches('"')));
        let compressed = r.bytes().await.unwrap();
        assert!(
            compressed.len() < plain.len() / 2,
            "{} bytes",
            compressed.len()
        );
        let mut decoded = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(&compressed[..]),
            &mut decoded,
        )
        .unwrap();
        assert_eq!(decoded, plain);
        // Revalidation with the gzip form's validator, or the plain one's.
        for validator in [&etag, &plain_etag] {
            let r = app
                .client
                .get(app.url(FEED))
                .header("Accept-Encoding", "gzip")
                .header("If-None-Match", validator.as_str())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 304, "{validator}");
        }

        // Brotli, decoded by curl (as a client that asks for it would).
        let url = app.url(FEED);
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new("curl")
                .args([
                    "-sS",
                    "-D",
                    "-",
                    "--compressed",
                    "-H",
                    "Accept-Encoding: br",
                    &url,
                ])
                .output()
        })
        .await
        .unwrap();
        let Ok(out) = out else {
            skip("curl is not installed");
            return;
        };
        let text = String::from_utf8(out.stdout).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(
            head.to_ascii_lowercase().contains("content-encoding: br"),
            "{head}"
        );
        assert_eq!(body, plain);

        // Refused codings, and none asked for, get the document as it is.
        for accept in ["gzip;q=0, br;q=0", "identity", "compress"] {
            let r = app
                .client
                .get(app.url(FEED))
                .header("Accept-Encoding", accept)
                .send()
                .await
                .unwrap();
            assert!(r.headers().get("content-encoding").is_none(), "{accept}");
            assert_eq!(r.text().await.unwrap(), plain);
        }
    }
);
