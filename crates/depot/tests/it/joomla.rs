//! A vendor's Joomla site as the identity source (`[identity] kind = "joomla"`): the site's
//! tables made with Joomla's names on the real MariaDB and PostgreSQL, password hashes from
//! PHP's own `password_hash`, and depot reading them through a proxy the test can cut.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use sqlx::Connection;

use crate::helpers::*;

const MARIADB: &str = "mysql://root@127.0.0.1:3306";

/// The site's password reset page, as a vendor configures it.
const RESET: &str = "https://vendor.example.com/index.php?option=com_users&view=reset";

/// Joomla 3.10's tables on MySQL/MariaDB: zero dates for "never".
const MYSQL_SCHEMA: &str = "
CREATE TABLE jos_users (
  id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name varchar(400) NOT NULL DEFAULT '',
  username varchar(150) NOT NULL DEFAULT '',
  email varchar(100) NOT NULL DEFAULT '',
  password varchar(100) NOT NULL DEFAULT '',
  block tinyint NOT NULL DEFAULT 0,
  sendEmail tinyint DEFAULT 0,
  registerDate datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
  lastvisitDate datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
  activation varchar(100) NOT NULL DEFAULT '',
  params mediumtext NOT NULL,
  lastResetTime datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
  resetCount int NOT NULL DEFAULT 0,
  otpKey varchar(1000) NOT NULL DEFAULT '',
  otep varchar(1000) NOT NULL DEFAULT '',
  requireReset tinyint NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE TABLE jos_usergroups (
  id int unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  parent_id int unsigned NOT NULL DEFAULT 0,
  lft int NOT NULL DEFAULT 0,
  rgt int NOT NULL DEFAULT 0,
  title varchar(100) NOT NULL DEFAULT ''
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE TABLE jos_user_usergroup_map (
  user_id int unsigned NOT NULL DEFAULT 0,
  group_id int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, group_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
";

/// Joomla 4/5's tables on PostgreSQL: quoted camel-case columns, NULL for "never".
const POSTGRES_SCHEMA: &str = r#"
CREATE TABLE "jos_users" (
  "id" serial NOT NULL PRIMARY KEY,
  "name" varchar(400) DEFAULT '' NOT NULL,
  "username" varchar(150) DEFAULT '' NOT NULL,
  "email" varchar(100) DEFAULT '' NOT NULL,
  "password" varchar(100) DEFAULT '' NOT NULL,
  "block" smallint DEFAULT 0 NOT NULL,
  "sendEmail" smallint DEFAULT 0,
  "registerDate" timestamp without time zone NOT NULL DEFAULT now(),
  "lastvisitDate" timestamp without time zone,
  "activation" varchar(100) DEFAULT '' NOT NULL,
  "params" text NOT NULL DEFAULT '',
  "lastResetTime" timestamp without time zone,
  "resetCount" bigint DEFAULT 0 NOT NULL,
  "otpKey" varchar(1000) DEFAULT '' NOT NULL,
  "otep" varchar(1000) DEFAULT '' NOT NULL,
  "requireReset" smallint DEFAULT 0,
  "authProvider" varchar(100) DEFAULT '' NOT NULL
);
CREATE TABLE "jos_usergroups" (
  "id" serial NOT NULL PRIMARY KEY,
  "parent_id" bigint DEFAULT 0 NOT NULL,
  "lft" bigint DEFAULT 0 NOT NULL,
  "rgt" bigint DEFAULT 0 NOT NULL,
  "title" varchar(100) DEFAULT '' NOT NULL
);
CREATE TABLE "jos_user_usergroup_map" (
  "user_id" bigint DEFAULT 0 NOT NULL,
  "group_id" bigint DEFAULT 0 NOT NULL,
  PRIMARY KEY ("user_id", "group_id")
);
"#;

/// Made by passlib's phpass (Joomla 3.0–3.1) and PHP's `md5($password . $salt)` (Joomla 2.5),
/// for the password "correct horse".
const PHPASS: &str = "$P$9abcdefghPDonBA7cb6Wv7y6IfLfEF.";
const SALTED_MD5: &str = "7708f5383be93f7f3da57ebc6032233c:saltsaltsaltsaltsaltsaltsaltsalt";

/// A Joomla site's database made for one test, dropped with it.
struct Site {
    /// What the test itself connects to.
    admin_url: String,
    /// host:port of the database server, for the proxy.
    server: String,
    /// The URL depot gets, with `{addr}` for the proxy's address.
    depot_url: String,
    mysql: bool,
    drop_sql: String,
}

impl Site {
    async fn mariadb() -> Option<Site> {
        Site::create(true).await
    }

    async fn postgres() -> Option<Site> {
        Site::create(false).await
    }

    /// A fresh database (MariaDB) or schema (PostgreSQL) holding Joomla's user tables.
    async fn create(mysql: bool) -> Option<Site> {
        sqlx::any::install_default_drivers();
        let base = if mysql {
            MARIADB.to_string()
        } else {
            pg_base_url()
        };
        let Ok(mut conn) = sqlx::AnyConnection::connect(&base).await else {
            skip(&format!(
                "the site's database server is not reachable at {base}"
            ));
            return None;
        };
        let name = format!("joomla_{}", hex::encode(rand::random::<[u8; 6]>()));
        let site = if mysql {
            Site {
                admin_url: format!("{MARIADB}/{name}"),
                server: "127.0.0.1:3306".into(),
                depot_url: format!("mysql://root@{{addr}}/{name}"),
                mysql,
                drop_sql: format!("DROP DATABASE IF EXISTS {name}"),
            }
        } else {
            let path = format!("options=-c%20search_path%3D{name}");
            let url = url::Url::parse(&base).expect("PostgreSQL URL");
            let server = format!(
                "{}:{}",
                url.host_str().unwrap_or("127.0.0.1"),
                url.port().unwrap_or(5432)
            );
            Site {
                admin_url: format!("{base}?{path}"),
                depot_url: base.replacen(&server, "{addr}", 1) + "?" + &path,
                server,
                mysql,
                drop_sql: format!("DROP SCHEMA IF EXISTS {name} CASCADE"),
            }
        };
        let container = if mysql { "DATABASE" } else { "SCHEMA" };
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE {container} {name}")))
            .execute(&mut conn)
            .await
            .expect("create the site's database");
        site.exec(if mysql { MYSQL_SCHEMA } else { POSTGRES_SCHEMA })
            .await;
        Some(site)
    }

    async fn exec(&self, sql: &str) {
        let mut conn = sqlx::AnyConnection::connect(&self.admin_url)
            .await
            .expect("connect to the site's database");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Joomla's default groups and a subscriber branch: 1 Public > 2 Registered > 9
    /// Subscribers > 12 Enterprise > 13 Enterprise EU; 1 > 10 Other.
    async fn groups(&self) {
        self.exec(
            "INSERT INTO jos_usergroups (id, parent_id, title) VALUES (1, 0, 'Public'), \
             (2, 1, 'Registered'), (9, 2, 'Subscribers'), (12, 9, 'Enterprise'), \
             (13, 12, 'Enterprise EU'), (10, 1, 'Other')",
        )
        .await;
    }

    /// A user who signed in before (so a non-empty `activation` is a reset, not pending),
    /// unless `pending`.
    async fn user(&self, id: i64, username: &str, email: &str, hash: &str, groups: &[i64]) {
        self.user_with(id, username, email, hash, groups, 0, "")
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn user_with(
        &self,
        id: i64,
        username: &str,
        email: &str,
        hash: &str,
        groups: &[i64],
        block: i64,
        activation: &str,
    ) {
        let visited = if activation.is_empty() {
            "'2026-01-02 03:04:05'"
        } else if self.mysql {
            "'0000-00-00 00:00:00'"
        } else {
            "NULL"
        };
        let name = format!("{username} Example");
        self.exec(&format!(
            "INSERT INTO jos_users (id, name, username, email, password, block, activation, \
             params, {q}lastvisitDate{q}) VALUES ({id}, '{name}', '{username}', '{email}', \
             '{hash}', {block}, '{activation}', '', {visited})",
            q = if self.mysql { "" } else { "\"" },
        ))
        .await;
        self.set_groups(id, groups).await;
    }

    async fn set_groups(&self, user: i64, groups: &[i64]) {
        self.exec(&format!(
            "DELETE FROM jos_user_usergroup_map WHERE user_id = {user}"
        ))
        .await;
        for g in groups {
            self.exec(&format!(
                "INSERT INTO jos_user_usergroup_map (user_id, group_id) VALUES ({user}, {g})"
            ))
            .await;
        }
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        drop_database(&self.admin_url, &self.drop_sql);
    }
}

/// PHP's own `password_hash` with `algo` (`PASSWORD_BCRYPT`, `PASSWORD_ARGON2ID`), or `None`
/// (a skip) without Debian's php-cli.
fn php_hash(password: &str, algo: &str) -> Option<String> {
    let out = std::process::Command::new("php")
        .args([
            "-r",
            &format!("echo password_hash($argv[1], {algo});"),
            password,
        ])
        .output();
    match out {
        Ok(o) if o.status.success() => Some(String::from_utf8(o.stdout).expect("utf-8")),
        _ => {
            skip("php (Debian's php-cli) is not installed");
            None
        }
    }
}

async fn key_by_auth(app: &TestApp, login: &str, password: &str) -> (u16, serde_json::Value) {
    app.post_form(
        "/post/release/keybyauth/enterprise",
        &[("username", login), ("password", password)],
    )
    .await
}

async fn download(app: &TestApp, path: &str, email: &str, key: &str) -> reqwest::Response {
    app.client
        .get(app.url(&format!("{path}?email={email}&key={key}")))
        .send()
        .await
        .unwrap()
}

/// Polls `check` every 100 ms until it holds, for at most `bound`; returns how long it took.
async fn within<F, Fut>(bound: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < bound, "{what}: not within {bound:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    start.elapsed()
}

async fn scenario(site: Site, db: Db) {
    let (Some(bcrypt), Some(argon2id), Some(blocked)) = (
        php_hash("alice pw 1", "PASSWORD_BCRYPT"),
        php_hash("bob pw 12", "PASSWORD_ARGON2ID"),
        php_hash("carol pw 1", "PASSWORD_BCRYPT"),
    ) else {
        return;
    };
    site.groups().await;
    site.user(101, "alice", "Alice@Example.com", &bcrypt, &[2, 12])
        .await;
    site.user(102, "bob", "bob@example.com", &argon2id, &[2, 13])
        .await;
    site.user_with(103, "carol", "carol@example.com", &blocked, &[2, 12], 1, "")
        .await;
    site.user(104, "dave", "dave@example.com", PHPASS, &[2])
        .await;
    site.user(105, "erin", "erin@example.com", SALTED_MD5, &[12])
        .await;
    site.user_with(
        106,
        "frank",
        "frank@example.com",
        &bcrypt,
        &[12],
        0,
        "a1b2c3",
    )
    .await;

    let proxy = TcpProxy::start(&site.server).await;
    let url = site.depot_url.replace("{addr}", &proxy.addr().to_string());
    let app = TestApp::spawn_with(db, |s| {
        s.identity.kind = "joomla".into();
        s.identity.database_url = Some(url);
        s.identity.sync_secs = 1;
        s.identity.stale_after_secs = 120;
        s.jbackend_base_path = "/index.php/jbackend/rest/".into();
        s.identity.password_reset_url = Some(RESET.into());
    })
    .await;

    // The site's groups become depot's, with their ids; a package group names Joomla's 12.
    app.depot().sync_identity(true).await.expect("first pass");
    let groups: depot_api::Items<depot_api::GroupView> = app.read("/groups").await;
    let enterprise = groups.items.iter().find(|g| g.id == 12).expect("group 12");
    assert_eq!(
        (enterprise.name.as_str(), enterprise.source.as_str()),
        ("Enterprise", "joomla")
    );
    let (s, v) = app
        .api(Method::PATCH, "/groups/12", Some(json!({"name": "Mine"})))
        .await;
    assert_eq!(s, 409, "{v}");
    let pg = depot_api::NewPackageGroup {
        id: "enterprise".into(),
        groups: vec![12],
        name: Some("Enterprise".into()),
        ..Default::default()
    };
    let _: depot_api::PackageGroupView = app.call(Method::POST, "/package-groups", &pg).await;
    let path = app.publish_paid_redj("enterprise").await;
    app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "free"), "")
        .await;
    app.depot().sync_identity(true).await.expect("second pass");

    // keybyauth with the site's passwords, by username or address, in every form Joomla has
    // stored them; the tree rule lets bob in through a child group of 12.
    let (s, alice) = key_by_auth(&app, "alice", "alice pw 1").await;
    assert_eq!(
        (s, alice["email"].as_str()),
        (200, Some("alice@example.com")),
        "{alice}"
    );
    let alice_key = alice["key"].as_str().unwrap().to_string();
    let (s, v) = key_by_auth(&app, "ALICE@example.com", "alice pw 1").await;
    assert_eq!(
        (s, v["key"].as_str()),
        (200, Some(alice_key.as_str())),
        "{v}"
    );
    let (s, v) = key_by_auth(&app, "alice", "alice pw 2").await;
    assert_eq!((s, v["error_code"].as_str()), (401, Some("REL_AUF")), "{v}");
    let (s, bob) = key_by_auth(&app, "bob", "bob pw 12").await;
    assert_eq!(s, 200, "bob, in a child group: {bob}");
    let bob_key = bob["key"].as_str().unwrap().to_string();
    let (s, v) = key_by_auth(&app, "erin", "correct horse").await;
    assert_eq!(s, 200, "erin, Joomla 2.5's salted MD5: {v}");
    for (login, password, why) in [
        ("carol", "carol pw 1", "blocked"),
        (
            "dave",
            "correct horse",
            "in no subscriber group (phpass hash)",
        ),
        ("frank", "alice pw 1", "activation pending"),
    ] {
        let (s, v) = key_by_auth(&app, login, password).await;
        assert_eq!(
            (s, v["error_code"].as_str()),
            (403, Some("REL_NAU")),
            "{why}: {v}"
        );
    }
    let r = download(&app, path, "alice@example.com", &alice_key).await;
    assert_eq!(r.status(), 200);

    // The jBackend URLs customers saved from the Joomla site answer too, the same way.
    let (s, v) = app
        .post_form(
            "/index.php/jbackend/rest/post/release/keybyauth/enterprise",
            &[("username", "alice"), ("password", "alice pw 1")],
        )
        .await;
    assert_eq!(
        (s, v["key"].as_str()),
        (200, Some(alice_key.as_str())),
        "{v}"
    );
    let (s, v) = app
        .post_form(
            "/index.php/jbackend/rest/post/release/validate/enterprise",
            &[("email", "alice@example.com"), ("key", &alice_key)],
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let package: Vec<u8> = download(&app, path, "alice@example.com", &alice_key)
        .await
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let r = app
        .client
        .get(app.url(&format!(
            "/index.php/jbackend/rest/get/release/download/com_redj_2.0.0?email=alice@example.com&key={alice_key}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().to_vec(), package);

    // The account pages take the site's username and password too, and send customers to the
    // site to reset it.
    let page = app.text("/account/login").await;
    assert!(
        page.contains("E-mail address or username")
            && page.contains("type=\"text\" name=\"email\""),
        "{page}"
    );
    assert!(page.contains(&RESET.replace('&', "&#38;")), "{page}");
    let r = browser()
        .post(app.url("/account/login"))
        .form(&[("email", "alice"), ("password", "alice pw 1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "account sign-in with the Joomla username");

    // What the site owns is not edited in depot.
    let user: depot_api::UserView = app.read("/users/alice@example.com").await;
    assert_eq!(user.source, "joomla");
    assert_eq!(user.name.as_deref(), Some("alice Example"));
    let (s, v) = app
        .api(
            Method::PATCH,
            "/users/alice@example.com",
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    // The same values, as the console's form sends back, are not a change; console access is
    // depot's to give.
    let (s, v) = app
        .api(
            Method::PATCH,
            "/users/alice@example.com",
            Some(json!({"name": "alice Example", "disabled": false, "admin": true})),
        )
        .await;
    assert_eq!((s, v["admin"].as_bool()), (200, Some(true)), "{v}");
    // Their password is the site's: depot mails no link to set another.
    let refused = app
        .depot()
        .send_password_link(&depot_service::Actor::system("test"), "alice@example.com")
        .await;
    assert!(
        matches!(refused, Err(depot_service::ServiceError::Conflict(_))),
        "{refused:?}"
    );

    // The group removed on the site: downloads stop within one pass (1 s here) and a poll,
    // with the date depot last saw the subscription.
    site.set_groups(101, &[2]).await;
    let took = within(
        Duration::from_secs(10),
        "group removal reaches downloads",
        || async {
            download(&app, path, "alice@example.com", &alice_key)
                .await
                .status()
                == 403
        },
    )
    .await;
    eprintln!("group removal stopped downloads after {took:?}");
    let r = download(&app, path, "alice@example.com", &alice_key).await;
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error_code"], "REL_EXP", "{v}");
    let ms: depot_api::Items<depot_api::MembershipView> =
        app.read("/users/alice@example.com/memberships").await;
    assert!(
        ms.items
            .iter()
            .any(|m| m.group == 12 && m.source == "joomla" && m.valid_until.is_some()),
        "{:?}",
        ms.items
    );
    let (s, v) = app
        .api(
            Method::POST,
            "/users/bob@example.com/memberships/end",
            Some(json!({"group": 12})),
        )
        .await;
    assert_eq!(s, 409, "a membership the site owns: {v}");

    // depot's own customer beside the site's: a membership in the site's group 12, and a key.
    let _: depot_api::UserView = app
        .call(Method::POST, "/users", &new_user("zoe@example.com"))
        .await;
    let m = depot_api::NewMembership {
        group: 12,
        from: None,
        until: None,
    };
    let _: depot_api::MembershipView = app
        .call(Method::POST, "/users/zoe@example.com/memberships", &m)
        .await;
    let zoe: depot_api::DownloadKeyView = app
        .call(
            Method::POST,
            "/users/zoe@example.com/keys",
            &depot_api::NewKey::default(),
        )
        .await;

    // The site's database goes away. What was last read keeps counting for stale_after…
    proxy.cut();
    let r = download(&app, path, "bob@example.com", &bob_key).await;
    assert_eq!(r.status(), 200, "last known, within stale_after");
    let (s, v) = key_by_auth(&app, "bob", "bob pw 12").await;
    assert_eq!((s, v["error_code"].as_str()), (503, Some("REL_UNA")), "{v}");
    // …then checks that depend on it answer 503, and nothing else changes.
    app.clock.advance(Duration::from_secs(121));
    let r = download(&app, path, "bob@example.com", &bob_key).await;
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error_code"], "REL_UNA", "{v}");
    assert_eq!(app.get("/updates/com_redj.xml").await.status(), 200);
    let free = app
        .get("/download/plg_system_hello/1.0.0/plg_system_hello-1.0.0.zip")
        .await;
    assert_eq!(free.status(), 200, "free downloads do not need the site");
    let r = app
        .client
        .get(app.url(&format!("{path}?dlid={}", zoe.key)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "depot's own customer is not held up by the site"
    );

    // The site is back: depot recovers by itself at the next pass.
    proxy.restore();
    within(Duration::from_secs(15), "recovery", || async {
        download(&app, path, "bob@example.com", &bob_key)
            .await
            .status()
            == 200
    })
    .await;

    // An address changed on the site follows; one that another depot user has stays as it
    // was, and the pass goes on.
    site.exec("UPDATE jos_users SET email = 'Robert@example.com' WHERE id = 102")
        .await;
    site.exec("UPDATE jos_users SET email = 'zoe@example.com' WHERE id = 105")
        .await;
    app.depot()
        .sync_identity(true)
        .await
        .expect("a pass with a clash");
    let bob: depot_api::UserView = app.read("/users/robert@example.com").await;
    assert_eq!(bob.source, "joomla");
    let erin: depot_api::UserView = app.read("/users/erin@example.com").await;
    assert_eq!(erin.source, "joomla");
    let zoe: depot_api::UserView = app.read("/users/zoe@example.com").await;
    assert_eq!(zoe.source, "depot");

    // Passes that overlap (a forced one beside the loop, two instances) both succeed: the
    // one that finds its new users made by the other links them.
    for id in 110..116 {
        site.user(
            id,
            &format!("new{id}"),
            &format!("new{id}@example.com"),
            PHPASS,
            &[12],
        )
        .await;
    }
    let depot = app.depot();
    let passes = tokio::join!(
        depot.sync_identity(true),
        depot.sync_identity(true),
        depot.sync_identity(true)
    );
    for pass in [passes.0, passes.1, passes.2] {
        pass.expect("an overlapping pass");
    }
    let new: depot_api::UserView = app.read("/users/new115@example.com").await;
    assert_eq!(new.source, "joomla");
}

/// ARS 7's tables (the columns depot reads, and the ones without defaults ARS always fills),
/// in the subset of SQL both MySQL and PostgreSQL take; `{primary}` is a reserved word and
/// `{datetime}` the dialect's date type.
const ARS_SCHEMA: &str = "
CREATE TABLE jos_viewlevels (id BIGINT PRIMARY KEY, title VARCHAR(100) NOT NULL DEFAULT '',
  ordering BIGINT NOT NULL DEFAULT 0, rules VARCHAR(5120) NOT NULL);
CREATE TABLE jos_ars_categories (id BIGINT PRIMARY KEY, asset_id BIGINT NOT NULL DEFAULT 0,
  title VARCHAR(255) NOT NULL, alias VARCHAR(255) NOT NULL, description TEXT,
  type VARCHAR(20) NOT NULL DEFAULT 'normal', directory VARCHAR(255) NOT NULL DEFAULT 'arsrepo',
  ordering BIGINT NOT NULL DEFAULT 0, access BIGINT NOT NULL DEFAULT 0,
  show_unauth_links SMALLINT NOT NULL DEFAULT 0, redirect_unauth VARCHAR(255) NOT NULL DEFAULT '',
  published BIGINT NOT NULL DEFAULT 1, is_supported SMALLINT NOT NULL DEFAULT 1,
  language CHAR(7) NOT NULL DEFAULT '*');
CREATE TABLE jos_ars_releases (id BIGINT PRIMARY KEY, category_id BIGINT NOT NULL,
  version VARCHAR(255) NOT NULL, alias VARCHAR(255) NOT NULL,
  maturity VARCHAR(10) NOT NULL DEFAULT 'beta', notes TEXT, hits BIGINT NOT NULL DEFAULT 0,
  created {datetime} NULL DEFAULT NULL,
  ordering BIGINT NOT NULL DEFAULT 0, access BIGINT NOT NULL DEFAULT 0,
  published SMALLINT NOT NULL DEFAULT 1, language CHAR(7) NOT NULL DEFAULT '*');
CREATE TABLE jos_ars_items (id BIGINT PRIMARY KEY, release_id BIGINT NOT NULL,
  title VARCHAR(255) NOT NULL, alias VARCHAR(255) NOT NULL, description TEXT NOT NULL,
  type VARCHAR(10), filename VARCHAR(255) DEFAULT '', url VARCHAR(255) DEFAULT '',
  updatestream BIGINT DEFAULT NULL, md5 VARCHAR(32), sha1 VARCHAR(64), filesize BIGINT,
  hits BIGINT NOT NULL DEFAULT 0, ordering BIGINT NOT NULL DEFAULT 0,
  access BIGINT NOT NULL DEFAULT 0, published SMALLINT NOT NULL DEFAULT 1,
  language CHAR(7) NOT NULL DEFAULT '*', environments VARCHAR(255) DEFAULT NULL);
CREATE TABLE jos_ars_updatestreams (id BIGINT PRIMARY KEY, name VARCHAR(255) NOT NULL,
  alias VARCHAR(255) NOT NULL, type VARCHAR(20) NOT NULL DEFAULT 'components',
  element VARCHAR(255) NOT NULL, category BIGINT NOT NULL, packname VARCHAR(255),
  client_id BIGINT NOT NULL DEFAULT 1, folder VARCHAR(255) DEFAULT '',
  published BIGINT NOT NULL DEFAULT 1);
CREATE TABLE jos_ars_environments (id BIGINT PRIMARY KEY, title VARCHAR(100) NOT NULL DEFAULT '',
  xmltitle VARCHAR(20) NOT NULL DEFAULT '1.0');
CREATE TABLE jos_ars_dlidlabels (id BIGINT PRIMARY KEY, user_id BIGINT NOT NULL,
  {primary} SMALLINT NOT NULL DEFAULT 0, title VARCHAR(255) NOT NULL DEFAULT '',
  dlid CHAR(32) NOT NULL, published SMALLINT NOT NULL DEFAULT 1,
  created_by BIGINT NOT NULL DEFAULT 0);
";

const MAIN_DLID: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
const ADDON_DLID: &str = "ffeeddccbbaa99887766554433221100";
const BOB_DLID: &str = "11112222333344445555666677778888";
const UNPUBLISHED_DLID: &str = "99990000999900009999000099990000";

impl Site {
    /// An ARS installation: a free plugin (stream 1) and a paid component (stream 2, view level
    /// 3 "Pro" = Joomla group 12) with Joomla 4 and PHP 8.1 environments, a link item, and
    /// Download IDs (alice's main and add-on, bob's main, an unpublished one).
    async fn ars(&self, root: &std::path::Path) {
        let primary = if self.mysql {
            "`primary`"
        } else {
            "\"primary\""
        };
        let datetime = if self.mysql { "DATETIME" } else { "TIMESTAMP" };
        self.exec(
            &ARS_SCHEMA
                .replace("{primary}", primary)
                .replace("{datetime}", datetime),
        )
        .await;
        self.exec(&format!(
            "INSERT INTO jos_viewlevels (id, title, rules) VALUES (1, 'Public', '[]'), \
             (3, 'Pro', '[12]'), (5, 'Guest', '[9]');
             INSERT INTO jos_ars_categories (id, title, alias, directory, access, published) \
             VALUES (1, 'Free', 'free', 'files/free', 1, 1), (2, 'Pro', 'pro', 'files/pro', 3, 1);
             INSERT INTO jos_ars_releases (id, category_id, version, alias, maturity, notes, \
             access, published, created) VALUES \
             (1, 1, '1.0.0', '1-0-0', 'stable', '<p>First</p>', 1, 1, NULL), \
             (2, 2, '2.0.0', '2-0-0', 'stable', '<p>Pro two</p>', 1, 1, '2024-03-01 10:00:00');
             INSERT INTO jos_ars_items (id, release_id, title, alias, description, type, \
             filename, url, updatestream, access, published, environments) VALUES \
             (1, 1, 'Hello', 'hello', '', 'file', 'plg_system_hello-1.0.0.zip', '', 1, 1, 1, \
              '[\"32\",\"43\"]'), \
             (2, 2, 'Widgets', 'widgets', '', 'file', 'com_widgets-2.0.0.zip', '', 2, 1, 1, \
              '[\"32\"]'), \
             (3, 2, 'Docs', 'docs', '', 'link', '', 'https://example.com/docs.pdf', NULL, 1, 1, \
              NULL);
             INSERT INTO jos_ars_updatestreams (id, name, alias, type, element, category, \
             client_id, folder) VALUES (1, 'Hello', 'hello', 'plugins', 'hello', 1, 0, 'system'), \
             (2, 'Widgets', 'widgets', 'components', 'com_widgets', 2, 1, '');
             INSERT INTO jos_ars_environments (id, title, xmltitle) VALUES \
             (32, 'Joomla! 4.0', 'joomla/4.0'), (43, 'PHP 8.1', 'php/8.1');
             INSERT INTO jos_ars_dlidlabels (id, user_id, {primary}, title, dlid, published) \
             VALUES (1, 101, 1, '_MAIN_', '{MAIN_DLID}', 1), \
             (2, 101, 0, 'Client site', '{ADDON_DLID}', 1), \
             (3, 102, 1, '_MAIN_', '{BOB_DLID}', 1), \
             (4, 102, 0, 'Old', '{UNPUBLISHED_DLID}', 0);"
        ))
        .await;
        for dir in ["files/free", "files/pro"] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        std::fs::write(
            root.join("files/free/plg_system_hello-1.0.0.zip"),
            plugin_zip("1.0.0", "ars"),
        )
        .unwrap();
        std::fs::write(
            root.join("files/pro/com_widgets-2.0.0.zip"),
            component_zip("2.0.0"),
        )
        .unwrap();
    }
}

async fn ars_scenario(site: Site, db: Db) {
    let Some(bcrypt) = php_hash("alice pw 1", "PASSWORD_BCRYPT") else {
        return;
    };
    site.groups().await;
    site.user(101, "alice", "alice@example.com", &bcrypt, &[2, 12])
        .await;
    site.user(102, "bob", "bob@example.com", &bcrypt, &[2])
        .await;
    let root = tempfile::tempdir().unwrap();
    site.ars(root.path()).await;
    let url = site.depot_url.replace("{addr}", &site.server);
    let app = TestApp::spawn_with(db, |s| {
        s.identity.kind = "joomla".into();
        s.identity.database_url = Some(url.clone());
    })
    .await;
    app.depot().sync_identity(true).await.expect("first pass");

    // One command: what was imported, and what was not and why.
    let joomla = depot_joomla::JoomlaSite::connect(&url, "jos_").unwrap();
    let report = app
        .depot()
        .import_ars(&joomla, root.path())
        .await
        .expect("import");
    assert_eq!(
        report.failed.len(),
        1,
        "only the link item: {:?}",
        report.failed
    );
    assert!(
        report.failed[0].2.contains("hosted elsewhere"),
        "{:?}",
        report.failed
    );
    for what in [
        "package group ars-level-3",
        "item 1: plg_system_hello 1.0.0",
        "item 2: com_widgets 2.0.0",
        "update stream 1 → plg_system_hello",
        "update stream 2 → com_widgets",
        "Download ID 1",
        "Download ID 2",
        "Download ID 3",
    ] {
        assert!(
            report.imported.iter().any(|i| i == what),
            "{what}: {:?}",
            report.imported
        );
    }
    assert!(!report.imported.iter().any(|i| i == "Download ID 4"));
    // The release keeps ARS's date.
    let release: depot_api::ReleaseView = app.read("/extensions/com_widgets/releases/2.0.0").await;
    assert_eq!(
        release.published_at.as_deref(),
        Some("2024-03-01T10:00:00Z"),
        "{release:?}"
    );
    assert_eq!(release.stability, "stable");
    assert_eq!(release.notes.as_deref(), Some("<p>Pro two</p>"));

    // The site's groups qualify its users for the imported package group at the next pass.
    app.depot().sync_identity(true).await.expect("pass");

    // The update site URL installed sites hold serves depot's feed of that stream.
    let feed = app
        .text("/index.php?option=com_ars&view=update&task=stream&format=xml&id=2")
        .await;
    assert!(feed.contains("<element>com_widgets</element>"), "{feed}");
    assert!(feed.contains("<version>2.0.0</version>"), "{feed}");
    assert!(
        feed.contains("<targetplatform name=\"joomla\" version=\"4"),
        "{feed}"
    );
    // Its search-engine-friendly forms too, whatever the menu path before the alias.
    for sef in [
        "/index.php/downloads/update/widgets.xml",
        "/downloads/update/widgets?format=xml",
        "/updates/widgets.xml",
    ] {
        assert_eq!(app.text(sef).await, feed, "{sef}");
    }
    assert_eq!(app.get("/downloads/update/nothing.xml").await.status(), 404);
    let free_feed = app
        .get("/index.php?option=com_ars&view=update&task=stream&format=xml&stream_id=1")
        .await;
    assert_eq!(free_feed.status(), 200);
    assert_eq!(
        app.get("/index.php?option=com_ars&view=update&task=stream&format=xml&id=99")
            .await
            .status(),
        404
    );

    // The item download URL with the site's old Download ID: the same bytes, with the same
    // checks; the add-on form too; bob has no subscription; an unknown ID is refused.
    let paid = component_zip("2.0.0");
    let item = |dlid: &str| {
        format!("/index.php?option=com_ars&view=Item&task=download&item_id=2&dlid={dlid}")
    };
    let r = app.get(&item(MAIN_DLID)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().to_vec(), paid);
    let r = app.get(&item(&format!("101:{ADDON_DLID}"))).await;
    assert_eq!(r.status(), 200);
    let r = app.get(&item(BOB_DLID)).await;
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error_code"], "REL_NAU", "{v}");
    for unknown in [UNPUBLISHED_DLID, &format!("102:{ADDON_DLID}"), "0000"] {
        let r = app.get(&item(unknown)).await;
        assert_eq!(r.status(), 401, "{unknown}");
    }
    let r = app.get(&item("")).await;
    assert_eq!(r.status(), 400);
    // The feed's own download URL takes the old Download ID as Joomla sends it (extra_query).
    let block = update_blocks(&feed)[0].to_string();
    let r = app
        .client
        .get(format!("{}?dlid={MAIN_DLID}", download_url(&block)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let free = app
        .get("/index.php?option=com_ars&view=item&task=download&id=1")
        .await;
    assert_eq!(free.status(), 200);
    assert_eq!(
        free.bytes().await.unwrap().to_vec(),
        plugin_zip("1.0.0", "ars")
    );

    // The customer's page shows the imported IDs as such, never the IDs themselves.
    let r = browser()
        .post(app.url("/account/login"))
        .form(&[("email", "alice"), ("password", "alice pw 1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = browser()
        .get(app.url("/account"))
        .header("cookie", session_cookie(&r))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("previous download system"), "{page}");
    assert!(
        page.contains("…1100") && page.contains("ARS: Client site"),
        "{page}"
    );
    assert!(!page.contains(MAIN_DLID) && !page.contains(ADDON_DLID));

    // Imported keys are shown as such, and revoked like any other.
    let keys: depot_api::Items<depot_api::DownloadKeyView> =
        app.read("/users/alice@example.com/keys").await;
    let addon = keys
        .items
        .iter()
        .find(|k| k.label == "ARS: Client site")
        .expect("the add-on ID");
    assert!(addon.imported && addon.key == "…1100", "{addon:?}");
    assert!(!keys.items.iter().any(|k| k.key.contains(MAIN_DLID)));
    let (s, _) = app
        .api(
            Method::DELETE,
            &format!("/users/alice@example.com/keys/{}", addon.id),
            None,
        )
        .await;
    assert!(s == 200 || s == 204, "revoke: {s}");
    let r = app.get(&item(&format!("101:{ADDON_DLID}"))).await;
    assert_eq!(r.status(), 401, "a revoked imported ID");

    // The same command again, as a vendor runs it: nothing new.
    let out = depot()
        .args(["import", "ars", "--site-root"])
        .arg(root.path())
        .args(["--database-url", &url])
        .env("DEPOT_DATA_DIR", &app.settings.data_dir)
        .env(
            "DEPOT_DATABASE_URL",
            app.settings.database_url.as_deref().unwrap(),
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stdout.contains("imported "), "{stdout}");
    assert!(
        stdout.contains("unchanged item 2: com_widgets 2.0.0"),
        "{stdout}"
    );
    assert!(stderr.contains("hosted elsewhere"), "{stderr}");
    assert_eq!(
        out.status.code(),
        Some(1),
        "something was not imported: {stderr}"
    );
    let again: depot_api::Items<depot_api::DownloadKeyView> =
        app.read("/users/alice@example.com/keys").await;
    assert_eq!(again.items.len(), keys.items.len());
}

/// Runs `scenario` twice: a MariaDB site with depot on SQLite, a PostgreSQL site with depot on
/// PostgreSQL (`NAME::mariadb_site`, `NAME::postgres_site`).
macro_rules! site_test {
    ($name:ident, $scenario:ident) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mariadb_site() {
                let Some(site) = Site::mariadb().await else {
                    return;
                };
                $scenario(site, Db::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_site() {
                let Some(site) = Site::postgres().await else {
                    return;
                };
                let Some(db) = Db::postgres().await else {
                    return;
                };
                $scenario(site, db).await;
            }
        }
    };
}

site_test!(joomla_site_is_the_identity_source, scenario);
site_test!(ars_import, ars_scenario);
