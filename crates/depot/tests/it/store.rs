//! The store on both databases: the schema, and the methods that the hot paths (feeds,
//! downloads) and the access rules rely on, called directly (HTTP tests reach them only
//! through the layers above).

use depot_core::{ReleaseState, Stability};
use depot_store::{MIGRATIONS, Store};

use crate::db_test;
use crate::helpers::*;

/// The URL of `db`: a fresh SQLite file in `dir`, or the test's PostgreSQL schema.
fn database_url(db: &Db, dir: &std::path::Path) -> String {
    match db {
        Db::Sqlite => format!("sqlite://{}", dir.join("x.db").display()),
        Db::Postgres { base, schema } => format!("{base}?options=-c%20search_path%3D{schema}"),
    }
}

async fn migrations_are_idempotent(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(&db, dir.path());
    let store = Store::connect(&url).await.unwrap();
    let applied = store.migrate().await.unwrap();
    assert_eq!(applied.len(), MIGRATIONS.len());
    assert!(
        store.migrate().await.unwrap().is_empty(),
        "second run applies nothing"
    );
    // Two processes migrating at once (several instances starting together) agree.
    let other = Store::connect(&url).await.unwrap();
    let (a, b) = tokio::join!(store.migrate(), other.migrate());
    assert!(a.unwrap().is_empty() && b.unwrap().is_empty());
    assert_eq!(store.catalogue_generation().await.unwrap(), 0);
    store.close().await;
    other.close().await;
}

/// A depot from before applications (migration 21) upgrades with its files, hashes and
/// signatures in place, and its releases keep one artifact each.
async fn artifacts_survive_the_builds_migration(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(&db, dir.path());
    let store = Store::connect(&url).await.unwrap();
    store.migrate_up_to(21).await.unwrap();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap();
    for statement in [
        "INSERT INTO extensions (name, element, ext_type, client, folder, title, default_targets, \
         created_at, updated_at) VALUES ('plg_system_old', 'old', 'plugin', 'site', 'system', \
         'Old', '4,5', 1, 1)",
        "INSERT INTO releases (extension_id, version, stability, targets, state, published_at, \
         created_at, updated_at) SELECT id, '1.0.0', 'stable', '4,5', 'published', 1, 1, 1 \
         FROM extensions",
        "INSERT INTO artifacts (release_id, package_id, storage_key, filename, size, sha256, \
         sha384, sha512, created_at, sha1) SELECT id, 'old_1.0.0', 'packages/ab/ab.zip', \
         'plg_system_old-1.0.0.zip', 42, 'ab', 'cd', 'ef', 1, 'a1' FROM releases",
        "INSERT INTO signing_keys (key_id, public_key, first_used_at) VALUES ('K', 'pub', 1)",
        "INSERT INTO artifact_signatures (artifact_id, key_id, minisig, signed_at) \
         SELECT id, 'K', 'the signature', 1 FROM artifacts",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
    assert_eq!(store.migrate().await.unwrap().first(), Some(&22));
    let t = store
        .download_target("plg_system_old", "1.0.0", "plg_system_old-1.0.0.zip")
        .await
        .unwrap()
        .expect("the release's file after the upgrade");
    assert_eq!(
        (
            t.artifact.package_id.as_str(),
            t.artifact.size,
            t.artifact.sha1.as_deref(),
            t.artifact.platform.as_str(),
            t.signature.as_deref(),
        ),
        ("old_1.0.0", 42, Some("a1"), "", Some("the signature"))
    );
    assert_eq!(store.releases_of(t.extension_id).await.unwrap().len(), 1);
    store.close().await;
}

db_test!(builds_migration, db => artifacts_survive_the_builds_migration);

db_test!(migrations, db => migrations_are_idempotent);

#[tokio::test]
async fn unsupported_urls_are_named() {
    let e = Store::connect("mysql://root:pw@localhost/x")
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("unsupported database URL") && !msg.contains("pw"),
        "{msg}"
    );
}

db_test!(
    store_download_targets_and_feed_rows,
    |app: TestApp| async move {
        app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "a"), "")
            .await;
        app.publish(
            "plg_system_hello",
            "1.1.0-beta1",
            plugin_zip("1.1.0-beta1", "b"),
            "draft=1",
        )
        .await;
        let store = app.depot().store();

        // A download's one row: the artifact, the release's state, the extension.
        let t = store
            .download_target("plg_system_hello", "1.0.0", "plg_system_hello-1.0.0.zip")
            .await
            .unwrap()
            .expect("the published release");
        assert_eq!(
            (t.extension_name.as_str(), t.version.as_str(), t.state),
            ("plg_system_hello", "1.0.0", ReleaseState::Published)
        );
        assert_eq!(t.artifact.filename, "plg_system_hello-1.0.0.zip");
        assert_eq!(t.artifact.sha256, sha256_hex(&plugin_zip("1.0.0", "a")));
        assert!(t.published_at.is_some() && t.package_group_id.is_none());
        let by_id = store
            .download_target_by_package_id(&t.artifact.package_id)
            .await
            .unwrap()
            .expect("by package id");
        assert_eq!(by_id.release_id, t.release_id);
        // A draft is found (the service refuses it), with its state; unknown names are not.
        let draft = store
            .download_target(
                "plg_system_hello",
                "1.1.0-beta1",
                "plg_system_hello-1.1.0-beta1.zip",
            )
            .await
            .unwrap()
            .expect("the draft");
        assert_eq!(
            (draft.state, draft.published_at),
            (ReleaseState::Draft, None)
        );
        for (ext, version, file) in [
            ("plg_system_hello", "9.9.9", "plg_system_hello-9.9.9.zip"),
            ("plg_system_nope", "1.0.0", "plg_system_nope-1.0.0.zip"),
            // The release exists; the file name must be its file's.
            ("plg_system_hello", "1.0.0", "other.zip"),
        ] {
            let target = store.download_target(ext, version, file).await.unwrap();
            assert!(target.is_none(), "{ext} {version} {file}");
        }
        assert!(
            store
                .download_target_by_package_id("nope")
                .await
                .unwrap()
                .is_none()
        );

        // Feeds read published releases only, with their stability typed.
        const STAMP: &str = "stamp";
        let ext = store
            .extension_by_name("plg_system_hello")
            .await
            .unwrap()
            .expect("the extension");
        let rows = store
            .releases_needing_fragments(ext.id, STAMP)
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].version.as_str(), rows[0].stability),
            ("1.0.0", Stability::Stable)
        );
        assert_eq!(rows[0].sha512, sha512_hex(&plugin_zip("1.0.0", "a")));
        store
            .set_release_state(draft.release_id, ReleaseState::Published)
            .await
            .unwrap();
        let mut rows = store
            .releases_needing_fragments(ext.id, STAMP)
            .await
            .unwrap();
        rows.sort_by_key(|r| r.id);
        assert_eq!(rows[1].stability, Stability::Beta);
        let all = store.all_published_releases().await.unwrap();
        assert_eq!(all.len(), 2);
        // Publishing stamps published_at once; yanking keeps it.
        let published = store
            .download_target(
                "plg_system_hello",
                "1.1.0-beta1",
                "plg_system_hello-1.1.0-beta1.zip",
            )
            .await
            .unwrap()
            .unwrap()
            .published_at;
        assert!(published.is_some());
        store
            .set_release_state(draft.release_id, ReleaseState::Yanked)
            .await
            .unwrap();
        let yanked = store
            .download_target(
                "plg_system_hello",
                "1.1.0-beta1",
                "plg_system_hello-1.1.0-beta1.zip",
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (yanked.state, yanked.published_at),
            (ReleaseState::Yanked, published)
        );
        assert_eq!(
            store
                .releases_needing_fragments(ext.id, STAMP)
                .await
                .unwrap()
                .len(),
            1
        );
        // Only a draft is deleted.
        assert_eq!(store.delete_draft(t.release_id).await.unwrap(), None);
    }
);

db_test!(
    store_generations_follow_their_writes,
    |app: TestApp| async move {
        let store = app.depot().store();
        let before = store.generations().await.unwrap();
        let user = store.create_user("g@example.com", None).await.unwrap();
        let after_access = store.generations().await.unwrap();
        assert!(after_access.access > before.access);
        assert_eq!(after_access.catalogue, before.catalogue);
        app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "a"), "")
            .await;
        let after_catalogue = store.generations().await.unwrap();
        assert!(after_catalogue.catalogue > after_access.catalogue);
        assert_eq!(after_catalogue.access, after_access.access);
        assert_eq!(
            store.catalogue_generation().await.unwrap(),
            after_catalogue.catalogue
        );
        store.set_user_disabled(user.id, true).await.unwrap();
        assert!(store.generations().await.unwrap().access > after_catalogue.access);
    }
);

db_test!(
    store_memberships_keys_and_rate_limits,
    |app: TestApp| async move {
        let store = app.depot().store();
        for (id, name) in [(9, "Subscribers"), (12, "Resellers"), (13, "Other")] {
            store.create_group(id, name).await.unwrap();
        }
        let pro = store
            .create_package_group("pro", "Pro", "SEED", "active", false, &[9, 12])
            .await
            .unwrap();
        let user = store.create_user("m@example.com", None).await.unwrap();

        // Spans of the groups a package group allows, and only those.
        store
            .add_membership(user.id, 9, 1_000, Some(2_000), "test")
            .await
            .unwrap();
        store
            .add_membership(user.id, 12, 3_000, None, "test")
            .await
            .unwrap();
        store
            .add_membership(user.id, 13, 0, None, "test")
            .await
            .unwrap();
        let mut spans = store
            .memberships_for_package_group(user.id, pro.id)
            .await
            .unwrap();
        spans.sort_by_key(|s| s.valid_from);
        let spans: Vec<(i64, Option<i64>)> = spans
            .iter()
            .map(|s| (s.valid_from, s.valid_until))
            .collect();
        assert_eq!(spans, [(1_000, Some(2_000)), (3_000, None)]);
        // Ending a group's memberships at a time ends the open ones and the later-ending ones only.
        assert_eq!(store.end_memberships(user.id, 12, 5_000).await.unwrap(), 1);
        assert_eq!(store.end_memberships(user.id, 9, 5_000).await.unwrap(), 0);
        let ended = store.memberships_of(user.id).await.unwrap();
        assert!(
            ended
                .iter()
                .any(|m| m.group_id == 12 && m.valid_until == Some(5_000))
        );

        // jBackend key versions: 0 until rotated, then counted per user and package group.
        assert_eq!(
            store.jbackend_key_version(user.id, pro.id).await.unwrap(),
            0
        );
        assert_eq!(
            store
                .bump_jbackend_key_version(user.id, pro.id)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .bump_jbackend_key_version(user.id, pro.id)
                .await
                .unwrap(),
            2
        );
        assert_eq!(
            store.jbackend_key_version(user.id, pro.id).await.unwrap(),
            2
        );

        // Download keys: created live, revoked once.
        let key = store.create_download_key(user.id, "site").await.unwrap();
        assert!(key.revoked_at.is_none());
        assert!(store.revoke_download_key(key.id).await.unwrap());
        assert!(!store.revoke_download_key(key.id).await.unwrap());
        let stored = store.download_key(key.id).await.unwrap().unwrap();
        assert!(stored.revoked_at.is_some());

        // Rate-limit windows count apart, and old ones are forgotten.
        for expected in 1..=3 {
            assert_eq!(store.hit_rate_limit("b", 60_000).await.unwrap(), expected);
        }
        assert_eq!(store.hit_rate_limit("b", 120_000).await.unwrap(), 1);
        assert_eq!(store.hit_rate_limit("c", 60_000).await.unwrap(), 1);
        assert_eq!(store.rate_limit_hits("b", 60_000).await.unwrap(), 3);
        store.prune_rate_limits(120_000).await.unwrap();
        assert_eq!(store.rate_limit_hits("b", 60_000).await.unwrap(), 0);
        assert_eq!(store.rate_limit_hits("b", 120_000).await.unwrap(), 1);
    }
);

db_test!(
    fragments_are_ordered_newest_version_first,
    |app: TestApp| async move {
        use depot_store::FeedFragment;
        for v in ["1.0.0", "1.10.0", "1.9.0", "1.10.0-rc1"] {
            app.publish("plg_system_hello", v, plugin_zip(v, v), "")
                .await;
        }
        let store = app.depot().store();
        let ext = store
            .extension_by_name("plg_system_hello")
            .await
            .unwrap()
            .unwrap();
        // Rendered under another stamp (or never): every release needs its fragment.
        let rows = store
            .releases_needing_fragments(ext.id, "s1")
            .await
            .unwrap();
        assert_eq!(rows.len(), 4);
        let fragment = |r: &depot_store::FeedReleaseRow| FeedFragment {
            release_id: r.id,
            extension_id: ext.id,
            release_updated_at: r.updated_at,
            sort_key: depot_core::Version::parse(&r.version).unwrap().sort_key(),
            digest: format!("d{}", r.version.replace('.', "")),
            updates: format!("<{}>", r.version),
            changelog: format!("[{}]", r.version),
        };
        let fragments: Vec<FeedFragment> = rows.iter().map(fragment).collect();
        store.save_fragments("s1", &fragments).await.unwrap();
        assert!(
            store
                .releases_needing_fragments(ext.id, "s1")
                .await
                .unwrap()
                .is_empty()
        );
        let id = |v: &str| rows.iter().find(|r| r.version == v).unwrap().id;
        let order = store.fragment_order(ext.id).await.unwrap();
        let expected: Vec<(i64, String)> = ["1.10.0", "1.10.0-rc1", "1.9.0", "1.0.0"]
            .iter()
            .map(|v| (id(v), format!("d{}", v.replace('.', ""))))
            .collect();
        assert_eq!(order.fragments, expected);
        let mut stored = store
            .fragments_by_release(&[id("1.9.0"), id("1.0.0"), 999_999])
            .await
            .unwrap();
        stored.sort_by_key(|f| f.release_id);
        assert_eq!(stored.len(), 2);
        assert_eq!(
            (stored[0].updates.as_str(), stored[0].changelog.as_str()),
            ("<1.0.0>", "[1.0.0]")
        );

        // A write to a release forgets its fragment; another stamp needs them all again.
        let rc = id("1.10.0-rc1");
        store.set_release_notes(rc, Some("new")).await.unwrap();
        let again = store
            .releases_needing_fragments(ext.id, "s1")
            .await
            .unwrap();
        assert_eq!(again.iter().map(|r| r.id).collect::<Vec<_>>(), vec![rc]);
        assert_eq!(
            store.fragment_order(ext.id).await.unwrap().fragments.len(),
            3
        );
        assert_eq!(
            store
                .releases_needing_fragments(ext.id, "s2")
                .await
                .unwrap()
                .len(),
            4
        );
        // The same questions among a few releases: what a feed is patched with.
        let among = store
            .releases_needing_fragments_among(ext.id, "s1", &[rc, id("1.0.0")])
            .await
            .unwrap();
        assert_eq!(among.iter().map(|r| r.id).collect::<Vec<_>>(), vec![rc]);
        let shown = store
            .fragments_in_feed(ext.id, &[rc, id("1.0.0"), id("1.9.0")])
            .await
            .unwrap();
        let mut shown: Vec<i64> = shown.iter().map(|f| f.release_id).collect();
        shown.sort_unstable();
        let mut expected = vec![id("1.0.0"), id("1.9.0")];
        expected.sort_unstable();
        assert_eq!(
            shown, expected,
            "a release without its fragment is not shown"
        );
        assert!(
            store
                .fragments_in_feed(ext.id + 1, &[id("1.0.0")])
                .await
                .unwrap()
                .is_empty(),
            "another extension's feed"
        );
        // Saving again replaces; a yanked release leaves the order.
        store
            .save_fragments("s1", &[fragment(&again[0])])
            .await
            .unwrap();
        assert_eq!(
            store.fragment_order(ext.id).await.unwrap().fragments.len(),
            4
        );
        store
            .set_release_state(rc, depot_core::ReleaseState::Yanked)
            .await
            .unwrap();
        let order = store.fragment_order(ext.id).await.unwrap();
        let ids: Vec<i64> = order.fragments.iter().map(|(i, _)| *i).collect();
        assert_eq!(ids, vec![id("1.10.0"), id("1.9.0"), id("1.0.0")]);
        // Even with a fragment stored, a yanked release is not in the feed.
        store
            .save_fragments("s1", &[fragment(&again[0])])
            .await
            .unwrap();
        assert!(
            store
                .fragments_in_feed(ext.id, &[rc])
                .await
                .unwrap()
                .is_empty()
        );
    }
);

/// Every write to a release or an artifact moves its extension's `feed_version` (database
/// triggers), and only its own: a feed kept under a version is never older than it claims,
/// whichever code path, instance or hand-run statement wrote.
async fn feed_version_follows_every_release_and_artifact_write(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(&db, dir.path());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap();
    for name in ["plg_system_a", "plg_system_b"] {
        store
            .create_extension(&depot_store::NewExtension {
                name: name.into(),
                element: name.into(),
                ext_type: "plugin".into(),
                client: "site".into(),
                folder: "system".into(),
                title: name.into(),
                default_targets: "4,5".into(),
                package_group_id: None,
                ecosystem: depot_core::Ecosystem::Joomla,
            })
            .await
            .unwrap();
    }
    let versions = || async {
        let a = store
            .extension_by_name("plg_system_a")
            .await
            .unwrap()
            .unwrap();
        let b = store
            .extension_by_name("plg_system_b")
            .await
            .unwrap()
            .unwrap();
        (a.feed_version, b.feed_version)
    };
    let of_a = "(SELECT id FROM extensions WHERE name = 'plg_system_a')";
    let a_id = store
        .extension_by_name("plg_system_a")
        .await
        .unwrap()
        .unwrap()
        .id;
    let mut last = versions().await;
    assert_eq!(last, (0, 0));
    for statement in [
        format!(
            "INSERT INTO releases (extension_id, version, stability, targets, state, \
             published_at, created_at, updated_at) SELECT id, '1.0.0', 'stable', '4,5', \
             'published', 1, 1, 1 FROM extensions WHERE id = {of_a}"
        ),
        "INSERT INTO artifacts (release_id, package_id, storage_key, filename, size, sha256, \
         sha384, sha512, created_at, sha1) SELECT id, 'a_1.0.0', 'packages/ab/ab.zip', \
         'a-1.0.0.zip', 42, 'ab', 'cd', 'ef', 1, 'a1' FROM releases"
            .to_string(),
        "UPDATE artifacts SET size = 43".to_string(),
        "UPDATE releases SET notes = 'fixed'".to_string(),
        "UPDATE releases SET state = 'yanked'".to_string(),
        "DELETE FROM artifacts".to_string(),
        "DELETE FROM releases".to_string(),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
            .execute(&pool)
            .await
            .unwrap();
        let now = versions().await;
        assert!(now.0 > last.0, "{statement}: {last:?} -> {now:?}");
        assert_eq!(now.1, 0, "{statement} moved another extension's feed");
        // Each move names the release written, so a feed can be patched by it alone.
        let release: i64 = sqlx::query_scalar("SELECT MAX(release_id) FROM feed_changes")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(
            store.feed_changes(a_id, last.0, now.0).await.unwrap(),
            Some(vec![release]),
            "{statement}"
        );
        last = now;
    }
    assert_eq!(
        store
            .feed_changes(a_id, 0, last.0)
            .await
            .unwrap()
            .map(|r| r.len()),
        Some(1)
    );
    assert_eq!(
        store.feed_changes(a_id, last.0, last.0 + 1).await.unwrap(),
        None,
        "a move not made"
    );
    assert_eq!(
        store.feed_changes(a_id, last.0 + 1, last.0).await.unwrap(),
        None,
        "a version gone back"
    );

    // The log keeps an extension's last 256 moves: further back, it says so.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO releases (extension_id, version, stability, targets, state, \
         published_at, created_at, updated_at) SELECT id, '2.0.0', 'stable', '4,5', \
         'published', 1, 1, 1 FROM extensions WHERE id = {of_a}"
    )))
    .execute(&pool)
    .await
    .unwrap();
    let before = versions().await.0;
    for n in 0..300 {
        sqlx::query("UPDATE releases SET notes = $1")
            .bind(n.to_string())
            .execute(&pool)
            .await
            .unwrap();
    }
    let now = versions().await.0;
    // (PostgreSQL's trigger moves it once for the old row and once for the new.)
    assert!(now >= before + 300);
    assert_eq!(store.feed_changes(a_id, before, now).await.unwrap(), None);
    let recent = store
        .feed_changes(a_id, now - 200, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(recent.len(), 1);
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM feed_changes")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(kept, 256);
    pool.close().await;
    store.close().await;
}

db_test!(feed_version, db => feed_version_follows_every_release_and_artifact_write);
