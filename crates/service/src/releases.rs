//! Releases as an admin reads and changes them: every release in any state (draft, published,
//! yanked), publishing, yanking, release notes, deleting a draft. (Uploading is `publish`.)

use depot_core::{Ecosystem, ReleaseState, Version};
use depot_store::{ExtensionRow, ReleaseWithArtifact};
use serde_json::json;

use crate::Actor;
use crate::input::rfc3339;
use crate::{Depot, ServiceError, ServiceResult};

pub use depot_api::{BuildView, ReleaseView, RolloutView};

use crate::rollouts::{RolloutChange, RunningRollout};

/// Release notes are Markdown-ish text shown in Joomla's changelog window.
const MAX_NOTES: usize = 64 * 1024;

/// A change to a release; absent fields stay as they are.
#[derive(Clone, Debug, Default)]
pub struct ReleaseChanges {
    /// `published` (from a draft, or back from yanked) or `yanked`.
    pub state: Option<String>,
    /// `Some(None)` removes the notes.
    pub notes: Option<Option<String>>,
    pub rollout: Option<RolloutChange>,
    /// Joomla's `<security>` level, `0` to `4`; `Some(None)` removes it.
    pub security: Option<Option<u8>>,
}

impl Depot {
    /// A release as the API shows it: with the downloads of a rollout so far, and an
    /// application's builds.
    async fn release_view(
        &self,
        ext: &ExtensionRow,
        r: ReleaseWithArtifact,
    ) -> ServiceResult<ReleaseView> {
        let extension = ext.name.as_str();
        let rollout = match RunningRollout::of(&r.release) {
            Some(running) => Some(RolloutView {
                schedule: running.schedule.to_string(),
                started_at: rfc3339(running.started_at),
                paused: running.paused_at.is_some(),
                percent: running.percent_at(self.now_ms()),
                downloads: self
                    .store()
                    .served_downloads(ext.id, &r.release.version)
                    .await?,
            }),
            None => None,
        };
        let builds = match ext.ecosystem {
            Ecosystem::Application => self
                .store()
                .builds_of(r.release.id)
                .await?
                .into_iter()
                .map(|b| BuildView {
                    download_url: self.download_url(extension, &r.release.version, &b.filename),
                    platform: b.platform,
                    filename: b.filename,
                    size: b.size,
                    sha256: b.sha256,
                })
                .collect(),
            _ => Vec::new(),
        };
        Ok(ReleaseView {
            download_url: self.download_url(extension, &r.release.version, &r.artifact.filename),
            extension: extension.to_string(),
            version: r.release.version,
            state: r.release.state.to_string(),
            stability: r.release.stability.to_string(),
            joomla: r.release.targets,
            php_minimum: r.release.php_minimum,
            supported_databases: r.release.supported_databases,
            notes: r.release.notes,
            security: r.release.security.and_then(|s| u8::try_from(s).ok()),
            package_id: r.artifact.package_id,
            filename: r.artifact.filename,
            size: r.artifact.size,
            sha256: r.artifact.sha256,
            published_at: r.release.published_at.map(rfc3339),
            rollout,
            builds,
            created_at: rfc3339(r.release.created_at),
            updated_at: rfc3339(r.release.updated_at),
        })
    }

    /// Every release of an extension, newest version first.
    pub async fn list_releases(
        &self,
        actor: &Actor,
        extension: &str,
    ) -> ServiceResult<Vec<ReleaseView>> {
        let ext = self.extension_row(extension).await?;
        actor.require_catalogue(&ext.name)?;
        let mut rows = self.store().releases_of(ext.id).await?;
        // Joomla's ordering; a stored version that no longer parses sorts last.
        rows.sort_by_cached_key(|r| std::cmp::Reverse(Version::parse(&r.release.version).ok()));
        let mut views = Vec::with_capacity(rows.len());
        for r in rows {
            views.push(self.release_view(&ext, r).await?);
        }
        Ok(views)
    }

    async fn release_row(
        &self,
        ext: &ExtensionRow,
        version: &str,
    ) -> ServiceResult<ReleaseWithArtifact> {
        // The version as stored: canonical, so `1.0` finds `1.0.0` only if that is how it was
        // published.
        let canonical = Version::parse(version)
            .map(|v| v.as_str().to_string())
            .unwrap_or_else(|_| version.to_string());
        self.store()
            .release(ext.id, &canonical)
            .await?
            .ok_or(ServiceError::NotFound { what: "release" })
    }

    pub async fn release(
        &self,
        actor: &Actor,
        extension: &str,
        version: &str,
    ) -> ServiceResult<ReleaseView> {
        let ext = self.extension_row(extension).await?;
        actor.require_catalogue(&ext.name)?;
        let row = self.release_row(&ext, version).await?;
        self.release_view(&ext, row).await
    }

    /// Deletes a draft (an upload that was never published) and, unless another release shares
    /// the bytes, its file. A release that was ever published stays: yank it instead.
    pub async fn delete_draft(
        &self,
        actor: &Actor,
        extension: &str,
        version: &str,
    ) -> ServiceResult<()> {
        actor.require_publish(extension, "change releases of")?;
        let ext = self.extension_row(extension).await?;
        let row = self.release_row(&ext, version).await?;
        let subject = format!("{} {}", ext.name, row.release.version);
        if row.release.state != ReleaseState::Draft {
            return Err(ServiceError::Conflict(format!(
                "{subject} is {}: only a draft can be deleted (yank a published release)",
                row.release.state
            )));
        }
        let keys = self
            .store()
            .delete_draft(row.release.id)
            .await?
            .ok_or_else(|| ServiceError::Conflict(format!("{subject} is no longer a draft")))?;
        self.invalidate_catalogue();
        for key in keys {
            self.remove_unused(&key).await;
        }
        self.audit(actor, "release.delete", &subject, json!(null))
            .await
    }

    /// Publishes a draft, yanks a published release (gone from feeds and downloads), puts a
    /// yanked one back, or changes the notes or the security level.
    pub async fn change_release(
        &self,
        actor: &Actor,
        extension: &str,
        version: &str,
        changes: ReleaseChanges,
    ) -> ServiceResult<ReleaseView> {
        actor.require_publish(extension, "change releases of")?;
        let ext = self.extension_row(extension).await?;
        let row = self.release_row(&ext, version).await?;
        let subject = format!("{} {}", ext.name, row.release.version);
        if let Some(security) = changes.security {
            if security.is_some_and(|level| level > 4) {
                return Err(ServiceError::invalid(
                    "bad_security",
                    "security is 0 (none) to 4 (critical), or null",
                ));
            }
            let security = security.map(i64::from);
            if security != row.release.security {
                self.store()
                    .set_release_security(row.release.id, security)
                    .await?;
                self.invalidate_catalogue();
                self.audit(
                    actor,
                    "release.security",
                    &subject,
                    json!({"security": security}),
                )
                .await?;
            }
        }
        if let Some(notes) = &changes.notes {
            let notes = notes.as_deref().map(str::trim).filter(|n| !n.is_empty());
            if notes.is_some_and(|n| n.len() > MAX_NOTES) {
                return Err(ServiceError::invalid(
                    "bad_notes",
                    format!("release notes are at most {MAX_NOTES} bytes"),
                ));
            }
            if notes != row.release.notes.as_deref() {
                self.store()
                    .set_release_notes(row.release.id, notes)
                    .await?;
                self.invalidate_catalogue();
                self.audit(
                    actor,
                    "release.notes",
                    &subject,
                    json!({"length": notes.map(str::len)}),
                )
                .await?;
            }
        }
        if let Some(state) = changes.state.as_deref().map(str::trim) {
            let from = row.release.state;
            let to: ReleaseState = state.parse().map_err(|_| {
                ServiceError::invalid(
                    "bad_state",
                    format!("state {state:?}: use published or yanked"),
                )
            })?;
            let action = from
                .transition(to)
                .map_err(|e| ServiceError::Conflict(format!("{subject} is {from}: {e}")))?;
            if let Some(action) = action {
                self.store().set_release_state(row.release.id, to).await?;
                self.invalidate_catalogue();
                self.audit(actor, action, &subject, json!({"from": from, "to": to}))
                    .await?;
            }
        }
        if let Some(change) = changes.rollout {
            // Read again: a state change above may have published it.
            let row = self.release_row(&ext, version).await?;
            self.change_rollout(actor, ext.id, &row.release, &subject, change)
                .await?;
        }
        self.release(actor, &ext.name, &row.release.version).await
    }
}
