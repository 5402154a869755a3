//! A user's keys: download keys (create, relabel, revoke) and jBackend keys (show, rotate, resend).
//! Keys are derived, never stored (core `keys`).

use depot_core::keys;
use depot_store::{DownloadKeyRow, PackageGroupRow, UserRow};
use serde_json::json;

use crate::Actor;
use crate::input::{DEFAULT_KEY_LABEL, clean_label, rfc3339};
use crate::{Depot, ServiceError, ServiceResult};

pub use depot_api::{DownloadKeyView, JbackendKeyView};

/// A clash on the unique live label, said in the user's terms.
fn label_conflict(e: ServiceError, label: &str) -> ServiceError {
    match e {
        ServiceError::Conflict(_) => ServiceError::Conflict(format!(
            "the user already has a live key labelled {label:?}"
        )),
        e => e,
    }
}

impl Depot {
    /// The key text of a download key row. An imported one is not derived and is kept as a
    /// hash only: its text is a hint to recognise it by.
    pub(crate) fn download_key_text(&self, row: &DownloadKeyRow) -> String {
        match &row.imported_hint {
            Some(hint) => format!("…{hint}"),
            None => keys::download_key(
                self.settings().secret.expose(),
                row.id as u64,
                row.version as u32,
            ),
        }
    }

    fn download_key_view(&self, row: DownloadKeyRow) -> DownloadKeyView {
        DownloadKeyView {
            imported: row.imported_hash.is_some(),
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
        actor.require_user(user.id)?;
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

    pub async fn download_keys(
        &self,
        actor: &Actor,
        user: &str,
    ) -> ServiceResult<Vec<DownloadKeyView>> {
        let user = self.find_user(user).await?;
        actor.require_user(user.id)?;
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
        actor.require_user(user.id)?;
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
        actor.require_user(user.id)?;
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
    pub async fn jbackend_keys(
        &self,
        actor: &Actor,
        user: &str,
    ) -> ServiceResult<Vec<JbackendKeyView>> {
        let user = self.find_user(user).await?;
        actor.require_user(user.id)?;
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
        actor.require_user(user.id)?;
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
