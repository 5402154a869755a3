//! The schema on both databases.

use depot_store::{MIGRATIONS, Store};

use crate::helpers::Db;

async fn migrations_are_idempotent(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let url = match &db {
        Db::Sqlite => format!("sqlite://{}", dir.path().join("x.db").display()),
        Db::Postgres { base, schema } => format!("{base}?options=-c%20search_path%3D{schema}"),
    };
    let store = Store::connect(&url).await.unwrap();
    let applied = store.migrate().await.unwrap();
    assert_eq!(applied.len(), MIGRATIONS.len());
    assert!(
        store.migrate().await.unwrap().is_empty(),
        "second run applies nothing"
    );
    // Two processes migrating at once (several instances starting together) agree.
    let other = Store::connect(&url).await.unwrap();
    let (a, b) = tokio::join!(store.migrate(), other.migrate());
    assert!(a.unwrap().is_empty() && b.unwrap().is_empty());
    assert_eq!(store.catalogue_generation().await.unwrap(), 0);
    store.close().await;
    other.close().await;
}

#[tokio::test]
async fn migrations_sqlite() {
    migrations_are_idempotent(Db::Sqlite).await;
}

#[tokio::test]
async fn migrations_postgres() {
    if let Some(db) = Db::postgres().await {
        migrations_are_idempotent(db).await;
    }
}

#[tokio::test]
async fn unsupported_urls_are_named() {
    let e = Store::connect("mysql://root:pw@localhost/x")
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("unsupported database URL") && !msg.contains("pw"),
        "{msg}"
    );
}
