//! `/metrics` after real traffic, scraped from a `depot serve` process of its own (the recorder
//! is process-wide, so other tests' traffic cannot mix in) and parsed as Prometheus reads it.

use std::collections::BTreeMap;

use crate::helpers::*;

/// One sample: the metric's name and its labels, sorted.
type Series = (String, BTreeMap<String, String>);

/// Prometheus's text format, as far as depot writes it: `name{a="x",b="y"} value` lines.
fn parse(text: &str) -> BTreeMap<Series, f64> {
    let mut samples = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').expect("a value");
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.strip_suffix('}').expect("closing brace")),
            None => (series, ""),
        };
        let labels = labels
            .split("\",")
            .filter(|l| !l.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once("=\"").expect("label=\"value\"");
                (k.to_string(), v.trim_end_matches('"').to_string())
            })
            .collect();
        assert!(
            samples.insert((name.to_string(), labels), value).is_none(),
            "{line} twice"
        );
    }
    samples
}

fn sample(samples: &BTreeMap<Series, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let key = (
        name.to_string(),
        labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    *samples
        .get(&key)
        .unwrap_or_else(|| panic!("no {name}{labels:?} in {:#?}", samples.keys()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_real_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "metrics-scrape-token-1234".to_string();
    let server = {
        let (d, secret) = (dir.path().to_path_buf(), secret.clone());
        tokio::task::spawn_blocking(move || {
            ServeProcess::spawn(&d, &[("DEPOT_METRICS_TOKEN", secret)])
        })
        .await
        .unwrap()
    };
    let token = server.token.clone().expect("a first start prints a token");
    let client = reqwest::Client::new();
    let zip = plugin_zip("1.0.0", "metrics");
    let r = client
        .put(server.url("/api/v1/extensions/plg_system_hello/releases/1.0.0"))
        .bearer_auth(&token)
        .body(zip.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let get = |path: &str| client.get(server.url(path)).send();
    // A miss that renders, then hits.
    for _ in 0..3 {
        assert_eq!(
            get("/updates/plg_system_hello.xml").await.unwrap().status(),
            200
        );
    }
    let download = get("/download/plg_system_hello/1.0.0/plg_system_hello-1.0.0.zip")
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.unwrap().len(), zip.len());
    // A refusal (an unknown package), and a path no route knows.
    assert_eq!(
        get("/download/plg_system_nope/1.0.0/x.zip?dlid=whatever")
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(get("/no/such/page").await.unwrap().status(), 404);

    // The token guards the metrics.
    let r = get("/metrics").await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let r = client
        .get(server.url("/metrics"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client
        .get(server.url("/metrics"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = r.text().await.unwrap();
    assert!(!text.contains(&token) && !text.contains(&secret));
    let m = parse(&text);

    let requests = "depot_http_request_duration_seconds_count";
    let feed = [
        ("method", "GET"),
        ("route", "/updates/{file}"),
        ("status", "200"),
    ];
    assert_eq!(sample(&m, requests, &feed), 3.0);
    let upload = [
        ("method", "PUT"),
        ("route", "/api/v1/extensions/{extension}/releases/{version}"),
        ("status", "201"),
    ];
    assert_eq!(sample(&m, requests, &upload), 1.0);
    let unmatched = [("method", "GET"), ("route", "unmatched"), ("status", "404")];
    assert_eq!(sample(&m, requests, &unmatched), 1.0);
    // A histogram with buckets, not a summary: the feed answers fell in some bucket below 10 s.
    let mut buckets = feed.to_vec();
    buckets.push(("le", "10"));
    assert_eq!(
        sample(&m, "depot_http_request_duration_seconds_bucket", &buckets),
        3.0
    );

    assert_eq!(
        sample(&m, "depot_feed_cache_total", &[("result", "miss")]),
        1.0
    );
    assert_eq!(
        sample(&m, "depot_feed_cache_total", &[("result", "hit")]),
        2.0
    );
    assert_eq!(sample(&m, "depot_feed_renders_total", &[]), 1.0);
    assert_eq!(
        sample(&m, "depot_downloads_total", &[("result", "served")]),
        1.0
    );
    assert_eq!(
        sample(&m, "depot_download_bytes_total", &[]),
        zip.len() as f64
    );
    assert_eq!(
        sample(&m, "depot_refusals_total", &[("code", "REL_PNF")]),
        1.0
    );
    assert_eq!(
        sample(
            &m,
            "depot_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    assert_eq!(sample(&m, "depot_db_pool_max_connections", &[]), 8.0);
    assert!(sample(&m, "depot_db_pool_connections", &[]) >= 1.0);
    assert_eq!(sample(&m, "depot_mail_outbox_pending", &[]), 0.0);
    assert_eq!(sample(&m, "depot_webhook_outbox_pending", &[]), 0.0);
    assert_eq!(sample(&m, "depot_mail_outbox_oldest_age_seconds", &[]), 0.0);
    server.stop();
}
