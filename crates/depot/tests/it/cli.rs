//! The `depot` binary, driven as a vendor or a CI job would.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::db_test;
use crate::helpers::*;

fn depot() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_depot"));
    // Only what a test sets reaches the binary.
    for (k, _) in std::env::vars() {
        if k.starts_with("DEPOT_") {
            c.env_remove(k);
        }
    }
    c.env("RUST_LOG", "warn");
    c
}

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

#[test]
fn token_create_works_offline_and_prints_the_token_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = depot()
        .args(["token", "create", "--scope", "admin", "--name", "ci"])
        .env("DEPOT_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = stdout.trim();
    assert_eq!(stdout, format!("{token}\n"));
    assert!(token.starts_with("depot_") && token.len() > 40);
    let bad = depot()
        .args(["token", "create", "--scope", "root"])
        .env("DEPOT_DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown scope"));
}

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

    let out = depot()
        .args(["check-config"])
        .current_dir(dir.path())
        .env("DEPOT_CATALOGUE__DEFAULT_JOOMLA", "two")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("default_joomla"));
}

#[test]
fn serve_on_embedded_defaults_then_shut_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
    let mut child = depot()
        .arg("serve")
        .current_dir(dir.path())
        .env("DEPOT_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut token = None;
    let mut addr = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.trim().starts_with("depot_") {
            token = Some(line.trim().to_string());
        }
        if let Some(rest) = line.strip_prefix("depot is serving on ") {
            addr = Some(rest.split_whitespace().next().unwrap().to_string());
            break;
        }
    }
    let addr = addr.expect("serving line");
    assert!(token.is_some(), "first start prints an admin token");
    let get = |path: &str| {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        use std::io::{Read, Write};
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    assert!(get("/healthz").starts_with("HTTP/1.1 200"));
    assert!(get("/readyz").starts_with("HTTP/1.1 200"));
    assert!(get("/updates/collection.xml").contains("<extensionset"));
    // Keys travel in query strings and headers; none may reach the log, even at trace level.
    get("/download/com_x/1.0.0/com_x-1.0.0.zip?dlid=SECRETDLID&email=a@b.c&key=SECRETKEY");
    get("/get/release/download/x?amp;dlid=SECRETDLID");
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

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "graceful shutdown exits 0: {exit:?}");
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
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
    let out = depot()
        .args(["token", "create", "--scope", "read"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
}
