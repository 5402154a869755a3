//! Free downloads as Joomla and download managers fetch them.

use std::time::Duration;

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

/// A plugin whose zip is about `size` bytes of incompressible noise, so that a download spans
/// many socket writes.
async fn published_large(app: &TestApp, size: usize) -> Vec<u8> {
    let noise = noise(size);
    let zip = zip_of(&[
        ("hello.xml", plugin_manifest("1.0.0").as_bytes()),
        ("media/noise.bin", &noise),
    ]);
    app.publish("plg_system_hello", "1.0.0", zip.clone(), "")
        .await;
    zip
}

const SLOWLY: Duration = Duration::from_millis(2);

/// Reads one HTTP/1.1 response with a `Content-Length` body from `reader`.
async fn read_response(
    reader: &mut (impl tokio::io::AsyncBufRead + Unpin),
    pause: std::time::Duration,
) -> (String, Vec<u8>) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    let mut head = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await.unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        head.push_str(&line);
    }
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .expect("content-length")
        .trim()
        .parse()
        .unwrap();
    let mut body = vec![0; length];
    let mut read = 0;
    while read < length {
        let n = reader.read(&mut body[read..]).await.unwrap();
        assert!(
            n > 0,
            "the connection closed after {read} of {length} bytes"
        );
        read += n;
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
    (head, body)
}

// Downloads go out with `sendfile`; responses pipelined on one connection, read by a slow
// client, must each arrive whole, in order, byte for byte, with the ordinary responses between
// them intact.
db_test!(
    pipelined_downloads_arrive_whole,
    |app: TestApp| async move {
        use tokio::io::AsyncWriteExt;
        let zip = published_large(&app, 3 << 20).await;
        let n = zip.len();
        let host = app.base.trim_start_matches("http://");
        let mut socket = tokio::net::TcpStream::connect(host).await.unwrap();
        let requests = format!(
            "GET {PATH} HTTP/1.1\r\nHost: {host}\r\n\r\n\
         GET {PATH} HTTP/1.1\r\nHost: {host}\r\nRange: bytes=1000-1999999\r\n\r\n\
         GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n\
         GET {PATH}?dlid=x HTTP/1.1\r\nHost: {host}\r\n\r\n"
        );
        socket.write_all(requests.as_bytes()).await.unwrap();
        let mut reader = tokio::io::BufReader::with_capacity(64 << 10, socket);

        let (head, body) = read_response(&mut reader, SLOWLY).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(body == zip, "the whole file, {} of {n} bytes", body.len());
        let (head, body) = read_response(&mut reader, Duration::ZERO).await;
        assert!(head.starts_with("HTTP/1.1 206"), "{head}");
        assert!(body == zip[1000..2_000_000], "the range");
        let (head, body) = read_response(&mut reader, Duration::ZERO).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert_eq!(body, b"ok\n");
        let (_, body) = read_response(&mut reader, SLOWLY).await;
        assert!(body == zip, "the file again");

        // Each whole download was recorded with every byte the socket took.
        app.flush_events().await;
        let events = app
            .depot()
            .store()
            .recent_download_events(10)
            .await
            .unwrap();
        let whole: Vec<i64> = events.iter().map(|e| e.event.bytes).collect();
        assert_eq!(whole, vec![n as i64, n as i64], "{events:?}");
    }
);

// HTTP/2 copies body frames, so an h2 download is streamed instead; the bytes are the same.
db_test!(http2_downloads_are_whole, |app: TestApp| async move {
    let zip = published_large(&app, 1 << 20).await;
    let out = app.dir.path().join("h2.zip");
    let (target, url) = (out.clone(), app.url(PATH));
    // The server runs on this test's runtime: curl waits on a blocking thread.
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new("curl")
            .args(["-sS", "--http2-prior-knowledge", "-o"])
            .arg(&target)
            .args(["-w", "%{http_version} %{http_code}"])
            .arg(url)
            .output()
            .expect("curl runs")
    })
    .await
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&status.stdout), "2 200");
    assert!(
        std::fs::read(&out).unwrap() == zip,
        "the same bytes over HTTP/2"
    );
});
