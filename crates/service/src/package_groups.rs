//! Package groups (jBackend's notion): the groups whose members may download an extension, the seed of
//! their keys, the expiry policy.

use depot_core::entitlement::Policy;
use depot_store::PackageGroupRow;
use serde_json::json;

use crate::Actor;
use crate::input::clean_name;
use crate::{Depot, ServiceError, ServiceResult};

pub use depot_api::{NewPackageGroup, PackageGroupPatch, PackageGroupView};

fn parse_policy(p: &str) -> ServiceResult<Policy> {
    Policy::parse(p).ok_or_else(|| {
        ServiceError::invalid(
            "bad_policy",
            format!("policy {p:?}: use active or keep-released"),
        )
    })
}

/// Package group ids appear in URLs (`/post/release/keybymail/{id}`): keep them plain.
fn valid_package_group_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

impl Depot {
    pub async fn add_package_group(
        &self,
        actor: &Actor,
        new: NewPackageGroup,
    ) -> ServiceResult<PackageGroupView> {
        actor.require_admin()?;
        let id = new.id.trim();
        if !valid_package_group_id(id) {
            return Err(ServiceError::invalid(
                "bad_package_group",
                format!("{id:?}: a package group id is 1 to 64 letters, digits, _ - or ."),
            ));
        }
        if new.groups.is_empty() {
            return Err(ServiceError::invalid(
                "no_groups",
                "a package group needs at least one allowed user group (--groups 9,12)",
            ));
        }
        for g in &new.groups {
            self.existing_group(*g).await?;
        }
        let policy = match new.policy.as_deref() {
            None => Policy::Active,
            Some(p) => parse_policy(p)?,
        };
        let seed = match new.seed.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) if s.len() > 256 => {
                return Err(ServiceError::invalid(
                    "bad_seed",
                    "a seed is at most 256 characters",
                ));
            }
            Some(s) => s.to_string(),
            None => hex::encode(rand::random::<[u8; 16]>()),
        };
        let title = clean_name(new.name.as_deref(), "name")?.unwrap_or_else(|| id.to_string());
        let row = self
            .store()
            .create_package_group(
                id,
                &title,
                &seed,
                policy.as_str(),
                new.private_feeds.unwrap_or(false),
                &new.groups,
            )
            .await?;
        if new.private_feeds == Some(true) {
            // Nothing is in it yet, but a feed cached as missing must not outlive the change.
            self.invalidate_catalogue();
        }
        // The seed is a secret: it is never logged.
        let detail = json!({
            "name": title,
            "groups": new.groups,
            "policy": policy.as_str(),
            "private_feeds": new.private_feeds.unwrap_or(false),
        });
        self.audit(actor, "package_group.create", id, detail)
            .await?;
        self.package_group_view(row).await
    }

    async fn package_group_view(&self, row: PackageGroupRow) -> ServiceResult<PackageGroupView> {
        Ok(PackageGroupView {
            groups: self.store().package_group_members(row.id).await?,
            id: row.name,
            name: row.title,
            policy: row.policy,
            private_feeds: row.private_feeds != 0,
        })
    }

    pub async fn package_group_view_of(
        &self,
        package_group: &str,
    ) -> ServiceResult<PackageGroupView> {
        let row = self.existing_package_group(package_group).await?;
        self.package_group_view(row).await
    }

    /// Changes a package group's display name, policy and private feeds (`None` keeps each).
    pub async fn update_package_group(
        &self,
        actor: &Actor,
        package_group: &str,
        patch: &PackageGroupPatch,
    ) -> ServiceResult<PackageGroupView> {
        let (name, policy) = (patch.name.as_deref(), patch.policy.as_deref());
        actor.require_admin()?;
        let row = self.existing_package_group(package_group).await?;
        let title = match name {
            Some(n) => clean_name(Some(n), "name")?
                .ok_or_else(|| ServiceError::invalid("bad_name", "a name cannot be blank"))?,
            None => row.title.clone(),
        };
        let policy = match policy {
            Some(p) => parse_policy(p)?.as_str().to_string(),
            None => row.policy.clone(),
        };
        let private_feeds = patch.private_feeds.unwrap_or(row.private_feeds != 0);
        self.store()
            .update_package_group(row.id, &title, &policy, private_feeds)
            .await?;
        if private_feeds != (row.private_feeds != 0) {
            self.invalidate_catalogue();
        }
        let detail = json!({"name": title, "policy": policy, "private_feeds": private_feeds});
        self.audit(actor, "package_group.update", &row.name, detail)
            .await?;
        let row = self.existing_package_group(package_group).await?;
        self.package_group_view(row).await
    }

    /// Deletes a package group no extension belongs to; its users' jBackend keys for it stop
    /// working.
    pub async fn delete_package_group(
        &self,
        actor: &Actor,
        package_group: &str,
    ) -> ServiceResult<()> {
        actor.require_admin()?;
        let row = self.existing_package_group(package_group).await?;
        if !self.store().delete_unused_package_group(row.id).await? {
            return Err(ServiceError::Conflict(format!(
                "package group {:?} still has extensions: make them free or move them first",
                row.name
            )));
        }
        self.audit(
            actor,
            "package_group.delete",
            &row.name,
            json!({"name": row.title}),
        )
        .await
    }

    /// A package group by its id (name in URLs); `NotFound` when there is none.
    pub(crate) async fn existing_package_group(
        &self,
        name: &str,
    ) -> ServiceResult<PackageGroupRow> {
        self.store()
            .package_group_by_name(name)
            .await?
            .ok_or(ServiceError::NotFound {
                what: "package group",
            })
    }

    pub async fn list_package_groups(&self) -> ServiceResult<Vec<PackageGroupView>> {
        let mut out = Vec::new();
        for row in self.store().package_groups().await? {
            out.push(self.package_group_view(row).await?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::valid_package_group_id;

    #[test]
    fn package_group_ids() {
        assert!(valid_package_group_id("redj_enterprise"));
        assert!(valid_package_group_id("a.b-c"));
        for bad in ["", "a b", "a/b", &"x".repeat(65)] {
            assert!(!valid_package_group_id(bad), "{bad}");
        }
    }
}
