//! Publishing through the API, and everything it must refuse without storing anything.

use depot_api::{ErrorBody, PublishOutcome, PublishedRelease};
use tokio::io::AsyncWriteExt;

use crate::db_test;
use crate::helpers::*;

async fn error_of(r: reqwest::Response) -> (u16, String, String) {
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    let body: ErrorBody = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("status {status}: not a JSON error body: {text}"));
    let e = body.errors.into_iter().next().expect("an error");
    (status, e.code, e.detail)
}

/// Rewrites an entry name in the raw archive (local header and central directory), to make
/// names a zip writer would refuse to write.
fn with_raw_name(mut zip: Vec<u8>, from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut i = 0;
    let mut n = 0;
    while i + from.len() <= zip.len() {
        if &zip[i..i + from.len()] == from.as_bytes() {
            zip[i..i + from.len()].copy_from_slice(to.as_bytes());
            n += 1;
        }
        i += 1;
    }
    assert_eq!(n, 2, "name found in both headers");
    zip
}

/// Nothing stored and no extension created.
async fn assert_nothing_stored(app: &TestApp) {
    assert!(app.stored_files().is_empty(), "{:?}", app.stored_files());
    assert!(app.depot().store().extensions().await.unwrap().is_empty());
}

db_test!(republishing, |app: TestApp| async move {
    let zip = plugin_zip("1.0.0", "a");
    let r = app
        .upload("plg_system_hello", "1.0.0", zip.clone(), "joomla=4.4,5,6")
        .await;
    assert_eq!(r.status(), 201);
    let body: PublishedRelease = r.json().await.unwrap();
    assert_eq!(body.outcome, PublishOutcome::Created);
    assert_eq!(body.joomla, "4.4,5,6");
    assert_eq!(body.joomla_source, "request");
    assert_eq!(body.sha256, sha256_hex(&zip));
    assert_eq!(body.package_id, "plg_system_hello_1.0.0");

    // The same bytes again: a no-op.
    let r = app
        .upload("plg_system_hello", "1.0.0", zip.clone(), "")
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<PublishedRelease>().await.unwrap().outcome,
        PublishOutcome::Unchanged
    );
    // Other bytes for a published version: refused.
    let (status, code, _) = error_of(
        app.upload("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "b"), "")
            .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (409, "conflict"));
    assert_eq!(app.stored_files().len(), 1);

    // Without targets, the extension's default applies and the answer says so.
    let body = app
        .publish(
            "plg_system_hello",
            "1.1.0-rc1",
            plugin_zip("1.1.0-rc1", "c"),
            "",
        )
        .await;
    assert_eq!(body.joomla, "4,5,6");
    assert_eq!(body.joomla_source, "extension default");
    assert_eq!(body.stability, "rc");
});

db_test!(drafts_can_be_replaced, |app: TestApp| async move {
    app.publish(
        "plg_system_hello",
        "2.0.0",
        plugin_zip("2.0.0", "a"),
        "draft=true",
    )
    .await;
    let r = app
        .upload("plg_system_hello", "2.0.0", plugin_zip("2.0.0", "b"), "")
        .await;
    assert_eq!(r.status(), 200);
    let body: PublishedRelease = r.json().await.unwrap();
    assert_eq!(body.outcome, PublishOutcome::Replaced);
    assert_eq!(body.state, "published");
    assert_eq!(
        app.stored_files().len(),
        1,
        "the replaced draft's file is removed"
    );
    let xml = app.text("/updates/plg_system_hello.xml").await;
    assert!(xml.contains(&sha256_hex(&plugin_zip("2.0.0", "b"))));
});

db_test!(manifest_inside_a_single_folder, |app: TestApp| async move {
    let body = app
        .publish("com_widgets", "1.0.0", component_zip("1.0.0"), "")
        .await;
    assert_eq!(body.client, "administrator");
    assert_eq!(body.kind, "component");
});

db_test!(
    bad_packages_are_refused_and_nothing_is_stored,
    |app: TestApp| async move {
        let manifest = plugin_manifest("1.0.0");
        let bomb = vec![0u8; 8 << 20];
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not a zip", b"this is not a zip".to_vec(), "not_a_zip"),
        ("no manifest", zip_of(&[("readme.txt", b"hi")]), "no_manifest"),
        (
            "two manifests",
            zip_of(&[("a.xml", manifest.as_bytes()), ("b.xml", manifest.as_bytes())]),
            "multiple_manifests",
        ),
        (
            "malformed manifest",
            zip_of(&[("hello.xml", b"<extension type=\"plugin\" group=\"system\"><name>x</name><version>1.0.0</version>")]),
            "malformed_manifest",
        ),
        (
            "lies about its element",
            zip_of(&[("x.xml", manifest.replace("plugin=\"hello\"", "plugin=\"other\"").as_bytes())]),
            "manifest_mismatch",
        ),
        (
            "lies about its version",
            zip_of(&[("x.xml", plugin_manifest("1.0.1").as_bytes())]),
            "manifest_mismatch",
        ),
        (
            "path traversal",
            with_raw_name(zip_of(&[("hello.xml", manifest.as_bytes()), ("AA/AA/evil.php", b"<?php")]), "AA/AA/", "../../"),
            "unsafe_path",
        ),
        (
            "absolute path",
            with_raw_name(zip_of(&[("hello.xml", manifest.as_bytes()), ("Xetc/evil", b"x")]), "Xetc", "/etc"),
            "unsafe_path",
        ),
        (
            "zip bomb",
            zip_of(&[("hello.xml", manifest.as_bytes()), ("zeros.bin", &bomb)]),
            "zip_bomb",
        ),
        (
            // A small entry and a big one under one name: the big one would go unchecked.
            "a name twice",
            with_raw_name(
                zip_of(&[("hello.xml", manifest.as_bytes()), ("a.bin", b"a"), ("b.bin", &bomb)]),
                "b.bin",
                "a.bin",
            ),
            "duplicate_entry",
        ),
        (
            "a control character in a name",
            with_raw_name(zip_of(&[("hello.xml", manifest.as_bytes()), ("aXb.php", b"x")]), "aXb", "a\u{1}b"),
            "unsafe_path",
        ),
        (
            "v prefix in the manifest",
            zip_of(&[("x.xml", plugin_manifest("v1.0.0").as_bytes())]),
            "manifest_bad_version",
        ),
    ];
        for (what, zip, code) in cases {
            eprintln!("case: {what}");
            let (status, got, detail) =
                error_of(app.upload("plg_system_hello", "1.0.0", zip, "").await).await;
            assert_eq!((status, got.as_str()), (422, code), "{what}: {detail}");
            assert!(!detail.is_empty());
            assert_nothing_stored(&app).await;
        }
        // Bad parameters.
        let good = plugin_zip("1.0.0", "a");
        for (ext, version, query, code) in [
            ("plg_system_hello", "v1.0.0", "", "bad_version"),
            (
                "plg_system_hello",
                "1.0.0",
                "joomla=2,5",
                "bad_joomla_targets",
            ),
            (
                "plg_system_hello",
                "1.0.0",
                "php_minimum=8.x",
                "bad_php_minimum",
            ),
            ("plg_system_hello", "1.0.0", "draft=maybe", "bad_draft"),
            ("plg_system_hello", "1.0.0", "unknown=1", "bad_query"),
            ("xyz_hello", "1.0.0", "", "bad_extension_name"),
            ("Hello", "1.0.0", "", "bad_extension_name"),
        ] {
            eprintln!("case: {ext} {version} {query}");
            let (status, got, detail) =
                error_of(app.upload(ext, version, good.clone(), query).await).await;
            assert_eq!(
                (status, got.as_str()),
                (400, code),
                "{ext} {version} {query}: {detail}"
            );
            assert_nothing_stored(&app).await;
        }
        let (status, got, _) = error_of(
            app.upload(
                "plg_system_hello",
                "1.0.0-beta1",
                plugin_zip("1.0.0-beta1", "a"),
                "stability=stable",
            )
            .await,
        )
        .await;
        assert_eq!((status, got.as_str()), (400, "bad_stability"));
        let (status, got, _) = error_of(
            app.upload("plg_system_hello", "1.0.0", Vec::new(), "")
                .await,
        )
        .await;
        assert_eq!((status, got.as_str()), (400, "empty_body"));
        assert_nothing_stored(&app).await;
    }
);

db_test!(package_limits_and_damage_are_refused, db => |db: Db| async move {
    let app = TestApp::spawn_with(db, |s| {
        s.limits.max_zip_entries = 3;
        s.limits.max_unpacked_bytes = 64 << 10;
    })
    .await;
    let manifest = plugin_manifest("1.0.0");
    let noise: Vec<u8> = (0..70_000).map(|_| rand::random::<u8>()).collect();
    let mut damaged = zip_stored(&[("hello.xml", manifest.as_bytes()), ("a.txt", b"hello, world")]);
    let at = damaged.windows(12).position(|w| w == b"hello, world").unwrap();
    damaged[at] = b'j';
    let component = r#"<?xml version="1.0"?><extension type="component"><name>Hello</name><element>com_hello</element><version>1.0.0</version></extension>"#;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "four entries, three allowed",
            zip_of(&[("hello.xml", manifest.as_bytes()), ("a", b"a"), ("b", b"b"), ("c", b"c")]),
            "too_many_entries",
        ),
        (
            "70 kB of noise, 64 KiB allowed",
            zip_of(&[("hello.xml", manifest.as_bytes()), ("noise.bin", &noise)]),
            "unpacked_too_large",
        ),
        ("a checksum that does not match", damaged, "corrupt_entry"),
        (
            "a component uploaded as a plugin",
            zip_of(&[("hello.xml", component.as_bytes())]),
            "manifest_mismatch",
        ),
    ];
    for (what, zip, code) in cases {
        let (status, got, detail) =
            error_of(app.upload("plg_system_hello", "1.0.0", zip, "").await).await;
        assert_eq!((status, got.as_str()), (422, code), "{what}: {detail}");
        assert_nothing_stored(&app).await;
    }
    // Within every limit, the same server takes the package.
    let r = app
        .upload("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "a"), "")
        .await;
    assert_eq!(r.status(), 201);
});

/// A zip whose entries are stored as they are (no compression), so their bytes can be found.
fn zip_stored(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in entries {
        w.start_file(*name, opts).unwrap();
        std::io::Write::write_all(&mut w, data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_interrupted_uploads_leave_nothing() {
    let app = TestApp::spawn_with(Db::Sqlite, |s| s.limits.max_upload_bytes = 4096).await;
    let noise: String = (0..20_000)
        .map(|_| char::from(b'a' + rand::random::<u8>() % 26))
        .collect();
    let big = plugin_zip("1.0.0", &noise);
    // Declared too large: refused before reading.
    let (status, code, _) = error_of(
        app.upload("plg_system_hello", "1.0.0", big.clone(), "")
            .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (413, "too_large"));
    // Streamed without a length: cut off once past the limit.
    let body = reqwest::Body::wrap_stream(futures::stream::iter(
        big.chunks(1000)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    ));
    let r = app
        .client
        .put(app.url("/api/v1/extensions/plg_system_hello/releases/1.0.0"))
        .bearer_auth(&app.admin_token)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_nothing_stored(&app).await;

    // A client that dies half way through its body.
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "PUT /api/v1/extensions/plg_system_hello/releases/1.0.0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Length: 4000\r\n\r\n",
        app.admin_token
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&[0u8; 1500]).await.unwrap();
    drop(s);
    // Nothing to wait for but the server noticing the dead connection.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_nothing_stored(&app).await;
}

db_test!(tokens_are_checked, |app: TestApp| async move {
    let zip = plugin_zip("1.0.0", "a");
    let r = app
        .client
        .put(app.url("/api/v1/extensions/plg_system_hello/releases/1.0.0"))
        .body(zip.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let (status, _, _) = error_of(
        app.upload_as(
            "depot_not-a-real-token",
            "plg_system_hello",
            "1.0.0",
            zip.clone(),
            "",
        )
        .await,
    )
    .await;
    assert_eq!(status, 401);
    let (_, read) = app
        .depot()
        .create_token(
            &depot_service::Actor::system("test"),
            "reader",
            &depot_service::Scope::Read,
        )
        .await
        .unwrap();
    let (status, code, _) = error_of(
        app.upload_as(&read, "plg_system_hello", "1.0.0", zip.clone(), "")
            .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (403, "forbidden"));
    let scoped = depot_service::Scope::Publish(Some(vec!["com_widgets".into()]));
    let (_, ci) = app
        .depot()
        .create_token(&depot_service::Actor::system("test"), "ci", &scoped)
        .await
        .unwrap();
    let (status, _, _) = error_of(
        app.upload_as(&ci, "plg_system_hello", "1.0.0", zip.clone(), "")
            .await,
    )
    .await;
    assert_eq!(status, 403);
    let r = app
        .upload_as(&ci, "com_widgets", "1.0.0", component_zip("1.0.0"), "")
        .await;
    assert_eq!(r.status(), 201);
});

db_test!(multipart_upload_with_notes, |app: TestApp| async move {
    let zip = plugin_zip("1.0.0", "a");
    let form = reqwest::multipart::Form::new()
        .text("joomla", "5")
        .text("notes", "## Added\n- multipart uploads")
        .part(
            "file",
            reqwest::multipart::Part::bytes(zip).file_name("x.zip"),
        );
    let r = app
        .client
        .put(app.url("/api/v1/extensions/plg_system_hello/releases/1.0.0"))
        .bearer_auth(&app.admin_token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let log = app.text("/changelogs/plg_system_hello.xml").await;
    assert!(
        log.contains("<addition>\n      <item>multipart uploads</item>"),
        "{log}"
    );
    let form = reqwest::multipart::Form::new().text("joomla", "5");
    let r = app
        .client
        .put(app.url("/api/v1/extensions/plg_system_hello/releases/1.0.1"))
        .bearer_auth(&app.admin_token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await.1, "missing_file");
});
