//! `/releases/{extension}/latest.json`: the newest published release of a channel, as JSON, for
//! any client that is not Joomla's updater (a script, a desktop app's own updater): version,
//! download URL, size, hashes and the minisign signature. Rendered once per catalogue change and
//! served from memory like the feeds. Listed as the extension's Joomla feed is: a paid
//! extension's metadata is public, its download needs a key.

use std::sync::Arc;

use depot_api::{LatestDownload, LatestRelease};
use depot_core::{ReleaseState, Stability, Version};
use depot_store::{ExtensionRow, ReleaseWithArtifact};

use crate::feeds::{FeedKey, FeedRollout};
use crate::input::rfc3339;
use crate::rollouts::RunningRollout;
use crate::{Depot, RenderedFeed, ServiceError, ServiceResult};

/// A channel by name: `stable` (the default), `rc`, `beta`, `alpha` or `dev`.
pub fn parse_channel(channel: Option<&str>) -> ServiceResult<Stability> {
    match channel.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(Stability::Stable),
        Some(c) => c.parse().map_err(|_| {
            ServiceError::invalid(
                "bad_channel",
                format!("channel {c:?}: use stable, rc, beta, alpha or dev"),
            )
        }),
    }
}

impl Depot {
    /// The newest published release of `extension` at least as stable as `channel`; `None`
    /// when the extension is unknown or the channel has no release.
    pub async fn latest_release(
        &self,
        extension: &str,
        channel: Stability,
    ) -> ServiceResult<Option<Arc<RenderedFeed>>> {
        self.cached(FeedKey::Latest(extension.to_string(), channel), || {
            self.render_latest(extension, channel)
        })
        .await
    }

    async fn render_latest(
        &self,
        extension: &str,
        channel: Stability,
    ) -> ServiceResult<Option<RenderedFeed>> {
        let Some(ext) = self.store().extension_by_name(extension).await? else {
            return Ok(None);
        };
        let mut candidates: Vec<(Version, ReleaseWithArtifact)> = self
            .store()
            .releases_of(ext.id)
            .await?
            .into_iter()
            .filter(|r| {
                r.release.state == ReleaseState::Published && r.release.stability >= channel
            })
            .filter_map(|r| Version::parse(&r.release.version).ok().map(|v| (v, r)))
            .collect();
        candidates.sort_by(|(a, _), (b, _)| b.cmp(a));
        let mut candidates = candidates.into_iter().map(|(_, r)| r);
        let Some(newest) = candidates.next() else {
            return Ok(None);
        };
        // The newest release being rolled out: what sites outside its share see instead.
        let rollout = match RunningRollout::of(&newest.release) {
            Some(running) => {
                let held_back = match candidates.next() {
                    Some(previous) => Some(self.render_latest_of(&ext, channel, previous).await?),
                    None => None,
                };
                Some(Arc::new(FeedRollout {
                    held_back: held_back.map(Arc::new),
                    running,
                }))
            }
            None => None,
        };
        let latest = self.render_latest_of(&ext, channel, newest).await?;
        Ok(Some(RenderedFeed { rollout, ..latest }))
    }

    async fn render_latest_of(
        &self,
        ext: &ExtensionRow,
        channel: Stability,
        row: ReleaseWithArtifact,
    ) -> ServiceResult<RenderedFeed> {
        let signature = self.store().signature_of(row.artifact.id).await?;
        let (release, artifact) = (row.release, row.artifact);
        let url = self.download_url(&ext.name, &release.version, &artifact.filename);
        let latest = LatestRelease {
            extension: ext.name.clone(),
            name: ext.title.clone(),
            channel: channel.to_string(),
            version: release.version.clone(),
            stability: release.stability.to_string(),
            published_at: release.published_at.map(rfc3339),
            notes: release.notes.clone(),
            php_minimum: release.php_minimum.clone(),
            paid: ext.package_group_id.is_some(),
            download: LatestDownload {
                signature_url: format!("{url}.minisig"),
                url,
                filename: artifact.filename,
                size: artifact.size,
                sha256: artifact.sha256,
                sha384: artifact.sha384,
                sha512: artifact.sha512,
                signing_key_url: signature
                    .as_ref()
                    .map(|(key_id, _)| self.url(&format!("/signing-keys/{key_id}.pub"))),
                signature: signature.map(|(_, minisig)| minisig),
            },
        };
        let body = serde_json::to_string_pretty(&latest)
            .map_err(|e| ServiceError::Io(std::io::Error::other(e)))?;
        Ok(RenderedFeed {
            package_group_id: ext.package_group_id,
            ..RenderedFeed::json(body, ext.updated_at.max(release.updated_at))
        })
    }
}
