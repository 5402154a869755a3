//! Free downloads as Joomla and download managers fetch them.

use crate::db_test;
use crate::helpers::*;

const PATH: &str = "/download/plg_system_hello/1.0.0/plg_system_hello-1.0.0.zip";

async fn published(app: &TestApp) -> Vec<u8> {
    let zip = plugin_zip("1.0.0", &"x".repeat(5000));
    app.publish("plg_system_hello", "1.0.0", zip.clone(), "")
        .await;
    zip
}

db_test!(full_download_headers, |app: TestApp| async move {
    let zip = published(&app).await;
    let r = app.get(PATH).await;
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(
        h["content-disposition"],
        "attachment; filename=\"plg_system_hello-1.0.0.zip\""
    );
    assert_eq!(h["content-length"], zip.len().to_string().as_str());
    assert_eq!(h["accept-ranges"], "bytes");
    assert_eq!(h["content-type"], "application/zip");
    assert!(h.contains_key("etag") && h.contains_key("last-modified"));
    assert_eq!(r.bytes().await.unwrap().as_ref(), zip.as_slice());

    // HEAD: the same headers, no body.
    let r = app.client.head(app.url(PATH)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-length"],
        zip.len().to_string().as_str()
    );
    assert_eq!(r.headers()["content-disposition"], h["content-disposition"]);
});

db_test!(
    query_strings_joomla_appends_are_harmless,
    |app: TestApp| async move {
        let zip = published(&app).await;
        let long = format!("?dlid={}", "K".repeat(5000));
        for q in [
            "?dlid=ABC123",
            "?src=feed&amp;dlid=ABC",
            "?src=feed&dlid=K",
            "?amp;dlid=K",
            "?dummy=my.zip",
            "?x=%FF%00",
            long.as_str(),
        ] {
            let r = app.get(&format!("{PATH}{q}")).await;
            assert_eq!(r.status(), 200, "{q}");
            assert_eq!(
                r.headers()["content-disposition"],
                "attachment; filename=\"plg_system_hello-1.0.0.zip\""
            );
            assert_eq!(r.bytes().await.unwrap().as_ref(), zip.as_slice(), "{q}");
        }
        // jBackend's URL, GET and POST.
        let r = app
            .get("/get/release/download/plg_system_hello_1.0.0?email=a@b.c&key=1")
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.bytes().await.unwrap().as_ref(), zip.as_slice());
        let r = app
            .client
            .post(app.url("/get/release/download/plg_system_hello_1.0.0"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
);

db_test!(ranges, |app: TestApp| async move {
    let zip = published(&app).await;
    let n = zip.len();
    let get = |range: String, if_range: Option<String>| {
        let c = app.client.clone();
        let url = app.url(PATH);
        async move {
            let mut req = c.get(url).header("range", range);
            if let Some(v) = if_range {
                req = req.header("if-range", v);
            }
            req.send().await.unwrap()
        }
    };
    let r = get("bytes=0-9".into(), None).await;
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes 0-9/{n}").as_str()
    );
    assert_eq!(r.headers()["content-length"], "10");
    assert_eq!(r.bytes().await.unwrap().as_ref(), &zip[..10]);

    let r = get("bytes=-7".into(), None).await;
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().await.unwrap().as_ref(), &zip[n - 7..]);

    let r = get(format!("bytes={}-", n - 3), None).await;
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().await.unwrap().as_ref(), &zip[n - 3..]);

    let r = get(format!("bytes={n}-"), None).await;
    assert_eq!(r.status(), 416);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes */{n}").as_str()
    );

    // Malformed: the whole file.
    let r = get("bytes=9-2".into(), None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().len(), n);

    // If-Range: honoured only while the validator matches.
    let etag = app.get(PATH).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(get("bytes=0-9".into(), Some(etag)).await.status(), 206);
    let r = get("bytes=0-9".into(), Some("\"stale\"".into())).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().len(), n);
});

db_test!(failures_are_never_200, |app: TestApp| async move {
    published(&app).await;
    for path in [
        "/download/plg_system_hello/9.9.9/plg_system_hello-9.9.9.zip",
        "/download/plg_system_hello/1.0.0/other.zip",
        "/download/com_nothing/1.0.0/com_nothing-1.0.0.zip",
        "/get/release/download/nope",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 404, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["status"], "ko");
        assert_eq!(body["error_code"], "REL_PNF");
    }
});

db_test!(downloads_are_recorded, |app: TestApp| async move {
    published(&app).await;
    let ua = "Mozilla/5.0 Joomla!/5.2.1 Joomla";
    let r = app
        .client
        .get(app.url(PATH))
        .header("user-agent", ua)
        .send()
        .await
        .unwrap();
    let size = r.bytes().await.unwrap().len() as i64;
    // A range request and a HEAD are not new downloads.
    app.client
        .get(app.url(PATH))
        .header("range", "bytes=0-9")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    app.client.head(app.url(PATH)).send().await.unwrap();
    app.flush_events().await;
    let events = app
        .depot()
        .store()
        .recent_download_events(10)
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0].event;
    assert_eq!((e.status, e.bytes), (200, size));
    assert_eq!(e.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(e.user_agent.as_deref(), Some(ua));
});
