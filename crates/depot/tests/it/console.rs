//! The admin console over HTTP: sign-in, the session cookie, CSRF and origin checks, lockout
//! after repeated failures, security headers, and a release yanked from a page.

use reqwest::Method;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::json;

use crate::db_test;
use crate::helpers::*;

pub const PASSWORD: &str = "correct horse battery";

/// A client that does not follow redirects, so that the tests see them.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn make_admin(app: &TestApp, email: &str) {
    let (s, v) = app
        .api(
            Method::POST,
            "/users",
            Some(json!({"email": email, "password": PASSWORD, "admin": true})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["admin"], true);
}

pub async fn sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    browser()
        .post(app.url("/admin/login"))
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap()
}

/// The session cookie's `name=value` from a sign-in answer.
pub fn session_cookie(r: &reqwest::Response) -> String {
    let set = r.headers()[SET_COOKIE].to_str().unwrap().to_string();
    set.split(';').next().unwrap().to_string()
}

pub fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[at..].split('"').next().unwrap().to_string()
}

db_test!(console_sign_in_and_sessions, |app: TestApp| async move {
    app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "a"), "")
        .await;
    make_admin(&app, "admin@example.com").await;
    let client = browser();

    // Signed out: every page leads to the sign-in page.
    let r = client.get(app.url("/admin")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], "/admin/login");
    let r = client.get(app.url("/admin/login")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers();
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");

    // Wrong password, and a user who is not an administrator: the same answer.
    let r = sign_in(&app, "admin@example.com", "wrong password").await;
    assert_eq!(r.status(), 401);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Wrong e-mail address or password")
    );
    app.api(
        Method::POST,
        "/users",
        Some(json!({"email": "customer@example.com", "password": PASSWORD})),
    )
    .await;
    let r = sign_in(&app, "customer@example.com", PASSWORD).await;
    assert_eq!(r.status(), 401);

    // Signed in: a session cookie fit for a console.
    let r = sign_in(&app, "Admin@Example.com", PASSWORD).await;
    assert_eq!(r.status(), 303);
    let set = r.headers()[SET_COOKIE].to_str().unwrap().to_string();
    for attr in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/admin",
        "Max-Age=43200",
    ] {
        assert!(set.contains(attr), "{set}");
    }
    let cookie = session_cookie(&r);
    let page = |path: &'static str| {
        let (client, cookie, url) = (client.clone(), cookie.clone(), app.url(path));
        async move {
            let r = client.get(url).header(COOKIE, cookie).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (s, html) = page("/admin").await;
    assert_eq!(s, 200);
    assert!(
        html.contains("Downloads per day") && html.contains("<svg"),
        "{html}"
    );
    let (s, html) = page("/admin/extensions").await;
    assert_eq!(s, 200);
    assert!(
        html.contains("&#60;updateservers&#62;"),
        "the snippet, escaped: {html}"
    );
    let csrf = csrf_of(&html);

    // Yanking from the page needs the session's CSRF token and our own origin.
    let yank = |token: String, origin: Option<&'static str>| {
        let (client, cookie) = (client.clone(), cookie.clone());
        let url = app.url("/admin/extensions/plg_system_hello/releases/1.0.0/state");
        async move {
            let mut r = client
                .post(url)
                .header(COOKIE, cookie)
                .form(&[("csrf", token.as_str()), ("state", "yanked")]);
            if let Some(o) = origin {
                r = r.header("origin", o);
            }
            r.send().await.unwrap().status().as_u16()
        }
    };
    assert_eq!(yank("forged".into(), None).await, 403);
    assert_eq!(yank(csrf.clone(), Some("https://evil.example")).await, 403);
    let (_, v) = app
        .api(
            Method::GET,
            "/extensions/plg_system_hello/releases/1.0.0",
            None,
        )
        .await;
    assert_eq!(v["state"], "published", "refused forms change nothing");
    let origin: &'static str = Box::leak(
        app.url("")
            .trim_end_matches('/')
            .to_string()
            .into_boxed_str(),
    );
    assert_eq!(yank(csrf.clone(), Some(origin)).await, 303);
    let (_, v) = app
        .api(
            Method::GET,
            "/extensions/plg_system_hello/releases/1.0.0",
            None,
        )
        .await;
    assert_eq!(v["state"], "yanked");

    // The audit log names the console user.
    let (_, log) = app
        .api(Method::GET, "/audit-log?action=release.yank", None)
        .await;
    assert_eq!(
        log["items"][0]["actor"]["name"], "admin@example.com",
        "{log}"
    );
    let (s, html) = page("/admin/audit").await;
    assert_eq!(s, 200);
    assert!(html.contains("release.yank") && html.contains("session.sign_in"));

    // Signing out ends the session everywhere.
    let r = client
        .post(app.url("/admin/logout"))
        .header(COOKIE, cookie.clone())
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let (s, _) = page("/admin").await;
    assert_eq!(s, 303);

    // Withdrawing console access ends that user's sessions too.
    let r = sign_in(&app, "admin@example.com", PASSWORD).await;
    let cookie = session_cookie(&r);
    app.api(
        Method::PATCH,
        "/users/admin@example.com",
        Some(json!({"admin": false})),
    )
    .await;
    let r = client
        .get(app.url("/admin"))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
});

db_test!(console_lockout_after_failures, |app: TestApp| async move {
    make_admin(&app, "admin@example.com").await;
    make_admin(&app, "other@example.com").await;
    for _ in 0..5 {
        let r = sign_in(&app, "admin@example.com", "guess number x").await;
        assert_eq!(r.status(), 401);
    }
    // Locked: even the right password is refused until the window ends.
    let r = sign_in(&app, "admin@example.com", PASSWORD).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    assert!(r.text().await.unwrap().contains("Too many failed sign-ins"));
    // Another account is not locked by these failures.
    let r = sign_in(&app, "other@example.com", PASSWORD).await;
    assert_eq!(r.status(), 303);
    // The passwords never reach the audit log.
    let (_, log) = app.api(Method::GET, "/audit-log", None).await;
    let text = log.to_string();
    assert!(!text.contains(PASSWORD) && !text.contains("guess number"));
});

db_test!(console_download_log, |app: TestApp| async move {
    app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "a"), "")
        .await;
    app.publish("plg_system_hello", "1.1.0", plugin_zip("1.1.0", "b"), "")
        .await;
    for v in ["1.0.0", "1.1.0", "1.1.0"] {
        let r = app
            .get(&format!(
                "/download/plg_system_hello/{v}/plg_system_hello-{v}.zip"
            ))
            .await;
        assert_eq!(r.status(), 200);
    }
    app.flush_events().await;
    make_admin(&app, "admin@example.com").await;
    let cookie = session_cookie(&sign_in(&app, "admin@example.com", PASSWORD).await);
    let page = |query: &'static str| {
        let (cookie, url) = (cookie.clone(), app.url(&format!("/admin/downloads{query}")));
        async move {
            let r = browser()
                .get(url)
                .header(COOKIE, cookie)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let rows = |html: &str| html.matches("<td>plg_system_hello</td>").count();
    let (s, html) = page("").await;
    assert_eq!(s, 200);
    assert_eq!(rows(&html), 3, "{html}");
    // An empty form is no filter; a filled one filters.
    let (_, html) =
        page("?extension=plg_system_hello&version=1.1.0&user=&status=200&from=&until=").await;
    assert_eq!(rows(&html), 2, "{html}");
    assert!(
        html.contains("value=\"1.1.0\""),
        "the form keeps the filter"
    );
    // Mistakes are explained on the page, not an error page.
    for (query, message) in [
        ("?status=ok", "is not a number"),
        ("?extension=com_nothing", "extension not found"),
        ("?from=last%20week", "is not a date"),
    ] {
        let (s, html) = page(query).await;
        assert_eq!(s, 200, "{query}");
        assert!(html.contains(message), "{query}: {html}");
        assert_eq!(rows(&html), 0);
    }
});
