//! User groups (Joomla's notion, numeric ids): add, rename, delete one nothing refers to, list.

use depot_store::{GroupRow, JOOMLA_SOURCE};
use serde_json::json;

use crate::Actor;
use crate::input::clean_name;
use crate::{Depot, ServiceError, ServiceResult};

pub use depot_api::GroupView;

fn group_view(g: GroupRow) -> GroupView {
    GroupView {
        id: g.id,
        name: g.name,
        source: g.source,
    }
}

/// The refusal to change what the Joomla site owns.
fn owned_by_joomla(group: &GroupRow) -> ServiceError {
    ServiceError::Conflict(format!(
        "group {} is the Joomla site's {:?}: rename or delete it there",
        group.id, group.name
    ))
}

impl Depot {
    pub async fn add_group(&self, actor: &Actor, id: i64, name: &str) -> ServiceResult<GroupView> {
        actor.require_admin()?;
        if id <= 0 {
            return Err(ServiceError::invalid(
                "bad_group",
                "a group id is a positive number (Joomla's user group id)",
            ));
        }
        let name = clean_name(Some(name), "group name")?
            .ok_or_else(|| ServiceError::invalid("bad_name", "a group needs a name"))?;
        self.store().create_group(id, &name).await?;
        let subject = id.to_string();
        self.audit(actor, "group.create", &subject, json!({"name": name}))
            .await?;
        self.group_view(id).await
    }

    pub async fn rename_group(
        &self,
        actor: &Actor,
        id: i64,
        name: &str,
    ) -> ServiceResult<GroupView> {
        actor.require_admin()?;
        let name = clean_name(Some(name), "group name")?
            .ok_or_else(|| ServiceError::invalid("bad_name", "a group needs a name"))?;
        self.depot_group(id).await?;
        if !self.store().rename_group(id, &name).await? {
            return Err(ServiceError::NotFound { what: "group" });
        }
        let subject = id.to_string();
        self.audit(actor, "group.rename", &subject, json!({"name": name}))
            .await?;
        self.group_view(id).await
    }

    /// Deletes a group nothing refers to. One with memberships (even ended ones: they are the
    /// subscription history) or allowed by a package group is refused; rename it instead.
    pub async fn delete_group(&self, actor: &Actor, id: i64) -> ServiceResult<()> {
        actor.require_admin()?;
        let group = self.depot_group(id).await?;
        if !self.store().delete_unused_group(id).await? {
            let (memberships, package_groups) = self.store().group_usage(id).await?;
            return Err(ServiceError::Conflict(format!(
                "group {id} is in use ({memberships} membership(s), allowed by {package_groups} \
                 package group(s)): it can be renamed, not deleted"
            )));
        }
        let subject = id.to_string();
        self.audit(actor, "group.delete", &subject, json!({"name": group.name}))
            .await
    }

    /// A group depot may change: one that exists and is not the Joomla site's.
    async fn depot_group(&self, id: i64) -> ServiceResult<GroupRow> {
        let group = self
            .store()
            .group(id)
            .await?
            .ok_or(ServiceError::NotFound { what: "group" })?;
        if group.source == JOOMLA_SOURCE {
            return Err(owned_by_joomla(&group));
        }
        Ok(group)
    }

    pub async fn group_view(&self, id: i64) -> ServiceResult<GroupView> {
        self.store()
            .group(id)
            .await?
            .map(group_view)
            .ok_or(ServiceError::NotFound { what: "group" })
    }

    pub async fn list_groups(&self) -> ServiceResult<Vec<GroupView>> {
        Ok(self
            .store()
            .groups()
            .await?
            .into_iter()
            .map(group_view)
            .collect())
    }

    pub(crate) async fn existing_group(&self, id: i64) -> ServiceResult<GroupRow> {
        self.store().group(id).await?.ok_or_else(|| {
            ServiceError::invalid(
                "unknown_group",
                format!("group {id} does not exist: create it first (depot group add --id {id})"),
            )
        })
    }
}
