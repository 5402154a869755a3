//! The customer account pages over HTTP: the e-mailed password link (same answer for unknown
//! addresses, single use, expiry), signing in, memberships, and download keys created, labelled
//! and revoked from the page, each checked against a real paid download.

use depot_api::{
    AuditPage, DownloadKeyView, Items, JbackendKeyView, MembershipView, NewMembership, NewUser,
    UserPatch, UserView,
};
use reqwest::Method;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::db_test;
use crate::helpers::*;

const CUSTOMER: &str = "customer@example.com";

/// A paid extension (`com_redj` in package group `pro`, for group 9) and a customer with a
/// membership until 2099, without a password.
pub async fn paid_catalogue(app: &TestApp) -> String {
    app.paid_group("pro", 9).await;
    let casey = NewUser {
        name: Some("Casey".into()),
        ..new_user(CUSTOMER)
    };
    let _: UserView = app.call(Method::POST, "/users", &casey).await;
    let until_2099 = NewMembership {
        group: 9,
        from: None,
        until: Some("2099-01-31".into()),
    };
    let _: MembershipView = app
        .call(
            Method::POST,
            "/users/customer@example.com/memberships",
            &until_2099,
        )
        .await;
    app.url(app.publish_paid_redj("pro").await)
}

async fn get(cookie: Option<&str>, url: String) -> (u16, reqwest::header::HeaderMap, String) {
    let mut r = browser().get(url);
    if let Some(c) = cookie {
        r = r.header(COOKIE, c);
    }
    let r = r.send().await.unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, headers, r.text().await.unwrap())
}

async fn post(app: &TestApp, cookie: &str, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let r = browser()
        .post(app.url(path))
        .header(COOKIE, cookie)
        .header("sec-fetch-site", "same-origin")
        // What a page under `no-referrer` sends: the check relies on Sec-Fetch-Site.
        .header("origin", "null")
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get(LOCATION)
        .map(|l| l.to_str().unwrap().to_string());
    (status, location.unwrap_or(r.text().await.unwrap()))
}

/// Signs in to the account pages; returns the session cookie.
async fn account_sign_in(app: &TestApp, email: &str, password: &str) -> String {
    let r = browser()
        .post(app.url("/account/login"))
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "signed in");
    session_cookie(&r)
}

async fn download_status(url: &str, dlid: &str) -> u16 {
    reqwest::get(format!("{url}?dlid={dlid}"))
        .await
        .unwrap()
        .status()
        .as_u16()
}

db_test!(
    account_password_link_signs_a_customer_in,
    |app: TestApp| async move {
        paid_catalogue(&app).await;

        // Signed out: the sign-in page, with no referrer ever sent from these pages.
        let (s, h, _) = get(None, app.url("/account")).await;
        assert_eq!((s, h[LOCATION].to_str().unwrap()), (303, "/account/login"));
        let (s, h, html) = get(None, app.url("/account/login")).await;
        assert_eq!(s, 200);
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert!(html.contains("/account/forgot"));

        // Asking for a link: the same answer for a customer and for an unknown address.
        let ask = |email: &'static str| {
            let url = app.url("/account/forgot");
            async move {
                let r = browser()
                    .post(url)
                    .form(&[("email", email)])
                    .send()
                    .await
                    .unwrap();
                (r.status().as_u16(), r.text().await.unwrap())
            }
        };
        let known = ask(CUSTOMER).await;
        let unknown = ask("nobody@example.com").await;
        assert_eq!(known.0, 200);
        assert_eq!(known, unknown);
        assert_eq!(
            app.mail_outcomes().await,
            [
                format!("{CUSTOMER}: sent"),
                "nobody@example.com: skipped".into()
            ]
        );

        let link = mailed_link(&app);
        let token = link.split("token=").nth(1).unwrap().to_string();

        // Opening the link does not spend it (mail scanners open links too).
        for _ in 0..2 {
            let (s, h, html) = get(None, link.clone()).await;
            assert_eq!(s, 200);
            assert_eq!(h["referrer-policy"], "no-referrer");
            assert!(html.contains("Choose a password") && html.contains(&token));
            assert!(!html.contains("expired"));
        }
        let set = |password: &'static str, confirm: &'static str| {
            let (url, token) = (app.url("/account/password"), token.clone());
            async move {
                browser()
                    .post(url)
                    .form(&[
                        ("token", token.as_str()),
                        ("password", password),
                        ("confirm", confirm),
                    ])
                    .send()
                    .await
                    .unwrap()
            }
        };
        // Mistakes are explained and leave the link working.
        let r = set(PASSWORD, "something else").await;
        assert_eq!(r.status(), 400);
        assert!(r.text().await.unwrap().contains("differ"));
        let r = set("short", "short").await;
        assert_eq!(r.status(), 400);
        assert!(r.text().await.unwrap().contains("at least 8"));
        // The right form sets the password and signs the customer in.
        let r = set(PASSWORD, PASSWORD).await;
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()[LOCATION], "/account");
        let set_cookie = r.headers()[SET_COOKIE].to_str().unwrap().to_string();
        assert!(set_cookie.starts_with("depot_account="), "{set_cookie}");
        for attr in ["HttpOnly", "SameSite=Strict", "Path=/account"] {
            assert!(set_cookie.contains(attr), "{set_cookie}");
        }
        assert!(!session_cookie(&r).is_empty());
        // Used once: the link is spent.
        let r = set(PASSWORD, PASSWORD).await;
        assert_eq!(r.status(), 400);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("expired or was already used")
        );
        let (_, _, html) = get(None, link.clone()).await;
        assert!(html.contains("expired or was already used"));
        // The link's use is in the audit log under the customer's name, without the link.
        let log: AuditPage = app.read("/audit-log?subject=customer@example.com").await;
        let text = serde_json::to_string(&log).unwrap();
        assert!(
            log.items
                .iter()
                .any(|e| e.actor.name == CUSTOMER && e.action == "user.password_link_used")
        );
        assert!(!text.contains(token.as_str()) && !text.contains(PASSWORD));
    }
);

db_test!(account_keys_from_the_page, |app: TestApp| async move {
    let paid = paid_catalogue(&app).await;
    let password = UserPatch {
        password: Some(PASSWORD.into()),
        ..UserPatch::default()
    };
    let _: UserView = app
        .call(Method::PATCH, "/users/customer@example.com", &password)
        .await;
    let r = browser()
        .post(app.url("/account/login"))
        .form(&[("email", CUSTOMER), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let cookie = session_cookie(&r);

    // The account page: the membership and when it ends, the jBackend key of the group.
    let (s, _, html) = get(Some(&cookie), app.url("/account")).await;
    assert_eq!(s, 200);
    assert!(
        html.contains("Pro subscribers") && html.contains("2099-01-31"),
        "{html}"
    );
    let jbackend_keys =
        || app.read::<Items<JbackendKeyView>>("/users/customer@example.com/jbackend-keys");
    let jb = jbackend_keys().await.items.remove(0);
    assert!(html.contains(&jb.key), "the entitled group's key");
    assert!(html.contains("You have no download key yet"));
    let csrf = csrf_of(&html);

    // A key created on the page downloads the paid package.
    let (s, to) = post(
        &app,
        &cookie,
        "/account/keys",
        &[("csrf", &csrf), ("label", "www.example.com")],
    )
    .await;
    assert_eq!((s, to.as_str()), (303, "/account?done=key"));
    let keys_of = |email: &str| {
        let (app, path) = (&app, format!("/users/{email}/keys"));
        async move { app.read::<Items<DownloadKeyView>>(&path).await.items }
    };
    let DownloadKeyView { key, id, .. } = keys_of(CUSTOMER).await.remove(0);
    let (_, _, html) = get(Some(&cookie), app.url("/account?done=key")).await;
    assert!(html.contains(&key) && html.contains("www.example.com"));
    assert!(html.contains("New download key created."));
    assert_eq!(download_status(&paid, &key).await, 200);

    // Labelled from the page; a blank label is refused in words.
    let label_path = format!("/account/keys/{id}/label");
    let (s, _) = post(
        &app,
        &cookie,
        &label_path,
        &[("csrf", &csrf), ("label", "shop site")],
    )
    .await;
    assert_eq!(s, 303);
    assert_eq!(keys_of(CUSTOMER).await[0].label, "shop site");
    let (s, why) = post(
        &app,
        &cookie,
        &label_path,
        &[("csrf", &csrf), ("label", " ")],
    )
    .await;
    assert_eq!(s, 400);
    assert!(why.contains("cannot be blank"), "{why}");

    // Forms from elsewhere, or without the session's token, change nothing.
    let revoke_path = format!("/account/keys/{id}/revoke");
    let r = browser()
        .post(app.url(&revoke_path))
        .header(COOKIE, &cookie)
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let (s, _) = post(&app, &cookie, &revoke_path, &[("csrf", "forged")]).await;
    assert_eq!(s, 403);
    assert_eq!(download_status(&paid, &key).await, 200);

    // Another customer's key is out of reach.
    let _: UserView = app
        .call(Method::POST, "/users", &new_user("other@example.com"))
        .await;
    let other: DownloadKeyView = app
        .call(Method::POST, "/users/other@example.com/keys", &())
        .await;
    let other_path = format!("/account/keys/{}/revoke", other.id);
    let (s, why) = post(&app, &cookie, &other_path, &[("csrf", &csrf)]).await;
    assert_eq!(s, 400);
    assert!(why.contains("download key not found"), "{why}");
    let others = keys_of("other@example.com").await;
    assert_eq!((others[0].id, others[0].revoked), (other.id, false));

    // Revoked from the page: the key no longer downloads.
    let (s, _) = post(&app, &cookie, &revoke_path, &[("csrf", &csrf)]).await;
    assert_eq!(s, 303);
    assert_eq!(download_status(&paid, &key).await, 401);
    let (_, _, html) = get(Some(&cookie), app.url("/account")).await;
    assert!(!html.contains(&key) && html.contains("1 revoked key(s)"));

    // Replacing the jBackend key from the page.
    let (s, _) = post(
        &app,
        &cookie,
        "/account/jbackend/pro/rotate",
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(s, 303);
    assert_ne!(jbackend_keys().await.items[0].key, jb.key);

    // A customer session opens neither the console nor, once signed out, the account.
    let session_token = cookie.split_once('=').unwrap().1;
    let (s, _, _) = get(
        Some(&format!("depot_admin={session_token}")),
        app.url("/admin"),
    )
    .await;
    assert_eq!(s, 303);
    let (s, _) = post(&app, &cookie, "/account/logout", &[("csrf", &csrf)]).await;
    assert_eq!(s, 303);
    let (s, _, _) = get(Some(&cookie), app.url("/account")).await;
    assert_eq!(s, 303);

    // The new password signs in; the actions are in the audit log under the customer's name.
    let r = browser()
        .post(app.url("/account/login"))
        .form(&[("email", CUSTOMER), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let log: AuditPage = app.read("/audit-log?subject=customer@example.com").await;
    let text = serde_json::to_string(&log).unwrap();
    let actions: Vec<_> = log
        .items
        .into_iter()
        .filter(|e| e.actor.name == CUSTOMER)
        .map(|e| e.action)
        .collect();
    for a in [
        "download_key.create",
        "download_key.relabel",
        "download_key.revoke",
        "jbackend_key.rotate",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a}: {actions:?}");
    }
    for secret in [key.as_str(), session_token, PASSWORD] {
        assert!(!text.contains(secret), "a secret in the audit log");
    }
});

db_test!(
    account_expired_links_and_disabled_users,
    |app: TestApp| async move {
        paid_catalogue(&app).await;
        let user = app.depot().find_user(CUSTOMER).await.unwrap();
        // A link whose hour has passed.
        let expired = "expired-link-token";
        app.depot()
            .store()
            .create_password_link(
                &depot_service::hash_token(expired),
                user.id,
                app.clock.now_ms() - 1,
            )
            .await
            .unwrap();
        let (s, _, html) = get(None, app.url(&format!("/account/password?token={expired}"))).await;
        assert_eq!(s, 200);
        assert!(html.contains("expired or was already used") && !html.contains("New password"));
        let r = browser()
            .post(app.url("/account/password"))
            .form(&[
                ("token", expired),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert!(
            app.depot()
                .find_user(CUSTOMER)
                .await
                .unwrap()
                .password_hash
                .is_none()
        );

        // A disabled customer gets no link, and a live link stops working.
        let live = "live-link-token";
        app.depot()
            .store()
            .create_password_link(
                &depot_service::hash_token(live),
                user.id,
                app.clock.now_ms() + 60_000,
            )
            .await
            .unwrap();
        let disable = UserPatch {
            disabled: Some(true),
            ..UserPatch::default()
        };
        let _: UserView = app
            .call(Method::PATCH, "/users/customer@example.com", &disable)
            .await;
        let (_, _, html) = get(None, app.url(&format!("/account/password?token={live}"))).await;
        assert!(html.contains("expired or was already used"));
        let r = browser()
            .post(app.url("/account/forgot"))
            .form(&[("email", CUSTOMER)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let outbox = app.settle_mail().await;
        assert_eq!(outbox[0].outcome.as_deref(), Some("skipped"));
        // A malformed address is explained.
        let r = browser()
            .post(app.url("/account/forgot"))
            .form(&[("email", "not an address")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
    }
);

// Sessions end with what they were granted on: disabling a user (enabling them again brings no
// old session back) and a new password end every session the user has, console and account.
db_test!(
    sessions_end_when_the_user_is_disabled_or_the_password_changes,
    |app: TestApp| async move {
        paid_catalogue(&app).await;
        let path = "/users/customer@example.com";
        let patch = |p: UserPatch| {
            let app = &app;
            async move {
                let _: UserView = app.call(Method::PATCH, path, &p).await;
            }
        };
        let sign_in = |password: &'static str| account_sign_in(&app, CUSTOMER, password);
        let home = |cookie: String| {
            let url = app.url("/account");
            async move { get(Some(&cookie), url).await.0 }
        };
        patch(UserPatch {
            password: Some(PASSWORD.into()),
            ..UserPatch::default()
        })
        .await;
        let cookie = sign_in(PASSWORD).await;
        assert_eq!(home(cookie.clone()).await, 200);
        for disabled in [true, false] {
            patch(UserPatch {
                disabled: Some(disabled),
                ..UserPatch::default()
            })
            .await;
        }
        assert_eq!(home(cookie).await, 303, "re-enabling revives no session");

        let cookie = sign_in(PASSWORD).await;
        assert_eq!(home(cookie.clone()).await, 200);
        patch(UserPatch {
            password: Some("a brand new passphrase".into()),
            ..UserPatch::default()
        })
        .await;
        assert_eq!(
            home(cookie).await,
            303,
            "a new password ends the old sessions"
        );
        sign_in("a brand new passphrase").await;
    }
);

db_test!(
    customers_see_and_end_their_own_sessions,
    |app: TestApp| async move {
        paid_catalogue(&app).await;
        let _: UserView = app
            .call(
                Method::PATCH,
                "/users/customer@example.com",
                &UserPatch {
                    password: Some(PASSWORD.into()),
                    ..UserPatch::default()
                },
            )
            .await;
        let sign_in = |email: &'static str| account_sign_in(&app, email, PASSWORD);
        let home = |cookie: String| {
            let url = app.url("/account");
            async move { get(Some(&cookie), url).await }
        };
        let (laptop, phone) = (sign_in(CUSTOMER).await, sign_in(CUSTOMER).await);
        let (status, _, page) = home(laptop.clone()).await;
        assert_eq!(status, 200);
        let sessions = &page[page.find("id=\"sessions\"").expect("the sessions section")..];
        assert_eq!(sessions.matches("/end\"").count(), 2, "{sessions}");
        assert_eq!(sessions.matches("(this browser)").count(), 1);
        assert!(
            sessions.contains("127.0.0.1"),
            "the address each began from"
        );
        // The other session is the one not marked as this browser's.
        let ends: Vec<&str> = sessions
            .split("action=\"/account/sessions/")
            .skip(1)
            .map(|s| s.split('/').next().unwrap())
            .collect();
        let row_of = |id: &str| {
            let at = sessions
                .find(&format!("/account/sessions/{id}/end"))
                .unwrap();
            let row_start = sessions[..at].rfind("<tr>").unwrap();
            sessions[row_start..at].contains("(this browser)")
        };
        let other = *ends.iter().find(|id| !row_of(id)).unwrap();

        // Another customer cannot end it.
        let _: UserView = app
            .call(
                Method::POST,
                "/users",
                &NewUser {
                    password: Some(PASSWORD.into()),
                    ..new_user("other@example.com")
                },
            )
            .await;
        let stranger = sign_in("other@example.com").await;
        let csrf = csrf_of(&home(stranger.clone()).await.2);
        let path = format!("/account/sessions/{other}/end");
        let (status, _) = post(&app, &stranger, &path, &[("csrf", &csrf)]).await;
        assert_eq!(status, 400);
        assert_eq!(home(phone.clone()).await.0, 200, "still signed in");

        // Its owner can, from the laptop.
        let csrf = csrf_of(&page);
        let (status, location) = post(&app, &laptop, &path, &[("csrf", &csrf)]).await;
        assert_eq!((status, location.as_str()), (303, "/account?done=session"));
        assert_eq!(home(phone).await.0, 303, "the phone is signed out");
        assert_eq!(home(laptop).await.0, 200, "the laptop is not");
        assert!(app.audit_actions("action=session.ended").await.len() == 1);
    }
);

// The forgotten-password page says when to try again, in words and in `Retry-After`.
db_test!(
    password_links_refused_say_when_to_retry,
    |app: TestApp| async move {
        paid_catalogue(&app).await;
        let window = std::time::Duration::from_secs(15 * 60);
        app.at_window_start(window);
        let ask = || {
            browser()
                .post(app.url("/account/forgot"))
                .form(&[("email", CUSTOMER)])
                .send()
        };
        for _ in 0..3 {
            assert_eq!(ask().await.unwrap().status(), 200);
        }
        let r = ask().await.unwrap();
        assert_eq!(r.status(), 429);
        assert_retry_after(r.headers(), window);
        assert!(r.text().await.unwrap().contains("try again in 15 minutes"));
    }
);

db_test!(
    customers_download_what_they_bought_from_the_account_page,
    |app: TestApp| async move {
        paid_catalogue(&app).await;
        let manifest = r#"<?xml version="1.0"?><extension type="component" method="upgrade"><name>ReDJ</name><element>com_redj</element><version>2.1.0</version></extension>"#;
        let newer = zip_of(&[("redj.xml", manifest.as_bytes())]);
        app.publish("com_redj", "2.1.0", newer.clone(), "").await;
        let _: UserView = app
            .call(
                Method::PATCH,
                "/users/customer@example.com",
                &UserPatch {
                    password: Some(PASSWORD.into()),
                    ..UserPatch::default()
                },
            )
            .await;
        let cookie = account_sign_in(&app, CUSTOMER, PASSWORD).await;

        // The latest release with a button, the older one on request.
        let (status, _, page) = get(Some(&cookie), app.url("/account")).await;
        assert_eq!(status, 200);
        let latest = "/account/download/com_redj/2.1.0/com_redj-2.1.0.zip";
        let older = "/account/download/com_redj/2.0.0/com_redj-2.0.0.zip";
        assert!(page.contains(&format!(r#"href="{latest}""#)), "{page}");
        let details = page.find("<details>").expect("older versions on request");
        assert!(page[details..].contains(older), "{page}");
        assert!(!page.contains("dlid="), "no key in a download URL");

        // The session is the credential: the bytes, as an attachment, recorded for the user
        // without a key.
        let r = browser()
            .get(app.url(latest))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers()["content-disposition"],
            r#"attachment; filename="com_redj-2.1.0.zip""#
        );
        assert_eq!(r.bytes().await.unwrap().as_ref(), newer.as_slice());
        app.flush_events().await;
        let log: depot_api::DownloadLogPage =
            app.read("/download-events?user=customer@example.com").await;
        let served = &log.items[0];
        assert_eq!((served.version.as_str(), served.status), ("2.1.0", 200));
        assert!(served.user_id.is_some() && served.key_id.is_none());

        // Without the session: the sign-in page, never the file.
        let (status, headers, _) = get(None, app.url(latest)).await;
        assert_eq!(status, 303);
        assert_eq!(headers[LOCATION], "/account/login");

        // The subscription ends: nothing is offered, and the URL is refused as any download is.
        let _: depot_api::Ended = app
            .call(
                Method::POST,
                "/users/customer@example.com/memberships/end",
                &depot_api::EndMembership { group: 9, at: None },
            )
            .await;
        let (_, _, page) = get(Some(&cookie), app.url("/account")).await;
        assert!(!page.contains(latest) && page.contains("Nothing to download yet"));
        let r = browser()
            .get(app.url(latest))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        let refused: depot_api::jbackend::Refused = r.json().await.unwrap();
        assert!(refused.error_code.starts_with("REL_"));
    }
);
