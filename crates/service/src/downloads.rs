//! Resolving a download URL to the stored file behind it.

use depot_store::DownloadTarget;

use crate::{Depot, ServiceError, ServiceResult};

/// A published release file, ready to be served.
#[derive(Clone, Debug)]
pub struct Download {
    pub extension_id: i64,
    pub artifact_id: i64,
    pub storage_key: String,
    pub filename: String,
    pub size: u64,
    pub sha256: String,
    /// When the file was stored, in milliseconds since the epoch.
    pub created_at_ms: i64,
    /// When its release was published.
    pub published_at: Option<i64>,
    /// `Some` for a paid package: the package group whose members may download it.
    pub package_group_id: Option<i64>,
}

impl Download {
    /// A strong validator for the file: its content hash.
    pub fn etag(&self) -> String {
        format!("\"{}\"", &self.sha256[..self.sha256.len().min(32)])
    }
}

fn published(target: Option<DownloadTarget>) -> ServiceResult<Download> {
    // Drafts and yanked releases are as absent to a downloader as to a feed reader.
    match target {
        Some(t) if t.state == "published" => Ok(Download {
            extension_id: t.extension_id,
            artifact_id: t.artifact.id,
            storage_key: t.artifact.storage_key,
            filename: t.artifact.filename,
            size: t.artifact.size.max(0) as u64,
            sha256: t.artifact.sha256,
            created_at_ms: t.artifact.created_at,
            published_at: t.published_at,
            package_group_id: t.package_group_id,
        }),
        _ => Err(ServiceError::NotFound { what: "package" }),
    }
}

impl Depot {
    /// `/download/{extension}/{version}/{filename}`: the name must be the one the feed emits.
    pub async fn resolve_download(
        &self,
        extension: &str,
        version: &str,
        filename: &str,
    ) -> ServiceResult<Download> {
        let target = self
            .store()
            .download_target(extension, version)
            .await?
            .filter(|t| t.artifact.filename == filename);
        published(target)
    }

    /// jBackend's `/get/release/download/{package_id}`.
    pub async fn resolve_package(&self, package_id: &str) -> ServiceResult<Download> {
        published(
            self.store()
                .download_target_by_package_id(package_id)
                .await?,
        )
    }
}
