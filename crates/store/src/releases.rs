//! Releases and their artifacts (the stored file, its hashes and package id).
//!
//! A release of a Joomla extension, Composer package or WordPress product has one artifact
//! (`platform` empty); an application's release has one per platform it was built for (its
//! builds). Where a release is listed with "its" artifact, that is its first one.

use depot_core::{ReleaseState, Stability};
use sqlx::{Any, AssertSqlSafe, FromRow, Transaction};

use crate::{Store, StoreError};

#[derive(Clone, Debug, FromRow)]
pub struct ReleaseRow {
    pub id: i64,
    pub extension_id: i64,
    pub version: String,
    #[sqlx(try_from = "String")]
    pub stability: Stability,
    pub targets: String,
    pub php_minimum: Option<String>,
    pub supported_databases: Option<String>,
    pub notes: Option<String>,
    #[sqlx(try_from = "String")]
    pub state: ReleaseState,
    pub published_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// A staged rollout's schedule (`5,25@24h,100@48h`); `None`: offered to every site.
    pub rollout: Option<String>,
    pub rollout_started_at: Option<i64>,
    /// Set while the rollout is paused: the share stays what it was then.
    pub rollout_paused_at: Option<i64>,
    /// Joomla's `<security>` level, 0 to 4.
    pub security: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct NewRelease {
    pub extension_id: i64,
    pub version: String,
    pub stability: Stability,
    pub targets: String,
    pub php_minimum: Option<String>,
    pub supported_databases: Option<String>,
    pub notes: Option<String>,
    pub state: ReleaseState,
    pub security: Option<i64>,
}

/// Columns are aliased `a_*` so that an artifact can be flattened into a joined row.
#[derive(Clone, Debug, FromRow)]
pub struct ArtifactRow {
    #[sqlx(rename = "a_id")]
    pub id: i64,
    #[sqlx(rename = "a_release_id")]
    pub release_id: i64,
    #[sqlx(rename = "a_package_id")]
    pub package_id: String,
    #[sqlx(rename = "a_storage_key")]
    pub storage_key: String,
    #[sqlx(rename = "a_filename")]
    pub filename: String,
    #[sqlx(rename = "a_size")]
    pub size: i64,
    #[sqlx(rename = "a_sha256")]
    pub sha256: String,
    #[sqlx(rename = "a_sha384")]
    pub sha384: String,
    #[sqlx(rename = "a_sha512")]
    pub sha512: String,
    /// Composer's `dist.shasum`; `None` for files stored before depot kept it.
    #[sqlx(rename = "a_sha1")]
    pub sha1: Option<String>,
    /// What the package's own manifest says that its metadata repeats (a `composer.json`'s
    /// fields, as JSON), for ecosystems whose metadata is read from the file.
    #[sqlx(rename = "a_manifest")]
    pub manifest: Option<String>,
    #[sqlx(rename = "a_created_at")]
    pub created_at: i64,
    /// An application build's platform (`linux-x86_64`); empty for a product's one package.
    #[sqlx(rename = "a_platform")]
    pub platform: String,
    /// The signature the vendor made of a build with their own key (Tauri's `.sig`).
    #[sqlx(rename = "a_vendor_signature")]
    pub vendor_signature: Option<String>,
}

pub(crate) const ARTIFACT_COLUMNS: &str = "a.id AS a_id, a.release_id AS a_release_id, \
    a.package_id AS a_package_id, a.storage_key AS a_storage_key, a.filename AS a_filename, \
    a.size AS a_size, a.sha256 AS a_sha256, a.sha384 AS a_sha384, a.sha512 AS a_sha512, \
    a.sha1 AS a_sha1, a.manifest AS a_manifest, a.created_at AS a_created_at, \
    a.platform AS a_platform, a.vendor_signature AS a_vendor_signature";

/// Joins a release `r` to the artifact `a` that stands for it: its only one, or an
/// application release's first build.
pub(crate) const ITS_ARTIFACT: &str =
    "a.id = (SELECT MIN(first.id) FROM artifacts first WHERE first.release_id = r.id)";

pub(crate) const RELEASE_COLUMNS: &str = "r.id, r.extension_id, r.version, r.stability, r.targets, \
    r.php_minimum, r.supported_databases, r.notes, r.state, r.published_at, r.created_at, \
    r.updated_at, r.rollout, r.rollout_started_at, r.rollout_paused_at, r.security";

#[derive(Clone, Debug)]
pub struct NewArtifact {
    pub package_id: String,
    pub storage_key: String,
    pub filename: String,
    pub size: i64,
    pub sha256: String,
    pub sha384: String,
    pub sha512: String,
    pub sha1: String,
    /// See [`ArtifactRow::manifest`].
    pub manifest: Option<String>,
    /// Its `.minisig`, stored with it so that a published file is never unsigned.
    pub signature: Option<NewSignature>,
    /// See [`ArtifactRow::platform`].
    pub platform: String,
    /// See [`ArtifactRow::vendor_signature`].
    pub vendor_signature: Option<String>,
}

/// An artifact's minisign signature and the key that made it.
#[derive(Clone, Debug)]
pub struct NewSignature {
    pub key_id: String,
    pub minisig: String,
}

#[derive(Clone, Debug, FromRow)]
pub struct ReleaseWithArtifact {
    #[sqlx(flatten)]
    pub release: ReleaseRow,
    #[sqlx(flatten)]
    pub artifact: ArtifactRow,
}

/// A release being rolled out.
#[derive(Clone, Debug, FromRow)]
pub struct RolloutRow {
    pub release_id: i64,
    pub version: String,
    pub rollout: String,
    pub rollout_started_at: i64,
    pub rollout_paused_at: Option<i64>,
}

/// A published release of some product, with its artifact and what its product's metadata
/// needs (a Composer repository's input).
#[derive(Clone, Debug, FromRow)]
pub struct PublishedReleaseRow {
    #[sqlx(rename = "e_name")]
    pub extension: String,
    #[sqlx(rename = "e_package_group_id")]
    pub package_group_id: Option<i64>,
    #[sqlx(flatten)]
    pub release: ReleaseRow,
    #[sqlx(flatten)]
    pub artifact: ArtifactRow,
}

/// A published release as its extension's feeds show it.
#[derive(Clone, Debug, FromRow)]
pub struct FeedReleaseRow {
    pub id: i64,
    pub version: String,
    #[sqlx(try_from = "String")]
    pub stability: Stability,
    pub targets: String,
    pub php_minimum: Option<String>,
    pub supported_databases: Option<String>,
    pub notes: Option<String>,
    pub security: Option<i64>,
    pub updated_at: i64,
    pub filename: String,
    pub sha256: String,
    pub sha512: String,
}

async fn insert_artifact(
    tx: &mut Transaction<'_, Any>,
    release_id: i64,
    a: &NewArtifact,
    now: i64,
) -> Result<(), StoreError> {
    let artifact_id: i64 = sqlx::query_scalar(
        "INSERT INTO artifacts (release_id, package_id, storage_key, filename, size, sha256, \
         sha384, sha512, sha1, manifest, created_at, platform, vendor_signature) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(release_id)
    .bind(&a.package_id)
    .bind(&a.storage_key)
    .bind(&a.filename)
    .bind(a.size)
    .bind(&a.sha256)
    .bind(&a.sha384)
    .bind(&a.sha512)
    .bind(&a.sha1)
    .bind(&a.manifest)
    .bind(now)
    .bind(&a.platform)
    .bind(&a.vendor_signature)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| StoreError::unique(e, "package id"))?;
    if let Some(signature) = &a.signature {
        crate::signatures::insert(tx, artifact_id, signature, now).await?;
    }
    Ok(())
}

impl Store {
    /// One release of an extension with its artifact, in any state.
    pub async fn release(
        &self,
        extension_id: i64,
        version: &str,
    ) -> Result<Option<ReleaseWithArtifact>, StoreError> {
        let sql = format!(
            "SELECT {RELEASE_COLUMNS}, {ARTIFACT_COLUMNS} FROM releases r \
             JOIN artifacts a ON {ITS_ARTIFACT} \
             WHERE r.extension_id = $1 AND r.version = $2"
        );
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(extension_id)
            .bind(version)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Every published release of every extension (without artifacts): the collection feed's
    /// input, read in one query however large the catalogue.
    pub async fn all_published_releases(&self) -> Result<Vec<ReleaseRow>, StoreError> {
        let sql = format!(
            "SELECT {RELEASE_COLUMNS} FROM releases r WHERE r.state = $1 \
             ORDER BY r.extension_id"
        );
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(ReleaseState::Published.as_str())
            .fetch_all(&self.pool)
            .await?)
    }

    /// Every published release of the products of `ecosystem`, with its artifact, by product
    /// name: what a repository of that ecosystem lists, in one query.
    pub async fn published_releases_in(
        &self,
        ecosystem: &str,
    ) -> Result<Vec<PublishedReleaseRow>, StoreError> {
        let sql = format!(
            "SELECT e.name AS e_name, e.package_group_id AS e_package_group_id, \
             {RELEASE_COLUMNS}, {ARTIFACT_COLUMNS} FROM releases r \
             JOIN extensions e ON e.id = r.extension_id JOIN artifacts a ON {ITS_ARTIFACT} \
             WHERE e.ecosystem = $1 AND r.state = $2 ORDER BY e.name, r.id"
        );
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(ecosystem)
            .bind(ReleaseState::Published.as_str())
            .fetch_all(&self.pool)
            .await?)
    }

    /// Starts (or replaces) a release's staged rollout at `started_at`, or ends it (`None`:
    /// every site is offered the release).
    pub async fn set_rollout(
        &self,
        release_id: i64,
        schedule: Option<&str>,
        started_at: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.catalogue_write().await?;
        sqlx::query(
            "UPDATE releases SET rollout = $1, rollout_started_at = $2, rollout_paused_at = NULL, \
             updated_at = $3 WHERE id = $4",
        )
        .bind(schedule)
        .bind(schedule.map(|_| started_at))
        .bind(self.now_ms())
        .bind(release_id)
        .execute(&mut *tx)
        .await?;
        self.commit_catalogue(tx).await?;
        Ok(())
    }

    /// The published releases of an extension that are being rolled out (a light query: a
    /// cold feed asks it beside its fragments).
    pub async fn rollouts_of(&self, extension_id: i64) -> Result<Vec<RolloutRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id AS release_id, version, rollout, \
             COALESCE(rollout_started_at, published_at, 0) AS rollout_started_at, \
             rollout_paused_at FROM releases \
             WHERE extension_id = $1 AND state = $2 AND rollout IS NOT NULL",
        )
        .bind(extension_id)
        .bind(ReleaseState::Published.as_str())
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every published release being rolled out (to finish those whose schedule is over).
    pub async fn all_rollouts(&self) -> Result<Vec<RolloutRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id AS release_id, version, rollout, \
             COALESCE(rollout_started_at, published_at, 0) AS rollout_started_at, \
             rollout_paused_at FROM releases WHERE state = $1 AND rollout IS NOT NULL",
        )
        .bind(ReleaseState::Published.as_str())
        .fetch_all(&self.pool)
        .await?)
    }

    /// Ends the rollouts of an extension's other releases (one rollout at a time: the newest
    /// one decides who sees what).
    pub async fn end_other_rollouts(
        &self,
        extension_id: i64,
        release_id: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.catalogue_write().await?;
        sqlx::query(
            "UPDATE releases SET rollout = NULL, rollout_started_at = NULL, \
             rollout_paused_at = NULL WHERE extension_id = $1 AND id <> $2 \
             AND rollout IS NOT NULL",
        )
        .bind(extension_id)
        .bind(release_id)
        .execute(&mut *tx)
        .await?;
        self.commit_catalogue(tx).await?;
        Ok(())
    }

    /// Pauses a rollout at `at` (`Some`) or resumes it (`None`): resuming moves the start by
    /// the time it was paused, so that the share goes on from where it stopped.
    pub async fn set_rollout_paused(
        &self,
        release_id: i64,
        at: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut tx = self.catalogue_write().await?;
        let now = self.now_ms();
        let sql = match at {
            Some(_) => {
                "UPDATE releases SET rollout_paused_at = $1, updated_at = $2 \
                 WHERE id = $3 AND rollout IS NOT NULL AND rollout_paused_at IS NULL"
            }
            None => {
                "UPDATE releases SET rollout_started_at = rollout_started_at + ($2 - rollout_paused_at), \
                 rollout_paused_at = $1, updated_at = $2 \
                 WHERE id = $3 AND rollout IS NOT NULL AND rollout_paused_at IS NOT NULL"
            }
        };
        sqlx::query(sql)
            .bind(at)
            .bind(now)
            .bind(release_id)
            .execute(&mut *tx)
            .await?;
        self.commit_catalogue(tx).await?;
        Ok(())
    }

    /// Creates a release and its artifact together; `Conflict` if the version or package id is
    /// taken.
    pub async fn create_release(
        &self,
        new: &NewRelease,
        artifact: &NewArtifact,
    ) -> Result<ReleaseWithArtifact, StoreError> {
        let mut tx = self.catalogue_write().await?;
        let now = self.now_ms();
        let published_at = (new.state == ReleaseState::Published).then_some(now);
        let release_id: i64 = sqlx::query_scalar(
            "INSERT INTO releases (extension_id, version, stability, targets, php_minimum, \
             supported_databases, notes, state, published_at, created_at, updated_at, security) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11) RETURNING id",
        )
        .bind(new.extension_id)
        .bind(&new.version)
        .bind(new.stability.as_str())
        .bind(&new.targets)
        .bind(&new.php_minimum)
        .bind(&new.supported_databases)
        .bind(&new.notes)
        .bind(new.state.as_str())
        .bind(published_at)
        .bind(now)
        .bind(new.security)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| StoreError::unique(e, "release"))?;
        insert_artifact(&mut tx, release_id, artifact, now).await?;
        sqlx::query("UPDATE extensions SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(new.extension_id)
            .execute(&mut *tx)
            .await?;
        self.commit_catalogue(tx).await?;
        self.release(new.extension_id, &new.version)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// Replaces a draft's metadata and file. Returns the storage key of the file it replaced.
    pub async fn replace_draft(
        &self,
        release_id: i64,
        new: &NewRelease,
        artifact: &NewArtifact,
    ) -> Result<String, StoreError> {
        let mut tx = self.catalogue_write().await?;
        let now = self.now_ms();
        let old_key: String =
            sqlx::query_scalar("SELECT storage_key FROM artifacts WHERE release_id = $1")
                .bind(release_id)
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query("DELETE FROM artifacts WHERE release_id = $1")
            .bind(release_id)
            .execute(&mut *tx)
            .await?;
        insert_artifact(&mut tx, release_id, artifact, now).await?;
        crate::fragments::forget(&mut tx, release_id).await?;
        sqlx::query(
            "UPDATE releases SET stability = $1, targets = $2, php_minimum = $3, \
             supported_databases = $4, notes = $5, state = $6, published_at = $7, updated_at = $8, \
             security = $11 WHERE id = $9 AND state = $10",
        )
        .bind(new.stability.as_str())
        .bind(&new.targets)
        .bind(&new.php_minimum)
        .bind(&new.supported_databases)
        .bind(&new.notes)
        .bind(new.state.as_str())
        .bind((new.state == ReleaseState::Published).then_some(now))
        .bind(now)
        .bind(release_id)
        .bind(ReleaseState::Draft.as_str())
        .bind(new.security)
        .execute(&mut *tx)
        .await?;
        self.commit_catalogue(tx).await?;
        Ok(old_key)
    }

    /// Moves a release to another state. Returns false if it does not exist.
    pub async fn set_release_state(
        &self,
        release_id: i64,
        state: ReleaseState,
    ) -> Result<bool, StoreError> {
        let mut tx = self.catalogue_write().await?;
        let now = self.now_ms();
        crate::fragments::forget(&mut tx, release_id).await?;
        let done = sqlx::query(
            "UPDATE releases SET state = $1, updated_at = $2, \
             published_at = CASE WHEN $4 THEN COALESCE(published_at, $2) \
             ELSE published_at END WHERE id = $3",
        )
        .bind(state.as_str())
        .bind(now)
        .bind(release_id)
        .bind(state == ReleaseState::Published)
        .execute(&mut *tx)
        .await?;
        self.commit_catalogue(tx).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a draft and its artifact rows. Returns the storage keys of its files, or `None`
    /// when there is no such draft (a published or yanked release is never deleted: sites may
    /// have it installed, and its download log refers to it).
    pub async fn delete_draft(&self, release_id: i64) -> Result<Option<Vec<String>>, StoreError> {
        let mut tx = self.catalogue_write().await?;
        let keys: Vec<String> = sqlx::query_scalar(
            "SELECT a.storage_key FROM artifacts a JOIN releases r ON r.id = a.release_id \
             WHERE r.id = $1 AND r.state = $2",
        )
        .bind(release_id)
        .bind(ReleaseState::Draft.as_str())
        .fetch_all(&mut *tx)
        .await?;
        let key = (!keys.is_empty()).then_some(keys);
        if key.is_some() {
            sqlx::query("DELETE FROM artifacts WHERE release_id = $1")
                .bind(release_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM releases WHERE id = $1 AND state = $2")
                .bind(release_id)
                .bind(ReleaseState::Draft.as_str())
                .execute(&mut *tx)
                .await?;
        }
        self.commit_catalogue(tx).await?;
        Ok(key)
    }

    /// Dates a published release back to when it was first released elsewhere (an import), so
    /// that feeds and "keep what you paid for" see its real age. Never dates it forward.
    pub async fn backdate_release(&self, release_id: i64, at: i64) -> Result<bool, StoreError> {
        let mut tx = self.catalogue_write().await?;
        let done = sqlx::query(
            "UPDATE releases SET published_at = $1 WHERE id = $2 AND published_at > $1",
        )
        .bind(at)
        .bind(release_id)
        .execute(&mut *tx)
        .await?;
        self.commit_catalogue(tx).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces a release's notes (`None` removes them). Returns false if it does not exist.
    pub async fn set_release_notes(
        &self,
        release_id: i64,
        notes: Option<&str>,
    ) -> Result<bool, StoreError> {
        let set = sqlx::query("UPDATE releases SET notes = $1, updated_at = $2 WHERE id = $3");
        self.update_release(release_id, set.bind(notes)).await
    }

    /// Sets a release's security level (`None` removes it). Returns false if it does not exist.
    pub async fn set_release_security(
        &self,
        release_id: i64,
        security: Option<i64>,
    ) -> Result<bool, StoreError> {
        let set = sqlx::query("UPDATE releases SET security = $1, updated_at = $2 WHERE id = $3");
        self.update_release(release_id, set.bind(security)).await
    }

    /// Runs `set` (its value bound as `$1`; `$2` the time, `$3` the release) as a catalogue
    /// write that forgets the release's fragment. Returns false if the release does not exist.
    async fn update_release<'q>(
        &self,
        release_id: i64,
        set: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.catalogue_write().await?;
        crate::fragments::forget(&mut tx, release_id).await?;
        let done = set
            .bind(self.now_ms())
            .bind(release_id)
            .execute(&mut *tx)
            .await?;
        self.commit_catalogue(tx).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every release of an extension in any state, with its file, for the admin API.
    pub async fn releases_of(
        &self,
        extension_id: i64,
    ) -> Result<Vec<ReleaseWithArtifact>, StoreError> {
        let sql = format!(
            "SELECT {RELEASE_COLUMNS}, {ARTIFACT_COLUMNS} FROM releases r \
             JOIN artifacts a ON {ITS_ARTIFACT} WHERE r.extension_id = $1"
        );
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(extension_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// An application release's builds, by platform.
    pub async fn builds_of(&self, release_id: i64) -> Result<Vec<ArtifactRow>, StoreError> {
        let sql = format!(
            "SELECT {ARTIFACT_COLUMNS} FROM artifacts a WHERE a.release_id = $1 \
             AND a.platform <> '' ORDER BY a.platform"
        );
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(release_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Every build of every published application release: an updater endpoint's input, in
    /// one query.
    pub async fn published_builds(&self) -> Result<Vec<PublishedReleaseRow>, StoreError> {
        let sql = format!(
            "SELECT e.name AS e_name, e.package_group_id AS e_package_group_id, \
             {RELEASE_COLUMNS}, {ARTIFACT_COLUMNS} FROM releases r \
             JOIN extensions e ON e.id = r.extension_id JOIN artifacts a ON a.release_id = r.id \
             WHERE a.platform <> '' AND r.state = $1 ORDER BY e.name, r.id, a.platform"
        );
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(ReleaseState::Published.as_str())
            .fetch_all(&self.pool)
            .await?)
    }

    /// Adds a build to an existing release, or replaces its build for the same platform.
    /// Returns the storage key of the file replaced. `Conflict` when the file name is another
    /// platform's.
    pub async fn put_build(
        &self,
        release_id: i64,
        build: &NewArtifact,
    ) -> Result<Option<String>, StoreError> {
        let mut tx = self.catalogue_write().await?;
        let now = self.now_ms();
        let old_key: Option<String> = sqlx::query_scalar(
            "SELECT storage_key FROM artifacts WHERE release_id = $1 AND platform = $2",
        )
        .bind(release_id)
        .bind(&build.platform)
        .fetch_optional(&mut *tx)
        .await?;
        let name_taken: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM artifacts WHERE release_id = $1 AND filename = $2 AND platform <> $3",
        )
        .bind(release_id)
        .bind(&build.filename)
        .bind(&build.platform)
        .fetch_optional(&mut *tx)
        .await?;
        if name_taken.is_some() {
            return Err(StoreError::Conflict("file name"));
        }
        sqlx::query("DELETE FROM artifacts WHERE release_id = $1 AND platform = $2")
            .bind(release_id)
            .bind(&build.platform)
            .execute(&mut *tx)
            .await?;
        insert_artifact(&mut tx, release_id, build, now).await?;
        sqlx::query("UPDATE releases SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(release_id)
            .execute(&mut *tx)
            .await?;
        self.commit_catalogue(tx).await?;
        Ok(old_key)
    }

    /// Whether any artifact still points at a stored file (before deleting the file).
    pub async fn storage_key_in_use(&self, key: &str) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM artifacts WHERE storage_key = $1")
            .bind(key)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }
}
