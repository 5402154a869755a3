//! What a signed-in customer may download from their account page: per paid extension, the
//! releases their memberships allow (the package group's policy included), newest first. The
//! download itself goes through the same checks as any other ([`Credentials::Account`]).

use depot_core::{ReleaseState, Version};

use crate::input::rfc3339;
use crate::{Depot, ServiceResult};

/// A paid extension the customer may download, and the releases they may have.
#[derive(Clone, Debug)]
pub struct AccountExtension {
    pub name: String,
    pub title: String,
    /// Newest first; never empty.
    pub releases: Vec<AccountRelease>,
}

#[derive(Clone, Debug)]
pub struct AccountRelease {
    pub version: String,
    pub stability: String,
    pub filename: String,
    pub size: i64,
    pub published_at: String,
}

impl Depot {
    /// The paid extensions `user_id` may download, each with the releases they may have.
    pub async fn account_downloads(&self, user_id: i64) -> ServiceResult<Vec<AccountExtension>> {
        let mut offered = Vec::new();
        for ext in self.store().extensions().await? {
            let Some(group_id) = ext.package_group_id else {
                continue;
            };
            let Some(group) = self.package_group(group_id).await? else {
                continue;
            };
            // The page lists what is theirs; a standing it cannot read lists nothing.
            let Ok(standing) = self.standing(&group, user_id).await else {
                continue;
            };
            let mut rows = self.store().releases_of(ext.id).await?;
            rows.retain(|r| r.release.state == ReleaseState::Published);
            rows.sort_by_cached_key(|r| std::cmp::Reverse(Version::parse(&r.release.version).ok()));
            let mut releases = Vec::new();
            for r in rows {
                let published_at = r.release.published_at.unwrap_or(i64::MAX);
                if standing.allows(published_at).unwrap_or(false) {
                    releases.push(AccountRelease {
                        version: r.release.version,
                        stability: r.release.stability.as_str().to_string(),
                        filename: r.artifact.filename,
                        size: r.artifact.size,
                        published_at: rfc3339(published_at),
                    });
                }
            }
            if !releases.is_empty() {
                offered.push(AccountExtension {
                    name: ext.name,
                    title: ext.title,
                    releases,
                });
            }
        }
        Ok(offered)
    }
}
