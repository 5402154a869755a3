//! Applications and Tauri v2's updater: the vendor's CI uploads one build per platform with the
//! `.sig` it made with its own key (here a key made by Debian's `minisign`, the format Tauri's
//! signer writes); `/tauri/{app}/{target}/{arch}/{current_version}` answers `204` or Tauri's
//! release JSON (checked against a golden document), whose `signature` verifies the build
//! downloaded from its `url` with the vendor's public key.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use depot_api::*;
use reqwest::Method;
use serde_json::Value;

use crate::db_test;
use crate::helpers::*;

/// The vendor's side: a minisign key, and builds signed with it as `tauri signer sign` does.
struct Vendor {
    dir: tempfile::TempDir,
    secret: std::path::PathBuf,
    public_key: String,
}

impl Vendor {
    fn new() -> Option<Vendor> {
        let dir = tempfile::tempdir().unwrap();
        let (secret, public_key) = minisign_key(dir.path(), "vendor")?;
        Some(Vendor {
            dir,
            secret,
            public_key,
        })
    }

    /// The build's bytes and its Tauri `.sig` (the minisign signature, base64-encoded).
    fn build(&self, filename: &str, content: &str) -> (Vec<u8>, String) {
        let bytes = format!("{filename}: {content}").into_bytes();
        let path = self.dir.path().join(filename);
        std::fs::write(&path, &bytes).unwrap();
        let minisig = minisign_sign(&self.secret, &path);
        (bytes, STANDARD.encode(minisig))
    }

    /// A CI job's upload of a build made of `content` (see [`upload_build`]).
    async fn ship(
        &self,
        app: &TestApp,
        path: &str,
        filename: &str,
        content: &str,
        fields: &[(&str, &str)],
    ) -> (u16, Value, Build) {
        let (bytes, sig) = self.build(filename, content);
        let mut all = vec![("signature", sig.as_str())];
        all.extend_from_slice(fields);
        let (status, body) = upload_build(app, path, filename, bytes.clone(), &all).await;
        (status, body, Build { bytes, sig })
    }

    /// Whether `signature` (as Tauri reads it) verifies `bytes` with the vendor's key.
    fn verifies(&self, bytes: &[u8], signature: &str) -> bool {
        let minisig = String::from_utf8(STANDARD.decode(signature).unwrap()).unwrap();
        let check = tempfile::tempdir().unwrap();
        let (ok, said) = minisign_verify(check.path(), bytes, &minisig, &self.public_key).unwrap();
        assert!(ok || said.contains("verification failed"), "{said}");
        ok
    }
}

/// A build as the vendor made it.
struct Build {
    bytes: Vec<u8>,
    sig: String,
}

/// A CI job's upload: the build as the multipart form's `file`, its `.sig` as `signature`.
async fn upload_build(
    app: &TestApp,
    path: &str,
    filename: &str,
    bytes: Vec<u8>,
    fields: &[(&str, &str)],
) -> (u16, Value) {
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    let form = form.part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(filename.to_string()),
    );
    let r = app
        .client
        .put(app.url(&format!("/api/v1/extensions/acme-notes/releases/{path}")))
        .bearer_auth(&app.admin_token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

async fn check(app: &TestApp, path: &str, key: Option<&str>) -> (u16, Value) {
    let mut request = app.client.get(app.url(path));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let body = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

fn published_at(doc: &Value) -> &str {
    let date = doc["pub_date"].as_str().unwrap_or("?");
    assert!(
        time::OffsetDateTime::parse(date, &time::format_description::well_known::Rfc3339).is_ok(),
        "pub_date {date} is not RFC 3339"
    );
    date
}

db_test!(tauri_updates_per_platform, |app: TestApp| async move {
    let Some(vendor) = Vendor::new() else {
        return;
    };
    let linux_1 = "acme-notes_1.0.0_amd64.AppImage";
    let (status, first, linux_1_build) = vendor
        .ship(&app, "1.0.0/builds/linux/x86_64", linux_1, "one", &[])
        .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["outcome"], "created");
    assert_eq!(first["platform"], "linux-x86_64");
    assert_eq!(
        first["updater_url"],
        app.url("/tauri/acme-notes/linux/x86_64/0.0.0")
    );
    let windows = "AcmeNotes_1.0.0_x64-setup.exe";
    let (status, added, windows_build) = vendor
        .ship(&app, "1.0.0/builds/windows/x86_64", windows, "win", &[])
        .await;
    assert_eq!(status, 200, "{added}");
    assert_eq!(added["outcome"], "added");
    assert_eq!(
        added["platforms"],
        serde_json::json!(["linux-x86_64", "windows-x86_64"])
    );
    let linux_2 = "acme-notes_1.1.0_amd64.AppImage";
    let (status, body, linux_2_build) = vendor
        .ship(
            &app,
            "1.1.0/builds/linux/x86_64",
            linux_2,
            "two",
            &[("notes", "Faster notes.")],
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // The catalogue knows it as an application, with Tauri's endpoint as where it is read.
    let ext: ExtensionView = app.read("/extensions/acme-notes").await;
    assert_eq!(ext.ecosystem, "application");
    assert_eq!(
        ext.feed_url,
        app.url("/tauri/acme-notes/{{target}}/{{arch}}/{{current_version}}")
    );
    assert!(
        ext.manifest_snippet.contains("\"endpoints\""),
        "{}",
        ext.manifest_snippet
    );

    // The API and the console list each release's builds.
    let release: ReleaseView = app.read("/extensions/acme-notes/releases/1.0.0").await;
    let platforms: Vec<_> = release.builds.iter().map(|b| b.platform.as_str()).collect();
    assert_eq!(platforms, ["linux-x86_64", "windows-x86_64"]);
    assert_eq!(release.builds[1].filename, windows);
    make_admin(&app, "admin@example.com").await;
    let cookie = session_cookie(&console_sign_in(&app, "admin@example.com", PASSWORD).await);
    let page = browser()
        .get(app.url("/admin/extensions"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Updater snippet"), "{page}");
    assert!(
        page.contains(">windows-x86_64</a>") && page.contains(&release.builds[1].download_url),
        "{page}"
    );

    // An installed 1.0.0 on Linux is offered 1.1.0, in Tauri's format.
    let (status, doc) = check(&app, "/tauri/acme-notes/linux/x86_64/1.0.0", None).await;
    assert_eq!(status, 200, "{doc}");
    let golden_text = include_str!("golden/tauri-update.json")
        .replace("{base}", &app.base)
        .replace("{pub_date}", published_at(&doc))
        .replace("{signature}", &linux_2_build.sig);
    let golden: Value = serde_json::from_str(&golden_text).unwrap();
    assert_eq!(
        doc, golden,
        "differs from tests/it/golden/tauri-update.json"
    );
    // What the updater then does: download `url`, check `signature` with the vendor's key.
    let r = app
        .client
        .get(doc["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    let downloaded = r.bytes().await.unwrap().to_vec();
    assert_eq!(downloaded, linux_2_build.bytes);
    assert!(vendor.verifies(&downloaded, doc["signature"].as_str().unwrap()));
    assert!(!vendor.verifies(&linux_1_build.bytes, doc["signature"].as_str().unwrap()));
    // depot's own signature is beside the build as beside every download.
    let depot_sig = app
        .text_at(&format!("{}.minisig", doc["url"].as_str().unwrap()))
        .await;
    let depot_key = app.text("/signing-key.pub").await;
    let dir = tempfile::tempdir().unwrap();
    let (ok, said) = minisign_verify(dir.path(), &downloaded, &depot_sig, &depot_key).unwrap();
    assert!(ok, "{said}");

    // Revalidation, and every way of having nothing to offer.
    let r = app.get("/tauri/acme-notes/linux/x86_64/1.0.0").await;
    let etag = r.headers()["etag"].clone();
    let r = app
        .client
        .get(app.url("/tauri/acme-notes/linux/x86_64/1.0.0"))
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    for up_to_date in [
        "/tauri/acme-notes/linux/x86_64/1.1.0",
        "/tauri/acme-notes/linux/x86_64/2.0.0",
        "/tauri/acme-notes/windows/x86_64/1.0.0",
        "/tauri/acme-notes/darwin/aarch64/1.0.0",
    ] {
        let (status, body) = check(&app, up_to_date, None).await;
        assert_eq!(status, 204, "{up_to_date}: {body}");
    }
    let (status, doc) = check(&app, "/tauri/acme-notes/windows/x86_64/0.9.0", None).await;
    assert_eq!((status, doc["version"].as_str()), (200, Some("1.0.0")));
    assert_eq!(
        app.bytes_at(doc["url"].as_str().unwrap()).await,
        windows_build.bytes
    );
    assert!(vendor.verifies(&windows_build.bytes, doc["signature"].as_str().unwrap()));
    let (status, _) = check(&app, "/tauri/unknown-app/linux/x86_64/1.0.0", None).await;
    assert_eq!(status, 404);
    for bad in [
        "/tauri/acme-notes/Linux/x86_64/1.0.0",
        "/tauri/acme-notes/linux/x86_64/banana",
        "/tauri/acme-notes/linux/x86_64/1.0.0?channel=nightly",
    ] {
        let (status, body) = check(&app, bad, None).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }

    // A pre-release is on its channel only; a draft is nowhere.
    let beta = "acme-notes_1.2.0-beta.1_amd64.AppImage";
    let (status, body, _) = vendor
        .ship(&app, "1.2.0-beta.1/builds/linux/x86_64", beta, "beta", &[])
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["stability"], "beta");
    let (status, _) = check(&app, "/tauri/acme-notes/linux/x86_64/1.1.0", None).await;
    assert_eq!(status, 204);
    let (status, doc) = check(
        &app,
        "/tauri/acme-notes/linux/x86_64/1.1.0?channel=beta",
        None,
    )
    .await;
    assert_eq!(
        (status, doc["version"].as_str()),
        (200, Some("1.2.0-beta.1"))
    );
    let draft = "acme-notes_1.3.0_amd64.AppImage";
    let (status, body, _) = vendor
        .ship(
            &app,
            "1.3.0/builds/linux/x86_64",
            draft,
            "draft",
            &[("draft", "true")],
        )
        .await;
    assert_eq!((status, body["state"].as_str()), (201, Some("draft")));
    let (status, _) = check(&app, "/tauri/acme-notes/linux/x86_64/1.1.0", None).await;
    assert_eq!(status, 204);
    let (status, _) = app
        .api(
            Method::DELETE,
            "/extensions/acme-notes/releases/1.3.0",
            None,
        )
        .await;
    assert_eq!(status, 204);

    // The same build again changes nothing; other bytes for a published build are refused.
    let (status, body) = upload_build(
        &app,
        "1.0.0/builds/linux/x86_64",
        linux_1,
        linux_1_build.bytes.clone(),
        &[("signature", &linux_1_build.sig)],
    )
    .await;
    assert_eq!((status, body["outcome"].as_str()), (200, Some("unchanged")));
    let (status, body, other_build) = vendor
        .ship(&app, "1.0.0/builds/linux/x86_64", linux_1, "changed", &[])
        .await;
    assert_eq!(status, 409, "{body}");
    // Refused before anything is stored: no signature, one that is not Tauri's, a file name
    // that would hide a .minisig, a platform or version Tauri cannot ask for.
    let refusals = [
        (
            "1.4.0/builds/linux/x86_64",
            linux_1,
            "",
            "missing_signature",
        ),
        (
            "1.4.0/builds/linux/x86_64",
            linux_1,
            "bm90IGEgc2lnbmF0dXJl",
            "bad_signature",
        ),
        (
            "1.4.0/builds/linux/x86_64",
            "x.AppImage.minisig",
            linux_1_build.sig.as_str(),
            "bad_filename",
        ),
        (
            "1.4.0/builds/Linux/x86_64",
            linux_1,
            linux_1_build.sig.as_str(),
            "bad_platform",
        ),
        (
            "1.4/builds/linux/x86_64",
            linux_1,
            linux_1_build.sig.as_str(),
            "bad_version",
        ),
    ];
    for (path, filename, signature, code) in refusals {
        let fields: Vec<(&str, &str)> = if signature.is_empty() {
            vec![]
        } else {
            vec![("signature", signature)]
        };
        let (status, body) =
            upload_build(&app, path, filename, other_build.bytes.clone(), &fields).await;
        assert_eq!(
            (status, body["errors"][0]["code"].as_str()),
            (400, Some(code)),
            "{body}"
        );
    }
    let releases: Items<ReleaseView> = app.read("/extensions/acme-notes/releases").await;
    let mut versions: Vec<_> = releases.items.iter().map(|r| r.version.as_str()).collect();
    versions.sort();
    assert_eq!(versions, ["1.0.0", "1.1.0", "1.2.0-beta.1"]);
    // An application is not published as one package.
    let r = app
        .upload("acme-notes", "1.5.0", zip_of(&[("x.txt", b"x")]), "")
        .await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "application_builds");
    // Nor does another ecosystem's product take builds.
    app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "x"), "")
        .await;
    let r = app
        .client
        .put(app.url(&format!(
            "/api/v1/extensions/plg_system_hello/releases/1.0.0/builds/linux/x86_64?filename=a.AppImage&signature={}",
            linux_1_build.sig.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D")
        )))
        .bearer_auth(&app.admin_token)
        .body(linux_1_build.bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "{}", r.text().await.unwrap());
});

db_test!(
    a_paid_application_answers_its_customers,
    |app: TestApp| async move {
        let Some(vendor) = Vendor::new() else {
            return;
        };
        let key = app
            .subscriber_with_key("buyer@example.com", "pro", 9)
            .await
            .key;
        // The CLI, as a CI job runs it: the build, its .sig beside it.
        let filename = "AcmeNotes_2.0.0_aarch64.app.tar.gz";
        let (bytes, sig) = vendor.build(filename, "paid");
        let path = vendor.dir.path().join(filename);
        std::fs::write(vendor.dir.path().join(format!("{filename}.sig")), &sig).unwrap();
        let published: PublishedBuild = app
            .cli_json(&[
                "publish",
                path.to_str().unwrap(),
                "--name",
                "acme-notes",
                "--version",
                "2.0.0",
                "--platform",
                "darwin-aarch64",
                "--package-group",
                "pro",
                "--json",
            ])
            .await;
        assert_eq!(
            (published.outcome, published.platform.as_str()),
            (PublishOutcome::Created, "darwin-aarch64")
        );

        // Without a key the application does not exist; with one, its URL carries the key.
        let endpoint = "/tauri/acme-notes/darwin/aarch64/1.0.0";
        for nobody in [endpoint, "/tauri/acme-notes/linux/x86_64/1.0.0"] {
            let (status, _) = check(&app, nobody, None).await;
            assert_eq!(status, 404, "{nobody}");
        }
        let (status, _) = check(&app, endpoint, Some("not-a-key")).await;
        assert_eq!(status, 401);
        let (status, doc) = check(&app, endpoint, Some(&key)).await;
        assert_eq!(status, 200, "{doc}");
        let url = doc["url"].as_str().unwrap();
        assert!(url.ends_with(&format!("?dlid={key}")), "{url}");
        let r = app.get(&format!("{endpoint}?dlid={key}")).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["cache-control"], "private, no-cache");
        assert_eq!(app.bytes_at(url).await, bytes);
        assert!(vendor.verifies(&bytes, doc["signature"].as_str().unwrap()));
        let bare = url.split('?').next().unwrap();
        // As every paid download without credentials (jBackend's "email not specified").
        assert_eq!(app.client.get(bare).send().await.unwrap().status(), 400);
        let (status, _) = check(&app, "/tauri/acme-notes/linux/x86_64/1.0.0", Some(&key)).await;
        assert_eq!(status, 204);
        assert!(Path::new(&path).exists());
    }
);
