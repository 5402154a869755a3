//! Mail: keybymail through the outbox to a real SMTP server (aiosmtpd, started by the test) over
//! plain SMTP and STARTTLS with AUTH, and the seed's whole story over HTTP.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use depot_api::{
    DownloadKeyView, EndMembership, Ended, GroupView, Items, JbackendKeyView, MembershipView,
    NewGroup, NewKey, NewMembership, NewPackageGroup, NewUser, PackageGroupView, UserView,
};
use reqwest::Method;
use serde_json::json;

use crate::db_test;
use crate::helpers::*;

/// A Python with aiosmtpd: `DEPOT_TEST_SMTPD_PYTHON`, `.ci/run`'s venv, or `python3`.
fn smtpd_python() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("DEPOT_TEST_SMTPD_PYTHON").map(PathBuf::from),
        std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".local/depot-tools/smtp/bin/python")),
        Some(PathBuf::from("python3")),
    ];
    candidates.into_iter().flatten().find(|p| {
        Command::new(p)
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

pub struct SmtpSink {
    child: Child,
    pub port: u16,
    pub maildir: PathBuf,
    /// With TLS: the CA that signed the server's certificate.
    pub ca: Option<PathBuf>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl SmtpSink {
    /// Starts a sink on `port`, writing into `dir/maildir`; with `tls`, STARTTLS and AUTH are
    /// required and the CA is `dir/ca.pem` (made on first start, reused after). `None` (skip)
    /// when aiosmtpd is missing (see `helpers::skip`).
    pub fn start(dir: &Path, port: u16, tls: bool) -> Option<SmtpSink> {
        Self::start_with(dir, port, if tls { &["starttls"] } else { &[] })
    }

    /// `mode`: `[]` plain, `["starttls"]`, or `["implicit"]` (TLS from the first byte).
    pub fn start_with(dir: &Path, port: u16, mode: &[&str]) -> Option<SmtpSink> {
        let tls = !mode.is_empty();
        let Some(python) = smtpd_python() else {
            crate::helpers::skip("aiosmtpd not installed (pip install aiosmtpd)");
            return None;
        };
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/smtp_sink.py");
        let maildir = dir.join("maildir");
        let mut cmd = Command::new(python);
        cmd.arg(script).arg(port.to_string()).arg(&maildir);
        if tls {
            cmd.arg(dir);
        }
        if mode == ["implicit"] {
            cmd.arg("implicit");
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the SMTP sink");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP sink did not start");
        Some(SmtpSink {
            child,
            port,
            maildir,
            ca: tls.then(|| dir.join("ca.pem")),
        })
    }

    /// Points depot's mail at this sink (plain SMTP).
    pub fn configure(&self, s: &mut depot::config::Settings) {
        s.mail.transport = "smtp".into();
        s.mail.url = Some(format!("smtp://127.0.0.1:{}?tls=none", self.port));
    }

    /// The messages received so far.
    pub fn messages(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(self.maildir.join("new"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap())
            .collect()
    }

    /// Waits (up to 20 s) until `n` messages have arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<String> {
        for _ in 0..200 {
            let m = self.messages();
            if m.len() >= n {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{n} message(s) expected, got {}", self.messages().len());
    }
}

fn redj_zip(version: &str) -> Vec<u8> {
    let manifest = format!(
        r#"<?xml version="1.0"?><extension type="component" method="upgrade"><name>ReDJ Enterprise</name><element>com_redj</element><version>{version}</version></extension>"#
    );
    zip_of(&[("redj.xml", manifest.as_bytes())])
}

/// A user with a membership in `group`, open-ended from `from` (now when `None`).
async fn member(app: &TestApp, user: NewUser, group: i64, from: Option<String>) {
    let path = format!("/users/{}/memberships", user.email.trim().to_lowercase());
    let _: UserView = app.call(Method::POST, "/users", &user).await;
    let membership = NewMembership {
        group,
        from,
        until: None,
    };
    let _: MembershipView = app.call(Method::POST, &path, &membership).await;
}

async fn refused(app: &TestApp, url: &str) -> (u16, String) {
    let r = app.client.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ko", "{url}");
    (status, body["error_code"].as_str().unwrap().to_string())
}

/// Sets up the seed's catalogue through the admin API: groups 9 and 12, the package group
/// `redj_enterprise`, ReDJ Community (free, `redj_com_190`) and ReDJ Enterprise (paid from its
/// first release, `redj_ent_190`).
async fn seed_catalogue(app: &TestApp) {
    for (id, name) in [(9, "ReDJ subscribers"), (12, "ReDJ resellers")] {
        let group = NewGroup {
            id,
            name: name.into(),
        };
        let _: GroupView = app.call(Method::POST, "/groups", &group).await;
    }
    let enterprise = NewPackageGroup {
        id: "redj_enterprise".into(),
        groups: vec![9, 12],
        seed: Some("HASH123KEY456".into()),
        name: Some("ReDJ Enterprise".into()),
        policy: None,
        private_feeds: None,
    };
    let _: PackageGroupView = app.call(Method::POST, "/package-groups", &enterprise).await;
    app.publish(
        "plg_system_hello",
        "1.9.0",
        plugin_zip("1.9.0", "community"),
        "package_id=redj_com_190",
    )
    .await;
    app.publish(
        "com_redj",
        "1.9.0",
        redj_zip("1.9.0"),
        "package_id=redj_ent_190&package_group=redj_enterprise",
    )
    .await;
}

db_test!(the_seed_story_over_http_with_a_real_smtp_server, db => |db: Db| async move {
    let dir = tempfile::tempdir().unwrap();
    let Some(sink) = SmtpSink::start(dir.path(), free_port(), false) else {
        return;
    };
    let app = TestApp::spawn_with(db, |s| {
        sink.configure(s);
        s.mail.from = "ReDJ <updates@example.com>".into();
    })
    .await;
    seed_catalogue(&app).await;
    let paid = app.url("/get/release/download/redj_ent_190");

    // Free: no credentials. Paid: the seed's REL_ENS without them.
    let r = app.get("/get/release/download/redj_com_190").await;
    assert_eq!(r.status(), 200);
    assert_eq!(refused(&app, &paid).await, (400, "REL_ENS".into()));

    // A subscriber, with a password, in group 12 since last month.
    let month_ago = time::OffsetDateTime::now_utc() - time::Duration::days(30);
    let subscriber = NewUser {
        name: Some("Sub".into()),
        password: Some("correct horse battery".into()),
        ..new_user("Subscriber@Example.com")
    };
    member(&app, subscriber, 12, Some(month_ago.date().to_string())).await;

    // keybymail: the key arrives by mail, through the real SMTP server.
    let (s, body) = app.post_form("/post/release/keybymail/redj_enterprise",
        &[("email", "subscriber@example.com")]).await;
    assert_eq!((s, body), (200, json!({"status": "ok"})));
    let mails = sink.wait_for(1).await;
    let mail = &mails[0];
    assert!(mail.contains("To: subscriber@example.com"), "{mail}");
    assert!(mail.contains("Subject: Your download key for ReDJ Enterprise"), "{mail}");
    assert!(mail.contains("text/html"), "{mail}");
    assert!(decoded(mail).contains("System > Update Sites"), "{mail}");
    let (key, dlid) = keys_in_mail(mail);
    assert_eq!(key.len(), 32, "{}", decoded(mail));

    // The key downloads with email + key, in the query and as a form.
    let zip = redj_zip("1.9.0");
    let r = app.client.get(format!("{paid}?email=subscriber@example.com&key={key}")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), zip.as_slice());
    let r = app.client.post(&paid).form(&[("email", "subscriber@example.com"), ("key", key.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 200);

    // keybyauth hands out the same key.
    let (s, body) = app.post_form("/post/release/keybyauth/redj_enterprise",
        &[("username", "subscriber@example.com"), ("password", "correct horse battery")]).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["key"], key.as_str());

    // The mailed download key, appended as Joomla appends its dlid, after ? or &amp;.
    let feed = app.text("/updates/com_redj.xml").await;
    let url = download_url(update_blocks(&feed)[0]);
    for u in [format!("{url}?dlid={dlid}"), format!("{url}?x=1&amp;dlid={dlid}")] {
        let r = app.client.get(&u).send().await.unwrap();
        assert_eq!(r.status(), 200, "{u}");
        assert_eq!(r.bytes().await.unwrap().as_ref(), zip.as_slice());
    }
    // It is the user's key labelled "Joomla", listed (and shown again) by the admin API.
    let keys: Items<DownloadKeyView> = app.read("/users/subscriber@example.com/keys").await;
    assert_eq!((keys.items[0].label.as_str(), keys.items[0].key.as_str()), ("Joomla", dlid.as_str()));

    // A non-subscriber asking by mail gets the same answer, and no mail.
    let _: UserView = app.call(Method::POST, "/users", &new_user("someone@example.com")).await;
    let (s, body) = app.post_form("/post/release/keybymail/redj_enterprise",
        &[("email", "someone@example.com")]).await;
    assert_eq!((s, body), (200, json!({"status": "ok"})));
    app.settle_mail().await;
    assert_eq!(sink.messages().len(), 1);
    let other: Items<JbackendKeyView> = app.read("/users/someone@example.com/jbackend-keys").await;
    let other_key = other.items[0].key.clone();
    assert!(!other.items[0].entitled);
    assert_eq!(
        refused(&app, &format!("{paid}?email=someone@example.com&key={other_key}")).await,
        (403, "REL_NAU".into())
    );

    // A second download key; revoking the mailed one leaves the second working.
    let label = NewKey { label: Some("www.example.org".into()) };
    let second: DownloadKeyView = app.call(Method::POST, "/users/subscriber@example.com/keys", &label).await;
    let second_key = second.key;
    let id = keys.items[0].id;
    let (s, _) = app.api(Method::DELETE, &format!("/users/subscriber@example.com/keys/{id}"), None).await;
    assert_eq!(s, 204);
    assert_eq!(refused(&app, &format!("{url}?dlid={dlid}")).await, (401, "REL_INK".into()));
    assert_eq!(app.client.get(format!("{url}?dlid={second_key}")).send().await.unwrap().status(), 200);

    // Rotating the jBackend key: the old one is refused, the new one works.
    let rotated: JbackendKeyView = app.call(Method::POST, "/users/subscriber@example.com/jbackend-keys/redj_enterprise/rotate", &()).await;
    let new_key = rotated.key;
    assert_ne!(new_key, key);
    assert_eq!(refused(&app, &format!("{paid}?email=subscriber@example.com&key={key}")).await, (401, "REL_INK".into()));
    assert_eq!(app.client.get(format!("{paid}?email=subscriber@example.com&key={new_key}")).send().await.unwrap().status(), 200);

    // The membership ends: REL_EXP for the key and for the download key alike.
    let end = EndMembership { group: 12, at: None };
    let ended: Ended = app.call(Method::POST, "/users/subscriber@example.com/memberships/end", &end).await;
    assert_eq!(ended.ended, 1);
    assert_eq!(refused(&app, &format!("{paid}?email=subscriber@example.com&key={new_key}")).await, (403, "REL_EXP".into()));
    assert_eq!(refused(&app, &format!("{url}?dlid={second_key}")).await, (403, "REL_EXP".into()));

    // And with no entitlement left, keybymail sends nothing more.
    app.post_form("/post/release/keybymail/redj_enterprise", &[("email", "subscriber@example.com")]).await;
    app.settle_mail().await;
    assert_eq!(sink.messages().len(), 1);
});

db_test!(
    keybymail_answers_the_same_for_every_address,
    |app: TestApp| async move {
        seed_catalogue(&app).await;
        member(&app, new_user("subscriber@example.com"), 9, None).await;
        let _: UserView = app
            .call(Method::POST, "/users", &new_user("lapsed@example.com"))
            .await;
        let path = "/post/release/keybymail/redj_enterprise";
        let known = app
            .post_form(path, &[("email", "subscriber@example.com")])
            .await;
        let lapsed = app
            .post_form(path, &[("email", "lapsed@example.com")])
            .await;
        let unknown = app
            .post_form(path, &[("email", "nobody@example.com")])
            .await;
        assert_eq!(known, (200, json!({"status": "ok"})));
        assert_eq!(known, lapsed);
        assert_eq!(known, unknown);

        // Only the entitled address gets a mail (the embedded file transport: .eml files).
        assert_eq!(
            app.mail_outcomes().await,
            [
                "lapsed@example.com: skipped",
                "nobody@example.com: skipped",
                "subscriber@example.com: sent",
            ]
        );

        let mail_dir = app.settings.data_dir.join("mail");
        let files: Vec<_> = std::fs::read_dir(&mail_dir).unwrap().flatten().collect();
        assert_eq!(files.len(), 1);
        let raw = std::fs::read_to_string(files[0].path()).unwrap();
        assert!(raw.contains("To: subscriber@example.com"));
        let (key, _) = keys_in_mail(&raw);
        let r = app
            .get(&format!(
                "/get/release/download/redj_ent_190?email=subscriber@example.com&key={key}"
            ))
            .await;
        assert_eq!(r.status(), 200);

        // Bad input: the codes of docs/product.md §4, and nothing queued.
        for (form, status, code) in [
            (vec![], 400, "REL_ENS"),
            (vec![("email", "  ")], 400, "REL_ENS"),
            (vec![("email", "not an address")], 400, "REL_BRQ"),
        ] {
            let (s, body) = app.post_form(path, &form).await;
            assert_eq!(
                (s, body["error_code"].as_str().unwrap()),
                (status, code),
                "{form:?}"
            );
        }
        let (s, body) = app
            .post_form("/post/release/keybymail/nope", &[("email", "a@b.co")])
            .await;
        assert_eq!((s, body["error_code"].as_str().unwrap()), (404, "REL_GNF"));
        let long = format!("{}@example.com", "a".repeat(2000));
        let (s, body) = app.post_form(path, &[("email", &long)]).await;
        assert_eq!((s, body["error_code"].as_str().unwrap()), (400, "REL_BRQ"));
        assert_eq!(app.depot().store().recent_mail(10).await.unwrap().len(), 3);

        // Per address: three requests a quarter hour, known address or not.
        app.assert_limit(
            path,
            |_| form(&[("email", "flood@example.com")]),
            3,
            200,
            Duration::from_secs(15 * 60),
        )
        .await;
        // Per client address: ten a minute, over every address.
        app.assert_limit(
            path,
            |i| form(&[("email", &format!("flood{i}@example.com"))]),
            10,
            200,
            Duration::from_secs(60),
        )
        .await;
    }
);

db_test!(starttls_with_auth_and_a_server_that_was_down_lose_no_mail, db => |db: Db| async move {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // Start once to make the CA, then stop: the mail server is down when the request comes.
    let Some(sink) = SmtpSink::start(dir.path(), port, true) else {
        return;
    };
    let ca = sink.ca.clone().unwrap();
    drop(sink);
    let app = TestApp::spawn_with(db, |s| {
        s.mail.transport = "smtp".into();
        s.mail.url = Some(format!("smtp://mailer:s3cret-pw@localhost:{port}"));
        s.mail.ca_file = Some(ca.clone());
        s.mail.timeout_secs = 5;
    })
    .await;
    seed_catalogue(&app).await;
    member(&app, new_user("subscriber@example.com"), 9, None).await;
    let (s, _) = app.post_form("/post/release/keybymail/redj_enterprise", &[("email", "subscriber@example.com")]).await;
    assert_eq!(s, 200, "the request does not wait for the mail server");

    // Delivery fails and is scheduled again, not lost.
    let row = app.settle_mail().await.remove(0);
    assert!(row.done_at.is_none(), "{row:?}");
    assert!(row.attempts >= 1 && row.next_attempt_at > app.clock.now_ms());
    assert!(row.last_error.as_deref().is_some_and(|e| !e.contains("subscriber@example.com")), "{row:?}");

    // The server comes back (STARTTLS required, AUTH); the retry delivers.
    let sink = SmtpSink::start(dir.path(), port, true).unwrap();
    app.depot().store().retry_mail(row.id, 0, "test: due now").await.unwrap();
    let row = app.settle_mail().await.remove(0);
    assert_eq!(row.outcome.as_deref(), Some("sent"), "{row:?}");
    let mails = sink.wait_for(1).await;
    assert!(mails[0].contains("To: subscriber@example.com"));
    let row = app.depot().store().recent_mail(1).await.unwrap().remove(0);
    assert_eq!(row.outcome.as_deref(), Some("sent"));

    // A wrong password is refused by the server: an error, not a silent success.
    let settings = depot_service::MailSettings {
        transport: "smtp".into(),
        url: Some(format!("smtp://mailer:wrong@localhost:{port}")),
        ca_file: Some(ca.clone()),
        timeout_secs: 5,
        ..Default::default()
    };
    let mailer = depot_service::Mailer::from_settings(&settings, dir.path()).unwrap();
    let email = depot_service::Email {
        to: "x@example.com".into(),
        subject: "s".into(),
        text: "t".into(),
        html: "h".into(),
    };
    let err = mailer.send(&email).await.unwrap_err().to_string();
    assert!(err.contains("535") || err.to_lowercase().contains("auth"), "{err}");
    // And without the private CA the server's certificate is not trusted.
    let untrusted = depot_service::Mailer::from_settings(
        &depot_service::MailSettings {
            ca_file: None,
            ..settings.clone()
        },
        dir.path(),
    )
    .unwrap();
    assert!(untrusted.send(&email).await.is_err());
    assert_eq!(sink.messages().len(), 1);

    // smtps://: TLS from the first byte, then AUTH.
    let implicit_dir = dir.path().join("implicit");
    std::fs::create_dir(&implicit_dir).unwrap();
    for f in ["ca.pem", "leaf.pem", "leaf.key"] {
        std::fs::copy(dir.path().join(f), implicit_dir.join(f)).unwrap();
    }
    let smtps = SmtpSink::start_with(&implicit_dir, free_port(), &["implicit"]).unwrap();
    let mailer = depot_service::Mailer::from_settings(
        &depot_service::MailSettings {
            url: Some(format!("smtps://mailer:s3cret-pw@localhost:{}", smtps.port)),
            ..settings
        },
        dir.path(),
    )
    .unwrap();
    assert!(mailer.describe().ends_with("(TLS)"));
    mailer.send(&email).await.unwrap();
    assert!(smtps.wait_for(1).await[0].contains("To: x@example.com"));
});

// `[branding]`: the vendor's name, logo, colour, support link and footer on the account pages
// and in mails, and the mails' From name; the logo's origin is the only one the pages' policy
// adds.
db_test!(the_vendors_brand_on_pages_and_mails, db => |db: Db| async move {
    let app = TestApp::spawn_with(db, |s| {
        s.branding = depot::config::Branding {
            name: "Example Extensions".into(),
            logo_url: Some("https://cdn.example.com/logo.png".into()),
            accent: Some("#aa3300".into()),
            support_url: Some("https://example.com/support".into()),
            mail_from_name: Some("Example Extensions Ltd".into()),
            mail_footer: Some("Example Ltd, 1 Main Street, Springfield".into()),
        };
    })
    .await;
    let r = app.get("/account/login").await;
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("img-src 'self' data: https://cdn.example.com;"), "{csp}");
    let page = r.text().await.unwrap();
    assert!(page.contains("· Example Extensions</title>"), "{page}");
    assert!(page.contains(r#"<img src="https://cdn.example.com/logo.png""#));
    assert!(page.contains(r#"<a href="https://example.com/support">"#));
    assert!(page.contains("/account/static/brand.css"));
    let css = app.text("/account/static/brand.css").await;
    assert_eq!(css, ":root { --accent: #aa3300; }\n");

    seed_catalogue(&app).await;
    member(&app, new_user("subscriber@example.com"), 9, None).await;
    app.post_form(
        "/post/release/keybymail/redj_enterprise",
        &[("email", "subscriber@example.com")],
    )
    .await;
    assert_eq!(app.mail_outcomes().await, ["subscriber@example.com: sent"]);
    let mail_dir = app.settings.data_dir.join("mail");
    let file = std::fs::read_dir(&mail_dir).unwrap().flatten().next().unwrap();
    let raw = std::fs::read_to_string(file.path()).unwrap();
    assert!(raw.contains("From: \"Example Extensions Ltd\" <"), "{raw}");
    let unfolded = raw.replace("=\r\n", "").replace("=\n", "");
    assert!(unfolded.contains("Example Ltd, 1 Main Street, Springfield"), "{raw}");
    assert!(unfolded.contains("Questions? https://example.com/support"), "{raw}");
    assert!(unfolded.contains("https://cdn.example.com/logo.png"), "{raw}");
});
