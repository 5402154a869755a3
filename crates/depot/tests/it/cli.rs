//! The `depot` binary, driven as a vendor or a CI job would.

use std::process::Stdio;
use std::time::Duration;

use crate::db_test;
use crate::helpers::*;

db_test!(publish_command_end_to_end, |app: TestApp| async move {
    let zip_path = app.dir.path().join("plg_system_hello-1.2.0.zip");
    std::fs::write(&zip_path, plugin_zip("1.2.0", "cli")).unwrap();
    let notes = app.dir.path().join("notes.md");
    std::fs::write(&notes, "## Fixed\n- everything").unwrap();
    let out = tokio::task::spawn_blocking({
        let (base, token, zip_path) = (app.base.clone(), app.admin_token.clone(), zip_path.clone());
        move || {
            depot()
                .args([
                    "publish",
                    zip_path.to_str().unwrap(),
                    "--joomla",
                    "4.4,5",
                    "--notes",
                    notes.to_str().unwrap(),
                ])
                .env("DEPOT_URL", base)
                .env("DEPOT_TOKEN", token)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("published: plg_system_hello 1.2.0"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "feed:     {}/updates/plg_system_hello.xml",
            app.base
        )),
        "{stdout}"
    );
    assert!(
        stderr.contains("uploaded 100%"),
        "plain progress lines off a terminal: {stderr}"
    );

    // In the feed for Joomla 4.4 and 5 only, and the download hashes to the feed's sha256.
    let xml = app.text("/updates/plg_system_hello.xml").await;
    let blocks = update_blocks(&xml);
    assert_eq!(blocks.len(), 2);
    assert!(
        blocks[0].contains(r#"version="4\.4\.[0-9]+""#)
            && blocks[1].contains(r#"version="5\.[0-9]+""#)
    );
    assert!(!xml.contains(r#"version="6"#) && !xml.contains(r#"version="3"#));
    let bytes = app.bytes_at(&download_url(blocks[0])).await;
    assert_eq!(sha256_hex(&bytes), elements(blocks[0], "sha256")[0]);
    assert!(
        app.text("/changelogs/plg_system_hello.xml")
            .await
            .contains("<item>everything</item>")
    );

    // Clear messages for a bad token and a wrong URL.
    let bad = tokio::task::spawn_blocking({
        let base = app.base.clone();
        move || {
            depot()
                .args(["publish", zip_path.to_str().unwrap()])
                .env("DEPOT_URL", base)
                .env("DEPOT_TOKEN", "depot_wrong")
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("check DEPOT_TOKEN"));
});

/// Run in the wrong directory, an offline command would quietly make a new, empty database and
/// a token the running server refuses: it refuses instead, says which database it looked at,
/// and creates one only with `--init`.
#[test]
fn token_create_needs_the_servers_database_or_init() {
    let dir = tempfile::tempdir().unwrap();
    let create = |extra: &[&str]| {
        depot()
            .args(["token", "create", "--scope", "admin", "--name", "ci"])
            .args(extra)
            .env("DEPOT_DATA_DIR", dir.path())
            .output()
            .unwrap()
    };
    let refused = create(&[]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(refused.stdout.is_empty());
    assert!(
        stderr.contains("there is no depot database at sqlite://"),
        "{stderr}"
    );
    assert!(stderr.contains("--init"), "{stderr}");
    assert!(!dir.path().join("depot.db").exists(), "nothing is created");

    let out = create(&["--init"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("database: sqlite://"),
        "it says which: {stderr}"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = stdout.trim();
    assert_eq!(stdout, format!("{token}\n"));
    assert!(token.starts_with("depot_") && token.len() > 40);

    // Now there is one: no --init needed; --json gives the token with what it is.
    let out = create(&["--json"]);
    assert!(out.status.success());
    let created: depot_api::CreatedToken = serde_json::from_slice(&out.stdout).unwrap();
    assert!(created.token.starts_with("depot_") && created.token != token);
    assert_eq!(
        (created.view.name.as_str(), created.view.scope.as_str()),
        ("ci", "admin")
    );

    let bad = depot()
        .args(["token", "create", "--scope", "root"])
        .env("DEPOT_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown scope"));
}

/// `depot ARGS` in bash with `pipefail`, its stdout into `reader` (`true` reads nothing and
/// exits at once); returns the pipeline's exit code and stderr.
fn piped(app_env: &[(&str, String)], args: &[&str], reader: &str) -> (Option<i32>, String) {
    let mut cmd = std::process::Command::new("bash");
    cmd.arg("-c")
        .arg(format!("set -o pipefail; \"$0\" \"$@\" | {reader}"))
        .arg(env!("CARGO_BIN_EXE_depot"))
        .args(args);
    for (k, v) in app_env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

db_test!(the_cli_serves_scripts, |app: TestApp| async move {
    let zip_path = app.dir.path().join("plg_system_hello-1.2.0.zip");
    let zip = plugin_zip("1.2.0", "scripts");
    std::fs::write(&zip_path, &zip).unwrap();
    let zip_arg = zip_path.to_str().unwrap().to_string();
    let env = vec![
        ("DEPOT_URL", app.base.clone()),
        ("DEPOT_TOKEN", app.admin_token.clone()),
    ];
    let run = |args: Vec<String>, env: Vec<(&'static str, String)>| {
        tokio::task::spawn_blocking(move || {
            let mut cmd = depot();
            cmd.args(&args);
            for (k, v) in env {
                cmd.env(k, v);
            }
            cmd.output().unwrap()
        })
    };
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    // `publish --json`: the outcome, version, hashes and URLs, for the next step of a CI job.
    let out = run(args(&["publish", &zip_arg, "--json"]), env.clone())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p: depot_api::PublishedRelease = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(p.outcome, depot_api::PublishOutcome::Created);
    assert_eq!(
        (p.extension.as_str(), p.version.as_str()),
        ("plg_system_hello", "1.2.0")
    );
    assert_eq!(p.sha256, sha256_hex(&zip));
    assert_eq!(p.sha512, sha512_hex(&zip));
    assert_eq!(
        p.download_url,
        format!(
            "{}/download/plg_system_hello/1.2.0/plg_system_hello-1.2.0.zip",
            app.base
        )
    );
    assert_eq!(
        p.feed_url,
        format!("{}/updates/plg_system_hello.xml", app.base)
    );

    // A reader that goes away is a quiet success, for publish (which did its work) and lists.
    for command in [
        vec!["publish", zip_arg.as_str()],
        vec!["publish", zip_arg.as_str(), "--json"],
        vec!["release", "list", "plg_system_hello"],
        vec!["completions", "bash"],
    ] {
        let (env, owned) = (env.clone(), args(&command));
        let (code, stderr) = tokio::task::spawn_blocking(move || {
            let owned: Vec<&str> = owned.iter().map(String::as_str).collect();
            piped(&env, &owned, "true")
        })
        .await
        .unwrap();
        assert_eq!(code, Some(0), "{command:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }

    // Exit codes by class.
    let other = plugin_zip("1.2.0", "other bytes");
    let other_path = app.dir.path().join("other.zip");
    std::fs::write(&other_path, other).unwrap();
    let not_a_zip = app.dir.path().join("notes.txt");
    std::fs::write(&not_a_zip, "not a package").unwrap();
    let wrong_token = vec![
        ("DEPOT_URL", app.base.clone()),
        ("DEPOT_TOKEN", "depot_wrong".to_string()),
    ];
    let nowhere = vec![
        ("DEPOT_URL", "http://127.0.0.1:9".to_string()),
        ("DEPOT_TOKEN", app.admin_token.clone()),
    ];
    for (command, env, code, says) in [
        (args(&["release", "show"]), env.clone(), 2, "required"),
        (
            args(&["publish", not_a_zip.to_str().unwrap()]),
            env.clone(),
            2,
            "not a publishable",
        ),
        (
            args(&["release", "list", "plg_system_hello"]),
            vec![],
            2,
            "DEPOT_URL is not set",
        ),
        (
            args(&["release", "list", "plg_system_hello"]),
            wrong_token,
            3,
            "check DEPOT_TOKEN",
        ),
        (
            args(&["release", "show", "plg_system_hello", "9.9.9"]),
            env.clone(),
            4,
            "404",
        ),
        (
            args(&["publish", other_path.to_str().unwrap()]),
            env.clone(),
            5,
            "409",
        ),
        (
            args(&["release", "list", "plg_system_hello"]),
            nowhere,
            6,
            "cannot reach depot",
        ),
    ] {
        let out = run(command.clone(), env).await.unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{command:?}: {stderr}");
        assert!(stderr.contains(says), "{command:?}: {stderr}");
    }

    // Completions for the usual shells.
    for (shell, marker) in [
        ("bash", "complete -F _depot"),
        ("zsh", "#compdef depot"),
        ("fish", "complete -c depot"),
    ] {
        let out = run(args(&["completions", shell]), vec![]).await.unwrap();
        assert!(out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(marker),
            "{shell}"
        );
    }
});

#[test]
fn check_config_layers_file_and_environment_and_masks_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("depot.toml");
    std::fs::write(
        &file,
        format!(
            "listen = \"127.0.0.1:9999\"\ndata_dir = \"{}\"\n[catalogue]\ndefault_joomla = \"5,6\"\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let out = depot()
        .args(["--config", file.to_str().unwrap(), "check-config"])
        .env("DEPOT_PUBLIC_URL", "https://updates.example.com/")
        .env("DEPOT_STORAGE__SECRET_ACCESS_KEY", "very-secret-value")
        .env("DEPOT_LIMITS__MAX_UPLOAD_BYTES", "12345")
        .env("DEPOT_SECRET", "a-server-secret-of-at-least-32-chars")
        .env(
            "DEPOT_SALES__STRIPE_WEBHOOK_SECRET",
            "whsec_very_secret_stripe",
        )
        .env(
            "DEPOT_SALES__PADDLE_WEBHOOK_SECRET",
            "pdl_ntfset_very_secret",
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("listen = \"127.0.0.1:9999\""), "{stdout}");
    assert!(
        stdout.contains("public_url = \"https://updates.example.com\""),
        "{stdout}"
    );
    assert!(stdout.contains("default_joomla = \"5,6\""), "{stdout}");
    assert!(stdout.contains("max_upload_bytes = 12345"), "{stdout}");
    assert!(!stdout.contains("very-secret-value"), "{stdout}");
    assert!(stdout.contains("secret_access_key = \"***\""), "{stdout}");
    assert!(
        !stdout.contains("a-server-secret-of-at-least-32-chars"),
        "{stdout}"
    );
    assert!(stdout.contains("secret = \"***\""), "{stdout}");
    assert!(!stdout.contains("very_secret"), "{stdout}");
    assert!(
        stdout.contains("stripe_webhook_secret = \"***\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("paddle_webhook_secret = \"***\""),
        "{stdout}"
    );
    // An https public URL means a TLS proxy in front: without trusted_proxies, a warning.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning: public_url is https"), "{stderr}");

    let out = depot()
        .args(["check-config"])
        .current_dir(dir.path())
        .env("DEPOT_CATALOGUE__DEFAULT_JOOMLA", "two")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("default_joomla"));
    let out = depot()
        .args(["check-config"])
        .current_dir(dir.path())
        .env("DEPOT_SALES__REFUND_ENDS", "later")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sales.refund_ends"));
}

/// Starts `depot serve` on the embedded defaults in `dir`, logging at trace level into
/// `dir/server.log`; returns the process, its address and the admin token it printed.
fn start_server(dir: &std::path::Path) -> (ServeProcess, String, String) {
    let server = ServeProcess::spawn(dir, &[("RUST_LOG", "trace".into())]);
    let (addr, token) = (server.addr.clone(), server.token.clone());
    (
        server,
        addr,
        token.expect("first start prints an admin token"),
    )
}

/// Stops a server with SIGTERM and returns its log.
fn stop_server(server: ServeProcess, _dir: &std::path::Path) -> String {
    server.stop()
}

#[test]
fn serve_on_embedded_defaults_then_shut_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let (child, addr, token) = start_server(dir.path());
    let token = Some(token);
    let get_with = |path: &str, headers: &str| {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        use std::io::{Read, Write};
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    let get = |path: &str| get_with(path, "");
    assert!(get("/healthz").starts_with("HTTP/1.1 200"));
    assert!(get("/readyz").starts_with("HTTP/1.1 200"));
    assert!(get("/updates/collection.xml").contains("<extensionset"));
    // Keys travel in query strings and headers; none may reach the log, even at trace level.
    get("/download/com_x/1.0.0/com_x-1.0.0.zip?dlid=SECRETDLID&email=a@b.c&key=SECRETKEY");
    get("/get/release/download/x?amp;dlid=SECRETDLID");
    get_with(
        "/get/release/download/x",
        "Authorization: Bearer SECRETBEARER\r\n",
    );
    get_with("/api/v1/users", "Authorization: Bearer SECRETBEARER\r\n");
    // The embedded defaults: SQLite and local storage under ./depot-data.
    assert!(dir.path().join("depot-data/depot.db").exists());
    assert!(dir.path().join("depot-data/packages").is_dir());
    // The server secret is generated once, readable by its owner only.
    let secret = dir.path().join("depot-data/secret");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let secret_value = std::fs::read_to_string(&secret).unwrap();

    let log = stop_server(child, dir.path());
    assert!(
        log.contains("/download/com_x/1.0.0/com_x-1.0.0.zip"),
        "requests are logged"
    );
    for secret in [
        "SECRETDLID",
        "SECRETKEY",
        "SECRETBEARER",
        "a@b.c",
        token.as_deref().unwrap(),
        secret_value.trim(),
    ] {
        assert!(!log.contains(secret), "{secret} reached the log");
    }

    // A second start prints no new token.
    let again = ServeProcess::spawn(dir.path(), &[]);
    assert_eq!(again.token, None, "a second start printed a token");
    again.stop();
    // Offline, against the same database, another token can still be made.
    let out = depot()
        .args(["token", "create", "--scope", "read"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("depot_"));
}

/// Runs `depot ARGS` against the test server (DEPOT_URL, DEPOT_TOKEN) with `stdin`; returns
/// (success, stdout, stderr).
async fn admin_cmd(app: &TestApp, args: &[&str], stdin: &str) -> (bool, String, String) {
    let (base, token) = (app.base.clone(), app.admin_token.clone());
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let stdin = stdin.to_string();
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = depot()
            .args(&args)
            .env("DEPOT_URL", base)
            .env("DEPOT_TOKEN", token)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

db_test!(admin_commands_over_the_api, |app: TestApp| async move {
    let run = |args: &'static [&'static str]| admin_cmd(&app, args, "");
    let (ok, _, err) = run(&["group", "add", "--id", "9", "--name", "ReDJ subscribers"]).await;
    assert!(ok, "{err}");
    let (ok, _, err) = run(&[
        "package-group",
        "add",
        "--id",
        "redj_enterprise",
        "--groups",
        "9,12",
    ])
    .await;
    assert!(!ok);
    assert!(err.contains("group 12 does not exist"), "{err}");
    run(&["group", "add", "--id", "12", "--name", "Resellers"]).await;
    let (ok, out, err) = run(&[
        "package-group",
        "add",
        "--id",
        "redj_enterprise",
        "--groups",
        "9,12",
        "--name",
        "ReDJ Enterprise",
        "--seed",
        "HASH123KEY456",
    ])
    .await;
    assert!(ok, "{err}");
    assert!(
        out.contains("package group redj_enterprise \"ReDJ Enterprise\" created: groups 9,12"),
        "{out}"
    );
    let (_, out, _) = run(&["group", "list"]).await;
    assert!(
        out.lines()
            .any(|l| l.starts_with("12") && l.contains("Resellers")),
        "{out}"
    );

    let zip = app.dir.path().join("com_redj.zip");
    let manifest = r#"<?xml version="1.0"?><extension type="component" method="upgrade"><name>ReDJ</name><element>com_redj</element><version>1.9.0</version></extension>"#;
    std::fs::write(&zip, zip_of(&[("redj.xml", manifest.as_bytes())])).unwrap();
    let zip = zip.to_str().unwrap().to_string();
    let (ok, _, err) = admin_cmd(
        &app,
        &["publish", &zip, "--package-group", "redj_enterprise"],
        "",
    )
    .await;
    assert!(ok, "{err}");
    let download = "/download/com_redj/1.9.0/com_redj-1.9.0.zip";
    assert_eq!(app.get(download).await.status(), 400);

    let (ok, out, err) = admin_cmd(
        &app,
        &[
            "user",
            "add",
            "--email",
            "Sub@Example.com",
            "--name",
            "Sub",
            "--password-stdin",
        ],
        "correct horse battery\n",
    )
    .await;
    assert!(ok, "{err}");
    assert!(
        out.contains("<sub@example.com>") && out.contains("has a password"),
        "{out}"
    );
    let (ok, _, err) = run(&[
        "membership",
        "add",
        "--user",
        "sub@example.com",
        "--group",
        "9",
        "--from",
        "2026-01-01",
        "--until",
        "2099-01-01",
    ])
    .await;
    assert!(ok, "{err}");
    let (_, out, _) = run(&["membership", "list", "--user", "sub@example.com"]).await;
    assert!(
        out.contains("2099-01-01T00:00:00Z") && out.contains("yes"),
        "{out}"
    );
});

/// The paid catalogue the key commands work on: groups 9 and 12, package group
/// `redj_enterprise` (seed `HASH123KEY456`), ReDJ 1.9.0 in it, and `sub@example.com` in group 9
/// until 2099. Returns the download path.
async fn key_catalogue(app: &TestApp) -> &'static str {
    for (id, name) in [(9, "ReDJ subscribers"), (12, "Resellers")] {
        let group = depot_api::NewGroup {
            id,
            name: name.into(),
        };
        let _: depot_api::GroupView = app.call(reqwest::Method::POST, "/groups", &group).await;
    }
    let enterprise = depot_api::NewPackageGroup {
        id: "redj_enterprise".into(),
        groups: vec![9, 12],
        name: Some("ReDJ Enterprise".into()),
        seed: Some("HASH123KEY456".into()),
        policy: None,
        private_feeds: None,
    };
    let _: depot_api::PackageGroupView = app
        .call(reqwest::Method::POST, "/package-groups", &enterprise)
        .await;
    let manifest = r#"<?xml version="1.0"?><extension type="component" method="upgrade"><name>ReDJ</name><element>com_redj</element><version>1.9.0</version></extension>"#;
    app.publish(
        "com_redj",
        "1.9.0",
        zip_of(&[("redj.xml", manifest.as_bytes())]),
        "package_group=redj_enterprise",
    )
    .await;
    let _: depot_api::UserView = app
        .call(
            reqwest::Method::POST,
            "/users",
            &new_user("sub@example.com"),
        )
        .await;
    let membership = depot_api::NewMembership {
        group: 9,
        from: Some("2026-01-01".into()),
        until: Some("2099-01-01".into()),
    };
    let _: depot_api::MembershipView = app
        .call(
            reqwest::Method::POST,
            "/users/sub@example.com/memberships",
            &membership,
        )
        .await;

    "/download/com_redj/1.9.0/com_redj-1.9.0.zip"
}

// Download keys and jBackend keys through the CLI: created, listed, relabelled, rotated,
// revoked, and what disabling a user or ending a membership does to them.
db_test!(key_commands_over_the_api, |app: TestApp| async move {
    let run = |args: &'static [&'static str]| admin_cmd(&app, args, "");
    let download = key_catalogue(&app).await;

    // key create prints the key alone on stdout; it downloads.
    let (ok, out, err) = run(&[
        "key",
        "create",
        "--user",
        "sub@example.com",
        "--label",
        "www.example.com",
    ])
    .await;
    assert!(ok, "{err}");
    let dlid = out.trim().to_string();
    assert_eq!(out, format!("{dlid}\n"));
    assert_eq!(
        app.get(&format!("{download}?dlid={dlid}")).await.status(),
        200
    );
    let (_, out, _) = run(&["key", "list", "--user", "sub@example.com"]).await;
    assert!(
        out.contains(&dlid) && out.contains("www.example.com") && out.contains("redj_enterprise"),
        "{out}"
    );
    let (ok, out, _) = run(&["key", "list", "--user", "sub@example.com", "--json"]).await;
    assert!(ok);
    #[derive(serde::Deserialize)]
    struct Listed {
        download_keys: Vec<depot_api::DownloadKeyView>,
        jbackend_keys: Vec<depot_api::JbackendKeyView>,
    }
    let listed: Listed = serde_json::from_str(&out).unwrap();
    assert_eq!(listed.download_keys[0].key, dlid);
    let jkey = listed.jbackend_keys[0].key.clone();
    let with_key = |k: &str| format!("{download}?email=sub@example.com&key={k}");
    assert_eq!(app.get(&with_key(&jkey)).await.status(), 200);

    // Relabelling leaves the key as it was.
    for (from, to) in [("www.example.com", "shop"), ("shop", "www.example.com")] {
        let (ok, out, err) = admin_cmd(
            &app,
            &[
                "key",
                "label",
                "--user",
                "sub@example.com",
                "--label",
                from,
                "--to",
                to,
            ],
            "",
        )
        .await;
        assert!(
            ok && out.contains(&format!("is now \"{to}\"")),
            "{out}{err}"
        );
    }
    let (ok, _, err) = run(&[
        "key",
        "label",
        "--user",
        "sub@example.com",
        "--label",
        "nothing",
        "--to",
        "x",
    ])
    .await;
    assert!(
        !ok && err.contains("no live download key labelled"),
        "{err}"
    );
    assert_eq!(
        app.get(&format!("{download}?dlid={dlid}")).await.status(),
        200
    );

    // Rotation and revocation.
    let (ok, out, err) = run(&[
        "key",
        "rotate",
        "--user",
        "sub@example.com",
        "--package-group",
        "redj_enterprise",
    ])
    .await;
    assert!(ok, "{err}");
    let rotated = out.trim().to_string();
    assert_eq!(app.get(&with_key(&jkey)).await.status(), 401);
    assert_eq!(app.get(&with_key(&rotated)).await.status(), 200);
    let (ok, _, err) = run(&[
        "key",
        "revoke",
        "--user",
        "sub@example.com",
        "--label",
        "www.example.com",
    ])
    .await;
    assert!(ok, "{err}");
    assert_eq!(
        app.get(&format!("{download}?dlid={dlid}")).await.status(),
        401
    );
    let (ok, _, err) = run(&[
        "key",
        "revoke",
        "--user",
        "sub@example.com",
        "--label",
        "www.example.com",
    ])
    .await;
    assert!(!ok && err.contains("no live download key"), "{err}");
});

// What the CLI's user and membership commands do to keys that worked.
db_test!(
    key_commands_stop_with_the_user_or_membership,
    |app: TestApp| async move {
        let run = |args: &'static [&'static str]| admin_cmd(&app, args, "");
        let download = key_catalogue(&app).await;
        let keys: depot_api::Items<depot_api::JbackendKeyView> =
            app.read("/users/sub@example.com/jbackend-keys").await;
        let rotated = keys.items[0].key.clone();
        let with_key = |k: &str| format!("{download}?email=sub@example.com&key={k}");
        assert_eq!(app.get(&with_key(&rotated)).await.status(), 200);

        // Disabled users get nothing; ending the membership stops downloads too.
        let (ok, out, _) = run(&["user", "disable", "--email", "sub@example.com"]).await;
        assert!(ok && out.contains("disabled"), "{out}");
        assert_eq!(app.get(&with_key(&rotated)).await.status(), 403);
        run(&["user", "enable", "--email", "sub@example.com"]).await;
        assert_eq!(app.get(&with_key(&rotated)).await.status(), 200);
        let (ok, _, err) = run(&[
            "membership",
            "end",
            "--user",
            "sub@example.com",
            "--group",
            "9",
        ])
        .await;
        assert!(ok, "{err}");
        assert_eq!(app.get(&with_key(&rotated)).await.status(), 403);

        // Free again.
        let (ok, out, _) = run(&["extension", "set", "com_redj", "--free"]).await;
        assert!(ok && out.contains("com_redj is free"), "{out}");
        assert_eq!(app.get(download).await.status(), 200);
    }
);

// Metadata, names and deletions through the CLI, and its errors in words.
db_test!(
    admin_commands_change_what_feeds_show_and_names,
    |app: TestApp| async move {
        let run = |args: &'static [&'static str]| admin_cmd(&app, args, "");
        key_catalogue(&app).await;

        // Metadata, renames and deletions.
        let (ok, out, err) = run(&[
            "extension",
            "set",
            "com_redj",
            "--title",
            "ReDJ Pro",
            "--info-url",
            "https://example.com/redj",
        ])
        .await;
        assert!(ok && out.contains("title: ReDJ Pro"), "{out}{err}");
        assert!(app.text("/updates/com_redj.xml").await.contains("ReDJ Pro"));
        let (ok, out, err) = run(&["group", "rename", "--id", "12", "--name", "Partners"]).await;
        assert!(
            ok && out.contains("group 12 is now \"Partners\""),
            "{out}{err}"
        );
        let (ok, out, err) = run(&[
            "package-group",
            "update",
            "--id",
            "redj_enterprise",
            "--policy",
            "keep-released",
        ])
        .await;
        assert!(ok && out.contains("policy keep-released"), "{out}{err}");
        let (ok, _, err) = run(&["group", "delete", "--id", "9"]).await;
        assert!(!ok && err.contains("can be renamed, not deleted"), "{err}");
        run(&["group", "add", "--id", "77", "--name", "Temporary"]).await;
        let (ok, out, err) = run(&["group", "delete", "--id", "77"]).await;
        assert!(ok && out.contains("group 77 deleted"), "{out}{err}");

        // Clear errors.
        let (ok, _, err) = run(&["key", "list", "--user", "nobody@example.com"]).await;
        assert!(!ok && err.contains("user not found"), "{err}");
        let (ok, _, err) = run(&["extension", "set", "com_redj"]).await;
        assert!(!ok && err.contains("--package-group"), "{err}");
        let out = tokio::task::spawn_blocking(|| depot().args(["group", "list"]).output().unwrap())
            .await
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("DEPOT_URL is not set"));
    }
);

/// The whole paid story against a real `depot serve` logging at trace level: no key, password,
/// token, seed or e-mail address of it may appear in the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_or_password_reaches_the_log() {
    use reqwest::Method;
    use serde_json::json;
    let dir = tempfile::tempdir().unwrap();
    let (child, addr, token) = {
        let dir = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || start_server(&dir))
            .await
            .unwrap()
    };
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();
    let api = |method: Method, path: &str, body: serde_json::Value| {
        client
            .request(method, format!("{base}/api/v1{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    const EMAIL: &str = "log.subscriber@example.com";
    const PASSWORD: &str = "PASSWORD-secret-1";
    const WRONG: &str = "WRONG-password-2";
    const SEED: &str = "SEED-secret-3";
    for (path, body) in [
        ("/groups", json!({"id": 9, "name": "Subscribers"})),
        (
            "/package-groups",
            json!({"id": "pro", "groups": [9], "seed": SEED}),
        ),
        ("/users", json!({"email": EMAIL, "password": PASSWORD})),
        (&format!("/users/{EMAIL}/memberships"), json!({"group": 9})),
    ] {
        let r = api(Method::POST, path, body).await.unwrap();
        assert_eq!(r.status(), 201, "{path}");
    }
    let manifest = r#"<?xml version="1.0"?><extension type="component" method="upgrade"><name>Pro</name><element>com_pro</element><version>1.0.0</version></extension>"#;
    let r = client
        .put(format!(
            "{base}/api/v1/extensions/com_pro/releases/1.0.0?package_group=pro&package_id=pro_100"
        ))
        .bearer_auth(&token)
        .body(zip_of(&[("pro.xml", manifest.as_bytes())]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // keybymail (the embedded file transport) and keybyauth, right and wrong.
    let r = client
        .post(format!("{base}/post/release/keybymail/pro"))
        .form(&[("email", EMAIL)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mail_dir = dir.path().join("depot-data/mail");
    let mut mail = None;
    for _ in 0..100 {
        if let Some(f) = std::fs::read_dir(&mail_dir).ok().and_then(|mut d| d.next()) {
            mail = Some(std::fs::read_to_string(f.unwrap().path()).unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (key, mailed_dlid) = keys_in_mail(&mail.expect("a key mail"));
    // Both reached the server's checks (the right password passed them, the wrong one failed
    // them), so the log had every chance to see them.
    for (password, status) in [(PASSWORD, 200), (WRONG, 401)] {
        let r = client
            .post(format!(
                "{base}/post/release/keybyauth/pro?username={EMAIL}&password={password}"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "keybyauth with {password}");
    }
    let created: depot_api::DownloadKeyView = api(
        Method::POST,
        &format!("/users/{EMAIL}/keys"),
        json!({"label": "site"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let dlid = created.key;
    let rotated: depot_api::JbackendKeyView = api(
        Method::POST,
        &format!("/users/{EMAIL}/jbackend-keys/pro/rotate"),
        json!({}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let new_key = rotated.key;
    api(Method::GET, &format!("/users/{EMAIL}/keys"), json!({}))
        .await
        .unwrap();

    // Downloads with every credential form, good and stale.
    let paid = format!("{base}/get/release/download/pro_100");
    let requests = [
        client.get(format!("{paid}?email={EMAIL}&key={new_key}")),
        client.get(format!("{paid}?email={EMAIL}&key={key}")),
        client
            .post(&paid)
            .form(&[("email", EMAIL), ("key", new_key.as_str())]),
        client.get(format!("{paid}?dlid={dlid}")),
        client.get(format!("{paid}?x=1&amp;dlid={mailed_dlid}")),
        client.get(&paid).bearer_auth(&dlid),
    ];
    let mut statuses = Vec::new();
    for r in requests {
        statuses.push(r.send().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [200, 401, 200, 200, 200, 200]);
    let r = client
        .post(format!("{base}/post/release/validate/pro"))
        .form(&[("email", EMAIL), ("key", new_key.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "validate with the rotated key");

    let log = stop_server(child, dir.path());
    assert!(
        log.contains("/post/release/keybymail/pro"),
        "requests are logged"
    );
    assert!(log.contains("mail sent"), "mail delivery is logged");
    let secret = std::fs::read_to_string(dir.path().join("depot-data/secret")).unwrap();
    for s in [
        key.as_str(),
        new_key.as_str(),
        dlid.as_str(),
        mailed_dlid.as_str(),
        PASSWORD,
        WRONG,
        SEED,
        EMAIL,
        token.as_str(),
        secret.trim(),
    ] {
        assert!(!log.contains(s), "{s} reached the log");
    }
}

db_test!(
    release_token_and_audit_commands,
    |app: TestApp| async move {
        let run = |args: &'static [&'static str]| admin_cmd(&app, args, "");
        app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "a"), "")
            .await;
        app.publish(
            "plg_system_hello",
            "1.1.0",
            plugin_zip("1.1.0", "b"),
            "draft=1",
        )
        .await;

        let (ok, out, err) = run(&["release", "list", "plg_system_hello"]).await;
        assert!(ok, "{err}");
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].starts_with("VERSION") && lines[0].contains("STATE"),
            "{out}"
        );
        assert!(
            lines[1].starts_with("1.1.0") && lines[1].contains("draft"),
            "{out}"
        );
        assert!(
            lines[2].starts_with("1.0.0") && lines[2].contains("published"),
            "{out}"
        );
        let (ok, out, err) = run(&["release", "publish", "plg_system_hello", "1.1.0"]).await;
        assert!(ok, "{err}");
        assert!(out.contains("plg_system_hello 1.1.0: published"), "{out}");
        let (ok, out, _) = admin_cmd(
            &app,
            &[
                "release",
                "notes",
                "plg_system_hello",
                "1.1.0",
                "--file",
                "-",
            ],
            "## Fixed\n- the thing\n",
        )
        .await;
        assert!(ok, "{out}");
        assert!(
            app.text("/changelogs/plg_system_hello.xml")
                .await
                .contains("<item>the thing</item>")
        );
        let (ok, _, err) = run(&["release", "yank", "plg_system_hello", "1.1.0"]).await;
        assert!(ok, "{err}");
        let (ok, out, _) = run(&["--json", "release", "show", "plg_system_hello", "1.1.0"]).await;
        assert!(ok);
        let v: depot_api::ReleaseView = serde_json::from_str(&out).unwrap();
        assert_eq!(v.state, "yanked");
        let (ok, _, err) = run(&["release", "publish", "plg_system_hello", "7.0.0"]).await;
        assert!(!ok);
        assert!(err.contains("release not found"), "{err}");
        // Only a draft can be deleted.
        let (ok, _, err) = run(&["release", "delete", "plg_system_hello", "1.1.0"]).await;
        assert!(!ok && err.contains("only a draft can be deleted"), "{err}");
        app.publish(
            "plg_system_hello",
            "1.2.0",
            plugin_zip("1.2.0", "d"),
            "draft=1",
        )
        .await;
        let (ok, out, err) = run(&["release", "delete", "plg_system_hello", "1.2.0"]).await;
        assert!(ok, "{err}");
        assert!(
            out.contains("deleted the draft plg_system_hello 1.2.0"),
            "{out}"
        );
        let (ok, _, err) = run(&["extension", "delete", "plg_system_hello"]).await;
        assert!(!ok && err.contains("has releases"), "{err}");

        let (ok, out, _) = run(&["extension", "show", "plg_system_hello"]).await;
        assert!(ok);
        assert!(out.contains("<updateservers>"), "{out}");
        let (ok, out, _) = run(&["extension", "list"]).await;
        assert!(
            ok && out.contains("plg_system_hello") && out.contains("free"),
            "{out}"
        );

        let (ok, out, _) = run(&["token", "list"]).await;
        assert!(
            ok && out.contains("test admin") && out.contains("live"),
            "{out}"
        );
        let (id, _) = app.token("old-ci", "read", &[]).await;
        let id = id.to_string();
        let (ok, out, err) = admin_cmd(&app, &["token", "revoke", &id], "").await;
        assert!(ok, "{err}");
        assert!(
            out.contains("revoked token") && out.contains("old-ci"),
            "{out}"
        );

        let (ok, out, err) = run(&["audit", "--action", "release."]).await;
        assert!(ok, "{err}");
        let rows: Vec<&str> = out.lines().skip(1).collect();
        assert_eq!(rows.len(), 7, "{out}");
        assert!(
            rows[0].contains("release.delete") && rows[0].contains("token test admin"),
            "{out}"
        );
        assert!(rows[2].contains("release.yank"), "{out}");
        let (ok, _, err) = run(&["audit", "--from", "last week"]).await;
        assert!(!ok);
        assert!(err.contains("is not a date"), "{err}");
    }
);

// The CI example (`examples/publish.sh`) publishes with a publish token limited to the
// extension, re-running is harmless, and a token for another extension fails the job.
db_test!(ci_publish_example, |app: TestApp| async move {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/publish.sh");
    let zip = app.dir.path().join("plg_system_hello.zip");
    std::fs::write(&zip, plugin_zip("1.2.0", "ci")).unwrap();
    let notes = app.dir.path().join("CHANGELOG.md");
    std::fs::write(&notes, "## Fixed\n- published from CI\n").unwrap();
    let token = |extensions: &str| {
        let app = &app;
        let extensions = extensions.to_string();
        async move { app.token("github-ci", "publish", &[&extensions]).await.1 }
    };
    let run = |token: String| {
        let (base, zip, notes) = (app.base.clone(), zip.clone(), notes.clone());
        tokio::task::spawn_blocking(move || {
            let out = std::process::Command::new("bash")
                .arg(script)
                .arg(&zip)
                .env("DEPOT", env!("CARGO_BIN_EXE_depot"))
                .env("DEPOT_URL", base)
                .env("DEPOT_TOKEN", token)
                .env("NOTES", notes)
                .env("STABILITY", "stable")
                .output()
                .unwrap();
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned()
                    + &String::from_utf8_lossy(&out.stderr),
            )
        })
    };
    let own = token("plg_system_hello").await;
    let (ok, out) = run(own.clone()).await.unwrap();
    assert!(ok, "{out}");
    assert!(out.contains("/updates/plg_system_hello.xml"), "{out}");
    assert!(
        app.text("/updates/plg_system_hello.xml")
            .await
            .contains("<version>1.2.0</version>")
    );
    assert!(
        app.text("/changelogs/plg_system_hello.xml")
            .await
            .contains("published from CI")
    );
    let (ok, out) = run(own).await.unwrap();
    assert!(ok, "a re-run publishes nothing new and succeeds: {out}");
    let (ok, out) = run(token("com_other").await).await.unwrap();
    assert!(!ok);
    assert!(out.contains("403"), "{out}");
});

db_test!(
    sales_and_webhook_commands_over_the_api,
    |app: TestApp| async move {
        let run = |args: &'static [&'static str]| admin_cmd(&app, args, "");
        run(&["group", "add", "--id", "9", "--name", "Pro"]).await;
        let (ok, out, err) = run(&[
            "sales",
            "map",
            "--provider",
            "stripe",
            "--price",
            "price_1Pro",
            "--group",
            "9",
            "--term",
            "1y",
        ])
        .await;
        assert!(ok, "{err}");
        assert!(
            out.contains("stripe price_1Pro now gives group 9 (12m)"),
            "{out}"
        );
        let (ok, _, err) = run(&[
            "sales",
            "map",
            "--provider",
            "stripe",
            "--price",
            "price_2",
            "--group",
            "9",
            "--term",
            "weekly",
        ])
        .await;
        assert!(!ok);
        assert!(err.contains("a term is"), "{err}");
        let (_, out, _) = run(&["sales", "prices"]).await;
        assert!(
            out.lines()
                .any(|l| l.contains("price_1Pro") && l.contains("9 (Pro)") && l.contains("12m")),
            "{out}"
        );
        let (ok, out, _) = run(&["sales", "events", "--json"]).await;
        assert!(ok);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&out).unwrap()["items"],
            serde_json::json!([])
        );

        let (ok, out, err) = run(&[
            "webhook",
            "add",
            "--endpoint",
            "https://crm.example.com/depot",
            "--events",
            "user.created,membership.started",
        ])
        .await;
        assert!(ok, "{err}");
        assert!(out.contains("signing secret: whsec_"), "{out}");
        let (ok, _, err) = run(&[
            "webhook",
            "add",
            "--endpoint",
            "https://x.example.com",
            "--events",
            "user.deleted",
        ])
        .await;
        assert!(!ok);
        assert!(err.contains("is not an event type"), "{err}");
        let (_, out, _) = run(&["webhook", "update", "--id", "1", "--enabled", "false"]).await;
        assert!(
            out.contains("webhook 1 (https://crm.example.com/depot) is off"),
            "{out}"
        );
        let (_, out, _) = run(&["webhook", "list"]).await;
        assert!(
            out.contains("membership.started,user.created") && out.contains(" no"),
            "{out}"
        );
        let (ok, out, _) = run(&["webhook", "deliveries", "--id", "1", "--json"]).await;
        assert!(ok, "{out}");
        let (ok, _, _) = run(&["webhook", "delete", "--id", "1"]).await;
        assert!(ok);
        let (ok, _, err) = run(&["webhook", "deliveries", "--id", "1"]).await;
        assert!(!ok && err.contains("not found"), "{err}");
    }
);
