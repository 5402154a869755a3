//! API tokens managed over the API, and the audit log: every change names who made it.

use depot_api::{
    AuditActor, AuditPage, DownloadKeyView, GroupView, Items, MembershipView, NewGroup,
    NewMembership, NewPackageGroup, NewUser, PackageGroupView, ReleasePatch, ReleaseView,
    TokenView, UserPatch, UserView,
};
use reqwest::Method;
use serde_json::json;

use crate::db_test;
use crate::helpers::*;

db_test!(tokens_over_the_api, |app: TestApp| async move {
    let (id, ci) = app.token("ci", "publish", &["plg_system_hello"]).await;

    // Listed without the token itself.
    let (_, list) = app.api(Method::GET, "/tokens", None).await;
    assert!(!list.to_string().contains(&ci));
    let list: Items<TokenView> = serde_json::from_value(list).unwrap();
    let ci_view = list.items.iter().find(|t| t.id == id).expect("listed");
    assert_eq!(
        ci_view.extensions.as_deref(),
        Some(&["plg_system_hello".to_string()][..])
    );
    let names: Vec<&str> = list.items.iter().map(|t| t.name.as_str()).collect();
    assert!(
        names.contains(&"ci") && names.contains(&"test admin"),
        "{names:?}"
    );

    // Works until revoked, then 401; a second revocation is a conflict.
    app.upload_as(
        &ci,
        "plg_system_hello",
        "1.0.0",
        plugin_zip("1.0.0", "a"),
        "",
    )
    .await
    .error_for_status()
    .unwrap();
    let revoked: TokenView = app
        .call(Method::DELETE, &format!("/tokens/{id}"), &())
        .await;
    assert!(revoked.revoked_at.is_some());
    let r = app
        .upload_as(
            &ci,
            "plg_system_hello",
            "1.0.1",
            plugin_zip("1.0.1", "b"),
            "",
        )
        .await;
    assert_eq!(r.status(), 401);
    let refused = app
        .refused(Method::DELETE, &format!("/tokens/{id}"), None)
        .await;
    assert_eq!(refused, (409, "conflict".into()));

    // Only admins manage tokens; bad scopes are refused.
    let (_, read) = app.token("r", "read", &[]).await;
    let refused = app.refused_as(&read, Method::GET, "/tokens", None).await;
    assert_eq!(refused, (403, "forbidden".into()));
    for body in [
        json!({"name": "x", "scope": "root"}),
        json!({"name": "x", "scope": "admin", "extensions": ["com_a"]}),
        json!({"name": "", "scope": "read"}),
    ] {
        let (s, _) = app
            .refused(Method::POST, "/tokens", Some(body.clone()))
            .await;
        assert_eq!(s, 400, "{body}");
    }
});

db_test!(every_change_is_audited, |app: TestApp| async move {
    let (ops_id, ops) = app.token("ops", "admin", &[]).await;
    let _: GroupView = app
        .call_as(
            &ops,
            Method::POST,
            "/groups",
            &NewGroup {
                id: 9,
                name: "S".into(),
            },
        )
        .await;
    let buyer = NewUser {
        password: Some("a long passphrase".into()),
        ..new_user("Buyer@Example.com")
    };
    let _: UserView = app.call_as(&ops, Method::POST, "/users", &buyer).await;
    let membership = NewMembership {
        group: 9,
        from: None,
        until: Some("2030-01-01".into()),
    };
    let _: MembershipView = app
        .call_as(
            &ops,
            Method::POST,
            "/users/buyer@example.com/memberships",
            &membership,
        )
        .await;
    let pro = NewPackageGroup {
        id: "pro".into(),
        groups: vec![9],
        seed: Some("SEED-NOT-IN-THE-LOG".into()),
        ..NewPackageGroup::default()
    };
    let _: PackageGroupView = app
        .call_as(&ops, Method::POST, "/package-groups", &pro)
        .await;
    let key: DownloadKeyView = app
        .call_as(&ops, Method::POST, "/users/buyer@example.com/keys", &())
        .await;
    let change = UserPatch {
        disabled: Some(true),
        password: Some("another passphrase".into()),
        ..UserPatch::default()
    };
    let _: UserView = app
        .call_as(&ops, Method::PATCH, "/users/buyer@example.com", &change)
        .await;
    app.upload_as(
        &ops,
        "plg_system_hello",
        "1.0.0",
        plugin_zip("1.0.0", "a"),
        "",
    )
    .await
    .error_for_status()
    .unwrap();
    let yank = ReleasePatch {
        state: Some("yanked".into()),
        ..ReleasePatch::default()
    };
    let _: ReleaseView = app
        .call_as(
            &ops,
            Method::PATCH,
            "/extensions/plg_system_hello/releases/1.0.0",
            &yank,
        )
        .await;
    // A refused request leaves no entry.
    let (s, _) = app
        .refused_as(
            &ops,
            Method::POST,
            "/groups",
            Some(json!({"id": 9, "name": "again"})),
        )
        .await;
    assert_eq!(s, 409);

    let (_, raw) = app.api(Method::GET, "/audit-log", None).await;
    // Secrets never reach the log.
    let text = raw.to_string();
    for secret in [
        "a long passphrase",
        "another passphrase",
        "SEED-NOT-IN-THE-LOG",
        key.key.as_str(),
        &ops,
    ] {
        assert!(!text.contains(secret), "{secret} is in the audit log");
    }
    let log: AuditPage = serde_json::from_value(raw).unwrap();
    let entries = &log.items;
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "release.yank",
            "release.publish",
            "user.update",
            "download_key.create",
            "package_group.create",
            "membership.add",
            "user.create",
            "group.create",
            "token.create",
            "token.create",
        ]
    );
    let by_ops = AuditActor {
        kind: "token".into(),
        id: Some(ops_id),
        name: "ops".into(),
    };
    for e in &entries[..8] {
        assert_eq!(e.actor, by_ops, "{e:?}");
        assert!(e.at.ends_with('Z'));
    }
    assert_eq!(entries[0].subject, "plg_system_hello 1.0.0");
    assert_eq!(entries[6].subject, "buyer@example.com");
    assert_eq!(entries[2].detail["disabled"], true);

    // Filters: an action family, a subject, an actor; pages.
    let page = |q: &'static str| app.read::<AuditPage>(q);
    assert_eq!(page("/audit-log?action=user.").await.items.len(), 2);
    let buyer = page("/audit-log?subject=buyer@example.com").await;
    assert_eq!(buyer.items.len(), 4);
    let v = page("/audit-log?actor=test%20admin").await;
    assert_eq!(v.items.len(), 1);
    assert_eq!(v.items[0].subject, "ops");
    // The first token was made on the server itself, not through the API.
    assert_eq!(entries[9].actor.kind, "system");
    let first = page("/audit-log?limit=5").await;
    assert_eq!(first.items.len(), 5);
    let next = first.next_before.unwrap();
    let rest: AuditPage = app.read(&format!("/audit-log?before={next}")).await;
    assert_eq!(rest.items.len(), 5);
    let refused = app
        .refused(Method::GET, "/audit-log?from=yesterday", None)
        .await;
    assert_eq!(refused, (400, "bad_date".into()));

    // Only admins read it.
    let (_, read) = app.token("r", "read", &[]).await;
    let (s, _) = app.refused_as(&read, Method::GET, "/audit-log", None).await;
    assert_eq!(s, 403);
});
