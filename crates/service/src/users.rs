//! Users: find, add, change (name, password, disabled, console access), list and search.

use depot_core::keys;
use depot_store::{JOOMLA_SOURCE, UserRow};
use serde_json::json;

use crate::Actor;
use crate::input::{clean_name, rfc3339};
use crate::{Depot, ServiceError, ServiceResult, valid_email};

pub use depot_api::UserView;

/// Changes to a user; `None` leaves a field alone.
#[derive(Clone, Debug, Default)]
pub struct UserChanges {
    /// `Some(None)` clears the name.
    pub name: Option<Option<String>>,
    pub disabled: Option<bool>,
    pub password: Option<String>,
    /// Grant (`true`) or withdraw the admin console.
    pub admin: Option<bool>,
}

fn user_view(u: UserRow) -> UserView {
    UserView {
        id: u.id,
        has_password: u.password_hash.is_some(),
        email: u.email,
        name: u.name,
        disabled: u.disabled != 0,
        admin: u.is_admin != 0,
        created_at: rfc3339(u.created_at),
        source: if u.joomla_id.is_some() {
            JOOMLA_SOURCE.into()
        } else {
            depot_api::depot_source()
        },
    }
}

impl Depot {
    /// A user by id or e-mail address.
    pub async fn find_user(&self, user: &str) -> ServiceResult<UserRow> {
        let user = user.trim();
        let found = match user.parse::<i64>() {
            Ok(id) => self.store().user(id).await?,
            Err(_) => {
                self.store()
                    .user_by_email(&keys::normalise_email(user))
                    .await?
            }
        };
        found.ok_or(ServiceError::NotFound { what: "user" })
    }

    pub async fn user_view(&self, actor: &Actor, user: &str) -> ServiceResult<UserView> {
        let row = self.find_user(user).await?;
        actor.require_user_reader(row.id)?;
        Ok(user_view(row))
    }

    pub async fn add_user(
        &self,
        actor: &Actor,
        email: &str,
        name: Option<&str>,
        password: Option<&str>,
        admin: bool,
    ) -> ServiceResult<UserView> {
        actor.require_admin()?;
        if !valid_email(email) {
            return Err(ServiceError::invalid(
                "bad_email",
                format!("{:?} is not an e-mail address", email.trim()),
            ));
        }
        let name = clean_name(name, "name")?;
        let email = keys::normalise_email(email);
        if let Some(p) = password {
            crate::jbackend::check_password(p)?;
        }
        let row = self.store().create_user(&email, name.as_deref()).await?;
        if let Some(p) = password {
            self.set_password(row.id, p).await?;
        }
        if admin {
            self.store().set_user_admin(row.id, true).await?;
        }
        let detail =
            json!({"id": row.id, "name": name, "password_set": password.is_some(), "admin": admin});
        self.audit(actor, "user.create", &email, detail).await?;
        Ok(user_view(self.find_user(&row.id.to_string()).await?))
    }

    pub async fn update_user(
        &self,
        actor: &Actor,
        user: &str,
        changes: UserChanges,
    ) -> ServiceResult<UserView> {
        actor.require_admin()?;
        let row = self.find_user(user).await?;
        // The site owns a mirrored user's name, status and password: a change to any of them
        // is refused (the same values, as a form sends back, are not a change).
        let renamed = match &changes.name {
            Some(name) => clean_name(name.as_deref(), "name")? != row.name,
            None => false,
        };
        let toggled = changes.disabled.is_some_and(|d| d != (row.disabled != 0));
        if row.joomla_id.is_some() && (renamed || toggled || changes.password.is_some()) {
            return Err(ServiceError::Conflict(format!(
                "{} is a user of the Joomla site: change their name, password or status there \
                 (console access and memberships added in depot stay depot's)",
                row.email
            )));
        }
        if let Some(p) = &changes.password {
            crate::jbackend::check_password(p)?;
        }
        if let Some(name) = &changes.name {
            let name = clean_name(name.as_deref(), "name")?;
            self.store().set_user_name(row.id, name.as_deref()).await?;
        }
        if let Some(disabled) = changes.disabled {
            self.store().set_user_disabled(row.id, disabled).await?;
        }
        if let Some(admin) = changes.admin {
            self.store().set_user_admin(row.id, admin).await?;
        }
        if let Some(p) = &changes.password {
            self.set_password(row.id, p).await?;
        }
        // What changed, never the password itself.
        let detail = json!({
            "name": changes.name,
            "disabled": changes.disabled,
            "admin": changes.admin,
            "password_set": changes.password.is_some(),
        });
        self.audit(actor, "user.update", &row.email, detail).await?;
        Ok(user_view(self.find_user(&row.id.to_string()).await?))
    }

    /// Users by id, a page at a time; `email` filters by a part of the address.
    pub async fn list_users(
        &self,
        actor: &Actor,
        email: Option<&str>,
        after_id: i64,
        limit: i64,
    ) -> ServiceResult<Vec<UserView>> {
        actor.require_reader()?;
        let filter = email.map(keys::normalise_email);
        let rows = self
            .store()
            .users(filter.as_deref(), after_id, limit.clamp(1, 1000))
            .await?;
        Ok(rows.into_iter().map(user_view).collect())
    }
}
