//! Download keys (serial, version, label, revocation) and jBackend key versions. The keys themselves
//! are derived from these numbers and never stored.

use sqlx::FromRow;

use crate::{Store, StoreError};

#[derive(Clone, Debug, FromRow)]
pub struct DownloadKeyRow {
    pub id: i64,
    pub user_id: i64,
    pub label: String,
    pub version: i64,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
    /// For a Download ID imported from Akeeba Release System: the SHA-256 (hex) of the ID as
    /// sites send it, the only form depot keeps (such a key is not derived, so it cannot be
    /// shown again).
    pub imported_hash: Option<String>,
    /// Its last four characters, to tell it apart in lists.
    pub imported_hint: Option<String>,
}

impl Store {
    /// The user's jBackend key version in a package group (0 until rotated).
    pub async fn jbackend_key_version(
        &self,
        user_id: i64,
        package_group_id: i64,
    ) -> Result<i64, StoreError> {
        let v: Option<i64> = sqlx::query_scalar(
            "SELECT version FROM jbackend_key_versions WHERE user_id = $1 AND package_group_id = $2",
        )
        .bind(user_id)
        .bind(package_group_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(v.unwrap_or(0))
    }

    /// Rotates the user's jBackend key in a package group; returns the new version.
    pub async fn bump_jbackend_key_version(
        &self,
        user_id: i64,
        package_group_id: i64,
    ) -> Result<i64, StoreError> {
        let mut tx = self.access_write().await?;
        let version = sqlx::query_scalar(
            "INSERT INTO jbackend_key_versions (user_id, package_group_id, version) \
             VALUES ($1, $2, 1) ON CONFLICT (user_id, package_group_id) \
             DO UPDATE SET version = jbackend_key_versions.version + 1 RETURNING version",
        )
        .bind(user_id)
        .bind(package_group_id)
        .fetch_one(&mut *tx)
        .await?;
        self.commit_access(tx).await?;
        Ok(version)
    }

    /// A new download key row (its key is derived from the id and version).
    pub async fn create_download_key(
        &self,
        user_id: i64,
        label: &str,
    ) -> Result<DownloadKeyRow, StoreError> {
        let mut tx = self.access_write().await?;
        let row = sqlx::query_as(
            "INSERT INTO download_keys (user_id, label, version, created_at) VALUES ($1, $2, 1, $3) \
             RETURNING *",
        )
        .bind(user_id)
        .bind(label)
        .bind(self.now_ms())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| StoreError::unique(e, "download key label"))?;
        self.commit_access(tx).await?;
        Ok(row)
    }

    /// Records an imported key (by its hash) for a user; `None` when that key is there already.
    /// A live label the user already has gets the key's number appended.
    pub async fn import_download_key(
        &self,
        user_id: i64,
        label: &str,
        hash: &str,
        hint: &str,
    ) -> Result<Option<DownloadKeyRow>, StoreError> {
        let known: Option<i64> =
            sqlx::query_scalar("SELECT id FROM download_keys WHERE imported_hash = $1")
                .bind(hash)
                .fetch_optional(&self.pool)
                .await?;
        if known.is_some() {
            return Ok(None);
        }
        let taken: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM download_keys WHERE user_id = $1 AND label = $2 AND revoked_at IS NULL",
        )
        .bind(user_id)
        .bind(label)
        .fetch_optional(&self.pool)
        .await?;
        let label = match taken {
            Some(_) => format!("{label} ({hint})"),
            None => label.to_string(),
        };
        let mut tx = self.access_write().await?;
        let row = sqlx::query_as(
            "INSERT INTO download_keys (user_id, label, version, created_at, imported_hash, \
             imported_hint) VALUES ($1, $2, 1, $3, $4, $5) RETURNING *",
        )
        .bind(user_id)
        .bind(&label)
        .bind(self.now_ms())
        .bind(hash)
        .bind(hint)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| StoreError::unique(e, "imported download key"))?;
        self.commit_access(tx).await?;
        Ok(Some(row))
    }

    /// The imported key with this hash, revoked or not.
    pub async fn imported_download_key(
        &self,
        hash: &str,
    ) -> Result<Option<DownloadKeyRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM download_keys WHERE imported_hash = $1")
                .bind(hash)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn download_key(&self, id: i64) -> Result<Option<DownloadKeyRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM download_keys WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn revoke_download_key(&self, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.access_write().await?;
        let done = sqlx::query(
            "UPDATE download_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(self.now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        self.commit_access(tx).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Renames a live key; `false` when it is revoked or unknown.
    pub async fn relabel_download_key(&self, id: i64, label: &str) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE download_keys SET label = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(label)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(|e| StoreError::unique(e, "download key label"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Every download key of a user, live ones first, oldest first.
    pub async fn download_keys_of(&self, user_id: i64) -> Result<Vec<DownloadKeyRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT * FROM download_keys WHERE user_id = $1 \
             ORDER BY CASE WHEN revoked_at IS NULL THEN 0 ELSE 1 END, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }
}
