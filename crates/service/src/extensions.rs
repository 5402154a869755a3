//! Extensions as an admin reads and changes them: what feeds show of them, their package group,
//! and the manifest snippet that points an extension at its feed.

use depot_core::Ecosystem;
use depot_core::feed::{escape_attr, escape_text};
use depot_store::ExtensionRow;
use serde_json::json;

use crate::Actor;
use crate::input::rfc3339;
use crate::{Depot, ServiceError, ServiceResult};

pub use depot_api::ExtensionView;

/// Changes to an extension; `None` leaves a field alone, `Some(None)` clears an optional one.
#[derive(Clone, Debug, Default)]
pub struct ExtensionChanges {
    /// `Some(None)` makes the extension free.
    pub package_group: Option<Option<String>>,
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub info_url: Option<Option<String>>,
    /// The Joomla targets of releases uploaded without their own (`4.4,5,6`).
    pub default_joomla: Option<String>,
}

impl ExtensionChanges {
    fn is_empty(&self) -> bool {
        self.package_group.is_none()
            && self.title.is_none()
            && self.description.is_none()
            && self.info_url.is_none()
            && self.default_joomla.is_none()
    }
}

/// The `<updateservers>` block (and, for a paid extension, the `<dlid>` element) for an
/// extension's manifest.
fn manifest_snippet(title: &str, feed_url: &str, paid: bool) -> String {
    let mut s = format!(
        "<updateservers>\n    <server type=\"extension\" priority=\"1\" name=\"{}\">{}</server>\n</updateservers>",
        escape_attr(title),
        escape_text(feed_url)
    );
    if paid {
        s.push_str("\n<dlid prefix=\"dlid=\" suffix=\"\"/>");
    }
    s
}

impl Depot {
    pub(crate) async fn extension_row(&self, name: &str) -> ServiceResult<ExtensionRow> {
        self.store()
            .extension_by_name(name)
            .await?
            .ok_or(ServiceError::NotFound { what: "extension" })
    }

    async fn extension_view_of(&self, row: ExtensionRow) -> ServiceResult<ExtensionView> {
        let group = match row.package_group_id {
            Some(id) => self.package_group(id).await?,
            None => None,
        };
        let private = group.as_ref().is_some_and(|g| g.private_feeds != 0);
        let package_group = group.map(|g| g.name);
        let feed_url = self.metadata_url(&row);
        let manifest_snippet = match row.ecosystem {
            Ecosystem::Joomla if private => format!(
                "{}\n<!-- A private feed: each site's update site needs the customer's key in its \
                 URL, {feed_url}?dlid=KEY (set it from the extension's settings). -->",
                manifest_snippet(&row.title, &feed_url, true)
            ),
            Ecosystem::Joomla => manifest_snippet(&row.title, &feed_url, package_group.is_some()),
            Ecosystem::Composer => self.composer_repository_snippet(),
            Ecosystem::WordPress => self.wordpress_snippet(&row.name, package_group.is_some()),
            Ecosystem::Application => self.tauri_snippet(&row.name, package_group.is_some()),
        };
        Ok(ExtensionView {
            manifest_snippet,
            ecosystem: row.ecosystem.to_string(),
            changelog_url: self.changelog_url(&row.name),
            feed_url,
            package_group,
            folder: (!row.folder.is_empty()).then_some(row.folder),
            name: row.name,
            element: row.element,
            kind: row.ext_type,
            client: row.client,
            title: row.title,
            description: row.description,
            info_url: row.info_url,
            default_joomla: row.default_targets,
            created_at: rfc3339(row.created_at),
            updated_at: rfc3339(row.updated_at),
        })
    }

    /// Changes an extension: its package group (paid or free) and what feeds show of it.
    /// Fields left `None` stay as they are.
    pub async fn update_extension(
        &self,
        actor: &Actor,
        extension: &str,
        changes: ExtensionChanges,
    ) -> ServiceResult<ExtensionView> {
        actor.require_admin()?;
        let row = self.extension_row(extension).await?;
        if changes.is_empty() {
            return Err(ServiceError::invalid(
                "nothing_to_change",
                "name at least one of package_group, title, description, info_url, default_joomla",
            ));
        }
        let text = |value: Option<&str>, what: &str, max: usize| -> ServiceResult<Option<String>> {
            let value = value.map(str::trim).filter(|v| !v.is_empty());
            if value
                .is_some_and(|v| v.len() > max || v.chars().any(|c| c.is_control() && c != '\n'))
            {
                return Err(ServiceError::invalid(
                    "bad_metadata",
                    format!("the {what} is at most {max} bytes of printable text"),
                ));
            }
            Ok(value.map(String::from))
        };
        let title = match &changes.title {
            Some(t) => text(Some(t), "title", 200)?.ok_or_else(|| {
                ServiceError::invalid("bad_metadata", "the title cannot be blank")
            })?,
            None => row.title.clone(),
        };
        let description = match &changes.description {
            Some(d) => text(d.as_deref(), "description", 10_000)?,
            None => row.description.clone(),
        };
        let info_url = match &changes.info_url {
            Some(u) => {
                let u = text(u.as_deref(), "info URL", 2000)?;
                if let Some(u) = &u
                    && !(u.starts_with("https://") || u.starts_with("http://"))
                {
                    return Err(ServiceError::invalid(
                        "bad_metadata",
                        format!("info URL {u:?}: use an http:// or https:// address"),
                    ));
                }
                u
            }
            None => row.info_url.clone(),
        };
        let default_targets = match &changes.default_joomla {
            Some(t) => t
                .parse::<depot_core::Targets>()
                .map_err(|e| ServiceError::invalid("bad_joomla_targets", e.to_string()))?
                .to_string(),
            None => row.default_targets.clone(),
        };
        if let Some(group) = &changes.package_group {
            self.set_extension_package_group(actor, &row.name, group.as_deref())
                .await?;
        }
        let metadata_changed = (&title, &description, &info_url, &default_targets)
            != (
                &row.title,
                &row.description,
                &row.info_url,
                &row.default_targets,
            );
        if metadata_changed {
            self.store()
                .update_extension_metadata(
                    row.id,
                    &title,
                    description.as_deref(),
                    info_url.as_deref(),
                    &default_targets,
                )
                .await?;
            self.invalidate_catalogue();
            let detail = json!({
                "title": title,
                "description_length": description.as_deref().map(str::len),
                "info_url": info_url,
                "default_joomla": default_targets,
            });
            self.audit(actor, "extension.update", &row.name, detail)
                .await?;
        }
        let row = self.extension_row(&row.name).await?;
        self.extension_view_of(row).await
    }

    /// Deletes an extension that never had a release (a mistaken upload whose drafts were
    /// deleted). One with releases stays: sites may have it installed; yank its releases.
    pub async fn delete_extension(&self, actor: &Actor, extension: &str) -> ServiceResult<()> {
        actor.require_admin()?;
        let row = self.extension_row(extension).await?;
        if !self
            .store()
            .delete_extension_without_releases(row.id)
            .await?
        {
            return Err(ServiceError::Conflict(format!(
                "{} has releases: delete its drafts, and yank published releases instead",
                row.name
            )));
        }
        self.invalidate_catalogue();
        self.audit(actor, "extension.delete", &row.name, json!(null))
            .await
    }

    /// The extensions the actor may see (a publish token limited to some extensions sees those).
    pub async fn list_extensions(&self, actor: &Actor) -> ServiceResult<Vec<ExtensionView>> {
        let mut out = Vec::new();
        for row in self.store().extensions().await? {
            if !actor.may_see_extension(&row.name) {
                continue;
            }
            out.push(self.extension_view_of(row).await?);
        }
        Ok(out)
    }

    pub async fn extension_view(&self, actor: &Actor, name: &str) -> ServiceResult<ExtensionView> {
        let row = self.extension_row(name).await?;
        actor.require_catalogue(&row.name)?;
        self.extension_view_of(row).await
    }

    /// Makes an extension paid (`Some(package group)`) or free (`None`).
    pub async fn set_extension_package_group(
        &self,
        actor: &Actor,
        extension: &str,
        package_group: Option<&str>,
    ) -> ServiceResult<()> {
        actor.require_admin()?;
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
        self.invalidate_catalogue();
        self.audit(
            actor,
            "extension.update",
            &ext.name,
            json!({"package_group": package_group}),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn manifest_snippets() {
        let free =
            super::manifest_snippet("Foo & Bar", "https://u.example/updates/com_foo.xml", false);
        assert_eq!(
            free,
            "<updateservers>\n    <server type=\"extension\" priority=\"1\" name=\"Foo &amp; Bar\">https://u.example/updates/com_foo.xml</server>\n</updateservers>"
        );
        let paid = super::manifest_snippet("Foo", "https://u.example/updates/com_foo.xml", true);
        assert!(paid.ends_with("</updateservers>\n<dlid prefix=\"dlid=\" suffix=\"\"/>"));
    }
}
