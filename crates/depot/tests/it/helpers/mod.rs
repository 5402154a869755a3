//! The test harness: the real server on a real socket, over a fresh database per test.

mod mail;
mod minisign;
mod pages;
mod proxy;

pub use mail::{decoded, keys_in_mail, mailed_link};
pub use minisign::{minisign_key, minisign_sign, minisign_verify};
pub use pages::{PASSWORD, browser, console_sign_in, csrf_of, make_admin, session_cookie};
pub use proxy::TcpProxy;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use depot::config::Settings;
use depot::startup::Server;
use depot_core::Clock;
use depot_service::Scope;
use sqlx::Connection;

/// Declares one test per database backend: `NAME::sqlite` and `NAME::postgres`. The body gets a
/// running `TestApp`, or with `db =>` the fresh database, to start the app its own way.
#[macro_export]
macro_rules! db_test {
    ($name:ident, db => $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)($crate::helpers::Db::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = $crate::helpers::Db::postgres().await else {
                    return;
                };
                ($body)(db).await;
            }
        }
    };
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::helpers::TestApp::spawn($crate::helpers::Db::Sqlite).await;
                ($body)(app).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = $crate::helpers::Db::postgres().await else {
                    return;
                };
                let app = $crate::helpers::TestApp::spawn(db).await;
                ($body)(app).await;
            }
        }
    };
}

/// The variable that turns a missing test service (PostgreSQL, S3, SMTP sink, Chromium,
/// schemathesis) from a skip into a failure. `.ci/run` sets it.
pub const REQUIRE_SERVICES: &str = "DEPOT_TEST_REQUIRE_SERVICES";

static SKIPS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// A test that cannot run because a service is missing: a failure when `REQUIRE_SERVICES` is
/// set, otherwise a skip that is counted and listed once more when the test binary exits, after
/// libtest's own summary, so that it cannot scroll by unseen.
pub fn skip(why: &str) {
    if std::env::var_os(REQUIRE_SERVICES).is_some_and(|v| !v.is_empty() && v != "0") {
        panic!("{why}, and {REQUIRE_SERVICES} requires every test service");
    }
    eprintln!("SKIPPED: {why}");
    let mut skips = SKIPS.lock().unwrap_or_else(|e| e.into_inner());
    if skips.is_empty() {
        // SAFETY: registers a plain `extern "C" fn` with no captured state, once.
        unsafe {
            libc::atexit(print_skips);
        }
    }
    skips.push(why.to_string());
}

extern "C" fn print_skips() {
    let skips = SKIPS.lock().unwrap_or_else(|e| e.into_inner());
    let mut reasons: Vec<&String> = skips.iter().collect();
    reasons.sort();
    reasons.dedup();
    eprintln!();
    eprintln!(
        "SKIPPED: {} test run(s) did not run for a missing service ({REQUIRE_SERVICES}=1 makes that a failure):",
        skips.len()
    );
    for why in reasons {
        let n = skips.iter().filter(|s| *s == why).count();
        eprintln!("  {n} x {why}");
    }
}

pub enum Db {
    Sqlite,
    Postgres { base: String, schema: String },
}

pub fn pg_base_url() -> String {
    std::env::var("TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

impl Db {
    /// A fresh schema on the test PostgreSQL. Skips (returns `None`) when PostgreSQL is not
    /// reachable (see `skip`).
    pub async fn postgres() -> Option<Db> {
        let base = pg_base_url();
        let mut conn = match sqlx::postgres::PgConnection::connect(&base).await {
            Ok(c) => c,
            Err(e) => {
                skip(&format!(
                    "PostgreSQL not reachable at {base} ({e}); set TEST_PG_URL"
                ));
                return None;
            }
        };
        let schema = format!("t_{}", hex::encode(rand::random::<[u8; 8]>()));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut conn)
            .await
            .expect("create test schema");
        Some(Db::Postgres { base, schema })
    }

    /// Another new, empty database of the same kind.
    pub async fn fresh_like(other: &Db) -> Db {
        match other {
            Db::Sqlite => Db::Sqlite,
            Db::Postgres { .. } => Db::postgres().await.expect("PostgreSQL answered before"),
        }
    }

    pub fn url(&self, dir: &std::path::Path) -> String {
        match self {
            Db::Sqlite => format!("sqlite://{}", dir.join("depot.db").display()),
            Db::Postgres { base, schema } => {
                let sep = if base.contains('?') { '&' } else { '?' };
                format!("{base}{sep}options=-c%20search_path%3D{schema}")
            }
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Db::Postgres { base, schema } = self {
            drop_database(base, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

/// Runs a cleanup statement (`DROP …`) at `url`, from a `Drop`: that may run inside a
/// runtime, so it runs on a thread of its own. A failure leaves a stray schema, nothing worse.
pub fn drop_database(url: &str, sql: &str) {
    let (url, sql) = (url.to_string(), sql.to_string());
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            sqlx::any::install_default_drivers();
            if let Ok(mut c) = sqlx::AnyConnection::connect(&url).await {
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut c)
                    .await;
            }
        });
    })
    .join();
}

pub struct TestApp {
    pub server: Option<Server>,
    pub base: String,
    pub admin_token: String,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    pub settings: Settings,
    /// The server's clock: `app.clock.advance(…)` moves time for every use case.
    pub clock: Clock,
    // Dropped last: the schema outlives the server.
    _db: Db,
}

impl TestApp {
    pub async fn spawn(db: Db) -> TestApp {
        Self::spawn_with(db, |_| {}).await
    }

    pub async fn spawn_with(db: Db, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut settings = Settings {
            listen: "127.0.0.1:0".into(),
            data_dir: dir.path().join("data"),
            database_url: Some(db.url(dir.path())),
            ..Settings::default()
        };
        settings.limits.shutdown_grace_secs = 5;
        tweak(&mut settings);
        // The public URL must name the port: bind first, and hand the bound listener over.
        let listener = tokio::net::TcpListener::bind(&settings.listen)
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("bound address");
        settings.listen = addr.to_string();
        if settings.public_url.is_none() {
            settings.public_url = Some(format!("http://{addr}"));
        }
        let clock = Clock::shifted();
        let server = Server::start_on(listener, &settings, clock.clone())
            .await
            .expect("server starts");
        let (_, admin_token) = server
            .depot
            .create_token(
                &depot_service::Actor::system("test"),
                "test admin",
                &Scope::Admin,
            )
            .await
            .expect("admin token");
        TestApp {
            base: format!("http://{}", server.addr),
            server: Some(server),
            admin_token,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            dir,
            settings,
            clock,
            _db: db,
        }
    }

    pub fn depot(&self) -> &depot_service::Depot {
        &self.server.as_ref().expect("running").depot
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Runs the `depot` binary against this server as its admin (`DEPOT_URL`, `DEPOT_TOKEN`),
    /// off the runtime's threads, as a vendor's script would.
    pub async fn cli(&self, args: &[&str]) -> std::process::Output {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let env = [
            ("DEPOT_URL", self.base.clone()),
            ("DEPOT_TOKEN", self.admin_token.clone()),
        ];
        tokio::task::spawn_blocking(move || depot().args(&args).envs(env).output().expect("depot"))
            .await
            .expect("the depot command")
    }

    /// [`TestApp::cli`] of a command that must succeed, its `--json` answer read.
    pub async fn cli_json<T: serde::de::DeserializeOwned>(&self, args: &[&str]) -> T {
        let out = self.cli(args).await;
        assert!(
            out.status.success(),
            "depot {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "depot {args:?}: {e}: {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// The body at an absolute URL (e.g. one a feed emits), whatever the status.
    pub async fn bytes_at(&self, url: &str) -> Vec<u8> {
        let r = self.client.get(url).send().await.expect("GET");
        r.bytes().await.expect("body").to_vec()
    }

    pub async fn text_at(&self, url: &str) -> String {
        String::from_utf8(self.bytes_at(url).await).expect("UTF-8")
    }

    pub async fn text(&self, path: &str) -> String {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        r.text().await.expect("body")
    }

    /// Uploads a zip as the raw body; `query` is the metadata.
    pub async fn upload(
        &self,
        ext: &str,
        version: &str,
        zip: Vec<u8>,
        query: &str,
    ) -> reqwest::Response {
        self.upload_as(&self.admin_token.clone(), ext, version, zip, query)
            .await
    }

    pub async fn upload_as(
        &self,
        token: &str,
        ext: &str,
        version: &str,
        zip: Vec<u8>,
        query: &str,
    ) -> reqwest::Response {
        let q = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        self.client
            .put(self.url(&format!("/api/v1/extensions/{ext}/releases/{version}{q}")))
            .bearer_auth(token)
            .body(zip)
            .send()
            .await
            .expect("PUT")
    }

    /// Uploads and asserts success; returns the JSON answer.
    pub async fn publish(
        &self,
        ext: &str,
        version: &str,
        zip: Vec<u8>,
        query: &str,
    ) -> depot_api::PublishedRelease {
        let r = self.upload(ext, version, zip, query).await;
        let status = r.status();
        let body = r.text().await.expect("body");
        assert!(
            status.is_success(),
            "upload {ext} {version}: {status} {body}"
        );
        serde_json::from_str(&body).expect("a published release")
    }

    /// An admin API call with the admin token; returns the status and the JSON answer (`null`
    /// when empty).
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        self.api_as(&self.admin_token.clone(), method, path, body)
            .await
    }

    pub async fn api_as(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut r = self
            .client
            .request(method, self.url(&format!("/api/v1{path}")))
            .bearer_auth(token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.expect("API call");
        let status = r.status().as_u16();
        let text = r.text().await.expect("body");
        let value = if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        (status, value)
    }

    /// An admin API call that must succeed, with a typed body (`depot_api`), its answer read as
    /// `R` (`serde::de::IgnoredAny` to ignore it).
    pub async fn call<R: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &impl serde::Serialize,
    ) -> R {
        self.call_as(&self.admin_token.clone(), method, path, body)
            .await
    }

    pub async fn call_as<R: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: &impl serde::Serialize,
    ) -> R {
        // `&()` is "no body".
        let body = serde_json::to_value(body).expect("a body");
        let body = (!body.is_null()).then_some(body);
        let what = format!("{method} {path}");
        let (status, v) = self.api_as(token, method, path, body).await;
        assert!((200..300).contains(&status), "{what}: {status} {v}");
        serde_json::from_value(v).unwrap_or_else(|e| panic!("{what}: {e}"))
    }

    /// A new API token with `scope` (`read`, `publish`, `admin`): its id and secret.
    pub async fn token(&self, name: &str, scope: &str, extensions: &[&str]) -> (i64, String) {
        let body = depot_api::NewToken {
            name: name.into(),
            scope: scope.into(),
            extensions: (!extensions.is_empty())
                .then(|| extensions.iter().map(|e| e.to_string()).collect()),
        };
        let t: depot_api::CreatedToken = self.call(reqwest::Method::POST, "/tokens", &body).await;
        (t.view.id, t.token)
    }

    /// `GET` on the admin API that must succeed, the answer read as `R`.
    pub async fn read<R: serde::de::DeserializeOwned>(&self, path: &str) -> R {
        self.read_as(&self.admin_token.clone(), path).await
    }

    pub async fn read_as<R: serde::de::DeserializeOwned>(&self, token: &str, path: &str) -> R {
        let (status, v) = self.api_as(token, reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "GET {path}: {v}");
        serde_json::from_value(v).unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// An admin API call that must be refused: its status and error code. The body is raw JSON,
    /// since what is refused is often not a valid request.
    pub async fn refused(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, String) {
        self.refused_as(&self.admin_token.clone(), method, path, body)
            .await
    }

    pub async fn refused_as(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, String) {
        let (status, v) = self.api_as(token, method, path, body).await;
        assert!(status >= 400, "{path} was not refused: {status} {v}");
        let e: depot_api::ErrorBody =
            serde_json::from_value(v).unwrap_or_else(|e| panic!("{path}: not an error body: {e}"));
        (status, e.errors[0].code.clone())
    }

    /// The actions of the audit log's entries that `query` selects, newest first.
    pub async fn audit_actions(&self, query: &str) -> Vec<String> {
        let log: depot_api::AuditPage = self.read(&format!("/audit-log?{query}")).await;
        log.items.into_iter().map(|e| e.action).collect()
    }

    /// Group `group` ("Pro subscribers") and package group `package_group` ("Pro") of it,
    /// through the API.
    pub async fn paid_group(&self, package_group: &str, group: i64) {
        use depot_api::*;
        let g = NewGroup {
            id: group,
            name: "Pro subscribers".into(),
        };
        let _: GroupView = self.call(reqwest::Method::POST, "/groups", &g).await;
        let pg = NewPackageGroup {
            id: package_group.into(),
            groups: vec![group],
            name: Some("Pro".into()),
            ..NewPackageGroup::default()
        };
        let _: PackageGroupView = self
            .call(reqwest::Method::POST, "/package-groups", &pg)
            .await;
    }

    /// Publishes `com_redj` 2.0.0 into `package_group` (a paid package); returns its download
    /// path.
    pub async fn publish_paid_redj(&self, package_group: &str) -> &'static str {
        let manifest = r#"<?xml version="1.0"?><extension type="component" method="upgrade"><name>ReDJ</name><element>com_redj</element><version>2.0.0</version></extension>"#;
        self.publish(
            "com_redj",
            "2.0.0",
            zip_of(&[("redj.xml", manifest.as_bytes())]),
            &format!("package_group={package_group}"),
        )
        .await;
        "/download/com_redj/2.0.0/com_redj-2.0.0.zip"
    }

    /// A paying customer, through the API: group `group` ("Subscribers"), package group
    /// `package_group` of it, the user with an open membership, and a download key (returned).
    pub async fn subscriber_with_key(
        &self,
        email: &str,
        package_group: &str,
        group: i64,
    ) -> depot_api::DownloadKeyView {
        use depot_api::*;
        use reqwest::Method;
        self.paid_group(package_group, group).await;
        let _: UserView = self.call(Method::POST, "/users", &new_user(email)).await;
        let membership = NewMembership {
            group,
            from: None,
            until: None,
        };
        let _: MembershipView = self
            .call(
                Method::POST,
                &format!("/users/{email}/memberships"),
                &membership,
            )
            .await;
        self.call(
            Method::POST,
            &format!("/users/{email}/keys"),
            &NewKey::default(),
        )
        .await
    }

    /// Delivers due mail and waits (up to 20 s) until no message is being delivered: each is
    /// finished or waits for a retry after a failed attempt. Returns the outbox, newest first.
    pub async fn settle_mail(&self) -> Vec<depot_store::OutboxRow> {
        for _ in 0..200 {
            self.depot().deliver_due_mail().await.expect("outbox");
            let rows = self
                .depot()
                .store()
                .recent_mail(1000)
                .await
                .expect("outbox");
            if rows
                .iter()
                .all(|r| r.done_at.is_some() || r.last_error.is_some())
            {
                return rows;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("mail still in delivery after 20 s");
    }

    /// `settle_mail`, as `recipient: outcome` (`sent`, `skipped`, …) per message, sorted.
    pub async fn mail_outcomes(&self) -> Vec<String> {
        let mut outcomes: Vec<String> = self
            .settle_mail()
            .await
            .into_iter()
            .map(|m| format!("{}: {}", m.recipient, m.outcome.as_deref().unwrap_or("-")))
            .collect();
        outcomes.sort();
        outcomes
    }

    /// POSTs a form; returns the status and the JSON answer.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
        let r = self
            .client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .expect("POST");
        let status = r.status().as_u16();
        (status, r.json().await.expect("JSON answer"))
    }

    /// Moves the clock to the start of the next fixed window of length `window`, so that a
    /// test of a limit never straddles two windows.
    pub fn at_window_start(&self, window: Duration) {
        let w = window.as_millis() as i64;
        let now = self.clock.now_ms();
        self.clock.set_ms(now - now % w + w);
    }

    /// A rate limit at its exact threshold, from the start of a window: `limit` POSTs to `path`
    /// (the `i`th with `form(i)`) are each answered `ok_status`; the next is refused with `429`,
    /// `REL_RLM` and a `Retry-After` of the rest of the window; once the window has passed, the
    /// next one is let through again.
    pub async fn assert_limit(
        &self,
        path: &str,
        form: impl Fn(usize) -> Vec<(String, String)>,
        limit: usize,
        ok_status: u16,
        window: Duration,
    ) {
        self.at_window_start(window);
        for i in 0..limit {
            let (s, body) = self.post_form_owned(path, &form(i)).await;
            assert_eq!(s, ok_status, "{path}, request {} of {limit}: {body}", i + 1);
        }
        let r = self
            .client
            .post(self.url(path))
            .form(&form(limit))
            .send()
            .await
            .expect("POST");
        assert_eq!(r.status(), 429, "{path}, request {} of {limit}", limit + 1);
        assert_retry_after(r.headers(), window);
        let body: serde_json::Value = r.json().await.expect("json");
        assert_eq!(body["error_code"], "REL_RLM");
        self.clock.advance(window);
        let (s, body) = self.post_form_owned(path, &form(limit + 1)).await;
        assert_eq!(s, ok_status, "{path} in the next window: {body}");
    }

    async fn post_form_owned(
        &self,
        path: &str,
        form: &[(String, String)],
    ) -> (u16, serde_json::Value) {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.post_form(path, &form).await
    }

    /// Writes out queued events.
    pub async fn flush_events(&self) {
        self.depot().events().flush().await;
    }

    /// Every file under the package storage directory.
    pub fn stored_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
            if let Ok(entries) = std::fs::read_dir(dir) {
                for e in entries.flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        walk(&p, out)
                    } else {
                        out.push(p)
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.settings.data_dir.join("packages"), &mut out);
        walk(&self.settings.data_dir.join("tmp"), &mut out);
        out
    }
}

impl TestApp {
    /// Stops the server (gracefully) and starts a new one on the same address, database,
    /// data directory and clock: what a restart of `depot serve` does.
    pub async fn restart(&mut self) {
        let server = self.server.take().expect("running");
        server.shutdown().await.expect("graceful shutdown");
        let listener = tokio::net::TcpListener::bind(&self.settings.listen)
            .await
            .expect("bind the same address again");
        self.server = Some(
            Server::start_on(listener, &self.settings, self.clock.clone())
                .await
                .expect("server restarts"),
        );
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Shut the server down before the database goes away.
        if let Some(server) = self.server.take() {
            let handle = tokio::runtime::Handle::current();
            let _ = std::thread::spawn(move || handle.block_on(server.shutdown())).join();
        }
    }
}

/// The `depot` binary, with no `DEPOT_*` variable of the test's environment: only what a test
/// sets reaches it.
pub fn depot() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_depot"));
    for (k, _) in std::env::vars() {
        if k.starts_with("DEPOT_") {
            c.env_remove(k);
        }
    }
    c.env("RUST_LOG", "warn");
    c
}

/// A `depot serve` process, its log in `<dir>/server.log`.
pub struct ServeProcess {
    pub child: std::process::Child,
    pub addr: String,
    /// The admin token a first start prints.
    pub token: Option<String>,
    pub log: PathBuf,
}

/// Reads the first-start token file, checking that only its owner may read it.
fn first_start_token(path: &std::path::Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .expect("token file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    std::fs::read_to_string(path)
        .expect("token file")
        .trim()
        .to_string()
}

impl ServeProcess {
    /// Starts `depot serve` in `dir` on a free port, with `env` on top of the embedded
    /// defaults, and waits until it serves.
    pub fn spawn(dir: &std::path::Path, env: &[(&str, String)]) -> ServeProcess {
        use std::io::BufRead;
        let log = dir.join("server.log");
        let mut cmd = depot();
        cmd.arg("serve")
            .current_dir(dir)
            .env("DEPOT_LISTEN", "127.0.0.1:0")
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("depot serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut token = None;
        let mut addr = None;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            assert!(!line.contains("depot_"), "a token on stdout: {line}");
            if let Some(rest) = line.strip_prefix("First start: an admin API token was written to ")
            {
                let path = rest.split(" (").next().expect("a path");
                token = Some(first_start_token(&dir.join(path)));
            }
            if let Some(rest) = line.strip_prefix("depot is serving on ") {
                addr = rest.split_whitespace().next().map(String::from);
                break;
            }
        }
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "depot serve did not start: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        ServeProcess {
            child,
            addr,
            token,
            log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// SIGTERM, a graceful exit (asserted), and the log.
    pub fn stop(mut self) -> String {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let exit = self.child.wait().expect("wait");
        assert!(exit.success(), "graceful shutdown exits 0: {exit:?}");
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: the process dies wherever it is.
    /// Kills the process at once (SIGKILL), as a crash would; the value stays for a restart.
    pub fn crash(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        // A no-op after `stop`; otherwise (a test that panicked, `kill`) SIGKILL.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Form fields as owned pairs (for requests built in a loop).
pub fn form(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A zip made of `(name, bytes)` entries.
/// `len` bytes of deterministic noise (xorshift): incompressible, so a zip of them is as big as
/// they are and no bomb.
pub fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(*name, opts).expect("start_file");
        w.write_all(data).expect("write");
    }
    w.finish().expect("finish").into_inner()
}

pub fn plugin_manifest(version: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<extension type="plugin" group="system" method="upgrade">
  <name>System - Hello &amp; Co</name>
  <version>{version}</version>
  <files><folder plugin="hello">services</folder><folder>src</folder></files>
</extension>"#
    )
}

/// A plugin package `plg_system_hello` at `version`; `salt` makes otherwise equal zips differ.
pub fn plugin_zip(version: &str, salt: &str) -> Vec<u8> {
    zip_of(&[
        ("hello.xml", plugin_manifest(version).as_bytes()),
        (
            "services/provider.php",
            format!("<?php // {salt}\n").as_bytes(),
        ),
    ])
}

pub fn component_zip(version: &str) -> Vec<u8> {
    let manifest = format!(
        r#"<?xml version="1.0"?><extension type="component" method="upgrade"><name>COM_WIDGETS</name><element>com_widgets</element><version>{version}</version></extension>"#
    );
    zip_of(&[
        ("com_widgets/widgets.xml", manifest.as_bytes()),
        ("com_widgets/admin/config.xml", b"<config/>"),
    ])
}

/// A `Retry-After` header that names the rest of a window that has just begun (the clock runs
/// on in real time, so a slow machine may have used a few of its seconds).
pub fn assert_retry_after(headers: &reqwest::header::HeaderMap, window: Duration) {
    let secs: u64 = headers["retry-after"]
        .to_str()
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert_retry_secs(secs, window);
}

/// `secs` is the rest of a window of length `window` that began a little while ago: up to a
/// fifteenth of the window, at least 10 s (a test that makes many password guesses can take
/// tens of seconds on a loaded 2-core machine).
pub fn assert_retry_secs(secs: u64, window: Duration) {
    let full = window.as_secs();
    let elapsed = (full / 15).max(10);
    assert!(
        secs <= full && secs + elapsed >= full,
        "retry after {secs} s; the window is {full} s"
    );
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

pub fn sha512_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha512::digest(bytes))
}

/// The text of every `<name>` element in `xml`.
pub fn elements<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    xml.match_indices(&open)
        .map(|(i, _)| {
            let start = i + open.len();
            let end = start + xml[start..].find(&close).expect("closed");
            &xml[start..end]
        })
        .collect()
}

/// The `<update>` blocks of an extension feed.
pub fn update_blocks(xml: &str) -> Vec<&str> {
    elements(xml, "update")
}

/// The `<downloadurl>` of an `<update>` block.
pub fn download_url(block: &str) -> String {
    let start = block.find("format=\"zip\">").expect("downloadurl") + "format=\"zip\">".len();
    let end = start + block[start..].find("</downloadurl>").expect("closed");
    block[start..end].to_string()
}

/// The contract: another instance's write is visible "within a second".
pub const WITHIN: std::time::Duration = std::time::Duration::from_secs(1);

/// Polls `check` until it holds, failing if that takes longer than [`WITHIN`] after `written`
/// (the moment the write was acknowledged). Returns how long it took.
pub async fn within_a_second<F, Fut>(
    written: std::time::Instant,
    what: &str,
    mut check: F,
) -> std::time::Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    loop {
        if check().await {
            return written.elapsed();
        }
        assert!(
            written.elapsed() <= WITHIN,
            "{what}: not within a second of the write"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// A user with nothing but an address.
pub fn new_user(email: &str) -> depot_api::NewUser {
    depot_api::NewUser {
        email: email.into(),
        ..depot_api::NewUser::default()
    }
}
