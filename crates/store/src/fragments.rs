//! Feed fragments: each published release's `<update>` blocks and `<changelog>` entry,
//! rendered once and kept, so that a feed is their concatenation. The service holds them in
//! memory too; what it asks the database for a cold feed is their order and digests, in one
//! short row whatever the number of releases (sqlx's SQLite driver costs microseconds per row,
//! and 10,000 rows of fragments are 26 MB to read).
//!
//! `feed_fragments` holds what finds and orders them (small rows, an index in feed order),
//! `feed_fragment_bodies` the text. A fragment is derived data (never backed up): it names what it was rendered from (the
//! extension's feed inputs and the renderer, as a stamp the service computes, and the release's
//! `updated_at`), and a release write forgets it in the same transaction, so a fragment that
//! no longer matches its release is rendered again before the next feed is made.

use depot_core::ReleaseState;
use sqlx::{Any, AssertSqlSafe, Transaction};

use crate::batch::{self, Insert};
use crate::{Backend, FeedReleaseRow, Store, StoreError};

/// A release's rendered parts.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct FeedFragment {
    pub release_id: i64,
    pub extension_id: i64,
    pub release_updated_at: i64,
    /// The release version's `Version::sort_key`: the database orders fragments by it.
    pub sort_key: String,
    /// A hash of `updates` and `changelog`: a copy with the same digest is the same fragment.
    pub digest: String,
    pub updates: String,
    pub changelog: String,
}

/// An extension's fragments in feed order (newest version first), by release id and digest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FragmentOrder {
    pub fragments: Vec<(i64, String)>,
}

/// Ids per `IN (…)` list.
const IDS_PER_SELECT: usize = 500;

/// Drops a release's fragment (part of every write to a release).
pub(crate) async fn forget(
    tx: &mut Transaction<'_, Any>,
    release_id: i64,
) -> Result<(), StoreError> {
    for table in ["feed_fragment_bodies", "feed_fragments"] {
        sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE release_id = $1"
        )))
        .bind(release_id)
        .execute(&mut **tx)
        .await?;
    }
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
        self.needing_fragments(extension_id, rendered_from, "")
            .await
    }

    /// [`Store::releases_needing_fragments`] among `release_ids` only.
    pub async fn releases_needing_fragments_among(
        &self,
        extension_id: i64,
        rendered_from: &str,
        release_ids: &[i64],
    ) -> Result<Vec<FeedReleaseRow>, StoreError> {
        let mut found = Vec::new();
        for chunk in release_ids.chunks(IDS_PER_SELECT) {
            let among = format!(" AND p.id IN ({})", id_list(chunk));
            found.extend(
                self.needing_fragments(extension_id, rendered_from, &among)
                    .await?,
            );
        }
        Ok(found)
    }

    async fn needing_fragments(
        &self,
        extension_id: i64,
        rendered_from: &str,
        among: &str,
    ) -> Result<Vec<FeedReleaseRow>, StoreError> {
        // The releases are picked by the small tables and indexes alone; only those picked
        // (usually none) are read in full.
        let sql = format!(
            "SELECT r.id, r.version, r.stability, r.targets, r.php_minimum, \
             r.supported_databases, r.notes, r.security, r.updated_at, a.filename, a.sha256, \
             a.sha512 \
             FROM releases r JOIN artifacts a ON a.release_id = r.id AND a.platform = '' \
             WHERE r.id IN (SELECT p.id FROM releases p \
             LEFT JOIN feed_fragments f ON f.release_id = p.id \
             WHERE p.extension_id = $1 AND p.state = $2 AND (f.release_id IS NULL \
             OR f.rendered_from <> $3 OR f.release_updated_at <> p.updated_at){among})"
        );
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .persistent(among.is_empty())
            .bind(extension_id)
            .bind(ReleaseState::Published.as_str())
            .bind(rendered_from)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The releases whose writes moved the extension's `feed_version` from `after` up to
    /// `upto`, or `None` when the log no longer holds every move between them (it keeps the
    /// last 256 per extension, and a restore starts it afresh).
    pub async fn feed_changes(
        &self,
        extension_id: i64,
        after: i64,
        upto: i64,
    ) -> Result<Option<Vec<i64>>, StoreError> {
        if upto < after {
            return Ok(None);
        }
        let moves: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT feed_version, release_id FROM feed_changes \
             WHERE extension_id = $1 AND feed_version > $2 AND feed_version <= $3",
        )
        .bind(extension_id)
        .bind(after)
        .bind(upto)
        .fetch_all(&self.pool)
        .await?;
        let mut versions: Vec<i64> = moves.iter().map(|(v, _)| *v).collect();
        versions.sort_unstable();
        versions.dedup();
        if versions.len() as i64 != upto - after {
            return Ok(None);
        }
        let mut releases: Vec<i64> = moves.into_iter().map(|(_, r)| r).collect();
        releases.sort_unstable();
        releases.dedup();
        Ok(Some(releases))
    }

    /// Stores fragments rendered from `rendered_from`, replacing older ones. Not a catalogue
    /// write: nothing a feed shows changes.
    pub async fn save_fragments(
        &self,
        rendered_from: &str,
        fragments: &[FeedFragment],
    ) -> Result<(), StoreError> {
        static FRAGMENTS: Insert = Insert::new(
            "INSERT INTO feed_fragments (release_id, extension_id, rendered_from, \
             release_updated_at, sort_key, digest) VALUES ",
            6,
            " ON CONFLICT (release_id) DO UPDATE SET extension_id = excluded.extension_id, \
             rendered_from = excluded.rendered_from, \
             release_updated_at = excluded.release_updated_at, \
             sort_key = excluded.sort_key, digest = excluded.digest",
        );
        static BODIES: Insert = Insert::new(
            "INSERT INTO feed_fragment_bodies (release_id, updates, changelog) VALUES ",
            3,
            " ON CONFLICT (release_id) DO UPDATE SET updates = excluded.updates, \
             changelog = excluded.changelog",
        );
        let mut tx = self.pool.begin().await?;
        for chunk in batch::chunks(fragments) {
            let mut query = sqlx::query(FRAGMENTS.sql(chunk.len()));
            for f in chunk {
                query = query
                    .bind(f.release_id)
                    .bind(f.extension_id)
                    .bind(rendered_from)
                    .bind(f.release_updated_at)
                    .bind(&f.sort_key)
                    .bind(&f.digest);
            }
            query.execute(&mut *tx).await?;
            let mut query = sqlx::query(BODIES.sql(chunk.len()));
            for f in chunk {
                query = query.bind(f.release_id).bind(&f.updates).bind(&f.changelog);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The order of an extension's fragments (newest version first) with their digests, read
    /// as one row. Only published releases' fragments count.
    pub async fn fragment_order(&self, extension_id: i64) -> Result<FragmentOrder, StoreError> {
        let aggregate = match self.backend {
            Backend::Sqlite => "group_concat",
            Backend::Postgres => "string_agg",
        };
        // In index order (no sort); each release is looked up for its state.
        let sql = format!(
            "SELECT {aggregate}(CAST(f.release_id AS TEXT) || ':' || f.digest, ',' \
             ORDER BY f.sort_key DESC, f.release_id DESC) \
             FROM feed_fragments f JOIN releases r ON r.id = f.release_id \
             WHERE f.extension_id = $1 AND r.state = $2"
        );
        let joined: Option<String> = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(extension_id)
            .bind(ReleaseState::Published.as_str())
            .fetch_one(&self.pool)
            .await?;
        // Written by the query above from integers and hex digests: every entry parses.
        let fragments = joined
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .filter_map(|pair| {
                let (id, digest) = pair.split_once(':')?;
                Some((id.parse().ok()?, digest.to_string()))
            })
            .collect();
        Ok(FragmentOrder { fragments })
    }

    /// The stored fragments of these releases (those that have one).
    pub async fn fragments_by_release(
        &self,
        release_ids: &[i64],
    ) -> Result<Vec<FeedFragment>, StoreError> {
        self.fragments_where(release_ids, "", None).await
    }

    /// The fragments among `release_ids` that the extension's feed shows now: those
    /// [`Store::fragment_order`] would list.
    pub async fn fragments_in_feed(
        &self,
        extension_id: i64,
        release_ids: &[i64],
    ) -> Result<Vec<FeedFragment>, StoreError> {
        let in_feed = " AND f.extension_id = $1 AND EXISTS (SELECT 1 FROM releases r \
                       WHERE r.id = f.release_id AND r.state = $2)";
        self.fragments_where(release_ids, in_feed, Some(extension_id))
            .await
    }

    async fn fragments_where(
        &self,
        release_ids: &[i64],
        condition: &str,
        extension_id: Option<i64>,
    ) -> Result<Vec<FeedFragment>, StoreError> {
        let mut found = Vec::with_capacity(release_ids.len());
        for chunk in release_ids.chunks(IDS_PER_SELECT) {
            let sql = format!(
                "SELECT f.release_id, f.extension_id, f.release_updated_at, f.sort_key, \
                 f.digest, b.updates, b.changelog \
                 FROM feed_fragments f JOIN feed_fragment_bodies b ON b.release_id = f.release_id \
                 WHERE f.release_id IN ({}){condition}",
                id_list(chunk)
            );
            let mut query = sqlx::query_as::<_, FeedFragment>(AssertSqlSafe(sql)).persistent(false);
            if let Some(extension_id) = extension_id {
                query = query
                    .bind(extension_id)
                    .bind(ReleaseState::Published.as_str());
            }
            found.extend(query.fetch_all(&self.pool).await?);
        }
        Ok(found)
    }
}

/// Ids as SQL literals: integers, so nothing from outside reaches the statement. The lists
/// are short and rare, and their statements are not kept prepared (`persistent(false)`), so
/// they do not push the hot ones out of the driver's cache.
fn id_list(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
