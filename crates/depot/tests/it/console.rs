//! The admin console over HTTP: sign-in, the session cookie, CSRF and origin checks, lockout
//! after repeated failures, security headers, and a release yanked from a page.

use depot_api::{
    AuditPage, DownloadKeyView, ExtensionView, Items, NewUser, ReleaseView, UserPatch, UserView,
};
use reqwest::Method;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::db_test;
use crate::helpers::*;

use crate::helpers::console_sign_in as sign_in;

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
    let customer = NewUser {
        password: Some(PASSWORD.into()),
        ..new_user("customer@example.com")
    };
    let _: UserView = app.call(Method::POST, "/users", &customer).await;
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
    let public_key = app.text("/signing-key.pub").await;
    let key_line = public_key.lines().nth(1).unwrap();
    assert!(
        html.contains(&format!("<pre><code>{key_line}</code></pre>")),
        "the signing key: {html}"
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
    let release = || app.read::<ReleaseView>("/extensions/plg_system_hello/releases/1.0.0");
    assert_eq!(
        release().await.state,
        "published",
        "refused forms change nothing"
    );
    let origin: &'static str = Box::leak(
        app.url("")
            .trim_end_matches('/')
            .to_string()
            .into_boxed_str(),
    );
    assert_eq!(yank(csrf.clone(), Some(origin)).await, 303);
    assert_eq!(release().await.state, "yanked");

    // The audit log names the console user.
    let log: AuditPage = app.read("/audit-log?action=release.yank").await;
    assert_eq!(log.items[0].actor.name, "admin@example.com");
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
    let no_console = UserPatch {
        admin: Some(false),
        ..UserPatch::default()
    };
    let _: UserView = app
        .call(Method::PATCH, "/users/admin@example.com", &no_console)
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
    let window = std::time::Duration::from_secs(15 * 60);
    app.at_window_start(window);
    for _ in 0..5 {
        let r = sign_in(&app, "admin@example.com", "guess number x").await;
        assert_eq!(r.status(), 401);
    }
    // Locked: even the right password is refused until the window ends.
    let r = sign_in(&app, "admin@example.com", PASSWORD).await;
    assert_eq!(r.status(), 429);
    assert_retry_after(r.headers(), window);
    assert!(r.text().await.unwrap().contains("Too many failed sign-ins"));
    // Another account is not locked by these failures.
    let r = sign_in(&app, "other@example.com", PASSWORD).await;
    assert_eq!(r.status(), 303);
    // The next window lets the right password in.
    app.clock.advance(window);
    let r = sign_in(&app, "admin@example.com", PASSWORD).await;
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

/// A form post as a browser sends it from one of the console's pages.
async fn post_page(
    app: &TestApp,
    cookie: &str,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    let r = browser()
        .post(app.url(path))
        .header(COOKIE, cookie)
        .header("sec-fetch-site", "same-origin")
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

async fn page_of(app: &TestApp, cookie: &str, path: &str) -> String {
    let r = browser()
        .get(app.url(path))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
}

/// The paid package both console stories use.
fn redj_zip() -> Vec<u8> {
    let manifest = r#"<?xml version="1.0"?><extension type="component" method="upgrade"><name>ReDJ</name><element>com_redj</element><version>2.0.0</version></extension>"#;
    zip_of(&[("redj.xml", manifest.as_bytes())])
}

db_test!(
    console_creates_groups_and_uploads_a_paid_package,
    |app: TestApp| async move {
        make_admin(&app, "admin@example.com").await;
        let cookie = session_cookie(&sign_in(&app, "admin@example.com", PASSWORD).await);
        let csrf = csrf_of(&page_of(&app, &cookie, "/admin/groups").await);

        // Groups and a package group, from the groups page.
        let (s, to) = post_page(
            &app,
            &cookie,
            "/admin/groups",
            &[("csrf", &csrf), ("id", "9"), ("name", "Pro subscribers")],
        )
        .await;
        assert_eq!((s, to.as_str()), (303, "/admin/groups?done=group"));
        let (s, why) = post_page(
            &app,
            &cookie,
            "/admin/package-groups",
            &[
                ("csrf", &csrf),
                ("id", "pro"),
                ("name", "Pro"),
                ("groups", "9, x"),
                ("policy", "active"),
            ],
        )
        .await;
        assert_eq!(s, 400);
        assert!(why.contains("x&#34; is not a group id"), "{why}");
        let (s, _) = post_page(
            &app,
            &cookie,
            "/admin/package-groups",
            &[
                ("csrf", &csrf),
                ("id", "pro"),
                ("name", "Pro"),
                ("groups", "9"),
                ("policy", "active"),
            ],
        )
        .await;
        assert_eq!(s, 303);
        let html = page_of(&app, &cookie, "/admin/groups?done=package_group").await;
        assert!(html.contains("Pro subscribers") && html.contains("Package group created."));

        // Upload a paid package from the upload page (multipart, as the page's form sends it).
        let html = page_of(&app, &cookie, "/admin/upload").await;
        assert!(
            html.contains("<progress") && html.contains("<option>pro</option>"),
            "{html}"
        );
        let zip = redj_zip();
        let upload = |csrf: String, bytes: Vec<u8>| {
            let (url, cookie) = (app.url("/admin/upload"), cookie.clone());
            async move {
                let form = reqwest::multipart::Form::new()
                    .text("csrf", csrf)
                    .part(
                        "file",
                        reqwest::multipart::Part::bytes(bytes).file_name("redj.zip"),
                    )
                    .text("stability", "")
                    .text("joomla", "")
                    .text("package_group", "pro")
                    .text("notes", "First paid release");
                let r = browser()
                    .post(url)
                    .header(COOKIE, cookie)
                    .header("sec-fetch-site", "same-origin")
                    .multipart(form)
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let to = r
                    .headers()
                    .get(LOCATION)
                    .map(|l| l.to_str().unwrap().to_string());
                (status, to.unwrap_or(r.text().await.unwrap()))
            }
        };
        let (s, why) = upload("forged".into(), zip.clone()).await;
        assert_eq!(s, 400);
        assert!(why.contains("This form has expired"), "{why}");
        let (s, why) = upload(csrf.clone(), b"not a zip".to_vec()).await;
        assert_eq!(s, 400);
        assert!(
            why.contains("role=\"alert\""),
            "the refusal on the page: {why}"
        );
        let list: Items<ExtensionView> = app.read("/extensions").await;
        assert_eq!(list.items, [], "refused uploads change nothing");
        let (s, to) = upload(csrf.clone(), zip.clone()).await;
        assert_eq!(
            (s, to.as_str()),
            (303, "/admin/extensions?done=uploaded#com_redj")
        );
        let release: ReleaseView = app.read("/extensions/com_redj/releases/2.0.0").await;
        assert_eq!(release.state, "published", "{release:?}");
        assert_eq!(release.notes.as_deref(), Some("First paid release"));
        let ext: ExtensionView = app.read("/extensions/com_redj").await;
        assert_eq!(ext.package_group.as_deref(), Some("pro"));
        let actions = app.audit_actions("actor=admin@example.com").await;
        for a in ["group.create", "package_group.create", "release.publish"] {
            assert!(actions.iter().any(|x| x == a), "{a}: {actions:?}");
        }
    }
);

db_test!(
    console_manages_a_customer_s_membership_and_keys,
    |app: TestApp| async move {
        make_admin(&app, "admin@example.com").await;
        let cookie = session_cookie(&sign_in(&app, "admin@example.com", PASSWORD).await);
        let csrf = csrf_of(&page_of(&app, &cookie, "/admin/users").await);
        // The catalogue the previous story builds from the pages, through the API.
        app.paid_group("pro", 9).await;
        let zip = redj_zip();
        app.publish("com_redj", "2.0.0", zip.clone(), "package_group=pro")
            .await;

        // A user with a membership, a key, a resend and a password link, from the users pages.
        let (s, to) = post_page(
            &app,
            &cookie,
            "/admin/users",
            &[
                ("csrf", &csrf),
                ("email", "Buyer@Example.com"),
                ("name", "Bea"),
            ],
        )
        .await;
        assert_eq!(s, 303);
        assert!(
            to.starts_with("/admin/users/") && to.ends_with("?done=user"),
            "{to}"
        );
        let user_path = to.split('?').next().unwrap().to_string();
        let (s, why) = post_page(
            &app,
            &cookie,
            "/admin/users",
            &[("csrf", &csrf), ("email", "buyer@example.com")],
        )
        .await;
        assert_eq!(s, 400, "the same address twice");
        assert!(why.contains("already exists"), "{why}");
        let (s, why) = post_page(
            &app,
            &cookie,
            &format!("{user_path}/memberships"),
            &[
                ("csrf", &csrf),
                ("group", "9"),
                ("from", ""),
                ("until", "yesterday"),
            ],
        )
        .await;
        assert_eq!(s, 400);
        assert!(why.contains("is not a date"), "{why}");
        let (s, _) = post_page(
            &app,
            &cookie,
            &format!("{user_path}/memberships"),
            &[
                ("csrf", &csrf),
                ("group", "9"),
                ("from", ""),
                ("until", "2099-12-31"),
            ],
        )
        .await;
        assert_eq!(s, 303);
        let (s, _) = post_page(
            &app,
            &cookie,
            &format!("{user_path}/keys"),
            &[("csrf", &csrf), ("label", "")],
        )
        .await;
        assert_eq!(s, 303);
        let html = page_of(&app, &cookie, &user_path).await;
        let keys: Items<DownloadKeyView> = app.read("/users/buyer@example.com/keys").await;
        let DownloadKeyView { key, id, .. } = keys.items[0].clone();
        assert!(
            html.contains(&key) && html.contains("2099-12-31") && html.contains("Pro subscribers")
        );
        let paid = app.url("/download/com_redj/2.0.0/com_redj-2.0.0.zip");
        let r = reqwest::get(format!("{paid}?dlid={key}")).await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.bytes().await.unwrap().as_ref(), zip.as_slice());

        let (s, _) = post_page(
            &app,
            &cookie,
            &format!("{user_path}/jbackend/pro/resend"),
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(s, 303);
        let (s, _) = post_page(
            &app,
            &cookie,
            &format!("{user_path}/password-link"),
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(s, 303);
        let outbox = app.settle_mail().await;
        let mut kinds: Vec<_> = outbox
            .iter()
            .map(|m| (m.kind.as_str(), m.outcome.as_deref()))
            .collect();
        kinds.sort();
        assert_eq!(
            kinds,
            [
                ("jbackend_key", Some("sent")),
                ("password_link", Some("sent"))
            ]
        );

        // Ending the membership and revoking the key from the page take effect at once.
        let (s, _) = post_page(
            &app,
            &cookie,
            &format!("{user_path}/memberships/end"),
            &[("csrf", &csrf), ("group", "9")],
        )
        .await;
        assert_eq!(s, 303);
        assert_eq!(
            reqwest::get(format!("{paid}?dlid={key}"))
                .await
                .unwrap()
                .status(),
            403
        );
        let (s, _) = post_page(
            &app,
            &cookie,
            &format!("{user_path}/keys/{id}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(s, 303);
        assert_eq!(
            reqwest::get(format!("{paid}?dlid={key}"))
                .await
                .unwrap()
                .status(),
            401
        );

        let actions = app.audit_actions("actor=admin@example.com&limit=100").await;
        for a in [
            "user.create",
            "membership.add",
            "download_key.create",
            "keys.resend",
            "user.password_link_sent",
            "membership.end",
            "download_key.revoke",
        ] {
            assert!(actions.iter().any(|x| x == a), "{a}: {actions:?}");
        }
    }
);

db_test!(
    console_disables_a_user_but_not_itself,
    |app: TestApp| async move {
        make_admin(&app, "admin@example.com").await;
        let cookie = session_cookie(&sign_in(&app, "admin@example.com", PASSWORD).await);
        let csrf = csrf_of(&page_of(&app, &cookie, "/admin/users").await);
        let buyer: UserView = app
            .call(Method::POST, "/users", &new_user("buyer@example.com"))
            .await;
        let user_path = format!("/admin/users/{}", buyer.id);

        // Disabling from the page; an admin cannot withdraw their own console access.
        let (s, _) = post_page(
            &app,
            &cookie,
            &user_path,
            &[("csrf", &csrf), ("name", "Bea"), ("disabled", "1")],
        )
        .await;
        assert_eq!(s, 303);
        let u: UserView = app.read("/users/buyer@example.com").await;
        assert!(u.disabled);
        let me: UserView = app.read("/users/admin@example.com").await;
        let (s, why) = post_page(
            &app,
            &cookie,
            &format!("/admin/users/{}", me.id),
            &[("csrf", &csrf), ("name", "")],
        )
        .await;
        assert_eq!(s, 400);
        assert!(why.contains("your own console access"), "{why}");

        // The users list finds the user; the change is in the audit log under the admin.
        let html = page_of(&app, &cookie, "/admin/users?email=buyer").await;
        assert!(html.contains("buyer@example.com") && !html.contains("admin@example.com</a>"));
        let actions = app.audit_actions("actor=admin@example.com&limit=100").await;
        assert!(actions.iter().any(|x| x == "user.update"), "{actions:?}");
    }
);

db_test!(
    console_edits_extensions_and_deletes_drafts,
    |app: TestApp| async move {
        app.publish("plg_system_hello", "1.0.0", plugin_zip("1.0.0", "a"), "")
            .await;
        app.publish(
            "plg_system_hello",
            "1.1.0",
            plugin_zip("1.1.0", "b"),
            "draft=1",
        )
        .await;
        make_admin(&app, "admin@example.com").await;
        let cookie = session_cookie(&sign_in(&app, "admin@example.com", PASSWORD).await);
        let html = page_of(&app, &cookie, "/admin/extensions").await;
        let csrf = csrf_of(&html);
        assert!(
            html.contains("/releases/1.1.0/delete") && !html.contains("/releases/1.0.0/delete")
        );

        // Edit what feeds show; a mistake is explained with a way back to the card.
        let edit = |title: &'static str, joomla: &'static str| {
            let (cookie, csrf) = (cookie.clone(), csrf.clone());
            let app = &app;
            async move {
                post_page(
                    app,
                    &cookie,
                    "/admin/extensions/plg_system_hello",
                    &[
                        ("csrf", csrf.as_str()),
                        ("title", title),
                        ("default_joomla", joomla),
                        ("info_url", "https://example.com/hello"),
                        ("description", ""),
                        ("package_group", ""),
                    ],
                )
                .await
            }
        };
        let (s, why) = edit("Hello", "banana").await;
        assert_eq!(s, 400);
        assert!(why.contains("/admin/extensions#plg_system_hello"), "{why}");
        let (s, to) = edit("Hello World", "4.4,5").await;
        assert_eq!(
            (s, to.as_str()),
            (
                303,
                "/admin/extensions?q=plg_system_hello&done=extension#plg_system_hello"
            )
        );
        let feed = app.text("/updates/plg_system_hello.xml").await;
        assert!(
            feed.contains("Hello World") && feed.contains("https://example.com/hello"),
            "{feed}"
        );

        // Only a draft has a delete button, and only a draft is deleted.
        let (s, why) = post_page(
            &app,
            &cookie,
            "/admin/extensions/plg_system_hello/releases/1.0.0/delete",
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(s, 400);
        assert!(why.contains("only a draft can be deleted"), "{why}");
        let (s, to) = post_page(
            &app,
            &cookie,
            "/admin/extensions/plg_system_hello/releases/1.1.0/delete",
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(
            (s, to.as_str()),
            (
                303,
                "/admin/extensions?q=plg_system_hello&done=deleted#plg_system_hello"
            )
        );
        let (s, _) = app
            .api(
                Method::GET,
                "/extensions/plg_system_hello/releases/1.1.0",
                None,
            )
            .await;
        assert_eq!(s, 404);
        let actions = app.audit_actions("actor=admin@example.com").await;
        assert!(
            actions.contains(&"release.delete".to_string())
                && actions.contains(&"extension.update".to_string()),
            "{actions:?}"
        );
    }
);

db_test!(
    console_maps_prices_and_manages_webhooks,
    |app: TestApp| async move {
        make_admin(&app, "admin@example.com").await;
        app.paid_group("pro", 9).await;
        let cookie = session_cookie(&sign_in(&app, "admin@example.com", PASSWORD).await);
        let html = page_of(&app, &cookie, "/admin/sales").await;
        assert!(html.contains("No price is mapped yet"), "{html}");
        let csrf = csrf_of(&html);

        // A price mapped from the page; a bad term explained.
        let (s, _) = post_page(
            &app,
            &cookie,
            "/admin/sales/prices",
            &[
                ("csrf", &csrf),
                ("provider", "paddle"),
                ("price", "pri_01"),
                ("group", "9"),
                ("term", "12m"),
            ],
        )
        .await;
        assert_eq!(s, 303);
        let (s, why) = post_page(
            &app,
            &cookie,
            "/admin/sales/prices",
            &[
                ("csrf", &csrf),
                ("provider", "paddle"),
                ("price", "pri_02"),
                ("group", "9"),
                ("term", "often"),
            ],
        )
        .await;
        assert_eq!(s, 400);
        assert!(why.contains("a term is"), "{why}");
        let html = page_of(&app, &cookie, "/admin/sales?done=price").await;
        assert!(
            html.contains("<code>pri_01</code>") && html.contains("12m"),
            "{html}"
        );
        assert!(
            html.contains("data-confirm=\"Stop mapping pri_01?"),
            "removing asks first"
        );
        let (s, _) = post_page(
            &app,
            &cookie,
            "/admin/sales/prices/remove",
            &[("csrf", &csrf), ("provider", "paddle"), ("price", "pri_01")],
        )
        .await;
        assert_eq!(s, 303);
        assert!(
            page_of(&app, &cookie, "/admin/sales")
                .await
                .contains("No price is mapped yet")
        );

        // A webhook endpoint added, turned off, its (empty) log shown, deleted.
        let (s, _) = post_page(
            &app,
            &cookie,
            "/admin/webhooks",
            &[
                ("csrf", &csrf),
                ("url", "https://crm.example.com/depot"),
                ("events", "user.created"),
            ],
        )
        .await;
        assert_eq!(s, 303);
        let hooks: Items<depot_api::WebhookView> = app.read("/webhooks").await;
        let id = hooks.items[0].id.to_string();
        let html = page_of(&app, &cookie, "/admin/webhooks").await;
        assert!(
            html.contains("https://crm.example.com/depot") && html.contains("whsec_"),
            "{html}"
        );
        let (s, _) = post_page(
            &app,
            &cookie,
            "/admin/webhooks/switch",
            &[("csrf", &csrf), ("id", &id), ("enabled", "false")],
        )
        .await;
        assert_eq!(s, 303);
        let html = page_of(&app, &cookie, &format!("/admin/webhooks?id={id}")).await;
        assert!(
            html.contains("Turn on") && html.contains("Nothing sent yet."),
            "{html}"
        );
        let (s, _) = post_page(
            &app,
            &cookie,
            "/admin/webhooks/delete",
            &[("csrf", &csrf), ("id", &id)],
        )
        .await;
        assert_eq!(s, 303);
        let hooks: Items<depot_api::WebhookView> = app.read("/webhooks").await;
        assert!(hooks.items.is_empty());
        let actions = app.audit_actions("actor=admin@example.com&limit=100").await;
        for a in [
            "sale_price.set",
            "sale_price.remove",
            "webhook.create",
            "webhook.update",
            "webhook.delete",
        ] {
            assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
        }
    }
);

db_test!(
    console_shows_and_edits_a_composer_package,
    |app: TestApp| async move {
        let manifest = br#"{"name": "acme/widgets", "description": "Widgets"}"#;
        app.publish(
            "acme%2Fwidgets",
            "1.0.0",
            zip_of(&[("composer.json", manifest), ("src/W.php", b"<?php\n")]),
            "",
        )
        .await;
        make_admin(&app, "admin@example.com").await;
        let cookie = session_cookie(&sign_in(&app, "admin@example.com", PASSWORD).await);
        let html = page_of(&app, &cookie, "/admin/extensions").await;
        assert!(html.contains("Repository snippet"), "{html}");
        assert!(html.contains("/composer/p2/acme/widgets.json"), "{html}");
        assert!(
            !html.contains("name=\"default_joomla\""),
            "no Joomla targets for a Composer package"
        );
        let csrf = csrf_of(&html);
        let (s, to) = post_page(
            &app,
            &cookie,
            "/admin/extensions/acme%2Fwidgets",
            &[
                ("csrf", csrf.as_str()),
                ("title", "Acme Widgets"),
                ("info_url", ""),
                ("description", ""),
                ("package_group", ""),
            ],
        )
        .await;
        assert_eq!(s, 303, "{to}");
        let view: depot_api::ExtensionView = app.read("/extensions/acme%2Fwidgets").await;
        assert_eq!(view.title, "Acme Widgets");
        // The release's yank form names the package as one path segment.
        assert!(
            html.contains("/admin/extensions/acme%2Fwidgets/releases/1.0.0/state"),
            "{html}"
        );
    }
);
