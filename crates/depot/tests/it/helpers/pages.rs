//! Driving the console and the account pages over HTTP as a browser would: a client that shows
//! redirects, the session cookie, the CSRF token of a form, an administrator to sign in as.

use reqwest::Method;
use reqwest::header::SET_COOKIE;
use serde_json::json;

use super::TestApp;

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

/// Signs in to the admin console; the answer carries the session cookie (see `session_cookie`).
pub async fn console_sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
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
