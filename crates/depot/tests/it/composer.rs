//! The Composer repository, driven by the real `composer` client (Debian's) with Packagist
//! disabled: a free package for anyone, a paid one with a download key as the basic-auth
//! password, nothing for a customer whose membership ended under the `active` policy, and the
//! versions `keep-released` keeps.

use std::path::Path;

use depot_api::*;
use reqwest::Method;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::*;

/// A Composer package's zip, in a single top-level folder as GitHub's archives are: its
/// `composer.json` (PSR-4 autoloading of `src/`) and one class whose constant says the version.
fn composer_zip(name: &str, version: &str, namespace: &str) -> Vec<u8> {
    let manifest = json!({
        "name": name,
        "description": format!("The {name} library"),
        "type": "library",
        "license": "MIT",
        "require": {"php": ">=7.4"},
        "autoload": {"psr-4": {format!("{namespace}\\"): "src/"}},
    });
    let class = format!(
        "<?php\nnamespace {namespace};\n\nfinal class Widget\n{{\n    public const VERSION = '{version}';\n}}\n"
    );
    let folder = name.replace('/', "-");
    zip_of(&[
        (
            &format!("{folder}/composer.json"),
            serde_json::to_string_pretty(&manifest).unwrap().as_bytes(),
        ),
        (&format!("{folder}/src/Widget.php"), class.as_bytes()),
    ])
}

/// The path segment of a Composer package in depot's URLs.
fn segment(name: &str) -> String {
    name.replace('/', "%2F")
}

/// A project that installs from depot only, as a customer sets it up.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(app: &TestApp) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let composer_json = json!({
            "repositories": [
                {"type": "composer", "url": app.url("/composer")},
                {"packagist.org": false}
            ],
            // depot runs on plain HTTP in the tests; production is behind TLS.
            "config": {"secure-http": false}
        });
        std::fs::write(
            dir.path().join("composer.json"),
            serde_json::to_string_pretty(&composer_json).unwrap(),
        )
        .unwrap();
        Project { dir }
    }

    /// Runs `composer` in the project with `key` as the basic-auth password; `None` (a skip)
    /// without Debian's composer. Returns whether it succeeded, and what it said.
    fn composer(&self, app: &TestApp, args: &[&str], key: Option<&str>) -> Option<(bool, String)> {
        let host = app.base.trim_start_matches("http://").to_string();
        let auth = match key {
            Some(key) => json!({"http-basic": {host: {"username": "key", "password": key}}}),
            None => json!({}),
        };
        let home = self.dir.path().join(".composer-home");
        let out = std::process::Command::new("composer")
            .args(args)
            .args(["--no-interaction", "--no-progress", "--no-audit"])
            .current_dir(self.dir.path())
            .env("COMPOSER_HOME", &home)
            .env("COMPOSER_CACHE_DIR", home.join("cache"))
            .env("COMPOSER_AUTH", auth.to_string())
            .env("COMPOSER_ALLOW_SUPERUSER", "1")
            .env("COMPOSER_NO_INTERACTION", "1")
            .output();
        match out {
            Ok(o) => Some((
                o.status.success(),
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                ),
            )),
            Err(_) => {
                skip("composer (Debian's composer) is not installed");
                None
            }
        }
    }

    /// What the installed class of `namespace` says its version is, through Composer's
    /// autoloader (so the metadata's `autoload` reached the project).
    fn installed_version(&self, namespace: &str) -> String {
        let script = format!("require 'vendor/autoload.php'; echo \\{namespace}\\Widget::VERSION;");
        let out = std::process::Command::new("php")
            .args(["-r", &script])
            .current_dir(self.dir.path())
            .output()
            .expect("php");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// `GET path` with `key` as the basic-auth password.
async fn get_with_key(app: &TestApp, path: &str, key: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    if let Some(key) = key {
        request = request.basic_auth("key", Some(key));
    }
    request.send().await.unwrap()
}

async fn json_with_key(app: &TestApp, path: &str, key: Option<&str>) -> Value {
    let r = get_with_key(app, path, key).await;
    assert_eq!(r.status(), 200, "GET {path}");
    r.json().await.unwrap()
}

fn available(root: &Value) -> Vec<String> {
    root["available-packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}

/// A customer in package group `pro` (policy `policy`) through group 7, with a download key.
/// Returns the user's id and the key.
async fn customer(app: &TestApp, policy: &str) -> (i64, String) {
    let _: GroupView = app
        .call(
            Method::POST,
            "/groups",
            &NewGroup {
                id: 7,
                name: "Pro subscribers".into(),
            },
        )
        .await;
    let _: PackageGroupView = app
        .call(
            Method::POST,
            "/package-groups",
            &NewPackageGroup {
                id: "pro".into(),
                groups: vec![7],
                name: Some("Pro".into()),
                policy: Some(policy.into()),
                ..NewPackageGroup::default()
            },
        )
        .await;
    let user: UserView = app
        .call(Method::POST, "/users", &new_user("ann@example.com"))
        .await;
    let _: MembershipView = app
        .call(
            Method::POST,
            "/users/ann@example.com/memberships",
            &NewMembership {
                group: 7,
                from: None,
                until: None,
            },
        )
        .await;
    let key: DownloadKeyView = app
        .call(
            Method::POST,
            "/users/ann@example.com/keys",
            &NewKey::default(),
        )
        .await;
    (user.id, key.key)
}

db_test!(
    composer_installs_free_and_paid_packages,
    |app: TestApp| async move {
        let free = composer_zip("acme/free-lib", "1.0.0", "Acme\\Free");
        let published = app
            .publish(&segment("acme/free-lib"), "1.0.0", free.clone(), "")
            .await;
        assert_eq!(published.ecosystem, "composer");
        assert_eq!(published.filename, "free-lib-1.0.0.zip");
        // jBackend's package id is one URL segment, and downloads the package.
        assert_eq!(published.package_id, "acme--free-lib_1.0.0");
        let r = app.get("/get/release/download/acme--free-lib_1.0.0").await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.bytes().await.unwrap().to_vec(), free);
        assert_eq!(
            published.feed_url,
            app.url("/composer/p2/acme/free-lib.json")
        );
        let (_, key) = customer(&app, "active").await;
        app.publish(
            &segment("acme/pro-lib"),
            "1.0.0",
            composer_zip("acme/pro-lib", "1.0.0", "Acme\\Pro"),
            "package_group=pro",
        )
        .await;

        // The metadata: what the package's composer.json says, the dist and its SHA-1.
        let doc = json_with_key(&app, "/composer/p2/acme/free-lib.json", None).await;
        let v = &doc["packages"]["acme/free-lib"][0];
        assert_eq!(v["name"], "acme/free-lib");
        assert_eq!(v["version"], "1.0.0");
        assert_eq!(v["type"], "library");
        assert_eq!(v["require"]["php"], ">=7.4");
        assert_eq!(v["autoload"]["psr-4"]["Acme\\Free\\"], "src/");
        assert_eq!(v["dist"]["type"], "zip");
        assert_eq!(v["dist"]["url"], published.download_url.as_str());
        use sha1::Digest as _;
        assert_eq!(
            v["dist"]["shasum"],
            hex::encode(sha1::Sha1::digest(&free)).as_str()
        );
        assert!(v["time"].as_str().unwrap().ends_with('Z'), "{v}");
        assert_eq!(app.bytes_at(&published.download_url).await, free);

        // Anyone sees the free package only; a paid package's existence does not leak.
        let public = json_with_key(&app, "/composer/packages.json", None).await;
        assert_eq!(available(&public), ["acme/free-lib"]);
        assert_eq!(
            public["metadata-url"],
            app.url("/composer/p2/%package%.json").as_str()
        );
        let r = get_with_key(&app, "/composer/p2/acme/pro-lib.json", None).await;
        assert_eq!(r.status(), 404);
        // The customer's key shows both, privately.
        let r = get_with_key(&app, "/composer/packages.json", Some(&key)).await;
        assert_eq!(r.headers()["cache-control"], "private, no-cache");
        let mine: Value = r.json().await.unwrap();
        assert_eq!(available(&mine), ["acme/free-lib", "acme/pro-lib"]);
        // A key that is not valid is refused, so that Composer says the credentials are wrong.
        let r = get_with_key(&app, "/composer/packages.json", Some("dk-not-a-key")).await;
        assert_eq!(r.status(), 401);
        assert!(
            r.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic ")
        );
        // Revalidation: the same document answers 304 to its ETag.
        let r = get_with_key(&app, "/composer/p2/acme/pro-lib.json", Some(&key)).await;
        assert_eq!(r.status(), 200);
        let etag = r.headers()["etag"].clone();
        let r = app
            .client
            .get(app.url("/composer/p2/acme/pro-lib.json"))
            .basic_auth("key", Some(&key))
            .header("If-None-Match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304);
        assert_eq!(
            get_with_key(&app, "/composer/p2/acme/pro-lib~dev.json", Some(&key))
                .await
                .status(),
            404
        );

        // The real client: both packages install, and their autoloading works.
        let project = Project::new(&app);
        let Some((ok, said)) = project.composer(
            &app,
            &["require", "acme/free-lib:^1.0", "acme/pro-lib:^1.0"],
            Some(&key),
        ) else {
            return;
        };
        assert!(ok, "composer require: {said}");
        assert_eq!(project.installed_version("Acme\\Free"), "1.0.0");
        assert_eq!(project.installed_version("Acme\\Pro"), "1.0.0");
        assert!(project.path().join("composer.lock").exists());
        // Without a key the free package installs and the paid one is not there to find.
        let anonymous = Project::new(&app);
        let (ok, said) = anonymous
            .composer(&app, &["require", "acme/free-lib:^1.0"], None)
            .unwrap();
        assert!(ok, "composer require (free, no key): {said}");
        let (ok, said) = anonymous
            .composer(&app, &["require", "acme/pro-lib:^1.0"], None)
            .unwrap();
        assert!(!ok, "a paid package without a key: {said}");
        assert!(said.contains("acme/pro-lib"), "{said}");
    }
);

db_test!(
    composer_shows_what_the_policy_keeps_after_a_membership_ends,
    |app: TestApp| async move {
        let (user, key) = customer(&app, "keep-released").await;
        let pro = segment("acme/pro-lib");
        let publish = |version: &'static str| {
            app.publish(
                &pro,
                version,
                composer_zip("acme/pro-lib", version, "Acme\\Pro"),
                "package_group=pro",
            )
        };
        publish("1.0.0").await;
        // The membership ends; 1.1.0 comes after.
        app.clock.advance(std::time::Duration::from_secs(60));
        app.depot()
            .store()
            .end_memberships(user, 7, app.clock.now_ms())
            .await
            .unwrap();
        app.clock.advance(std::time::Duration::from_secs(60));
        publish("1.1.0").await;

        let doc = json_with_key(&app, "/composer/p2/acme/pro-lib.json", Some(&key)).await;
        let versions: Vec<&str> = doc["packages"]["acme/pro-lib"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["version"].as_str().unwrap())
            .collect();
        assert_eq!(versions, ["1.0.0"], "only what was paid for");
        let project = Project::new(&app);
        let Some((ok, said)) = project.composer(&app, &["require", "acme/pro-lib"], Some(&key))
        else {
            return;
        };
        assert!(ok, "composer require: {said}");
        assert_eq!(project.installed_version("Acme\\Pro"), "1.0.0");
        // Asking for the newer one is refused by the resolver: it is not there for this key.
        let (ok, said) = project
            .composer(&app, &["require", "acme/pro-lib:^1.1"], Some(&key))
            .unwrap();
        assert!(!ok, "1.1.0 was released after the membership ended: {said}");

        // Under `active`, an ended membership sees nothing of the package.
        let _: PackageGroupView = app
            .call(
                Method::PATCH,
                "/package-groups/pro",
                &PackageGroupPatch {
                    policy: Some("active".into()),
                    ..PackageGroupPatch::default()
                },
            )
            .await;
        let r = get_with_key(&app, "/composer/p2/acme/pro-lib.json", Some(&key)).await;
        assert_eq!(r.status(), 404);
        let root = json_with_key(&app, "/composer/packages.json", Some(&key)).await;
        assert!(available(&root).is_empty(), "{root}");
        let refused = Project::new(&app);
        let (ok, said) = refused
            .composer(&app, &["require", "acme/pro-lib"], Some(&key))
            .unwrap();
        assert!(!ok, "a customer whose membership ended: {said}");
        // The dist itself is refused too, whatever the metadata said before.
        let dist = "/download/acme%2Fpro-lib/1.0.0/pro-lib-1.0.0.zip";
        let r = get_with_key(&app, dist, Some(&key)).await;
        assert_eq!(r.status(), 403);
    }
);

db_test!(
    composer_packages_are_checked_at_upload,
    |app: TestApp| async move {
        let zip = composer_zip("acme/widgets", "1.0.0", "Acme\\Widgets");
        // composer.json names another package.
        let r = app
            .upload(&segment("acme/other"), "1.0.0", zip.clone(), "")
            .await;
        assert_eq!(r.status(), 422, "{}", r.text().await.unwrap());
        // Composer takes a version's stability from its name.
        let r = app
            .upload(
                &segment("acme/widgets"),
                "1.0.0",
                zip.clone(),
                "stability=beta",
            )
            .await;
        assert_eq!(r.status(), 400);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["code"], "bad_stability", "{body}");
        let r = app
            .upload(&segment("acme/widgets"), "1.0.0", zip.clone(), "joomla=5")
            .await;
        assert_eq!(r.status(), 400);
        // Not a Composer name.
        let r = app
            .upload(&segment("Acme/Widgets"), "1.0.0", zip.clone(), "")
            .await;
        assert_eq!(r.status(), 400);
        // A malformed composer.json.
        let broken = zip_of(&[("composer.json", b"{\"name\": ")]);
        let r = app
            .upload(&segment("acme/widgets"), "1.0.0", broken, "")
            .await;
        assert_eq!(r.status(), 422);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["code"], "bad_composer_json", "{body}");
        // None of it was stored.
        let list: Items<ExtensionView> = app.read("/extensions").await;
        assert!(list.items.is_empty(), "{:?}", list.items);

        // A zip without composer.json publishes under the name it is uploaded to; Joomla's
        // feeds never list a Composer package.
        let bare = zip_of(&[("src/Thing.php", b"<?php\n")]);
        let p = app.publish(&segment("acme/bare"), "2.0.0", bare, "").await;
        assert_eq!(
            p.download_url,
            app.url("/download/acme%2Fbare/2.0.0/bare-2.0.0.zip")
        );
        let doc = json_with_key(&app, "/composer/p2/acme/bare.json", None).await;
        assert_eq!(doc["packages"]["acme/bare"][0]["type"], "library");
        let collection = app.text("/updates/collection.xml").await;
        assert!(!collection.contains("acme"), "{collection}");
        let view: ExtensionView = app.read("/extensions/acme%2Fbare").await;
        assert_eq!(view.ecosystem, "composer");
        assert!(
            view.manifest_snippet.contains("\"type\": \"composer\""),
            "{}",
            view.manifest_snippet
        );
    }
);

db_test!(
    the_cli_publishes_composer_packages,
    |app: TestApp| async move {
        let dir = tempfile::tempdir().unwrap();
        let named = dir.path().join("widgets.zip");
        std::fs::write(
            &named,
            composer_zip("acme/widgets", "1.2.0", "Acme\\Widgets"),
        )
        .unwrap();
        let bare = dir.path().join("lib.zip");
        std::fs::write(&bare, zip_of(&[("src/Lib.php", b"<?php\n")])).unwrap();
        let (named, bare) = (named.to_str().unwrap(), bare.to_str().unwrap());

        // The name from composer.json, the version given.
        let p: PublishedRelease = app
            .cli_json(&["publish", named, "--version", "1.2.0", "--json"])
            .await;
        assert_eq!(
            (p.extension.as_str(), p.version.as_str()),
            ("acme/widgets", "1.2.0")
        );
        // No version anywhere: a usage error that says what to add.
        let out = app.cli(&["publish", named]).await;
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("--version"));
        // A zip without composer.json needs both.
        let out = app.cli(&["publish", bare, "--version", "0.3.0"]).await;
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("--name"));
        let _: PublishedRelease = app
            .cli_json(&[
                "publish",
                bare,
                "--name",
                "acme/lib",
                "--version",
                "0.3.0",
                "--json",
            ])
            .await;
        let root = json_with_key(&app, "/composer/packages.json", None).await;
        assert_eq!(available(&root), ["acme/lib", "acme/widgets"]);
    }
);
