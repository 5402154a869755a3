//! `depot backup` and `depot restore`, through the binary: a restored instance serves the same
//! feeds, downloads and signatures byte for byte, and the keys customers hold keep working.

use std::path::Path;

use crate::db_test;
use crate::helpers::*;

const FREE: &str = "/download/plg_system_hello/1.1.0/plg_system_hello-1.1.0.zip";
const PAID: &str = "/download/com_redj/2.0.0/com_redj-2.0.0.zip";
const FEEDS: [&str; 3] = [
    "/updates/plg_system_hello.xml",
    "/updates/com_redj.xml",
    "/changelogs/plg_system_hello.xml",
];

/// Runs `depot ARGS` against a database and data directory; returns (success, stdout, stderr).
fn depot_on(database_url: &str, data_dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = depot()
        .args(args)
        .env("DEPOT_DATABASE_URL", database_url)
        .env("DEPOT_DATA_DIR", data_dir)
        .output()
        .expect("depot");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn catalogue(app: &TestApp) -> String {
    for (version, salt) in [("1.0.0", "a"), ("1.1.0", "b")] {
        app.publish("plg_system_hello", version, plugin_zip(version, salt), "")
            .await;
    }
    let key = app
        .subscriber_with_key("customer@example.com", "pro", 10)
        .await
        .key;
    app.publish_paid_redj("pro").await;
    assert_eq!(app.get(&format!("{PAID}?dlid={key}")).await.status(), 200);
    key
}

/// What a site sees, with the instance's own address taken out (the two instances differ in
/// port).
async fn seen(app: &TestApp, key: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for feed in FEEDS {
        out.push(app.text(feed).await.replace(&app.base, "BASE").into_bytes());
    }
    out.push(app.bytes_at(&app.url(FREE)).await);
    // Signed by the same key: the backup carries it.
    out.push(app.text("/signing-key.pub").await.into_bytes());
    out.push(app.text(&format!("{FREE}.minisig")).await.into_bytes());
    let paid = app.get(&format!("{PAID}?dlid={key}")).await;
    assert_eq!(paid.status(), 200, "the customer's key");
    out.push(paid.bytes().await.unwrap().to_vec());
    out
}

db_test!(backup_and_restore_round_trip, db => |db: Db| async move {
    let fresh = Db::fresh_like(&db).await;
    let app = TestApp::spawn(db).await;
    let key = catalogue(&app).await;
    let before = seen(&app, &key).await;
    app.flush_events().await;
    let users_before: depot_api::Items<depot_api::UserView> = app.read("/users").await;

    // Taken while the server runs.
    let backup = app.dir.path().join("backup");
    let backup_str = backup.to_str().unwrap();
    let url = app.settings.database_url();
    let (ok, stdout, stderr) =
        depot_on(&url, &app.settings.data_dir, &["backup", backup_str]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("package files (copied)"), "{stdout}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(backup.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["packages"].as_array().unwrap().len(), 3);
    assert!(manifest["tables"]["download_events"].as_u64().unwrap() >= 1);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(backup.join("secret")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the secret is owner-only");
        let mode = std::fs::metadata(backup.join("signing.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the signing key is owner-only");
    }
    // Never over an earlier backup.
    let (ok, _, stderr) = depot_on(&url, &app.settings.data_dir, &["backup", backup_str]);
    assert!(!ok && stderr.contains("not empty"), "{stderr}");

    // Into a new instance: an empty database and data directory.
    let restored_dir = tempfile::tempdir().unwrap();
    let data = restored_dir.path().join("data");
    let fresh_url = fresh.url(restored_dir.path());
    let (ok, stdout, stderr) = depot_on(&fresh_url, &data, &["restore", backup_str]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("restored"), "{stdout}");
    // Once is enough: the database is no longer empty, and nothing changes.
    let (ok, _, stderr) = depot_on(&fresh_url, &data, &["restore", backup_str]);
    assert!(!ok && stderr.contains("not empty"), "{stderr}");

    let restored = TestApp::spawn_with(fresh, |s| {
        s.data_dir = data.clone();
        s.database_url = Some(fresh_url.clone());
    })
    .await;
    assert_eq!(seen(&restored, &key).await, before, "feeds and downloads byte for byte");
    let users_after: depot_api::Items<depot_api::UserView> = restored.read("/users").await;
    assert_eq!(users_after.items, users_before.items);
    // New rows continue after the restored ids.
    restored
        .publish("plg_system_hello", "1.2.0", plugin_zip("1.2.0", "c"), "")
        .await;
    assert!(restored.audit_actions("").await.contains(&"backup.restored".to_string()));
    drop(app);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_backup_restores_nothing() {
    let app = TestApp::spawn(Db::Sqlite).await;
    catalogue(&app).await;
    let backup = app.dir.path().join("backup");
    let url = app.settings.database_url();
    let (ok, _, stderr) = depot_on(
        &url,
        &app.settings.data_dir,
        &["backup", backup.to_str().unwrap()],
    );
    assert!(ok, "{stderr}");
    // One package file changed after the backup.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(backup.join("manifest.json")).unwrap()).unwrap();
    let key = manifest["packages"][0]["key"].as_str().unwrap();
    std::fs::write(backup.join("packages").join(key), b"not the package").unwrap();

    let target = tempfile::tempdir().unwrap();
    let data = target.path().join("data");
    let target_url = Db::Sqlite.url(target.path());
    let (ok, _, stderr) = depot_on(&target_url, &data, &["restore", backup.to_str().unwrap()]);
    assert!(
        !ok && stderr.contains("does not match its hash"),
        "{stderr}"
    );
    let (ok, _, stderr) = depot_on(
        &target_url,
        &data,
        &["restore", app.dir.path().join("nowhere").to_str().unwrap()],
    );
    assert!(!ok && stderr.contains("not a finished backup"), "{stderr}");
    // The target is still empty: a correct backup restores into it.
    std::fs::remove_dir_all(&backup).unwrap();
    let (ok, _, stderr) = depot_on(
        &url,
        &app.settings.data_dir,
        &["backup", backup.to_str().unwrap()],
    );
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = depot_on(&target_url, &data, &["restore", backup.to_str().unwrap()]);
    assert!(ok, "{stderr}");
}
