//! The admin console in a real browser: Debian's `chromium`, headless, driven through
//! `chromedriver` (WebDriver). `.ci/run` installs both; elsewhere the test is skipped when they
//! are missing. Screenshots of every page go to `target/screenshots/` as test artefacts.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::*;

fn find(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

struct ChromeDriver {
    child: Child,
    url: String,
    _profile: tempfile::TempDir,
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ChromeDriver {
    async fn start() -> Option<(ChromeDriver, Client)> {
        let driver = find("DEPOT_TEST_CHROMEDRIVER", &["/usr/bin/chromedriver"]);
        let chromium = find("DEPOT_TEST_CHROMIUM", &["/usr/bin/chromium"]);
        let (Some(driver), Some(chromium)) = (driver, chromium) else {
            crate::helpers::skip(
                "chromium or chromedriver missing (apt-get install chromium chromium-driver)",
            );
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while reqwest::get(format!("{url}/status")).await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        // The flags keep chromium from reaching for Google's services on a closed network.
        let caps = json!({
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.as_object().unwrap().clone())
            .connect(&url)
            .await
            .expect("a chromium session");
        Some((
            ChromeDriver {
                child,
                url,
                _profile: profile,
            },
            client,
        ))
    }
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/screenshots"
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn click(b: &Client, locator: Locator<'_>) {
    b.wait()
        .for_element(locator)
        .await
        .expect("the element appears")
        .click()
        .await
        .expect("a click");
}

async fn text(b: &Client, locator: Locator<'_>) -> String {
    b.wait()
        .for_element(locator)
        .await
        .expect("the element appears")
        .text()
        .await
        .expect("its text")
}

async fn snap(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

/// One Chromium for every browser story: starting it costs more than a story. Cookies and the
/// window size are reset between stories (cookies are per host, not per port, so two test
/// servers on 127.0.0.1 would otherwise share a session).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_and_account_in_chromium() {
    let Some((driver, b)) = ChromeDriver::start().await else {
        return;
    };
    let _ = &driver.url;
    admin_console(&b).await;
    b.delete_all_cookies().await.unwrap();
    b.set_window_size(1280, 900).await.unwrap();
    admin_publishes_and_customer_downloads(&b).await;
    b.close().await.unwrap();
}

/// The console's pages, at desktop and phone width, with screenshots.
async fn admin_console(b: &Client) {
    let b = b.clone();
    let app = TestApp::spawn(Db::Sqlite).await;
    app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "a"), "")
        .await;
    app.publish(
        "plg_system_hello",
        "1.1.0",
        plugin_zip("1.1.0", "b"),
        "draft=1",
    )
    .await;
    make_admin(&app, "admin@example.com").await;

    // Signed out, the console sends the browser to the sign-in page.
    b.goto(&app.url("/admin")).await.unwrap();
    assert!(
        b.current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/admin/login")
    );
    snap(&b, "admin-01-sign-in").await;

    // A wrong password says so, and keeps the address typed.
    let sign_in = |password: &'static str| {
        let b = b.clone();
        async move {
            let email = b.find(Locator::Css("input[name=email]")).await.unwrap();
            email.clear().await.unwrap();
            email.send_keys("admin@example.com").await.unwrap();
            b.find(Locator::Css("input[name=password]"))
                .await
                .unwrap()
                .send_keys(password)
                .await
                .unwrap();
            click(&b, Locator::Css("button[type=submit]")).await;
        }
    };
    sign_in("not the password").await;
    let alert = b
        .wait()
        .for_element(Locator::Css("[role=alert]"))
        .await
        .unwrap();
    assert_eq!(
        alert.text().await.unwrap(),
        "Wrong e-mail address or password"
    );
    snap(&b, "admin-02-wrong-password").await;
    sign_in("correct horse battery").await;

    // The dashboard, with its charts.
    b.wait()
        .for_element(Locator::Css("main svg"))
        .await
        .unwrap();
    assert!(b.current_url().await.unwrap().as_str().ends_with("/admin"));
    let charts = b.find_all(Locator::Css("main svg")).await.unwrap();
    assert_eq!(
        charts.len(),
        2,
        "downloads and update checks per day; no Joomla versions yet"
    );
    assert_eq!(
        text(&b, Locator::Css(".signout span")).await,
        "admin@example.com"
    );
    snap(&b, "admin-03-dashboard").await;

    // Extensions: the manifest snippet, and publishing the draft with its button.
    click(&b, Locator::LinkText("Extensions")).await;
    click(&b, Locator::XPath("//summary[text()='Manifest snippet']")).await;
    let snippet = text(&b, Locator::Css("pre.snippet")).await;
    assert!(snippet.starts_with("<updateservers>"), "{snippet}");
    assert!(snippet.contains(&app.url("/updates/plg_system_hello.xml")));
    snap(&b, "admin-04-extensions").await;
    assert!(
        !app.text("/updates/plg_system_hello.xml")
            .await
            .contains("1.1.0")
    );
    click(
        &b,
        Locator::XPath("//tr[td[1][text()='1.1.0']]//button[text()='Publish']"),
    )
    .await;
    let state = text(
        &b,
        Locator::XPath("//tr[td[1][text()='1.1.0']]/td[2][text()='published']"),
    )
    .await;
    assert_eq!(state, "published");
    assert!(
        app.text("/updates/plg_system_hello.xml")
            .await
            .contains("<version>1.1.0</version>")
    );
    snap(&b, "admin-05-published").await;
    console_logs_and_phone_layout(&b, &app).await;
}

/// The console's audit and download logs, the pages on a phone, and signing out.
async fn console_logs_and_phone_layout(b: &Client, app: &TestApp) {
    let b = b.clone();
    // The audit log shows who did it, from the console.
    click(&b, Locator::LinkText("Audit log")).await;
    b.wait()
        .for_url(&url::Url::parse(&app.url("/admin/audit")).unwrap())
        .await
        .unwrap();
    let first = text(&b, Locator::Css("tbody tr")).await;
    assert!(
        first.contains("user admin@example.com") && first.contains("release.publish"),
        "{first}"
    );
    snap(&b, "admin-06-audit").await;

    // The download log, filtered by version.
    let r = app
        .get("/download/plg_system_hello/1.1.0/plg_system_hello-1.1.0.zip")
        .await;
    assert_eq!(r.status(), 200);
    app.flush_events().await;
    click(&b, Locator::LinkText("Downloads")).await;
    for (field, value) in [("extension", "plg_system_hello"), ("version", "1.1.0")] {
        b.wait()
            .for_element(Locator::Css(&format!("input[name={field}]")))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    click(&b, Locator::Css("form.filters button")).await;
    // The filtered page keeps the filter in its form.
    b.wait()
        .for_element(Locator::Css("input[name=version][value='1.1.0']"))
        .await
        .unwrap();
    let row = text(&b, Locator::Css("tbody tr")).await;
    assert!(
        row.contains("plg_system_hello") && row.contains("1.1.0") && row.contains("200"),
        "{row}"
    );
    snap(&b, "admin-07-downloads").await;

    // On a phone-sized screen the pages still fit.
    b.set_window_size(390, 844).await.unwrap();
    b.goto(&app.url("/admin")).await.unwrap();
    let overflow: bool = b
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth + 1",
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap();
    assert!(!overflow, "the dashboard scrolls sideways on a phone");
    snap(&b, "admin-08-dashboard-phone").await;

    // Signing out.
    click(&b, Locator::Css(".signout button")).await;
    b.wait()
        .for_element(Locator::Css("input[name=password]"))
        .await
        .unwrap();
    b.goto(&app.url("/admin")).await.unwrap();
    assert!(
        b.current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/admin/login")
    );
}

async fn fill(b: &Client, css: &str, value: &str) {
    let field = b
        .wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

async fn wait_for_path(b: &Client, app: &TestApp, path: &str) {
    let want = app.url(path);
    let started = Instant::now();
    loop {
        let now = b.current_url().await.unwrap().to_string();
        if now == want {
            return;
        }
        if started.elapsed() > Duration::from_secs(20) {
            snap(b, "failed-wait").await;
            panic!("still at {now}, not {want} (see failed-wait.png)");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the element says `want`: the page before a form's redirect may have the same
/// element and go stale while it is read, and a script may change the text a moment later.
async fn wait_for_text(b: &Client, css: &str, want: &str) {
    let started = Instant::now();
    loop {
        if let Ok(element) = b.find(Locator::Css(css)).await
            && element.text().await.is_ok_and(|t| t == want)
        {
            return;
        }
        if started.elapsed() > Duration::from_secs(20) {
            snap(b, "failed-wait").await;
            panic!("{css} never said {want:?} (see failed-wait.png)");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The whole story the issue asks for, in the browser: an administrator uploads a paid package,
/// publishes it and creates a customer with a membership; the customer sets a password through
/// the mailed link, creates a download key and copies it, and the key downloads the package.
async fn admin_publishes_and_customer_downloads(b: &Client) {
    let b = b.clone();
    let app = TestApp::spawn(Db::Sqlite).await;
    make_admin(&app, "admin@example.com").await;
    b.goto(&app.url("/admin/login")).await.unwrap();
    fill(&b, "input[name=email]", "admin@example.com").await;
    fill(&b, "input[name=password]", PASSWORD).await;
    click(&b, Locator::Css("button[type=submit]")).await;
    wait_for_path(&b, &app, "/admin").await;

    // A group and a package group, from the groups page.
    click(&b, Locator::LinkText("Groups")).await;
    fill(&b, "form[action='/admin/groups'] input[name=id]", "9").await;
    fill(
        &b,
        "form[action='/admin/groups'] input[name=name]",
        "Pro subscribers",
    )
    .await;
    click(&b, Locator::Css("form[action='/admin/groups'] button")).await;
    wait_for_path(&b, &app, "/admin/groups?done=group").await;
    fill(
        &b,
        "form[action='/admin/package-groups'] input[name=id]",
        "pro",
    )
    .await;
    fill(
        &b,
        "form[action='/admin/package-groups'] input[name=name]",
        "Pro",
    )
    .await;
    fill(
        &b,
        "form[action='/admin/package-groups'] input[name=groups]",
        "9",
    )
    .await;
    click(
        &b,
        Locator::Css("form[action='/admin/package-groups'] button"),
    )
    .await;
    wait_for_path(&b, &app, "/admin/groups?done=package_group").await;
    snap(&b, "story-01-groups").await;

    // Upload the package as a paid draft, with the progress bar's script.
    let manifest = r#"<?xml version="1.0"?><extension type="component" method="upgrade"><name>ReDJ</name><element>com_redj</element><version>2.0.0</version></extension>"#;
    // A few MiB that do not compress (a zip of repeated bytes is refused as a bomb), so that
    // the upload takes long enough to show progress.
    let payload: Vec<u8> = (0..3 * 1024 * 1024).map(|_| rand::random::<u8>()).collect();
    let zip = zip_of(&[("redj.xml", manifest.as_bytes()), ("payload.bin", &payload)]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("com_redj-2.0.0.zip");
    std::fs::write(&path, &zip).unwrap();
    click(&b, Locator::LinkText("Upload")).await;
    b.wait()
        .for_element(Locator::Css("input[type=file]"))
        .await
        .unwrap()
        .send_keys(path.to_str().unwrap())
        .await
        .unwrap();
    click(
        &b,
        Locator::XPath("//select[@name='package_group']/option[text()='pro']"),
    )
    .await;
    click(&b, Locator::Css("input[name=draft]")).await;
    fill(&b, "textarea[name=notes]", "The first Pro release").await;
    snap(&b, "story-02-upload").await;
    click(&b, Locator::Css("#upload-form button[type=submit]")).await;
    // The script follows the redirect itself (an XHR answer carries no fragment).
    wait_for_path(&b, &app, "/admin/extensions?done=uploaded").await;
    wait_for_text(&b, ".flash", "Uploaded.").await;
    assert!(
        !app.text("/updates/com_redj.xml").await.contains("2.0.0"),
        "a draft"
    );

    // Publish it; the snippet of a paid extension asks Joomla for the Download Key.
    click(
        &b,
        Locator::XPath(
            "//section[@id='com_redj']//tr[td[1][text()='2.0.0']]//button[text()='Publish']",
        ),
    )
    .await;
    wait_for_path(
        &b,
        &app,
        "/admin/extensions?q=com_redj&done=published#com_redj",
    )
    .await;
    click(
        &b,
        Locator::XPath("//section[@id='com_redj']//summary[text()='Manifest snippet']"),
    )
    .await;
    let snippet = text(&b, Locator::Css("#com_redj pre.snippet")).await;
    assert!(
        snippet.contains("<dlid prefix=\"dlid=\" suffix=\"\"/>"),
        "{snippet}"
    );
    assert!(
        app.text("/updates/com_redj.xml")
            .await
            .contains("<version>2.0.0</version>")
    );
    snap(&b, "story-03-published").await;

    // A customer with a membership until the end of 2099, then a password link.
    click(&b, Locator::LinkText("Users")).await;
    fill(
        &b,
        "form[method=post][action='/admin/users'] input[name=email]",
        "customer@example.com",
    )
    .await;
    fill(
        &b,
        "form[method=post][action='/admin/users'] input[name=name]",
        "Casey",
    )
    .await;
    click(&b, Locator::XPath("//button[text()='Add user']")).await;
    b.wait()
        .for_element(Locator::Css("form[action$='/memberships']"))
        .await
        .unwrap();
    // A date field takes what its locale shows; set it as a script would.
    b.execute(
        "document.querySelector(\"form[action$='/memberships'] input[name=until]\").value = '2099-12-31'",
        vec![],
    )
    .await
    .unwrap();
    click(&b, Locator::XPath("//button[text()='Add membership']")).await;
    wait_for_text(&b, ".flash", "Membership added.").await;
    let row = text(&b, Locator::Css("#memberships tbody tr")).await;
    assert!(
        row.contains("Pro subscribers") && row.contains("2099"),
        "{row}"
    );
    // Times show in the reader's zone, the ISO form on hover.
    let until = b
        .find(Locator::Css("#memberships tbody tr td:nth-child(3) time"))
        .await
        .unwrap()
        .attr("title")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(until.starts_with("2099-12-31"), "{until}");
    click(
        &b,
        Locator::XPath("//button[text()='E-mail a password link']"),
    )
    .await;
    wait_for_text(&b, ".flash", "A password link is on its way by e-mail.").await;
    snap(&b, "story-04-customer").await;
    app.settle_mail().await;
    let link = mailed_link(&app);
    customer_sets_a_password_and_downloads(&b, &app, &link, &zip).await;

    // The statistics now have data: the downloads, a site's update check.
    reqwest::Client::new()
        .get(app.url("/updates/com_redj.xml"))
        .header("user-agent", "Mozilla/5.0 Joomla!/5.2.1 Joomla")
        .send()
        .await
        .unwrap();
    app.flush_events().await;
    b.set_window_size(1280, 1000).await.unwrap();
    b.goto(&app.url("/admin?extension=com_redj&days=30"))
        .await
        .unwrap();
    let sites = text(&b, Locator::Css("#active-sites p")).await;
    assert!(sites.starts_with("1 in the last 7 days"), "{sites}");
    let releases = text(&b, Locator::Css("#releases tbody")).await;
    assert!(releases.contains("2.0.0"), "{releases}");
    assert_eq!(b.find_all(Locator::Css("main svg")).await.unwrap().len(), 3);
    snap(&b, "story-08-statistics").await;
}

/// The customer's half of the story: the mailed link, a password, a key copied from the account
/// page, and the key downloading the paid package.
async fn customer_sets_a_password_and_downloads(b: &Client, app: &TestApp, link: &str, zip: &[u8]) {
    let b = b.clone();
    // The customer sets a password through the link and lands on their account.
    b.goto(link).await.unwrap();
    snap(&b, "story-05-password").await;
    fill(&b, "input[name=password]", "customer's own secret").await;
    fill(&b, "input[name=confirm]", "customer's own secret").await;
    click(&b, Locator::Css("button[type=submit]")).await;
    wait_for_path(&b, app, "/account").await;
    let membership = text(&b, Locator::Css("#memberships tbody tr")).await;
    assert!(
        membership.contains("2099") && membership.contains("active"),
        "{membership}"
    );

    // A download key, labelled for the site, copied with its button.
    fill(
        &b,
        "form[action='/account/keys'] input[name=label]",
        "www.example.com",
    )
    .await;
    click(&b, Locator::XPath("//button[text()='Create key']")).await;
    wait_for_path(&b, app, "/account?done=key").await;
    click(&b, Locator::Css("button[data-copy]")).await;
    wait_for_text(&b, "button[data-copy]", "Copied").await;
    let key = b
        .find(Locator::Css(".key input"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .expect("the key");
    snap(&b, "story-06-account").await;

    // The copied key downloads the paid package, as Joomla appends it.
    let url = app.url("/download/com_redj/2.0.0/com_redj-2.0.0.zip");
    let r = reqwest::get(format!("{url}?dlid={key}")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), zip);
    let r = reqwest::get(&url).await.unwrap();
    assert_eq!(r.status(), 400, "no key, no package");
    assert!(r.text().await.unwrap().contains("REL_ENS"));

    // The account page offers the package itself; its link needs the session, not a key.
    let link = b
        .find(Locator::Css("#downloads a.button"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .expect("a download link");
    assert_eq!(link, "/account/download/com_redj/2.0.0/com_redj-2.0.0.zip");
    b.find(Locator::Css("#downloads"))
        .await
        .unwrap()
        .click()
        .await
        .ok();
    snap(&b, "story-06b-account-download").await;
    let session = b
        .get_all_cookies()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name() == "depot_account")
        .expect("the account session cookie");
    let r = reqwest::Client::new()
        .get(app.url(&link))
        .header("cookie", format!("depot_account={}", session.value()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), zip);
    assert_eq!(
        reqwest::get(app.url(&link)).await.unwrap().url().path(),
        "/account/login"
    );

    // Revoking asks first: dismissed, the key stays; confirmed, it goes.
    let revoke = Locator::XPath("//section[@id='keys']//button[text()='Revoke']");
    click(&b, revoke).await;
    let question = b.get_alert_text().await.unwrap();
    assert!(
        question.starts_with("Revoke the key \"www.example.com\"?"),
        "{question}"
    );
    b.dismiss_alert().await.unwrap();
    assert!(b.current_url().await.unwrap().path() == "/account");
    assert_eq!(
        reqwest::get(format!("{url}?dlid={key}"))
            .await
            .unwrap()
            .status(),
        200
    );
    click(&b, revoke).await;
    b.accept_alert().await.unwrap();
    wait_for_path(&b, app, "/account?done=revoked").await;
    assert_eq!(
        reqwest::get(format!("{url}?dlid={key}"))
            .await
            .unwrap()
            .status(),
        401
    );

    // The account page fits a phone.
    b.set_window_size(390, 844).await.unwrap();
    b.goto(&app.url("/account")).await.unwrap();
    let overflow: bool = b
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth + 1",
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap();
    assert!(!overflow, "the account page scrolls sideways on a phone");
    snap(&b, "story-07-account-phone").await;
}
