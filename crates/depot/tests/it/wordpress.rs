//! WordPress plugins and themes: a zip publishes with no other input (its header and
//! `readme.txt` say everything), and `/wordpress/{slug}/info.json` answers in the format of
//! plugin-update-checker, checked against golden documents; a paid plugin's metadata answers
//! only a key that may have it, and carries that key on its `download_url`.

use depot_api::*;
use reqwest::Method;
use serde_json::Value;

use crate::db_test;
use crate::helpers::*;

const PLUGIN_HEADER: &str = "<?php\n/**\n * Plugin Name: Acme Widgets\n * Plugin URI: https://acme.example/widgets\n * Description: Widgets for every page.\n * Version: {version}\n * Requires at least: 6.2\n * Requires PHP: 7.4\n * Author: Acme\n * Author URI: https://acme.example\n */\n\ndefined('ABSPATH') || exit;\n";

const README: &str = "=== Acme Widgets ===\nContributors: acme\nTags: widgets\nRequires at least: 6.0\nTested up to: 6.7\nStable tag: 1.4.0\nLicense: GPLv2 or later\n\nWidgets for every page.\n\n== Description ==\n\nAcme Widgets adds **widgets** to every page.\n\n* Drag and drop\n* No `<script>` needed\n\n== Installation ==\n\n1. Upload the zip in Plugins → Add New.\n2. Activate it.\n\n== Frequently Asked Questions ==\n\n= Does it work with blocks? =\n\nYes, see [the docs](https://acme.example/docs).\n\n== Changelog ==\n\n= 1.4.0 =\n* Faster widgets.\n\n= 1.3.0 =\n* First release.\n\n== Upgrade Notice ==\n\n= 1.4.0 =\nFaster: upgrade at once.\n";

/// A plugin zip as WordPress installs it: one folder named after the slug.
fn plugin_zip(slug: &str, version: &str, readme: bool) -> Vec<u8> {
    let header = PLUGIN_HEADER.replace("{version}", version);
    let main = format!("{slug}/{slug}.php");
    let readme_path = format!("{slug}/readme.txt");
    let helper = format!("{slug}/includes/helper.php");
    let mut entries: Vec<(&str, &[u8])> = vec![
        (&main, header.as_bytes()),
        (&helper, b"<?php // Plugin Name: not the main file\n"),
    ];
    if readme {
        entries.push((&readme_path, README.as_bytes()));
    }
    zip_of(&entries)
}

fn theme_zip(version: &str) -> Vec<u8> {
    let style = format!(
        "/*\nTheme Name: Acme Theme\nTheme URI: https://acme.example/theme\nVersion: {version}\nRequires at least: 6.4\nRequires PHP: 8.0\n*/\nbody {{ margin: 0 }}\n"
    );
    zip_of(&[
        ("acme-theme/style.css", style.as_bytes()),
        ("acme-theme/index.php", b"<?php\n"),
    ])
}

/// The golden document with this run's base URL and publication time.
fn golden(text: &str, app: &TestApp, doc: &Value) -> Value {
    let text = text.replace("{base}", &app.base).replace(
        "{last_updated}",
        doc["last_updated"].as_str().unwrap_or("?"),
    );
    serde_json::from_str(&text).unwrap()
}

async fn info(app: &TestApp, path: &str) -> (u16, Value) {
    let r = app.get(path).await;
    let status = r.status().as_u16();
    let body = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

db_test!(
    wordpress_metadata_matches_plugin_update_checker,
    |app: TestApp| async move {
        // The CLI publishes the zip alone: slug from its folder, version from its header.
        let dir = tempfile::tempdir().unwrap();
        let zip_path = dir.path().join("acme-widgets.zip");
        std::fs::write(&zip_path, plugin_zip("acme-widgets", "1.4.0", true)).unwrap();
        let p: PublishedRelease = app
            .cli_json(&["publish", zip_path.to_str().unwrap(), "--json"])
            .await;
        assert_eq!(
            (p.extension.as_str(), p.ecosystem.as_str(), p.kind.as_str()),
            ("acme-widgets", "wordpress", "plugin")
        );
        assert_eq!(p.feed_url, app.url("/wordpress/acme-widgets/info.json"));

        let (status, doc) = info(&app, "/wordpress/acme-widgets/info.json").await;
        assert_eq!(status, 200, "{doc}");
        assert!(
            doc["last_updated"]
                .as_str()
                .is_some_and(|d| d.len() == 19 && d.as_bytes()[10] == b' '),
            "{doc}"
        );
        assert_eq!(
            doc,
            golden(include_str!("golden/wordpress-plugin.json"), &app, &doc),
            "differs from tests/it/golden/wordpress-plugin.json"
        );
        assert_eq!(
            app.bytes_at(doc["download_url"].as_str().unwrap()).await,
            plugin_zip("acme-widgets", "1.4.0", true)
        );
        // What plugin-update-checker adds to the query is ignored; the ETag revalidates.
        let r = app
            .get("/wordpress/acme-widgets/info.json?installed_version=1.3.0&php=8.2&locale=en_US&checking_for_updates=1")
            .await;
        assert_eq!(r.status(), 200);
        let etag = r.headers()["etag"].clone();
        let r = app
            .client
            .get(app.url("/wordpress/acme-widgets/info.json"))
            .header("If-None-Match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304);

        // A theme: version, details_url and download_url, as the theme checker requires.
        let t = app
            .publish("acme-theme", "2.0.0", theme_zip("2.0.0"), "")
            .await;
        assert_eq!(t.kind, "theme");
        let (status, doc) = info(&app, "/wordpress/acme-theme/info.json").await;
        assert_eq!(status, 200, "{doc}");
        assert_eq!(
            doc,
            golden(include_str!("golden/wordpress-theme.json"), &app, &doc),
            "differs from tests/it/golden/wordpress-theme.json"
        );

        // A beta is offered on the beta channel only.
        app.publish(
            "acme-widgets",
            "1.5.0-beta1",
            plugin_zip("acme-widgets", "1.5.0-beta1", false),
            "notes=Try+the+new+grid.",
        )
        .await;
        let (_, stable) = info(&app, "/wordpress/acme-widgets/info.json").await;
        assert_eq!(stable["version"], "1.4.0");
        let (_, beta) = info(&app, "/wordpress/acme-widgets/info.json?channel=beta").await;
        assert_eq!(beta["version"], "1.5.0-beta1");
        // Without a readme, the release notes are the changelog.
        assert_eq!(beta["sections"]["changelog"], "<p>Try the new grid.</p>");
        assert_eq!(
            beta["sections"]["description"],
            "<p>Widgets for every page.</p>"
        );
        let (status, _) = info(&app, "/wordpress/acme-widgets/info.json?channel=nightly").await;
        assert_eq!(status, 400);
        let (status, _) = info(&app, "/wordpress/nothing-here/info.json").await;
        assert_eq!(status, 404);

        // Joomla's feeds never list a WordPress product.
        let collection = app.text("/updates/collection.xml").await;
        assert!(!collection.contains("acme"), "{collection}");
        let r = app.get("/updates/acme-widgets.xml").await;
        assert_eq!(r.status(), 404);
    }
);

db_test!(
    a_paid_plugin_answers_its_customers_only,
    |app: TestApp| async move {
        let key = app
            .subscriber_with_key("ann@example.com", "pro", 7)
            .await
            .key;
        app.publish(
            "acme-widgets",
            "1.4.0",
            plugin_zip("acme-widgets", "1.4.0", true),
            "package_group=pro",
        )
        .await;
        // Its existence does not leak.
        let (status, _) = info(&app, "/wordpress/acme-widgets/info.json").await;
        assert_eq!(status, 404);
        let (status, body) = info(&app, "/wordpress/acme-widgets/info.json?dlid=dkAAAA").await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error_code"], "REL_INK");
        // The customer's key: the metadata, privately, with the key on the download URL that
        // WordPress's updater fetches as is.
        let r = app
            .get(&format!(
                "/wordpress/acme-widgets/info.json?dlid={key}&installed_version=1.3.0"
            ))
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["cache-control"], "private, no-cache");
        let doc: Value = r.json().await.unwrap();
        let url = doc["download_url"].as_str().unwrap();
        assert_eq!(
            url,
            format!(
                "{}/download/acme-widgets/1.4.0/acme-widgets-1.4.0.zip?dlid={key}",
                app.base
            )
        );
        assert_eq!(
            app.bytes_at(url).await,
            plugin_zip("acme-widgets", "1.4.0", true)
        );
        // The same key in a bearer header answers too.
        let r = app
            .client
            .get(app.url("/wordpress/acme-widgets/info.json"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);

        // Once the membership ends under `active`, nothing is offered.
        let user: UserView = app.read("/users/ann@example.com").await;
        app.depot()
            .store()
            .end_memberships(user.id, 7, app.clock.now_ms())
            .await
            .unwrap();
        app.clock.advance(std::time::Duration::from_secs(1));
        let _: PackageGroupView = app
            .call(
                Method::PATCH,
                "/package-groups/pro",
                &PackageGroupPatch {
                    name: Some("Pro".into()),
                    ..PackageGroupPatch::default()
                },
            )
            .await;
        let (status, _) = info(
            &app,
            &format!("/wordpress/acme-widgets/info.json?dlid={key}"),
        )
        .await;
        assert_eq!(status, 404);
    }
);

db_test!(
    wordpress_zips_are_checked_at_upload,
    |app: TestApp| async move {
        // The folder must be the slug WordPress installs it as.
        let r = app
            .upload(
                "acme-gadgets",
                "1.4.0",
                plugin_zip("acme-widgets", "1.4.0", true),
                "",
            )
            .await;
        assert_eq!(r.status(), 422, "{}", r.text().await.unwrap());
        // The header's version must be the version.
        let r = app
            .upload(
                "acme-widgets",
                "1.5.0",
                plugin_zip("acme-widgets", "1.4.0", true),
                "",
            )
            .await;
        assert_eq!(r.status(), 422, "{}", r.text().await.unwrap());
        // A zip with no plugin header, and one with its files at the top (no folder).
        let r = app
            .upload(
                "acme-widgets",
                "1.4.0",
                zip_of(&[("acme-widgets/x.php", b"<?php\n")]),
                "",
            )
            .await;
        assert_eq!(r.status(), 422);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["code"], "no_manifest", "{body}");
        let flat = PLUGIN_HEADER.replace("{version}", "1.4.0");
        let r = app
            .upload(
                "acme-widgets",
                "1.4.0",
                zip_of(&[("acme-widgets.php", flat.as_bytes())]),
                "",
            )
            .await;
        assert_eq!(r.status(), 422);
        // Joomla targets do not apply; a slug is lower case.
        let r = app
            .upload(
                "acme-widgets",
                "1.4.0",
                plugin_zip("acme-widgets", "1.4.0", true),
                "joomla=5",
            )
            .await;
        assert_eq!(r.status(), 400);
        let r = app
            .upload(
                "Acme-Widgets",
                "1.4.0",
                plugin_zip("acme-widgets", "1.4.0", true),
                "",
            )
            .await;
        assert_eq!(r.status(), 400);
        let list: Items<ExtensionView> = app.read("/extensions").await;
        assert!(list.items.is_empty(), "{:?}", list.items);
        // The console's snippet is plugin-update-checker's, with the key for a paid plugin.
        app.publish(
            "acme-widgets",
            "1.4.0",
            plugin_zip("acme-widgets", "1.4.0", true),
            "",
        )
        .await;
        let view: ExtensionView = app.read("/extensions/acme-widgets").await;
        assert!(
            view.manifest_snippet
                .contains("PucFactory::buildUpdateChecker"),
            "{}",
            view.manifest_snippet
        );
        assert!(
            view.manifest_snippet
                .contains(&app.url("/wordpress/acme-widgets/info.json"))
        );
    }
);

db_test!(
    banners_and_icons_come_from_the_zip,
    |app: TestApp| async move {
        let header = PLUGIN_HEADER.replace("{version}", "2.0.0");
        let banner = b"\x89PNG banner bytes".to_vec();
        let icon = b"\x89PNG icon bytes".to_vec();
        let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec();
        // Incompressible, so that the zip is no bomb.
        let too_big = noise((1 << 20) + 1);
        let zip = zip_of(&[
            ("acme-gallery/acme-gallery.php", header.as_bytes()),
            ("acme-gallery/.wordpress-org/banner-772x250.png", &banner),
            ("acme-gallery/.wordpress-org/icon-256x256.png", &icon),
            ("acme-gallery/.wordpress-org/icon.svg", &svg),
            // Too large, and not a name WordPress knows: left out.
            ("acme-gallery/.wordpress-org/banner-1544x500.png", &too_big),
            ("acme-gallery/.wordpress-org/screenshot-1.png", &icon),
        ]);
        app.publish("acme-gallery", "2.0.0", zip, "").await;
        let (status, doc) = info(&app, "/wordpress/acme-gallery/info.json").await;
        assert_eq!(status, 200, "{doc}");
        assert_eq!(
            doc["banners"]
                .as_object()
                .map(|b| b.keys().cloned().collect::<Vec<_>>()),
            Some(vec!["low".to_string()]),
            "{doc}"
        );
        let images = [
            (&doc["banners"]["low"], &banner, "image/png"),
            (&doc["icons"]["2x"], &icon, "image/png"),
            (&doc["icons"]["svg"], &svg, "image/svg+xml"),
        ];
        for (url, bytes, content_type) in images {
            let url = url.as_str().expect("an image URL");
            assert!(url.starts_with(&app.url("/wordpress/assets/")), "{url}");
            let r = app.client.get(url).send().await.unwrap();
            assert_eq!(r.status(), 200, "{url}");
            assert_eq!(r.headers()["content-type"], content_type);
            let etag = r.headers()["etag"].clone();
            assert_eq!(&r.bytes().await.unwrap().to_vec(), bytes);
            let r = app
                .client
                .get(url)
                .header("If-None-Match", etag)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 304);
        }
        assert!(doc["icons"].get("1x").is_none(), "{doc}");
        for unknown in [
            format!("/wordpress/assets/{}/icon.svg", "0".repeat(64)),
            "/wordpress/assets/not-a-hash/icon.svg".to_string(),
        ] {
            assert_eq!(app.get(&unknown).await.status(), 404, "{unknown}");
        }
    }
);
