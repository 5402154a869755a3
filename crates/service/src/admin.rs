//! Managing who may download: users, groups, memberships, package groups and keys (docs/product.md
//! §1, §3). The admin API and the CLI call these; answers are views with RFC 3339 times, ready to
//! serialise.

use depot_core::entitlement::Policy;
use depot_core::keys;
use depot_store::{DownloadKeyRow, GroupRow, MembershipRow, PackageGroupRow, UserRow};
use serde::Serialize;
use serde_json::json;
use time::format_description::well_known::Rfc3339;

use crate::audit::Actor;
use crate::{Depot, ServiceError, ServiceResult, valid_email};

const MAX_NAME: usize = 200;
const MAX_LABEL: usize = 100;
const DEFAULT_KEY_LABEL: &str = "default";

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub name: Option<String>,
    pub disabled: bool,
    pub has_password: bool,
    /// May sign in to the admin console (with a password).
    pub admin: bool,
    pub created_at: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct GroupView {
    pub id: i64,
    pub name: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MembershipView {
    pub id: i64,
    pub group: i64,
    pub group_name: Option<String>,
    pub valid_from: String,
    /// `None`: open-ended.
    pub valid_until: Option<String>,
    pub active: bool,
    pub source: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PackageGroupView {
    pub id: String,
    pub name: String,
    pub groups: Vec<i64>,
    pub policy: String,
}

/// A download key with the key itself: keys are derived, so they can be shown again.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct DownloadKeyView {
    pub id: i64,
    pub label: String,
    pub key: String,
    pub revoked: bool,
    pub created_at: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct JbackendKeyView {
    pub package_group: String,
    pub name: String,
    pub email: String,
    pub key: String,
    /// Whether the user may download the group's packages now.
    pub entitled: bool,
}

/// A new package group.
#[derive(Clone, Debug, Default)]
pub struct NewPackageGroup {
    pub id: String,
    pub groups: Vec<i64>,
    pub seed: Option<String>,
    pub name: Option<String>,
    pub policy: Option<String>,
}

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

pub(crate) fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// A date from the API or CLI: RFC 3339 (`2026-01-31T12:00:00Z`) or a day (`2026-01-31`,
/// midnight UTC). Returns milliseconds since the epoch.
pub fn parse_date(s: &str) -> ServiceResult<i64> {
    let s = s.trim();
    let bad = || {
        ServiceError::invalid(
            "bad_date",
            format!("{s:?} is not a date: use YYYY-MM-DD or RFC 3339 (2026-01-31T12:00:00Z)"),
        )
    };
    let at = match time::OffsetDateTime::parse(s, &Rfc3339) {
        Ok(t) => t,
        Err(_) => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(s, &format)
                .map_err(|_| bad())?
                .midnight()
                .assume_utc()
        }
    };
    Ok((at.unix_timestamp_nanos() / 1_000_000) as i64)
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
    }
}

fn group_view(g: GroupRow) -> GroupView {
    GroupView {
        id: g.id,
        name: g.name,
    }
}

fn clean_name(name: Option<&str>, what: &str) -> ServiceResult<Option<String>> {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    if let Some(n) = name
        && (n.chars().count() > MAX_NAME || n.chars().any(char::is_control))
    {
        return Err(ServiceError::invalid(
            "bad_name",
            format!("a {what} is at most {MAX_NAME} printable characters"),
        ));
    }
    Ok(name.map(String::from))
}

/// A key label as typed: `None` when blank.
fn clean_label(label: Option<&str>) -> ServiceResult<Option<String>> {
    match label.map(str::trim).filter(|l| !l.is_empty()) {
        Some(l) if l.chars().count() > MAX_LABEL || l.chars().any(char::is_control) => {
            Err(ServiceError::invalid(
                "bad_label",
                format!("a key label is at most {MAX_LABEL} printable characters"),
            ))
        }
        l => Ok(l.map(String::from)),
    }
}

fn parse_policy(p: &str) -> ServiceResult<Policy> {
    Policy::parse(p).ok_or_else(|| {
        ServiceError::invalid(
            "bad_policy",
            format!("policy {p:?}: use active or keep-released"),
        )
    })
}

/// A clash on the unique live label, said in the user's terms.
fn label_conflict(e: ServiceError, label: &str) -> ServiceError {
    match e {
        ServiceError::Conflict(_) => ServiceError::Conflict(format!(
            "the user already has a live key labelled {label:?}"
        )),
        e => e,
    }
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

    pub async fn user_view(&self, user: &str) -> ServiceResult<UserView> {
        Ok(user_view(self.find_user(user).await?))
    }

    pub async fn add_user(
        &self,
        actor: &Actor,
        email: &str,
        name: Option<&str>,
        password: Option<&str>,
        admin: bool,
    ) -> ServiceResult<UserView> {
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
        self.user_view(&row.id.to_string()).await
    }

    pub async fn update_user(
        &self,
        actor: &Actor,
        user: &str,
        changes: UserChanges,
    ) -> ServiceResult<UserView> {
        let row = self.find_user(user).await?;
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
        self.user_view(&row.id.to_string()).await
    }

    /// Users by id, a page at a time; `email` filters by a part of the address.
    pub async fn list_users(
        &self,
        email: Option<&str>,
        after_id: i64,
        limit: i64,
    ) -> ServiceResult<Vec<UserView>> {
        let filter = email.map(keys::normalise_email);
        let rows = self
            .store()
            .users(filter.as_deref(), after_id, limit.clamp(1, 1000))
            .await?;
        Ok(rows.into_iter().map(user_view).collect())
    }

    pub async fn add_group(&self, actor: &Actor, id: i64, name: &str) -> ServiceResult<GroupView> {
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
        Ok(GroupView { id, name })
    }

    pub async fn rename_group(
        &self,
        actor: &Actor,
        id: i64,
        name: &str,
    ) -> ServiceResult<GroupView> {
        let name = clean_name(Some(name), "group name")?
            .ok_or_else(|| ServiceError::invalid("bad_name", "a group needs a name"))?;
        if !self.store().rename_group(id, &name).await? {
            return Err(ServiceError::NotFound { what: "group" });
        }
        let subject = id.to_string();
        self.audit(actor, "group.rename", &subject, json!({"name": name}))
            .await?;
        Ok(GroupView { id, name })
    }

    /// Deletes a group nothing refers to. One with memberships (even ended ones: they are the
    /// subscription history) or allowed by a package group is refused; rename it instead.
    pub async fn delete_group(&self, actor: &Actor, id: i64) -> ServiceResult<()> {
        let group = self
            .store()
            .group(id)
            .await?
            .ok_or(ServiceError::NotFound { what: "group" })?;
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

    async fn existing_group(&self, id: i64) -> ServiceResult<GroupRow> {
        self.store().group(id).await?.ok_or_else(|| {
            ServiceError::invalid(
                "unknown_group",
                format!("group {id} does not exist: create it first (depot group add --id {id})"),
            )
        })
    }

    /// Adds a membership; `from` defaults to now, `until` to open-ended.
    pub async fn add_membership(
        &self,
        actor: &Actor,
        user: &str,
        group: i64,
        from: Option<&str>,
        until: Option<&str>,
    ) -> ServiceResult<MembershipView> {
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
        self.memberships(&user.id.to_string())
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
        let user = self.find_user(user).await?;
        self.existing_group(group).await?;
        let at = at.map(parse_date).transpose()?;
        let at = at.unwrap_or_else(|| self.now_ms());
        let ended = self.store().end_memberships(user.id, group, at).await?;
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

    pub async fn memberships(&self, user: &str) -> ServiceResult<Vec<MembershipView>> {
        let user = self.find_user(user).await?;
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

    pub async fn add_package_group(
        &self,
        actor: &Actor,
        new: NewPackageGroup,
    ) -> ServiceResult<PackageGroupView> {
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
            .create_package_group(id, &title, &seed, policy.as_str(), &new.groups)
            .await?;
        // The seed is a secret: it is never logged.
        let detail = json!({"name": title, "groups": new.groups, "policy": policy.as_str()});
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
        })
    }

    pub async fn package_group_view_of(
        &self,
        package_group: &str,
    ) -> ServiceResult<PackageGroupView> {
        let row = self.existing_package_group(package_group).await?;
        self.package_group_view(row).await
    }

    /// Changes a package group's display name and/or policy (`None` keeps each).
    pub async fn update_package_group(
        &self,
        actor: &Actor,
        package_group: &str,
        name: Option<&str>,
        policy: Option<&str>,
    ) -> ServiceResult<PackageGroupView> {
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
        self.store()
            .update_package_group(row.id, &title, &policy)
            .await?;
        let detail = json!({"name": title, "policy": policy});
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

    /// Makes an extension paid (`Some(package group)`) or free (`None`).
    pub async fn set_extension_package_group(
        &self,
        actor: &Actor,
        extension: &str,
        package_group: Option<&str>,
    ) -> ServiceResult<()> {
        let ext = self
            .store()
            .extension_by_name(extension)
            .await?
            .ok_or(ServiceError::NotFound { what: "extension" })?;
        let group_id = match package_group {
            Some(name) => Some(self.existing_package_group(name).await?.id),
            None => None,
        };
        self.store()
            .set_extension_package_group(ext.id, group_id)
            .await?;
        self.invalidate_feeds();
        self.audit(
            actor,
            "extension.update",
            &ext.name,
            json!({"package_group": package_group}),
        )
        .await
    }

    /// The key text of a download key row.
    pub(crate) fn download_key_text(&self, row: &DownloadKeyRow) -> String {
        keys::download_key(
            self.settings().secret.expose(),
            row.id as u64,
            row.version as u32,
        )
    }

    fn download_key_view(&self, row: DownloadKeyRow) -> DownloadKeyView {
        DownloadKeyView {
            key: self.download_key_text(&row),
            id: row.id,
            revoked: row.revoked_at.is_some(),
            created_at: rfc3339(row.created_at),
            label: row.label,
        }
    }

    pub(crate) async fn new_download_key(
        &self,
        user_id: i64,
        label: &str,
    ) -> ServiceResult<DownloadKeyRow> {
        Ok(self.store().create_download_key(user_id, label).await?)
    }

    /// A new download key; without a label, `default` (or `default-2`, … if taken).
    pub async fn create_download_key(
        &self,
        actor: &Actor,
        user: &str,
        label: Option<&str>,
    ) -> ServiceResult<DownloadKeyView> {
        let user = self.find_user(user).await?;
        let label = match clean_label(label)? {
            Some(l) => l,
            None => {
                let live: Vec<String> = self
                    .store()
                    .download_keys_of(user.id)
                    .await?
                    .into_iter()
                    .filter(|k| k.revoked_at.is_none())
                    .map(|k| k.label)
                    .collect();
                std::iter::once(DEFAULT_KEY_LABEL.to_string())
                    .chain((2..).map(|n| format!("{DEFAULT_KEY_LABEL}-{n}")))
                    .find(|l| !live.contains(l))
                    .expect("an unused label")
            }
        };
        let row = self
            .new_download_key(user.id, &label)
            .await
            .map_err(|e| label_conflict(e, &label))?;
        let detail = json!({"id": row.id, "label": row.label});
        self.audit(actor, "download_key.create", &user.email, detail)
            .await?;
        Ok(self.download_key_view(row))
    }

    pub async fn download_keys(&self, user: &str) -> ServiceResult<Vec<DownloadKeyView>> {
        let user = self.find_user(user).await?;
        Ok(self
            .store()
            .download_keys_of(user.id)
            .await?
            .into_iter()
            .map(|row| self.download_key_view(row))
            .collect())
    }

    /// One of the user's download keys.
    async fn own_download_key(&self, user: &UserRow, key_id: i64) -> ServiceResult<DownloadKeyRow> {
        self.store()
            .download_key(key_id)
            .await?
            .filter(|k| k.user_id == user.id)
            .ok_or(ServiceError::NotFound {
                what: "download key",
            })
    }

    /// Renames one of the user's live download keys (the key itself does not change).
    pub async fn relabel_download_key(
        &self,
        actor: &Actor,
        user: &str,
        key_id: i64,
        label: &str,
    ) -> ServiceResult<DownloadKeyView> {
        let user = self.find_user(user).await?;
        let row = self.own_download_key(&user, key_id).await?;
        let label = clean_label(Some(label))?
            .ok_or_else(|| ServiceError::invalid("bad_label", "a key label cannot be blank"))?;
        let renamed = self
            .store()
            .relabel_download_key(row.id, &label)
            .await
            .map_err(|e| label_conflict(e.into(), &label))?;
        if !renamed {
            return Err(ServiceError::Conflict(format!(
                "key {:?} is revoked",
                row.label
            )));
        }
        let detail = json!({"id": row.id, "from": row.label, "label": label});
        self.audit(actor, "download_key.relabel", &user.email, detail)
            .await?;
        let row = self.own_download_key(&user, key_id).await?;
        Ok(self.download_key_view(row))
    }

    /// Revokes one of the user's download keys; the others keep working.
    pub async fn revoke_download_key(
        &self,
        actor: &Actor,
        user: &str,
        key_id: i64,
    ) -> ServiceResult<()> {
        let user = self.find_user(user).await?;
        let row = self.own_download_key(&user, key_id).await?;
        if !self.store().revoke_download_key(row.id).await? {
            return Err(ServiceError::Conflict(format!(
                "key {:?} is already revoked",
                row.label
            )));
        }
        let detail = json!({"id": row.id, "label": row.label});
        self.audit(actor, "download_key.revoke", &user.email, detail)
            .await
    }

    async fn jbackend_key_view(
        &self,
        user: &UserRow,
        group: PackageGroupRow,
    ) -> ServiceResult<JbackendKeyView> {
        let version = self.store().jbackend_key_version(user.id, group.id).await?;
        let entitled = match self.entitle(&group, user.id, self.now_ms()).await {
            Ok(()) => true,
            Err(ServiceError::Denied { .. }) => false,
            Err(e) => return Err(e),
        };
        Ok(JbackendKeyView {
            key: keys::jbackend_key(
                self.settings().secret.expose(),
                &group.seed,
                &user.email,
                version,
            ),
            email: user.email.clone(),
            package_group: group.name,
            name: group.title,
            entitled,
        })
    }

    /// The user's jBackend key in every package group.
    pub async fn jbackend_keys(&self, user: &str) -> ServiceResult<Vec<JbackendKeyView>> {
        let user = self.find_user(user).await?;
        let mut out = Vec::new();
        for group in self.store().package_groups().await? {
            out.push(self.jbackend_key_view(&user, group).await?);
        }
        Ok(out)
    }

    /// Replaces the user's jBackend key in a package group; the old one stops working.
    pub async fn rotate_jbackend_key(
        &self,
        actor: &Actor,
        user: &str,
        package_group: &str,
    ) -> ServiceResult<JbackendKeyView> {
        let user = self.find_user(user).await?;
        let group = self.existing_package_group(package_group).await?;
        let version = self
            .store()
            .bump_jbackend_key_version(user.id, group.id)
            .await?;
        let detail = json!({"package_group": group.name, "version": version});
        self.audit(actor, "jbackend_key.rotate", &user.email, detail)
            .await?;
        self.jbackend_key_view(&user, group).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-02").unwrap(), 86_400_000);
        assert_eq!(parse_date("1970-01-01T00:00:01Z").unwrap(), 1000);
        assert_eq!(parse_date(" 1970-01-01T01:00:00+01:00 ").unwrap(), 0);
        for bad in ["", "yesterday", "2026-13-01", "2026-02-30", "1/2/2026"] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
        assert_eq!(rfc3339(86_400_000), "1970-01-02T00:00:00Z");
    }

    /// Mutations of valid dates never panic: they parse or are refused.
    #[test]
    fn dates_fuzzed() {
        let seeds = [
            "2026-01-31",
            "2026-01-31T12:00:00Z",
            "2026-01-31T12:00:00.5+02:00",
        ];
        for i in 0..20_000 {
            let mut bytes = seeds[i % seeds.len()].as_bytes().to_vec();
            for _ in 0..(1 + rand::random::<u8>() % 4) {
                let at = rand::random::<u32>() as usize % (bytes.len() + 1);
                match rand::random::<u8>() % 3 {
                    0 if at < bytes.len() => bytes[at] = rand::random(),
                    1 => bytes.insert(at, rand::random()),
                    _ if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    _ => {}
                }
            }
            let _ = parse_date(&String::from_utf8_lossy(&bytes));
        }
    }

    #[test]
    fn package_group_ids() {
        assert!(valid_package_group_id("redj_enterprise"));
        assert!(valid_package_group_id("a.b-c"));
        for bad in ["", "a b", "a/b", &"x".repeat(65)] {
            assert!(!valid_package_group_id(bad), "{bad}");
        }
    }
}
