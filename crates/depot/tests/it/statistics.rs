//! The statistics a vendor reads, after known traffic through real sockets: downloads per day
//! and per release, refusals by code, update checks per day and Joomla version, the active-sites
//! estimate (client addresses through a trusted proxy; an IPv6 /64 counts once), in the API,
//! the console page and its CSV.

use depot_api::{DownloadKeyView, Statistics};

use crate::db_test;
use crate::helpers::*;

db_test!(statistics_from_the_daily_rollups, db => |db: Db| async move {
    let app = TestApp::spawn_with(db, |s| s.trusted_proxies = "127.0.0.1".into()).await;
    let key: DownloadKeyView = app.subscriber_with_key("buyer@example.com", "pro", 9).await;
    let paid = app.url(app.publish_paid_redj("pro").await);
    for version in ["1.0.0", "1.1.0"] {
        app.publish("plg_system_hello", version, plugin_zip(version, version), "")
            .await;
    }
    let get = |path: String, from: &'static str, ua: &'static str| {
        app.client
            .get(path)
            .header("x-forwarded-for", from)
            .header("user-agent", ua)
            .send()
    };
    // Six sites check for updates: five IPv4 addresses and two addresses of one IPv6 /64.
    let joomla5 = "Mozilla/5.0 Joomla!/5.2.1 Joomla";
    let joomla4 = "Mozilla/5.0 Joomla!/4.4.14 Joomla";
    let feed = app.url("/updates/plg_system_hello.xml");
    for (from, ua) in [
        ("203.0.113.1", joomla5),
        ("203.0.113.2", joomla5),
        ("203.0.113.2", joomla5),
        ("203.0.113.3", joomla5),
        ("203.0.113.4", joomla4),
        ("203.0.113.5", joomla4),
        ("2001:db8:1:2::1", joomla5),
        ("2001:db8:1:2::abcd", joomla5),
    ] {
        assert_eq!(get(feed.clone(), from, ua).await.unwrap().status(), 200);
    }
    // Three free downloads of two releases, one paid; three refusals.
    let hello = |v: &str| app.url(&format!("/download/plg_system_hello/{v}/plg_system_hello-{v}.zip"));
    for (url, status) in [
        (hello("1.1.0"), 200),
        (hello("1.1.0"), 200),
        (hello("1.0.0"), 200),
        (format!("{paid}?dlid={}", key.key), 200),
        (format!("{paid}?dlid=depot_dk_wrongwrongwrong"), 401),
        (format!("{paid}?dlid=not-a-key"), 401),
        (paid.clone(), 400),
    ] {
        let r = get(url.clone(), "198.51.100.7", "curl").await.unwrap();
        assert_eq!(r.status(), status, "{url}");
        r.bytes().await.unwrap();
    }
    app.flush_events().await;

    let all: Statistics = app.read("/reports/statistics?days=7").await;
    assert_eq!(all.days, 7);
    assert_eq!(all.downloads_per_day.len(), 7);
    assert_eq!(all.downloads_per_day.last().unwrap().count, 4);
    assert_eq!(all.downloads_per_day.iter().map(|d| d.count).sum::<i64>(), 4);
    assert_eq!(all.checks_per_day.last().unwrap().count, 8);
    assert_eq!(all.active_sites_7_days, 6);
    assert_eq!(all.active_sites_30_days, 6);
    let named = |v: &[depot_api::NamedCount]| -> Vec<(String, i64)> {
        v.iter().map(|n| (n.name.clone(), n.count)).collect()
    };
    assert_eq!(
        named(&all.joomla_versions),
        [("5.2.1".to_string(), 6), ("4.4.14".to_string(), 2)]
    );
    assert_eq!(
        named(&all.refusals),
        [("REL_INK".to_string(), 2), ("REL_ENS".to_string(), 1)]
    );
    let releases: Vec<(String, String, i64)> = all
        .releases
        .iter()
        .map(|r| (r.extension.clone(), r.version.clone(), r.downloads))
        .collect();
    assert_eq!(
        releases,
        [
            ("plg_system_hello".into(), "1.1.0".into(), 2),
            ("com_redj".into(), "2.0.0".into(), 1),
            ("plg_system_hello".into(), "1.0.0".into(), 1),
        ]
    );
    assert!(all.releases.iter().all(|r| r.bytes > 0));

    // One extension: its own numbers only.
    let redj: Statistics = app.read("/reports/statistics?extension=com_redj").await;
    assert_eq!(redj.days, 30);
    assert_eq!(redj.downloads_per_day.iter().map(|d| d.count).sum::<i64>(), 1);
    assert_eq!((redj.active_sites_30_days, redj.checks_per_day.last().unwrap().count), (0, 0));
    assert_eq!(redj.refusals.len(), 2);
    let (status, _) = app
        .api(reqwest::Method::GET, "/reports/statistics?extension=nope", None)
        .await;
    assert_eq!(status, 404);

    // The console shows the same, with charts, and the CSV carries every number.
    make_admin(&app, "admin@example.com").await;
    let cookie = session_cookie(&console_sign_in(&app, "admin@example.com", PASSWORD).await);
    let page = browser()
        .get(app.url("/admin?days=7"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<strong>6</strong> in the last 7 days"), "{page}");
    assert!(page.contains("aria-label=\"Update checks per day\""));
    assert!(page.contains("<code>REL_INK</code>"));
    let r = browser()
        .get(app.url("/admin/statistics.csv?extension=&days=7"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = r.text().await.unwrap();
    assert!(csv.starts_with("metric,day,name,count,bytes\n"), "{csv}");
    for line in [
        "active_sites_7_days,,,6,",
        "refusals,,REL_INK,2,",
        "joomla_version,,5.2.1,6,",
        "update_checks,",
    ] {
        assert!(csv.contains(line), "{line} in {csv}");
    }
    assert_eq!(csv.lines().filter(|l| l.starts_with("downloads,")).count(), 7);
});
