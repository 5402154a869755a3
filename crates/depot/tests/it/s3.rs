//! Storage on a real S3-compatible server (s3s-fs, which checks signatures), started by the test.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::helpers::*;

const KEY: &str = "AKIATEST";
const SECRET: &str = "SECRETTEST";

/// The s3s-fs binary: `DEPOT_TEST_S3FS`, `.ci/run`'s install location, or PATH.
fn s3s_fs() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DEPOT_TEST_S3FS") {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let installed = home.join(".local/depot-tools/bin/s3s-fs");
    if installed.exists() {
        return Some(installed);
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| PathBuf::from(d).join("s3s-fs"))
        .find(|p| p.exists())
}

struct S3Server {
    child: Child,
    endpoint: String,
    _root: tempfile::TempDir,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts s3s-fs with a bucket `pkgs`; `None` (skip) when it is not installed (see `helpers::skip`).
async fn start_s3() -> Option<S3Server> {
    let Some(bin) = s3s_fs() else {
        crate::helpers::skip(
            "s3s-fs not installed (cargo install s3s-fs@0.14.1 --features binary)",
        );
        return None;
    };
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("pkgs")).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(bin)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--access-key",
            KEY,
            "--secret-key",
            SECRET,
        ])
        .arg(root.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start s3s-fs");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some(S3Server {
                child,
                endpoint: format!("http://127.0.0.1:{port}"),
                _root: root,
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("s3s-fs did not start");
}

async fn app_on_s3(s3: &S3Server, redirect: bool, secret: &str) -> TestApp {
    let (endpoint, secret) = (s3.endpoint.clone(), secret.to_string());
    TestApp::spawn_with(Db::Sqlite, move |s| {
        s.storage.kind = "s3".into();
        s.storage.endpoint = Some(endpoint);
        s.storage.bucket = Some("pkgs".into());
        s.storage.access_key_id = Some(KEY.into());
        s.storage.secret_access_key = Some(secret);
        s.storage.allow_http = true;
        s.storage.path_style = true;
        s.storage.prefix = Some("depot".into());
        s.storage.redirect = redirect;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_and_stream_from_s3() {
    let Some(s3) = start_s3().await else { return };
    let app = app_on_s3(&s3, false, SECRET).await;
    let noise: String = (0..300_000)
        .map(|_| char::from(b'a' + rand::random::<u8>() % 26))
        .collect();
    let zip = plugin_zip("1.0.0", &noise);
    app.publish("plg_system_hello", "1.0.0", zip.clone(), "")
        .await;
    assert_eq!(app.get("/readyz").await.status(), 200);

    let path = "/download/plg_system_hello/1.0.0/plg_system_hello-1.0.0.zip?dlid=x";
    let r = app.get(path).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"plg_system_hello-1.0.0.zip\""
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), zip.as_slice());
    let r = app
        .client
        .get(app.url(path))
        .header("range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().await.unwrap().as_ref(), &zip[100..200]);
    let r = app
        .client
        .get(app.url(path))
        .header("range", "bytes=-50")
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), &zip[zip.len() - 50..]);

    // Same bytes again: no-op; a refused package leaves nothing in the bucket.
    let r = app
        .upload("plg_system_hello", "1.0.0", zip.clone(), "")
        .await;
    assert_eq!(r.status(), 200);
    let r = app
        .upload("plg_system_hello", "1.0.1", zip_of(&[("x.txt", b"x")]), "")
        .await;
    assert_eq!(r.status(), 422);
    let objects: Vec<_> = walk(&s3._root.path().join("pkgs"));
    assert_eq!(objects.len(), 1, "{objects:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_to_a_presigned_url_with_the_same_disposition() {
    let Some(s3) = start_s3().await else { return };
    let app = app_on_s3(&s3, true, SECRET).await;
    let zip = plugin_zip("1.0.0", "s3");
    app.publish("plg_system_hello", "1.0.0", zip.clone(), "")
        .await;
    let r = app
        .get("/download/plg_system_hello/1.0.0/plg_system_hello-1.0.0.zip?dlid=k")
        .await;
    assert_eq!(r.status(), 302);
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"plg_system_hello-1.0.0.zip\""
    );
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(&s3.endpoint), "{location}");
    assert!(
        location.contains("response-content-disposition="),
        "{location}"
    );
    assert!(location.contains("X-Amz-Expires=300"), "{location}");
    let followed = reqwest::get(&location).await.unwrap();
    assert_eq!(followed.status(), 200);
    // Joomla names the file from the last response's headers: the store must send it too.
    assert_eq!(
        followed.headers()["content-disposition"],
        "attachment; filename=\"plg_system_hello-1.0.0.zip\""
    );
    assert_eq!(followed.bytes().await.unwrap().as_ref(), zip.as_slice());
    // A tampered signature is refused by the store.
    let tampered = location.replace("X-Amz-Signature=", "X-Amz-Signature=0");
    assert!(!reqwest::get(&tampered).await.unwrap().status().is_success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_make_readiness_fail() {
    let Some(s3) = start_s3().await else { return };
    let app = app_on_s3(&s3, false, "wrong-secret").await;
    assert_eq!(app.get("/readyz").await.status(), 503);
    let r = app
        .upload("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "a"), "")
        .await;
    assert_eq!(r.status(), 500);
    // No release without its file: none in the catalogue, none in the feed.
    let (status, releases) = app
        .api(
            reqwest::Method::GET,
            "/extensions/plg_system_hello/releases",
            None,
        )
        .await;
    assert!(
        status == 404 || releases["items"].as_array().is_some_and(Vec::is_empty),
        "{status} {releases}"
    );
    let feed = app.get("/updates/plg_system_hello.xml").await;
    if feed.status() == 200 {
        let body = feed.text().await.unwrap();
        assert!(update_blocks(&body).is_empty(), "{body}");
    } else {
        assert_eq!(feed.status(), 404);
    }
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_on_s3_list_the_objects_and_restore_against_the_bucket() {
    let Some(s3) = start_s3().await else { return };
    let app = app_on_s3(&s3, false, SECRET).await;
    let zip = plugin_zip("1.0.0", "on s3");
    app.publish("plg_system_hello", "1.0.0", zip.clone(), "")
        .await;
    let backup = app.dir.path().join("backup");
    let manifest = depot::backups::backup(&app.settings, &backup)
        .await
        .unwrap();
    assert!(!manifest.packages_copied, "S3 keeps its own copies");
    assert_eq!(manifest.packages.len(), 1);
    assert_eq!(manifest.packages[0].sha256, sha256_hex(&zip));
    assert!(!backup.join("packages").exists());

    // Against another prefix the objects are missing: nothing is restored.
    let target = tempfile::tempdir().unwrap();
    let mut elsewhere = app.settings.clone();
    elsewhere.data_dir = target.path().join("data");
    elsewhere.database_url = Some(Db::Sqlite.url(target.path()));
    elsewhere.storage.prefix = Some("another".into());
    let refused = depot::backups::restore(&elsewhere, &backup)
        .await
        .unwrap_err();
    assert!(
        format!("{refused:#}").contains("not in the configured storage"),
        "{refused:#}"
    );
    // Against the bucket it was made from, it serves the same bytes.
    let mut same = elsewhere.clone();
    same.storage.prefix = app.settings.storage.prefix.clone();
    depot::backups::restore(&same, &backup).await.unwrap();
    let restored = TestApp::spawn_with(Db::Sqlite, move |s| {
        s.storage = same.storage.clone();
        s.data_dir = same.data_dir.clone();
        s.database_url = same.database_url.clone();
    })
    .await;
    let path = "/download/plg_system_hello/1.0.0/plg_system_hello-1.0.0.zip";
    assert_eq!(restored.bytes_at(&restored.url(path)).await, zip);
}

/// What depot reads back out of the bucket after publishing: a rotated signing key re-signs
/// the packages stored there, and a WordPress plugin's icon is read out of its zip.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packages_in_the_bucket_are_re_signed_and_their_images_served() {
    let Some(s3) = start_s3().await else { return };
    let mut app = app_on_s3(&s3, false, SECRET).await;
    let dir = tempfile::tempdir().unwrap();
    let zip = plugin_zip("1.0.0", "in the bucket");
    let published = app
        .publish("plg_system_hello", "1.0.0", zip.clone(), "")
        .await;
    let old_signature = app.text_at(&published.signature_url).await;
    let icon = b"\x89PNG an icon in the bucket".to_vec();
    let header = "<?php\n/**\n * Plugin Name: Bucket Icons\n * Version: 1.0.0\n */\n";
    app.publish(
        "bucket-icons",
        "1.0.0",
        zip_of(&[
            ("bucket-icons/bucket-icons.php", header.as_bytes()),
            ("bucket-icons/.wordpress-org/icon-128x128.png", &icon),
        ]),
        "",
    )
    .await;
    let info: serde_json::Value =
        serde_json::from_str(&app.text("/wordpress/bucket-icons/info.json").await).unwrap();
    let icon_url = info["icons"]["1x"].as_str().expect("the icon's URL");
    assert_eq!(app.bytes_at(icon_url).await, icon);

    let Some((secret, key)) = minisign_key(dir.path(), "vendor") else {
        return;
    };
    app.settings.signing_key = Some(secret);
    app.restart().await;
    let started = std::time::Instant::now();
    let signature = loop {
        let now = app.text_at(&published.signature_url).await;
        if now != old_signature {
            break now;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "never re-signed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let (ok, said) = minisign_verify(dir.path(), &zip, &signature, &key).unwrap();
    assert!(ok, "re-signed from the bucket with the new key: {said}");
}
