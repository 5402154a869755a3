//! An application's builds: one file per platform in each release, uploaded one at a time by
//! the vendor's CI (a matrix job per platform) with the `.sig` the vendor made with their own
//! key, which Tauri's updater checks against the public key built into the application.
//!
//! The first build of a version creates the release (the extension too, as an application, on
//! its first upload); the others join it, in any order and at any time: a build for a new
//! platform may follow a release by days. A build is never replaced once its release is
//! published (installed applications may have it), except by the same bytes and signature.

use depot_core::application::{self, Platform};
use depot_core::{ReleaseState, Version};
use depot_store::{ExtensionRow, NewArtifact, NewRelease, StoreError};

use crate::publish::{Product, check_options, conflict_or, storage_key};
use crate::{Actor, Depot, PublishOptions, ServiceError, ServiceResult, Spooled};

pub use depot_api::PublishedBuild;

use crate::PublishOutcome;

/// What the vendor's CI says about a build besides its bytes.
#[derive(Clone, Debug)]
pub struct BuildUpload {
    pub target: String,
    pub arch: String,
    /// The file's name as the vendor's bundler made it.
    pub filename: String,
    /// The contents of the `.sig` `tauri signer sign` wrote beside it.
    pub vendor_signature: String,
}

impl Depot {
    /// Publishes one platform's build of `extension` `version`.
    pub async fn publish_build(
        &self,
        actor: &Actor,
        extension: &str,
        version: &str,
        build: BuildUpload,
        upload: Spooled,
        options: &PublishOptions,
    ) -> ServiceResult<PublishedBuild> {
        actor.require_publish(extension, "publish")?;
        application::check_name(extension)
            .map_err(|e| ServiceError::invalid("bad_extension_name", e.to_string()))?;
        let version = semver(version)?;
        let platform = Platform::new(&build.target, &build.arch)
            .map_err(|e| ServiceError::invalid("bad_platform", e.to_string()))?;
        application::check_build_filename(&build.filename)
            .map_err(|e| ServiceError::invalid("bad_filename", e.to_string()))?;
        let vendor_signature = application::check_vendor_signature(&build.vendor_signature)
            .map_err(|e| ServiceError::invalid("bad_signature", e.to_string()))?;
        let checked = check_options(&version, options)?;
        if checked.targets.is_some() {
            return Err(ServiceError::invalid(
                "bad_joomla_targets",
                format!("{extension} is an application: Joomla targets do not apply"),
            ));
        }
        let package_group_id = match options.package_group.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() => Some(self.upload_package_group(name).await?),
            _ => None,
        };
        let mut ext = self
            .extension_for(
                &Product::application(extension, version.clone()),
                package_group_id,
            )
            .await?;
        if package_group_id.is_some() && ext.package_group_id != package_group_id {
            self.store()
                .set_extension_package_group(ext.id, package_group_id)
                .await?;
            ext.package_group_id = package_group_id;
        }

        let existing = self.store().release(ext.id, version.as_str()).await?;
        let builds = match &existing {
            Some(r) => self.store().builds_of(r.release.id).await?,
            None => Vec::new(),
        };
        let platform_name = platform.to_string();
        let same_platform = builds.iter().find(|b| b.platform == platform_name);
        if same_platform.is_some_and(|b| {
            b.sha256 == upload.sha256
                && b.filename == build.filename
                && b.vendor_signature.as_deref() == Some(vendor_signature.as_str())
        }) {
            return self
                .published_build(PublishOutcome::Unchanged, &ext, &version, &platform)
                .await;
        }
        if let (Some(r), Some(_)) = (&existing, same_platform)
            && r.release.state != ReleaseState::Draft
        {
            return Err(ServiceError::Conflict(format!(
                "{extension} {version} is already {} with another {platform_name} build; \
                 publish a new version instead",
                r.release.state
            )));
        }

        let key = storage_key(&upload.sha256);
        let new_build = NewArtifact {
            package_id: checked.package_id.clone().unwrap_or_else(|| {
                format!("{extension}_{version}_{}", platform_name.replace('_', "-"))
            }),
            storage_key: key.clone(),
            size: upload.size as i64,
            sha256: upload.sha256.clone(),
            sha384: upload.sha384.clone(),
            sha512: upload.sha512.clone(),
            sha1: upload.sha1.clone(),
            manifest: None,
            // depot signs every file it serves, builds included, besides the vendor's own.
            signature: Some(self.sign_file(upload.file.path(), &build.filename).await?),
            filename: build.filename.clone(),
            platform: platform_name.clone(),
            vendor_signature: Some(vendor_signature),
        };
        self.storage().put_file(&key, upload.file.path()).await?;
        let (outcome, replaced) = match existing {
            Some(r) => match self.store().put_build(r.release.id, &new_build).await {
                Ok(old) => {
                    let outcome = match old {
                        Some(_) => PublishOutcome::Replaced,
                        None => PublishOutcome::Added,
                    };
                    (outcome, old)
                }
                Err(e) => {
                    self.remove_unused(&key).await;
                    return Err(build_conflict(e));
                }
            },
            None => {
                let new_release = NewRelease {
                    extension_id: ext.id,
                    version: version.to_string(),
                    stability: checked.stability,
                    targets: String::new(),
                    php_minimum: None,
                    supported_databases: None,
                    notes: options.notes.clone().filter(|n| !n.trim().is_empty()),
                    security: checked.security,
                    state: if options.draft {
                        ReleaseState::Draft
                    } else {
                        ReleaseState::Published
                    },
                };
                match self.store().create_release(&new_release, &new_build).await {
                    Ok(_) => (PublishOutcome::Created, None),
                    Err(e) => {
                        self.remove_unused(&key).await;
                        return Err(build_conflict(e));
                    }
                }
            }
        };
        if let Some(old) = replaced {
            self.remove_unused(&old).await;
        }
        self.invalidate_catalogue();
        let published = self
            .published_build(outcome, &ext, &version, &platform)
            .await?;
        let detail = serde_json::json!({
            "outcome": outcome,
            "platform": platform_name,
            "sha256": upload.sha256,
            "size": upload.size,
        });
        let subject = format!("{} {}", ext.name, version);
        self.audit(actor, "release.build", &subject, detail).await?;
        tracing::info!(
            extension,
            version = %version,
            platform = %platform_name,
            outcome = ?outcome,
            size = upload.size,
            "published build"
        );
        Ok(published)
    }

    /// The answer to a build's upload: the build, and the platforms its release has now.
    async fn published_build(
        &self,
        outcome: PublishOutcome,
        ext: &ExtensionRow,
        version: &Version,
        platform: &Platform,
    ) -> ServiceResult<PublishedBuild> {
        let release = self
            .store()
            .release(ext.id, version.as_str())
            .await?
            .ok_or(ServiceError::NotFound { what: "release" })?
            .release;
        let builds = self.store().builds_of(release.id).await?;
        let platform_name = platform.to_string();
        let build = builds
            .iter()
            .find(|b| b.platform == platform_name)
            .ok_or(ServiceError::NotFound { what: "build" })?;
        let download_url = self.download_url(&ext.name, &release.version, &build.filename);
        Ok(PublishedBuild {
            outcome,
            extension: ext.name.clone(),
            version: release.version.clone(),
            stability: release.stability.to_string(),
            state: release.state.to_string(),
            platform: platform_name,
            filename: build.filename.clone(),
            size: build.size,
            sha256: build.sha256.clone(),
            sha512: build.sha512.clone(),
            signature_url: format!("{download_url}.minisig"),
            download_url,
            updater_url: self.tauri_update_url(&ext.name, platform, "0.0.0"),
            platforms: builds.iter().map(|b| b.platform.clone()).collect(),
        })
    }
}

/// Tauri's updater reads versions as semver: three numbers, then an optional pre-release.
fn semver(version: &str) -> ServiceResult<Version> {
    let bad = |why: &str| {
        ServiceError::invalid(
            "bad_version",
            format!(
                "{version:?} {why}: an application's versions are semver (1.2.0, 1.2.0-beta.1)"
            ),
        )
    };
    let parsed = Version::parse(version).map_err(|e| bad(&e.to_string()))?;
    let core = parsed.as_str().split('-').next().unwrap_or_default();
    let numbers: Vec<&str> = core.split('.').collect();
    let plain = |n: &str| {
        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && (n == "0" || !n.starts_with('0'))
    };
    if numbers.len() != 3 || !numbers.iter().all(|n| plain(n)) {
        return Err(bad("is not major.minor.patch"));
    }
    Ok(parsed)
}

fn build_conflict(e: StoreError) -> ServiceError {
    match e {
        StoreError::Conflict("file name") => ServiceError::Conflict(
            "another platform's build of this release has that file name".into(),
        ),
        e => conflict_or(e),
    }
}
