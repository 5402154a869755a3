//! Extensions: their identity, what feeds show of them, their package group.

use depot_core::Ecosystem;
use sqlx::FromRow;

use crate::{Store, StoreError};

#[derive(Clone, Debug, FromRow)]
pub struct ExtensionRow {
    pub id: i64,
    pub name: String,
    pub element: String,
    pub ext_type: String,
    pub client: String,
    /// `''` for everything but plugins.
    pub folder: String,
    pub title: String,
    pub description: Option<String>,
    pub info_url: Option<String>,
    pub default_targets: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// The package group of a paid extension; `None` = free.
    pub package_group_id: Option<i64>,
    #[sqlx(try_from = "String")]
    pub ecosystem: Ecosystem,
    /// Moved by every write to the extension's releases and artifacts (database triggers): a
    /// feed made at this version is still the feed while it holds.
    pub feed_version: i64,
}

#[derive(Clone, Debug)]
pub struct NewExtension {
    pub name: String,
    pub element: String,
    pub ext_type: String,
    pub client: String,
    pub folder: String,
    pub title: String,
    pub default_targets: String,
    /// Set at creation for a paid extension, so that it is never public for a moment.
    pub package_group_id: Option<i64>,
    pub ecosystem: Ecosystem,
}

impl Store {
    /// Records which extension an Akeeba Release System update stream became.
    pub async fn map_ars_stream(
        &self,
        stream: i64,
        alias: &str,
        extension_id: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.catalogue_write().await?;
        sqlx::query(
            "INSERT INTO ars_update_streams (id, alias, extension_id) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET alias = excluded.alias, \
             extension_id = excluded.extension_id",
        )
        .bind(stream)
        .bind(alias)
        .bind(extension_id)
        .execute(&mut *tx)
        .await?;
        self.commit_catalogue(tx).await?;
        Ok(())
    }

    /// The extension (by name) the ARS update stream with this alias became (its SEF URL).
    pub async fn ars_stream_extension_by_alias(
        &self,
        alias: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT e.name FROM ars_update_streams s JOIN extensions e ON e.id = s.extension_id \
             WHERE s.alias = $1 ORDER BY s.id LIMIT 1",
        )
        .bind(alias)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The extension (by name) an ARS update stream became.
    pub async fn ars_stream_extension(&self, stream: i64) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT e.name FROM ars_update_streams s JOIN extensions e ON e.id = s.extension_id \
             WHERE s.id = $1",
        )
        .bind(stream)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Makes an extension paid (its package group) or free (`None`).
    pub async fn set_extension_package_group(
        &self,
        extension_id: i64,
        package_group_id: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut tx = self.catalogue_write().await?;
        sqlx::query("UPDATE extensions SET package_group_id = $1, updated_at = $2 WHERE id = $3")
            .bind(package_group_id)
            .bind(self.now_ms())
            .bind(extension_id)
            .execute(&mut *tx)
            .await?;
        self.commit_catalogue(tx).await?;
        Ok(())
    }

    /// Replaces what feeds show of an extension (its title, description, info URL and default
    /// Joomla targets).
    pub async fn update_extension_metadata(
        &self,
        extension_id: i64,
        title: &str,
        description: Option<&str>,
        info_url: Option<&str>,
        default_targets: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.catalogue_write().await?;
        sqlx::query(
            "UPDATE extensions SET title = $1, description = $2, info_url = $3, \
             default_targets = $4, updated_at = $5 WHERE id = $6",
        )
        .bind(title)
        .bind(description)
        .bind(info_url)
        .bind(default_targets)
        .bind(self.now_ms())
        .bind(extension_id)
        .execute(&mut *tx)
        .await?;
        self.commit_catalogue(tx).await?;
        Ok(())
    }

    pub async fn extension_by_name(&self, name: &str) -> Result<Option<ExtensionRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM extensions WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn extensions(&self) -> Result<Vec<ExtensionRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM extensions ORDER BY name")
            .fetch_all(&self.pool)
            .await?)
    }

    /// Creates an extension; `Conflict` if its name or Joomla identity is taken.
    pub async fn create_extension(&self, new: &NewExtension) -> Result<ExtensionRow, StoreError> {
        let mut tx = self.catalogue_write().await?;
        let now = self.now_ms();
        let row: ExtensionRow = sqlx::query_as(
            "INSERT INTO extensions (name, element, ext_type, client, folder, title, \
             default_targets, created_at, updated_at, package_group_id, ecosystem) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10) RETURNING *",
        )
        .bind(&new.name)
        .bind(&new.element)
        .bind(&new.ext_type)
        .bind(&new.client)
        .bind(&new.folder)
        .bind(&new.title)
        .bind(&new.default_targets)
        .bind(now)
        .bind(new.package_group_id)
        .bind(new.ecosystem.as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| StoreError::unique(e, "extension"))?;
        self.commit_catalogue(tx).await?;
        Ok(row)
    }

    /// Deletes an extension that has no release at all (never published; its drafts deleted).
    /// `false` when it has one: sites may have installed it.
    pub async fn delete_extension_without_releases(&self, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.catalogue_write().await?;
        let done = sqlx::query(
            "DELETE FROM extensions WHERE id = $1 \
             AND NOT EXISTS (SELECT 1 FROM releases WHERE extension_id = $1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        self.commit_catalogue(tx).await?;
        Ok(done.rows_affected() == 1)
    }
}
