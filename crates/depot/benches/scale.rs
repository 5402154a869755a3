//! How depot's costs grow with the catalogue and the download log, in process, on SQLite and
//! (when reachable) PostgreSQL:
//!
//! - the feed of an extension with 10 / 100 / 1,000 / 10,000 releases, cold (rendered from the
//!   database) and cached;
//! - the collection feed over 10,000 extensions, cold and cached;
//! - admin download-log queries over 10^4 / 10^5 / 10^6 events.
//!
//! `cargo bench -p depot --bench scale` (bench/run.sh runs it); prints a table and writes
//! `bench/results/scale.json`. Timings are medians of repeated runs.

use std::path::Path;
use std::time::{Duration, Instant};

use depot_core::package::PackageLimits;
use depot_core::{Refusal, ReleaseState, Targets};
use depot_service::{Depot, DownloadLogQuery, MailSettings, Mailer, Secret, Settings};
use depot_storage::{Storage, StorageSettings};
use depot_store::{DownloadEvent, NewArtifact, NewExtension, NewRelease, Store};
use serde_json::{Value, json};
use sqlx::Connection;

const RELEASE_COUNTS: [usize; 4] = [10, 100, 1_000, 10_000];
const EVENT_COUNTS: [usize; 3] = [10_000, 100_000, 1_000_000];
const COLLECTION_SIZE: usize = 10_000;

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

async fn time_ms<F, Fut, T>(reps: usize, mut f: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        std::hint::black_box(f().await);
        times.push(t.elapsed());
    }
    median(times)
}

/// A fresh database: a SQLite file in `dir`, or a new schema on the test PostgreSQL.
async fn database(backend: &str, dir: &Path, name: &str) -> Option<String> {
    match backend {
        "sqlite" => Some(format!(
            "sqlite://{}",
            dir.join(format!("{name}.db")).display()
        )),
        _ => {
            let base = std::env::var("TEST_PG_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let mut conn = sqlx::postgres::PgConnection::connect(&base).await.ok()?;
            let schema = format!("bench_{name}_{}", std::process::id());
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE"
            )))
            .execute(&mut conn)
            .await
            .ok()?;
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(&mut conn)
                .await
                .ok()?;
            Some(format!("{base}?options=-c%20search_path%3D{schema}"))
        }
    }
}

async fn start(url: &str, dir: &Path) -> Depot {
    let store = Store::connect(url).await.expect("database");
    store.migrate().await.expect("migrate");
    let storage = Storage::open(&StorageSettings::default(), dir).expect("storage");
    let mailer = Mailer::from_settings(&MailSettings::default(), dir).expect("mailer");
    let settings = Settings {
        public_url: "https://updates.example.com".into(),
        max_upload_bytes: 1 << 30,
        package_limits: PackageLimits::default(),
        default_targets: "4,5,6".parse::<Targets>().unwrap(),
        collection_name: "bench".into(),
        temp_dir: dir.join("tmp"),
        events_dir: dir.join("events"),
        catalogue_poll: Duration::from_secs(3600),
        secret: Secret::new(&[7u8; 32]),
        signing_key: std::sync::Arc::new(depot_service::SigningKey::generate().unwrap()),
        mail_max_attempts: 1,
        mail_poll: Duration::from_secs(3600),
        mail_lease: Duration::from_secs(120),
        trusted_proxies: Vec::new(),
        shared_keys: Default::default(),
        joomla: None,
        jbackend_base_path: None,
        metrics_token: None,
        sales: Default::default(),
        webhooks: Default::default(),
        customer_mails: Default::default(),
        branding: Default::default(),
    };
    Depot::start(store, storage, mailer, settings)
        .await
        .expect("depot")
}

async fn add_extension(store: &Store, i: usize, releases: usize) -> String {
    let name = format!("plg_system_bench{i}");
    let ext = store
        .create_extension(&NewExtension {
            name: name.clone(),
            element: format!("bench{i}"),
            ext_type: "plugin".into(),
            client: "site".into(),
            folder: "system".into(),
            title: format!("Bench {i}"),
            default_targets: "4,5,6".into(),
            package_group_id: None,
            ecosystem: depot_core::Ecosystem::Joomla,
        })
        .await
        .expect("extension");
    for r in 0..releases {
        let version = format!("{}.{}.{}", 1 + r / 1000, (r / 10) % 100, r % 10);
        let hex = format!("{:064x}", i * 100_000 + r);
        store
            .create_release(
                &NewRelease {
                    extension_id: ext.id,
                    version: version.clone(),
                    stability: depot_core::Stability::Stable,
                    targets: "4,5,6".into(),
                    php_minimum: Some("8.1".into()),
                    supported_databases: None,
                    notes: Some("## Fixed\n- a bug\n## Added\n- a feature".into()),
                    state: ReleaseState::Published,
                    security: None,
                },
                &NewArtifact {
                    package_id: format!("{name}_{version}"),
                    storage_key: format!("packages/{}/{hex}.zip", &hex[..2]),
                    filename: format!("{name}-{version}.zip"),
                    size: 123_456,
                    sha256: hex.clone(),
                    sha384: format!("{hex}{}", &hex[..32]),
                    sha512: format!("{hex}{hex}"),
                    sha1: hex[..40].to_string(),
                    manifest: None,
                    signature: None,
                    platform: String::new(),
                    vendor_signature: None,
                },
            )
            .await
            .expect("release");
    }
    name
}

async fn feeds(backend: &str, dir: &Path, out: &mut Vec<Value>) {
    for n in RELEASE_COUNTS {
        let Some(url) = database(backend, dir, &format!("feed{n}")).await else {
            return;
        };
        let depot = start(&url, dir).await;
        let name = add_extension(depot.store(), 0, n).await;
        // The first render also renders and stores every release's fragments.
        let first = time_ms(1, || async {
            depot.invalidate_catalogue();
            depot.extension_feed(&name).await.unwrap().unwrap()
        })
        .await;
        let cold = time_ms(7, || async {
            depot.invalidate_catalogue();
            depot.extension_feed(&name).await.unwrap().unwrap()
        })
        .await;
        let ext_id = depot
            .store()
            .extension_by_name(&name)
            .await
            .unwrap()
            .unwrap()
            .id;
        // After a change to one release (new notes), whose fragment is rendered again.
        let newest = depot.store().releases_of(ext_id).await.unwrap();
        let newest = newest.iter().map(|r| r.release.id).max().unwrap();
        let mut changed = Vec::new();
        for i in 0..7 {
            let notes = format!("## Fixed\n- bug {i}");
            depot
                .store()
                .set_release_notes(newest, Some(&notes))
                .await
                .unwrap();
            changed.push(
                time_ms(1, || async {
                    depot.invalidate_catalogue();
                    depot.extension_feed(&name).await.unwrap().unwrap()
                })
                .await,
            );
        }
        changed.sort_by(f64::total_cmp);
        let changed = changed[changed.len() / 2];
        // The database's share of the cold time: the query for the fragments' order.
        let read = time_ms(7, || depot.store().fragment_order(ext_id)).await;
        let cached = time_ms(2001, || depot.extension_feed(&name)).await;
        let size = depot
            .extension_feed(&name)
            .await
            .unwrap()
            .unwrap()
            .body
            .len();
        println!(
            "{backend:<8} feed, {n:>6} releases   first {first:>8.2} ms   cold {cold:>8.2} ms (read {read:>7.2} ms)   after a change {changed:>8.2} ms   cached {cached:>8.4} ms   {size} bytes"
        );
        out.push(json!({"backend": backend, "kind": "feed", "releases": n,
            "first_ms": first, "cold_ms": cold, "after_change_ms": changed, "read_ms": read,
            "cached_ms": cached, "bytes": size}));
        depot.shutdown().await;
        depot.store().close().await;
    }
}

async fn collection(backend: &str, dir: &Path, out: &mut Vec<Value>) {
    let Some(url) = database(backend, dir, "collection").await else {
        return;
    };
    let depot = start(&url, dir).await;
    for i in 0..COLLECTION_SIZE {
        add_extension(depot.store(), i, 1).await;
    }
    let cold = time_ms(5, || async {
        depot.invalidate_catalogue();
        depot.collection_feed().await.unwrap()
    })
    .await;
    let cached = time_ms(2001, || depot.collection_feed()).await;
    println!(
        "{backend:<8} collection, {COLLECTION_SIZE} extensions   cold {cold:>8.2} ms   cached {cached:>8.4} ms"
    );
    out.push(
        json!({"backend": backend, "kind": "collection", "extensions": COLLECTION_SIZE,
        "cold_ms": cold, "cached_ms": cached}),
    );
    depot.shutdown().await;
    depot.store().close().await;
}

/// The admin queries timed over the log: what a vendor filters by.
fn log_queries() -> Vec<(&'static str, DownloadLogQuery)> {
    let q = DownloadLogQuery::default;
    vec![
        ("latest page", q()),
        (
            "one extension",
            DownloadLogQuery {
                extension: Some("plg_system_bench0".into()),
                ..q()
            },
        ),
        (
            "one release",
            DownloadLogQuery {
                extension: Some("plg_system_bench3".into()),
                version: Some("1.0.7".into()),
                ..q()
            },
        ),
        (
            "one user",
            DownloadLogQuery {
                user: Some("user17@example.com".into()),
                ..q()
            },
        ),
        (
            "refusals (403)",
            DownloadLogQuery {
                status: Some(403),
                ..q()
            },
        ),
        (
            "one week",
            DownloadLogQuery {
                from: Some("2026-03-01".into()),
                until: Some("2026-03-08".into()),
                ..q()
            },
        ),
    ]
}

async fn events(backend: &str, dir: &Path, out: &mut Vec<Value>) {
    let Some(url) = database(backend, dir, "events").await else {
        return;
    };
    let depot = start(&url, dir).await;
    let store = depot.store();
    // 10 extensions × 10 releases; 1,000 users.
    for i in 0..10 {
        add_extension(store, i, 10).await;
    }
    // A fresh database numbers the 100 artifacts 1 to 100 on both backends.
    let artifacts: Vec<i64> = (1..=100).collect();
    for u in 0..1000 {
        store
            .create_user(&format!("user{u}@example.com"), None)
            .await
            .unwrap();
    }
    let year_start = 1_767_225_600_000_i64; // 2026-01-01
    let mut inserted = 0usize;
    let mut rng = 0x2545f4914f6cdd1d_u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for target in EVENT_COUNTS {
        while inserted < target {
            let batch: Vec<DownloadEvent> = (0..10_000)
                .map(|k| {
                    let r = next();
                    let user = (r % 1000) as i64 + 1;
                    let paid = r % 3 == 0;
                    let status = match r % 50 {
                        0 => 403,
                        1 => 401,
                        _ => 200,
                    };
                    DownloadEvent {
                        // Heavier on the first extension, as downloads are.
                        artifact_id: artifacts
                            [((r >> 8) % 100) as usize / (1 + (r >> 20) % 2) as usize],
                        at: year_start + ((inserted + k) as i64 * 31_536_000_000 / 1_000_000),
                        status,
                        bytes: if status == 200 { 123_456 } else { 0 },
                        ip: Some(format!("203.0.113.{}", r % 250)),
                        user_agent: Some("Mozilla/5.0 Joomla!/5.2.1 Joomla".into()),
                        user_id: paid.then_some(user),
                        key_id: paid.then_some(user),
                        error_code: (status != 200)
                            .then(|| Refusal::NotAuthorised.code().to_string()),
                    }
                })
                .collect();
            store.insert_download_events(&batch).await.unwrap();
            inserted += batch.len();
        }
        let mut worst: f64 = 0.0;
        let mut each = serde_json::Map::new();
        let admin = depot_service::Actor::system("bench");
        for (name, query) in log_queries() {
            let ms = time_ms(7, || depot.download_log(&admin, query.clone())).await;
            worst = worst.max(ms);
            each.insert(name.into(), json!(ms));
            println!("{backend:<8} log, {target:>8} events   {name:<15} {ms:>8.2} ms");
        }
        out.push(
            json!({"backend": backend, "kind": "events", "events": target,
            "worst_ms": worst, "queries": each}),
        );
    }
    depot.shutdown().await;
    depot.store().close().await;
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; a filter argument picks parts (feed, collection, events).
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wants = |part: &str| only.is_empty() || only.iter().any(|o| o == part);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut out = Vec::new();
    for backend in ["sqlite", "postgres"] {
        if backend == "postgres" && database("postgres", dir.path(), "probe").await.is_none() {
            println!("postgres: not reachable (TEST_PG_URL); skipped");
            continue;
        }
        if wants("feed") {
            feeds(backend, dir.path(), &mut out).await;
        }
        if wants("collection") {
            collection(backend, dir.path(), &mut out).await;
        }
        if wants("events") {
            events(backend, dir.path(), &mut out).await;
        }
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/results/scale.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, serde_json::to_string_pretty(&out).unwrap()).unwrap();
    println!("results: {}", path.display());
}
