//! What a download needs, in one row: the artifact, its release's state and date, the package group.

use depot_core::ReleaseState;
use sqlx::{AssertSqlSafe, FromRow};

use crate::releases::{ARTIFACT_COLUMNS, ArtifactRow};
use crate::{Store, StoreError};

/// Everything a download needs, in one row.
#[derive(Clone, Debug, FromRow)]
pub struct DownloadTarget {
    pub extension_id: i64,
    pub extension_name: String,
    pub release_id: i64,
    pub version: String,
    #[sqlx(try_from = "String")]
    pub state: ReleaseState,
    pub published_at: Option<i64>,
    pub package_group_id: Option<i64>,
    /// The artifact's `.minisig`, once signed.
    pub signature: Option<String>,
    #[sqlx(flatten)]
    pub artifact: ArtifactRow,
}

impl Store {
    /// The release file behind `/download/{extension}/{version}/{filename}`.
    pub async fn download_target(
        &self,
        extension: &str,
        version: &str,
        filename: &str,
    ) -> Result<Option<DownloadTarget>, StoreError> {
        self.download_target_where(
            "e.name = $1 AND r.version = $2 AND a.filename = $3",
            &[extension, version, filename],
        )
        .await
    }

    /// The release file behind jBackend's `/get/release/download/{package_id}`.
    pub async fn download_target_by_package_id(
        &self,
        package_id: &str,
    ) -> Result<Option<DownloadTarget>, StoreError> {
        self.download_target_where("a.package_id = $1", &[package_id])
            .await
    }

    async fn download_target_where(
        &self,
        condition: &str,
        binds: &[&str],
    ) -> Result<Option<DownloadTarget>, StoreError> {
        let sql = format!(
            "SELECT e.id AS extension_id, e.name AS extension_name, r.id AS release_id, \
             r.version, r.state, r.published_at, e.package_group_id, s.minisig AS signature, \
             {ARTIFACT_COLUMNS} FROM artifacts a \
             JOIN releases r ON r.id = a.release_id JOIN extensions e ON e.id = r.extension_id \
             LEFT JOIN artifact_signatures s ON s.artifact_id = a.id \
             WHERE {condition}"
        );
        let mut q = sqlx::query_as(AssertSqlSafe(sql));
        for b in binds {
            q = q.bind(*b);
        }
        Ok(q.fetch_optional(&self.pool).await?)
    }
}
