//! Faults depot must come back from by itself: a full disk under SQLite, a PostgreSQL outage.
//! Meanwhile feeds and known free downloads keep being served, and what needs the database
//! answers `503` with `Retry-After`, never `500`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::Method;

use crate::helpers::*;

const FEED: &str = "/updates/plg_system_hello.xml";
const DOWNLOAD: &str = "/download/plg_system_hello/1.0.0/plg_system_hello-1.0.0.zip";

/// A small tmpfs, so that the disk can really fill up; unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(bytes: u64) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().expect("tempdir");
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match mounted {
            Ok(out) if out.status.success() => Some(SmallDisk { dir }),
            Ok(out) => {
                skip(&format!(
                    "cannot mount a tmpfs (needs root): {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
                None
            }
            Err(e) => {
                skip(&format!("cannot run mount: {e}"));
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the disk is full; returns it.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).expect("filler");
        let chunk = vec![0u8; 64 << 10];
        while file.write_all(&chunk).is_ok() {}
        // What is left is smaller than a chunk: take it byte by byte.
        while file.write_all(&[0]).is_ok() {}
        let _ = file.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Polls `check` every 100 ms until it holds, for at most `limit`.
async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn add_user(app: &TestApp, email: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&app.admin_token)
        .json(&new_user(email))
        .send()
        .await
        .expect("POST /users")
}

fn assert_unavailable(r: &reqwest::Response, what: &str) {
    assert_eq!(r.status(), 503, "{what}");
    assert_eq!(r.headers()["retry-after"], "5", "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writes_come_back_after_a_full_disk() {
    let Some(disk) = SmallDisk::mount(32 << 20) else {
        return;
    };
    let data = disk.path().join("data");
    let app = TestApp::spawn_with(Db::Sqlite, |s| {
        s.data_dir = data.clone();
        s.database_url = Some(format!("sqlite://{}", data.join("depot.db").display()));
    })
    .await;
    let zip = plugin_zip("1.0.0", "disk");
    app.publish("plg_system_hello", "1.0.0", zip.clone(), "")
        .await;
    let feed = app.text(FEED).await;
    assert_eq!(app.bytes_at(&app.url(DOWNLOAD)).await, zip);
    assert_eq!(add_user(&app, "before@example.com").await.status(), 201);

    let filler = disk.fill();
    // Writes fail as the database's unavailability, not as a server failure; enough of them to
    // use every pooled connection.
    for i in 0..20 {
        let r = add_user(&app, &format!("full{i}@example.com")).await;
        assert_unavailable(&r, "a write on a full disk");
    }
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), 503, "not ready while nothing can be written");
    assert_eq!(r.text().await.unwrap(), "not ready\n");
    // Reading goes on: the feed, the known download.
    assert_eq!(app.text(FEED).await, feed);
    assert_eq!(app.bytes_at(&app.url(DOWNLOAD)).await, zip);

    std::fs::remove_file(filler).unwrap();
    // Without a restart, within a few seconds.
    eventually(
        Duration::from_secs(5),
        "ready after space is freed",
        || async { app.get("/readyz").await.status() == 200 },
    )
    .await;
    assert_eq!(add_user(&app, "after@example.com").await.status(), 201);
    let users: depot_api::Items<depot_api::UserView> = app.read("/users").await;
    let emails: Vec<_> = users.items.iter().map(|u| u.email.as_str()).collect();
    assert!(emails.contains(&"before@example.com") && emails.contains(&"after@example.com"));
    assert!(!emails.iter().any(|e| e.starts_with("full")), "{emails:?}");
    drop(app);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_is_ridden_out() {
    let Some(db) = Db::postgres().await else {
        return;
    };
    let proxy = TcpProxy::start("127.0.0.1:5432").await;
    let app = TestApp::spawn_with(db, |s| {
        let url = s.database_url.take().expect("a PostgreSQL URL");
        s.database_url = Some(url.replace("127.0.0.1:5432", &proxy.addr().to_string()));
    })
    .await;
    let zip = plugin_zip("1.0.0", "outage");
    app.publish("plg_system_hello", "1.0.0", zip.clone(), "")
        .await;
    let feed = app.text(FEED).await;
    assert_eq!(app.bytes_at(&app.url(DOWNLOAD)).await, zip);

    proxy.cut();
    // The feed and the known free file come from memory.
    assert_eq!(app.text(FEED).await, feed);
    assert_eq!(app.bytes_at(&app.url(DOWNLOAD)).await, zip);
    // What needs the database says so, with a time to come back; never a 500.
    let r = add_user(&app, "during@example.com").await;
    assert_unavailable(&r, "an API write");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "unavailable");
    let r = app
        .get("/download/plg_system_hello/9.9.9/plg_system_hello-9.9.9.zip")
        .await;
    assert_unavailable(&r, "an unknown download");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error_code"], "REL_UNA");
    let r = app.get("/get/release/download/pro_100?dlid=x").await;
    assert_unavailable(&r, "an unknown jBackend package");
    let r = app.get("/account/sign-in").await;
    assert_ne!(r.status(), 500);
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.text().await.unwrap(), "not ready\n");

    proxy.restore();
    eventually(
        Duration::from_secs(10),
        "ready after the outage",
        || async { app.get("/readyz").await.status() == 200 },
    )
    .await;
    assert_eq!(add_user(&app, "after@example.com").await.status(), 201);
    let (status, _) = app.api(Method::GET, "/users/after@example.com", None).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_downloads_survive_kill_9() {
    const DOWNLOADS: usize = 200;
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServeProcess::spawn(dir.path(), &[]);
    let token = server.token.clone().expect("first start");
    let client = reqwest::Client::new();
    let zip = plugin_zip("1.0.0", "kill");
    let r = client
        .put(server.url("/api/v1/extensions/plg_system_hello/releases/1.0.0"))
        .bearer_auth(&token)
        .body(zip.clone())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    for _ in 0..DOWNLOADS {
        let r = client.get(server.url(DOWNLOAD)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.bytes().await.unwrap().len(), zip.len());
    }
    // Every download above was answered in full: killed before the next batch write, the
    // process must lose none of them.
    server.crash();
    let restarted = ServeProcess::spawn(dir.path(), &[]);
    restarted.stop();

    let db = format!(
        "sqlite://{}",
        dir.path().join("depot-data/depot.db").display()
    );
    let store = depot_store::Store::connect(&db).await.unwrap();
    let served = store
        .download_log(&depot_store::EventFilter::default(), 10 * DOWNLOADS as i64)
        .await
        .unwrap()
        .into_iter()
        .filter(|row| row.event.status == 200)
        .count();
    assert_eq!(served, DOWNLOADS);
    let left: Vec<_> = std::fs::read_dir(dir.path().join("depot-data/events"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "journal segments left: {left:?}");
}
