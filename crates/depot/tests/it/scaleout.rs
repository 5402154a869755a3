//! Several `depot serve` processes on one PostgreSQL and one package store behave as one: a
//! publish through one is in the other's feeds within a second, rate limits are shared, an
//! instance killed right after acknowledging writes loses none of them, and a key revoked
//! through one is refused by the other within a second.

use std::time::{Duration, Instant};

use depot_api::{
    DownloadKeyView, ExtensionPatch, ExtensionView, GroupView, Items, MembershipView, NewGroup,
    NewKey, NewMembership, NewPackageGroup, PackageGroupView, UserView,
};
use reqwest::Method;

use crate::helpers::*;

async fn put(
    client: &reqwest::Client,
    server: &ServeProcess,
    token: &str,
    ext: &str,
    version: &str,
    zip: Vec<u8>,
) {
    let r = client
        .put(server.url(&format!("/api/v1/extensions/{ext}/releases/{version}")))
        .bearer_auth(token)
        .body(zip)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "publish {version}: {}", r.status());
}

/// An admin API call that must succeed on `server`, its answer as `R`.
async fn call<R: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    server: &ServeProcess,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: &impl serde::Serialize,
) -> R {
    let r = client
        .request(method, server.url(&format!("/api/v1{path}")))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

/// Waits until the feed at `url` lists `version`, at most a second after `written`.
async fn wait_for_version(client: &reqwest::Client, url: &str, version: &str, written: Instant) {
    let needle = format!("<version>{version}</version>");
    let took = within_a_second(written, &format!("{version} in {url}"), || async {
        let xml = client.get(url).send().await.unwrap().text().await.unwrap();
        xml.contains(&needle)
    })
    .await;
    eprintln!("{url} listed {version} {took:?} after the write");
}

/// Two `depot serve` processes on one PostgreSQL, one package store and one secret, as behind a
/// load balancer.
struct Pair {
    a: ServeProcess,
    b: ServeProcess,
    token: String,
    client: reqwest::Client,
    dir_a: std::path::PathBuf,
    shared: std::path::PathBuf,
    env: Vec<(&'static str, String)>,
}

impl Pair {
    async fn start(db: &Db, dir: &std::path::Path) -> Pair {
        let (dir_a, dir_b) = (dir.join("a"), dir.join("b"));
        std::fs::create_dir_all(&dir_a).unwrap();
        std::fs::create_dir_all(&dir_b).unwrap();
        let shared = dir.join("shared");
        let env = vec![
            ("DEPOT_DATABASE_URL", db.url(dir)),
            ("DEPOT_DATA_DIR", shared.display().to_string()),
            (
                "DEPOT_SECRET",
                "a-shared-secret-of-at-least-32-characters".to_string(),
            ),
            // A mail A claimed just before it was killed is B's after the lease: keep it short.
            ("DEPOT_MAIL__TIMEOUT_SECS", "2".to_string()),
            ("DEPOT_MAIL__LEASE_SECS", "5".to_string()),
        ];
        let a = spawn(&dir_a, &env).await;
        let token = a.token.clone().expect("the first start prints a token");
        let b = spawn(&dir_b, &env).await;
        assert!(
            b.token.is_none(),
            "a second instance finds the token the first made"
        );
        Pair {
            a,
            b,
            token,
            client: reqwest::Client::new(),
            dir_a,
            shared,
            env,
        }
    }

    /// A again, in its own folder, on the shared database and storage.
    async fn start_a(&self) -> ServeProcess {
        spawn(&self.dir_a, &self.env).await
    }

    fn feed_b(&self) -> String {
        self.b.url("/updates/plg_system_hello.xml")
    }
}

async fn spawn(dir: &std::path::Path, env: &[(&'static str, String)]) -> ServeProcess {
    let (dir, env) = (dir.to_path_buf(), env.to_vec());
    tokio::task::spawn_blocking(move || ServeProcess::spawn(&dir, &env))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgres_behave_as_one() {
    let Some(db) = Db::postgres().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut p = Pair::start(&db, dir.path()).await;
    a_publish_reaches_the_other_feed(&p).await;
    rate_limits_are_shared(&p).await;
    acknowledged_writes_survive_a_crash(&mut p).await;
    a_revocation_reaches_the_other_instance(&p).await;
    p.a.stop();
    p.b.stop();
}

/// A publish through A reaches B's cached feed within a second.
async fn a_publish_reaches_the_other_feed(p: &Pair) {
    put(
        &p.client,
        &p.a,
        &p.token,
        "plg_system_hello",
        "1.0.0",
        plugin_zip("1.0.0", "a"),
    )
    .await;
    let xml = p
        .client
        .get(p.feed_b())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(xml.contains("<version>1.0.0</version>"), "{xml}");
    put(
        &p.client,
        &p.a,
        &p.token,
        "plg_system_hello",
        "1.0.1",
        plugin_zip("1.0.1", "b"),
    )
    .await;
    wait_for_version(&p.client, &p.feed_b(), "1.0.1", Instant::now()).await;
}

/// Rate limits are shared across instances.
async fn rate_limits_are_shared(p: &Pair) {
    // Rate limits are shared: five keybyauth attempts per account and minute, counted
    // across both instances (per process, three each would all pass).
    let group = NewGroup {
        id: 9,
        name: "S".into(),
    };
    let _: GroupView = call(&p.client, &p.a, &p.token, Method::POST, "/groups", &group).await;
    let pro = NewPackageGroup {
        id: "pro".into(),
        groups: vec![9],
        ..NewPackageGroup::default()
    };
    let _: PackageGroupView = call(
        &p.client,
        &p.b,
        &p.token,
        Method::POST,
        "/package-groups",
        &pro,
    )
    .await;
    // The servers run on the system clock, in processes of their own. Six requests that
    // straddle a minute's boundary are counted in two windows: then try again with another
    // account (a fresh count) rather than sleeping to the next minute.
    let minute = || depot_core::Clock::system().now_ms() / 60_000;
    let mut statuses = Vec::new();
    for attempt in 0..3 {
        let (started_in, account) = (minute(), format!("target{attempt}@example.com"));
        statuses.clear();
        for i in 0..6 {
            let server = if i % 2 == 0 { &p.a } else { &p.b };
            let r = p
                .client
                .post(server.url("/post/release/keybyauth/pro"))
                .form(&[
                    ("username", account.as_str()),
                    ("password", "guess-number-x"),
                ])
                .send()
                .await
                .unwrap();
            statuses.push(r.status().as_u16());
        }
        if minute() == started_in {
            break;
        }
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
}

/// Writes A acknowledged survive A's sudden death.
async fn acknowledged_writes_survive_a_crash(p: &mut Pair) {
    let buyer = new_user("buyer@example.com");
    let _: UserView = call(&p.client, &p.a, &p.token, Method::POST, "/users", &buyer).await;
    let membership = NewMembership {
        group: 9,
        from: None,
        until: None,
    };
    let path = "/users/buyer@example.com/memberships";
    let _: MembershipView = call(&p.client, &p.a, &p.token, Method::POST, path, &membership).await;
    put(
        &p.client,
        &p.a,
        &p.token,
        "plg_system_hello",
        "1.0.2",
        plugin_zip("1.0.2", "c"),
    )
    .await;
    let published = Instant::now();
    let r = p
        .client
        .post(p.a.url("/post/release/keybymail/pro"))
        .form(&[("email", "buyer@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    p.a.crash();
    let r = p
        .client
        .get(p.b.url("/api/v1/users/buyer@example.com/memberships"))
        .bearer_auth(&p.token)
        .send()
        .await
        .unwrap();
    let memberships: Items<MembershipView> = r.json().await.unwrap();
    assert!(memberships.items[0].active);
    wait_for_version(&p.client, &p.feed_b(), "1.0.2", published).await;
    let r = p
        .client
        .get(p.b.url("/download/plg_system_hello/1.0.2/plg_system_hello-1.0.2.zip"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.bytes().await.unwrap().as_ref(),
        plugin_zip("1.0.2", "c").as_slice()
    );
    // The mail A queued is delivered by whichever instance gets to it (B polls every 5 s).
    let mail_dir = p.shared.join("mail");
    let started = Instant::now();
    while std::fs::read_dir(&mail_dir).map(|d| d.count()).unwrap_or(0) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the queued mail was lost"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A comes back and serves what it acknowledged before it died.
    p.a = p.start_a().await;
    let xml = p
        .client
        .get(p.a.url("/updates/plg_system_hello.xml"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(xml.contains("<version>1.0.2</version>"));
}

/// Key checks are cached per instance, and a revocation through A reaches B within a second.
async fn a_revocation_reaches_the_other_instance(p: &Pair) {
    // Key checks are cached per instance, and a revocation through A reaches B within a
    // second: the extension becomes paid, B serves it to the buyer's key (and keeps the answer),
    // then A revokes the key.
    let paid_patch = ExtensionPatch {
        package_group: Some(Some("pro".into())),
        ..ExtensionPatch::default()
    };
    let path = "/extensions/plg_system_hello";
    let _: ExtensionView = call(&p.client, &p.a, &p.token, Method::PATCH, path, &paid_patch).await;
    let changed = Instant::now();
    let path = "/users/buyer@example.com/keys";
    let created: DownloadKeyView = call(
        &p.client,
        &p.a,
        &p.token,
        Method::POST,
        path,
        &NewKey::default(),
    )
    .await;
    let download =
        p.b.url("/download/plg_system_hello/1.0.2/plg_system_hello-1.0.2.zip");
    let paid = format!("{download}?dlid={}", created.key);
    let status = |url: String| {
        let client = p.client.clone();
        async move { client.get(url).send().await.unwrap().status().as_u16() }
    };
    // B asks for a key (400, REL_KNS) once A made the extension paid.
    within_a_second(
        changed,
        "B asks for a key once A made the extension paid",
        || {
            let url = download.clone();
            let status = &status;
            async move { status(url).await == 400 }
        },
    )
    .await;
    assert_eq!(status(paid.clone()).await, 200);
    let r = p
        .client
        .delete(p.a.url(&format!(
            "/api/v1/users/buyer@example.com/keys/{}",
            created.id
        )))
        .bearer_auth(&p.token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let revoked = Instant::now();
    let took = within_a_second(revoked, "B refuses the key A revoked", || {
        let url = paid.clone();
        let status = &status;
        async move { status(url).await == 401 }
    })
    .await;
    eprintln!("B refused the key A revoked {took:?} after the revocation");
}
