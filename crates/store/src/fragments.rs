//! Feed fragments: each published release's `<update>` blocks and `<changelog>` entry,
//! rendered once and kept, so that a feed is their concatenation, made by the database in one
//! row whatever the number of releases.
//!
//! A fragment is derived data (never backed up): it names what it was rendered from (the
//! extension's feed inputs and the renderer, as a stamp the service computes, and the release's
//! `updated_at`), and a release write forgets it in the same transaction, so a fragment that
//! no longer matches its release is rendered again before the next feed is made.

use depot_core::ReleaseState;
use sqlx::{Any, AssertSqlSafe, Transaction};

use crate::{Backend, FeedReleaseRow, Store, StoreError};

/// A release's rendered parts.
#[derive(Clone, Debug)]
pub struct FeedFragment {
    pub release_id: i64,
    pub release_updated_at: i64,
    /// The release version's `Version::sort_key`: the database orders fragments by it.
    pub sort_key: String,
    pub updates: String,
    pub changelog: String,
}

/// Which part of the fragments a feed is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FragmentKind {
    Updates,
    Changelog,
}

impl FragmentKind {
    fn column(self) -> &'static str {
        match self {
            FragmentKind::Updates => "updates",
            FragmentKind::Changelog => "changelog",
        }
    }
}

/// Rows per `INSERT`: 6 binds each, well under SQLite's limit of 32,766.
const FRAGMENTS_PER_INSERT: usize = 200;

/// Drops a release's fragment (part of every write to a release).
pub(crate) async fn forget(
    tx: &mut Transaction<'_, Any>,
    release_id: i64,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM feed_fragments WHERE release_id = $1")
        .bind(release_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// The published releases of an extension whose fragment is missing, or was rendered from
    /// something else than `rendered_from` and the release as it is now.
    pub async fn releases_needing_fragments(
        &self,
        extension_id: i64,
        rendered_from: &str,
    ) -> Result<Vec<FeedReleaseRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT r.id, r.version, r.stability, r.targets, r.php_minimum, \
             r.supported_databases, r.notes, r.updated_at, a.filename, a.sha256, a.sha512 \
             FROM releases r JOIN artifacts a ON a.release_id = r.id \
             LEFT JOIN feed_fragments f ON f.release_id = r.id \
             WHERE r.extension_id = $1 AND r.state = $2 AND (f.release_id IS NULL \
             OR f.rendered_from <> $3 OR f.release_updated_at <> r.updated_at)",
        )
        .bind(extension_id)
        .bind(ReleaseState::Published.as_str())
        .bind(rendered_from)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Stores fragments rendered from `rendered_from`, replacing older ones. Not a catalogue
    /// write: nothing a feed shows changes.
    pub async fn save_fragments(
        &self,
        rendered_from: &str,
        fragments: &[FeedFragment],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for chunk in fragments.chunks(FRAGMENTS_PER_INSERT) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let b = i * 6;
                    format!(
                        "(${}, ${}, ${}, ${}, ${}, ${})",
                        b + 1,
                        b + 2,
                        b + 3,
                        b + 4,
                        b + 5,
                        b + 6
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO feed_fragments (release_id, rendered_from, release_updated_at, \
                 sort_key, updates, changelog) VALUES {} ON CONFLICT (release_id) DO UPDATE \
                 SET rendered_from = excluded.rendered_from, \
                 release_updated_at = excluded.release_updated_at, \
                 sort_key = excluded.sort_key, updates = excluded.updates, \
                 changelog = excluded.changelog",
                values.join(", ")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for f in chunk {
                query = query
                    .bind(f.release_id)
                    .bind(rendered_from)
                    .bind(f.release_updated_at)
                    .bind(&f.sort_key)
                    .bind(&f.updates)
                    .bind(&f.changelog);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// An extension's fragments of `kind` joined newest version first (by the database, in
    /// one row), and the newest `updated_at` of the releases they belong to; `None` when it
    /// has no published release with a fragment.
    pub async fn joined_fragments(
        &self,
        extension_id: i64,
        kind: FragmentKind,
    ) -> Result<Option<(String, i64)>, StoreError> {
        let aggregate = match self.backend {
            Backend::Sqlite => "group_concat",
            Backend::Postgres => "string_agg",
        };
        let sql = format!(
            "SELECT {aggregate}(f.{column}, '' ORDER BY f.sort_key DESC, r.id DESC), \
             MAX(r.updated_at) \
             FROM releases r JOIN feed_fragments f ON f.release_id = r.id \
             WHERE r.extension_id = $1 AND r.state = $2",
            column = kind.column()
        );
        let row: (Option<String>, Option<i64>) = sqlx::query_as(AssertSqlSafe(sql))
            .bind(extension_id)
            .bind(ReleaseState::Published.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(match row {
            (Some(joined), Some(updated_at)) => Some((joined, updated_at)),
            _ => None,
        })
    }
}
