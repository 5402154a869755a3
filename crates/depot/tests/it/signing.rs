//! Signed artifacts: every package has a `.minisig` beside its download URL that Debian's
//! `minisign -V` verifies with `/signing-key.pub`; paid signatures need the package's
//! credentials; a rotated key re-signs everything and keeps the old public key published.

use crate::db_test;
use crate::helpers::*;

db_test!(
    every_package_is_signed_and_minisign_verifies_it,
    |app: TestApp| async move {
        let dir = tempfile::tempdir().unwrap();
        let zip = plugin_zip("1.0.0", "signed");
        let published = app
            .publish("plg_system_hello", "1.0.0", zip.clone(), "")
            .await;
        assert_eq!(
            published.signature_url,
            format!("{}.minisig", published.download_url)
        );
        let public_key = app.text("/signing-key.pub").await;
        assert!(
            public_key.starts_with("untrusted comment: minisign public key "),
            "{public_key}"
        );
        let signature = app.text_at(&published.signature_url).await;
        assert_eq!(app.bytes_at(&published.download_url).await, zip);

        let Some((ok, said)) = minisign_verify(dir.path(), &zip, &signature, &public_key) else {
            return;
        };
        assert!(ok, "minisign -V: {said}");
        assert!(
            said.contains("file:plg_system_hello-1.0.0.zip\thashed"),
            "the trusted comment names the file: {said}"
        );
        let mut tampered = zip.clone();
        tampered[10] ^= 1;
        let (ok, _) = minisign_verify(dir.path(), &tampered, &signature, &public_key).unwrap();
        assert!(!ok, "a changed file does not verify");

        // The key a signature names is published under its id too.
        let key_id = public_key
            .lines()
            .next()
            .unwrap()
            .rsplit(' ')
            .next()
            .unwrap();
        assert_eq!(
            app.text(&format!("/signing-keys/{key_id}.pub")).await,
            public_key
        );
        assert_eq!(
            app.get("/signing-keys/0000000000000000.pub").await.status(),
            404
        );
        assert_eq!(
            app.get(&format!("/signing-keys/{key_id}")).await.status(),
            404
        );
        // A signature of a file that is not there is not there either.
        let missing = published.signature_url.replace("1.0.0.zip", "9.9.9.zip");
        assert_eq!(app.client.get(&missing).send().await.unwrap().status(), 404);

        // A paid package's signature asks for the package's credentials.
        let customer = app
            .subscriber_with_key("buyer@example.com", "pro", 10)
            .await;
        let path = app.publish_paid_redj("pro").await;
        let refused = app.get(&format!("{path}.minisig")).await.status();
        assert_eq!(
            refused,
            app.get(path).await.status(),
            "refused as the package is"
        );
        assert!(refused.is_client_error());
        let paid_sig = app
            .text(&format!("{path}.minisig?dlid={}", customer.key))
            .await;
        let paid_zip = app
            .bytes_at(&app.url(&format!("{path}?dlid={}", customer.key)))
            .await;
        let (ok, said) = minisign_verify(dir.path(), &paid_zip, &paid_sig, &public_key).unwrap();
        assert!(ok, "minisign -V on the paid package: {said}");
        // Reading a signature is not a download.
        app.flush_events().await;
        let log: depot_api::DownloadLogPage = app.read("/download-events?extension=com_redj").await;
        assert_eq!(
            log.items.len(),
            2,
            "the package's refusal and download only: {log:?}"
        );
    }
);

db_test!(a_rotated_key_re_signs_and_keeps_the_old_key_published, db => |db: Db| async move {
    let dir = tempfile::tempdir().unwrap();
    let mut app = TestApp::spawn(db).await;
    let zip = plugin_zip("1.0.0", "rotated");
    let published = app.publish("plg_system_hello", "1.0.0", zip.clone(), "").await;
    let old_key = app.text("/signing-key.pub").await;
    let old_signature = app.text_at(&published.signature_url).await;
    let old_id = old_key.lines().next().unwrap().rsplit(' ').next().unwrap().to_string();

    // The vendor's own key, made by minisign, in place of the generated one.
    let Some((new_secret, new_key)) = minisign_key(dir.path(), "vendor") else {
        return;
    };
    app.settings.signing_key = Some(new_secret);
    app.restart().await;
    let new_line = new_key.lines().nth(1).unwrap();
    let served = app.text("/signing-key.pub").await;
    assert_eq!(served.lines().nth(1), Some(new_line), "the configured key is the current one");

    // The package published before is re-signed in the background...
    let started = std::time::Instant::now();
    let signature = loop {
        let now = app.text_at(&published.signature_url).await;
        if now != old_signature {
            break now;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "never re-signed");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let (ok, said) = minisign_verify(dir.path(), &zip, &signature, &new_key).unwrap();
    assert!(ok, "re-signed with the new key: {said}");
    // ...and what was saved before the rotation still checks against the old key, still
    // published under its id.
    let kept = app.text(&format!("/signing-keys/{old_id}.pub")).await;
    assert_eq!(kept, old_key);
    let (ok, said) = minisign_verify(dir.path(), &zip, &old_signature, &kept).unwrap();
    assert!(ok, "the old signature with the old key: {said}");

    // New packages are signed with the new key.
    let zip2 = plugin_zip("1.1.0", "rotated");
    let second = app.publish("plg_system_hello", "1.1.0", zip2.clone(), "").await;
    let signature2 = app.text_at(&second.signature_url).await;
    let (ok, said) = minisign_verify(dir.path(), &zip2, &signature2, &new_key).unwrap();
    assert!(ok, "{said}");

    // A key file that is not a usable key stops the start with the way out.
    std::fs::write(dir.path().join("broken.key"), "not a key\n").unwrap();
    let mut broken = app.settings.clone();
    broken.signing_key = Some(dir.path().join("broken.key"));
    let err = depot::config::Settings::service_settings(&broken).unwrap_err();
    assert!(format!("{err:#}").contains("minisign -G -W"), "{err:#}");
});

db_test!(
    latest_json_names_each_channels_newest_release_and_verifies,
    |app: TestApp| async move {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            app.get("/releases/plg_system_hello/latest.json")
                .await
                .status(),
            404
        );
        let stable = plugin_zip("1.0.0", "latest");
        app.publish("plg_system_hello", "1.0.0", stable.clone(), "")
            .await;
        app.publish(
            "plg_system_hello",
            "1.1.0-beta1",
            plugin_zip("1.1.0-beta1", "latest"),
            "",
        )
        .await;
        app.publish(
            "plg_system_hello",
            "1.2.0-alpha1",
            plugin_zip("1.2.0-alpha1", "latest"),
            "",
        )
        .await;

        let latest = |query: &'static str| {
            let app = &app;
            async move {
                let r = app
                    .get(&format!("/releases/plg_system_hello/latest.json{query}"))
                    .await;
                assert_eq!(r.status(), 200, "{query}");
                assert_eq!(r.headers()["content-type"], "application/json");
                let etag = r.headers()["etag"].to_str().unwrap().to_string();
                (r.json::<depot_api::LatestRelease>().await.unwrap(), etag)
            }
        };
        let (release, etag) = latest("").await;
        assert_eq!(
            (release.channel.as_str(), release.version.as_str()),
            ("stable", "1.0.0")
        );
        assert!(!release.paid);
        assert_eq!(
            release.download.url,
            app.url("/download/plg_system_hello/1.0.0/plg_system_hello-1.0.0.zip")
        );
        assert_eq!(release.download.size, stable.len() as i64);
        assert_eq!(release.download.sha256, sha256_hex(&stable));
        assert_eq!(release.download.sha512, sha512_hex(&stable));
        // The recipe of the README: the file, its signature and the key the JSON names.
        let file = app.bytes_at(&release.download.url).await;
        let key = app
            .text_at(release.download.signing_key_url.as_deref().unwrap())
            .await;
        let signature = release.download.signature.clone().unwrap();
        assert_eq!(
            signature,
            app.text_at(&release.download.signature_url).await
        );
        if let Some((ok, said)) = minisign_verify(dir.path(), &file, &signature, &key) {
            assert!(ok, "{said}");
        }
        assert_eq!(latest("?channel=beta").await.0.version, "1.1.0-beta1");
        assert_eq!(latest("?channel=rc").await.0.version, "1.0.0");
        assert_eq!(latest("?channel=alpha").await.0.version, "1.2.0-alpha1");
        assert_eq!(latest("?channel=dev").await.0.version, "1.2.0-alpha1");

        // Revalidation, a bad channel, another file name.
        let r = app
            .client
            .get(app.url("/releases/plg_system_hello/latest.json"))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304);
        assert_eq!(
            app.get("/releases/plg_system_hello/latest.json?channel=nightly")
                .await
                .status(),
            400
        );
        assert_eq!(
            app.get("/releases/plg_system_hello/latest.xml")
                .await
                .status(),
            404
        );

        // A new stable release, and a yank, move the answer at once.
        app.publish(
            "plg_system_hello",
            "1.0.1",
            plugin_zip("1.0.1", "latest"),
            "",
        )
        .await;
        let (release, new_etag) = latest("").await;
        assert_eq!(release.version, "1.0.1");
        assert_ne!(new_etag, etag);
        let (status, _) = app
            .api(
                reqwest::Method::PATCH,
                "/extensions/plg_system_hello/releases/1.0.1",
                Some(serde_json::json!({"state": "yanked"})),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(latest("").await.0.version, "1.0.0");

        // A paid extension is listed as its feed is; the JSON says a key is needed.
        app.paid_group("pro", 10).await;
        app.publish_paid_redj("pro").await;
        let paid: depot_api::LatestRelease = app
            .get("/releases/com_redj/latest.json")
            .await
            .json()
            .await
            .unwrap();
        assert!(paid.paid && paid.version == "2.0.0");
    }
);
