//! Memberships: a user in a group from a date until another or open-ended; a subscription is one.

use depot_store::{JOOMLA_SOURCE, MembershipRow, UserRow};
use serde_json::json;

use crate::Actor;
use crate::input::{parse_date, rfc3339};
use crate::{Depot, ServiceError, ServiceResult};

pub use depot_api::MembershipView;

impl Depot {
    /// Adds a membership; `from` defaults to now, `until` to open-ended.
    pub async fn add_membership(
        &self,
        actor: &Actor,
        user: &str,
        group: i64,
        from: Option<&str>,
        until: Option<&str>,
    ) -> ServiceResult<MembershipView> {
        actor.require_admin()?;
        let user = self.find_user(user).await?;
        self.existing_group(group).await?;
        let from = from.map(parse_date).transpose()?;
        let until = until.map(parse_date).transpose()?;
        let from = from.unwrap_or_else(|| self.now_ms());
        if until.is_some_and(|u| u <= from) {
            return Err(ServiceError::invalid(
                "bad_dates",
                "a membership must end after it starts",
            ));
        }
        let id = self
            .store()
            .add_membership(user.id, group, from, until, "admin")
            .await?;
        let detail =
            json!({"id": id, "group": group, "from": rfc3339(from), "until": until.map(rfc3339)});
        self.audit(actor, "membership.add", &user.email, detail)
            .await?;
        self.memberships_of(&user)
            .await?
            .into_iter()
            .find(|m| m.id == id)
            .ok_or(ServiceError::NotFound { what: "membership" })
    }

    /// Ends the user's open memberships in a group at `at` (default now); returns how many.
    pub async fn end_membership(
        &self,
        actor: &Actor,
        user: &str,
        group: i64,
        at: Option<&str>,
    ) -> ServiceResult<u64> {
        actor.require_admin()?;
        let user = self.find_user(user).await?;
        self.existing_group(group).await?;
        let at = at.map(parse_date).transpose()?;
        let at = at.unwrap_or_else(|| self.now_ms());
        let ended = self.store().end_memberships(user.id, group, at).await?;
        let mirrored = |m: &MembershipRow| {
            m.source == JOOMLA_SOURCE && m.group_id == group && m.valid_until.is_none()
        };
        if ended == 0
            && self
                .store()
                .memberships_of(user.id)
                .await?
                .iter()
                .any(mirrored)
        {
            return Err(ServiceError::Conflict(format!(
                "{}'s membership in group {group} comes from the Joomla site: remove the group \
                 from the user there",
                user.email
            )));
        }
        if ended == 0 {
            return Err(ServiceError::NotFound {
                what: "open membership",
            });
        }
        let detail = json!({"group": group, "at": rfc3339(at), "ended": ended});
        self.audit(actor, "membership.end", &user.email, detail)
            .await?;
        Ok(ended)
    }

    pub async fn memberships(
        &self,
        actor: &Actor,
        user: &str,
    ) -> ServiceResult<Vec<MembershipView>> {
        let user = self.find_user(user).await?;
        actor.require_user_reader(user.id)?;
        self.memberships_of(&user).await
    }

    async fn memberships_of(&self, user: &UserRow) -> ServiceResult<Vec<MembershipView>> {
        let groups = self.store().groups().await?;
        let now = self.now_ms();
        let rows: Vec<MembershipRow> = self.store().memberships_of(user.id).await?;
        Ok(rows
            .into_iter()
            .map(|m| MembershipView {
                id: m.id,
                group: m.group_id,
                group_name: groups
                    .iter()
                    .find(|g| g.id == m.group_id)
                    .map(|g| g.name.clone()),
                valid_from: rfc3339(m.valid_from),
                valid_until: m.valid_until.map(rfc3339),
                active: m.valid_from <= now && m.valid_until.is_none_or(|u| now < u),
                source: m.source,
            })
            .collect())
    }
}
