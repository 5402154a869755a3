//! `depot import ars`: an Akeeba Release System installation, read straight from its Joomla
//! site's database, and the files its items point at.
//!
//! - every published file item of a published release and category is published as a release
//!   of the extension its zip's manifest names (maturity → stability, release notes, Joomla
//!   targets from the item's environments), under the package id `ars-item-{id}`, which the old
//!   item download URL then resolves to;
//! - an update stream becomes the extension its items were published to, so the stream's old
//!   URL serves that extension's feed;
//! - a view level other than Public and Guest that guards an item becomes the package group
//!   `ars-level-{id}`, allowing the level's groups, so the same customers may download;
//! - every published Download ID (main and add-on) becomes an imported download key of the
//!   user with that e-mail address, stored as a hash only, revocable like any other.
//!
//! Link items (files hosted elsewhere) are reported, not imported. Running the import again
//! changes nothing that is already there.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use depot_core::{Version, keys};
use depot_joomla::ars::{self, ArsItem, ViewLevel};
use depot_joomla::{JoomlaError, JoomlaSite};
use sha2::{Digest, Sha256};

use super::ImportReport;
use crate::{Actor, Depot, NewPackageGroup, PublishOptions, PublishOutcome, ServiceError};

/// The actor the audit log names for what an import creates.
const IMPORT: &str = "depot import ars";

/// Where a report line points: the ARS table and row.
fn row(table: &str, id: i64) -> (String, usize) {
    (format!("#__ars_{table}"), usize::try_from(id).unwrap_or(0))
}

fn unreadable(e: JoomlaError) -> ServiceError {
    ServiceError::invalid("ars_unreadable", format!("reading ARS: {e}"))
}

/// The hash an imported Download ID is kept as, of the ID as ARS reads it (see
/// `depot_core::ars::normalise_download_id`).
pub(crate) fn imported_key_hash(normalised: &str) -> String {
    hex::encode(Sha256::digest(normalised.as_bytes()))
}

/// The package group a view level becomes.
fn level_package_group(level: i64) -> String {
    format!("ars-level-{level}")
}

impl Depot {
    /// The extension the ARS update stream with this alias became, for its SEF URL.
    pub async fn ars_stream_extension_by_alias(
        &self,
        alias: &str,
    ) -> Result<Option<String>, ServiceError> {
        Ok(self
            .inner
            .catalogue
            .ars_aliases
            .get_or_load(alias.to_string(), || {
                self.store().ars_stream_extension_by_alias(alias)
            })
            .await?)
    }

    /// The extension an ARS update stream became, for the stream's old URL.
    pub async fn ars_stream_extension(&self, stream: i64) -> Result<Option<String>, ServiceError> {
        Ok(self
            .inner
            .catalogue
            .ars_streams
            .get_or_load(stream, || self.store().ars_stream_extension(stream))
            .await?)
    }
}

/// The package id an ARS item is published under.
pub fn ars_item_package_id(item: i64) -> String {
    format!("ars-item-{item}")
}

impl Depot {
    /// Imports an ARS installation from its site's database; its category directories are
    /// relative to `site_root` (the Joomla site's root directory) unless absolute.
    pub async fn import_ars(
        &self,
        site: &JoomlaSite,
        site_root: &Path,
    ) -> Result<ImportReport, ServiceError> {
        let actor = Actor::system(IMPORT);
        let mut report = ImportReport::default();
        let levels: HashMap<i64, ViewLevel> = site
            .view_levels()
            .await
            .map_err(unreadable)?
            .into_iter()
            .map(|l| (l.id, l))
            .collect();
        let group_names: HashMap<i64, String> = site
            .groups()
            .await
            .map_err(unreadable)?
            .into_iter()
            .map(|g| (g.id, g.title))
            .collect();
        let environments = site.ars_environments().await.map_err(unreadable)?;
        let items = site.ars_items().await.map_err(unreadable)?;
        let streams = site.ars_streams().await.map_err(unreadable)?;
        let download_ids = site.ars_download_ids().await.map_err(unreadable)?;

        // The package groups first, so that no paid release is ever free for a moment.
        let mut guarded: BTreeMap<i64, &ViewLevel> = BTreeMap::new();
        for item in items.iter().filter(|i| i.offered()) {
            if let Some(level) = item.guarding_level() {
                match levels.get(&level) {
                    Some(l) => {
                        guarded.insert(level, l);
                    }
                    None => {
                        let (t, n) = row("items", item.id);
                        report
                            .failed
                            .push((t, n, format!("view level {level} does not exist")));
                    }
                }
            }
        }
        for level in guarded.values() {
            match self.import_view_level(&actor, level, &group_names).await {
                Ok(true) => report
                    .imported
                    .push(format!("package group {}", level_package_group(level.id))),
                Ok(false) => report
                    .unchanged
                    .push(format!("package group {}", level_package_group(level.id))),
                Err(e) => report.failed.push((
                    "#__viewlevels".into(),
                    usize::try_from(level.id).unwrap_or(0),
                    e.to_string(),
                )),
            }
        }

        // The items, oldest release first (the order `ars_items` reads them in).
        let mut stream_extensions: HashMap<i64, String> = HashMap::new();
        for item in &items {
            let (t, n) = row("items", item.id);
            if !item.offered() {
                report
                    .unchanged
                    .push(format!("item {} (unpublished, skipped)", item.id));
                continue;
            }
            if item.kind != "file" {
                report.failed.push((
                    t,
                    n,
                    "a link to a file hosted elsewhere: depot serves only files it holds".into(),
                ));
                continue;
            }
            let guarded_by = item
                .guarding_level()
                .filter(|l| guarded.contains_key(l))
                .map(level_package_group);
            match self
                .import_item(&actor, item, &environments, guarded_by, site_root)
                .await
            {
                Ok((outcome, extension, what)) => {
                    if let Some(stream) = item.stream {
                        stream_extensions.entry(stream).or_insert(extension);
                    }
                    match outcome {
                        PublishOutcome::Unchanged => report.unchanged.push(what),
                        _ => report.imported.push(what),
                    }
                }
                Err(e) => report.failed.push((t, n, e)),
            }
        }

        // The update streams, to the extensions their items became.
        for stream in &streams {
            let (t, n) = row("updatestreams", stream.id);
            let Some(extension) = stream_extensions.get(&stream.id) else {
                report.failed.push((
                    t,
                    n,
                    format!("update stream {:?} has no imported item", stream.name),
                ));
                continue;
            };
            if let Some(named) = stream.extension_name().filter(|n| n != extension) {
                report.failed.push((
                    t.clone(),
                    n,
                    format!("update stream names {named}, its items are {extension}; mapped to {extension}"),
                ));
            }
            match self.map_stream(stream.id, &stream.alias, extension).await {
                Ok(true) => report
                    .imported
                    .push(format!("update stream {} → {extension}", stream.id)),
                Ok(false) => report
                    .unchanged
                    .push(format!("update stream {} → {extension}", stream.id)),
                Err(e) => report.failed.push((t, n, e.to_string())),
            }
        }

        // The Download IDs.
        for dlid in download_ids.iter().filter(|d| d.published) {
            let (t, n) = row("dlidlabels", dlid.id);
            match self.import_download_id(&actor, dlid).await {
                Ok(true) => report.imported.push(format!("Download ID {}", dlid.id)),
                Ok(false) => report.unchanged.push(format!("Download ID {}", dlid.id)),
                Err(e) => report.failed.push((t, n, e.to_string())),
            }
        }
        Ok(report)
    }

    /// The package group of a view level; `false` when it is already there.
    async fn import_view_level(
        &self,
        actor: &Actor,
        level: &ViewLevel,
        group_names: &HashMap<i64, String>,
    ) -> Result<bool, ServiceError> {
        let name = level_package_group(level.id);
        if self.store().package_group_by_name(&name).await?.is_some() {
            return Ok(false);
        }
        for id in &level.groups {
            self.ensure_group(actor, *id, group_names.get(id).map(String::as_str))
                .await?;
        }
        let new = NewPackageGroup {
            id: name,
            groups: level.groups.clone(),
            seed: None,
            name: Some(level.title.clone()),
            policy: None,
            private_feeds: None,
        };
        self.add_package_group(actor, new).await?;
        Ok(true)
    }

    /// Publishes one file item; returns the outcome, the extension and a report line.
    async fn import_item(
        &self,
        actor: &Actor,
        item: &ArsItem,
        environments: &HashMap<i64, String>,
        package_group: Option<String>,
        site_root: &Path,
    ) -> Result<(PublishOutcome, String, String), String> {
        let folder = category_folder(site_root, &item.category.directory);
        let spooled = self.spool_package(&folder, &item.filename).await?;
        let titles: Vec<&str> = item
            .environments
            .iter()
            .filter_map(|e| environments.get(e).map(String::as_str))
            .collect();
        let majors = ars::joomla_majors(&titles);
        // A version such as 1.2.0.b1 carries its own stability, which then must agree.
        let stability = Version::parse(&item.release.version)
            .ok()
            .filter(|v| !v.has_stability_suffix())
            .map(|_| item.release.maturity.clone());
        let options = PublishOptions {
            joomla: (!majors.is_empty()).then(|| {
                majors
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            }),
            stability,
            notes: Some(item.release.notes.clone()).filter(|n| !n.trim().is_empty()),
            package_id: Some(ars_item_package_id(item.id)),
            package_group,
            ..PublishOptions::default()
        };
        let published = self
            .publish_package(actor, spooled, &options)
            .await
            .map_err(|e| e.to_string())?;
        if let (Some(at), false) = (
            item.release.created_at,
            published.outcome == PublishOutcome::Unchanged,
        ) {
            self.backdate(&published.extension, &published.version, at)
                .await
                .map_err(|e| e.to_string())?;
        }
        if published.version != item.release.version {
            tracing::info!(
                item = item.id,
                release = %item.release.version,
                manifest = %published.version,
                "the ARS release's version differs from its package's manifest; the manifest wins"
            );
        }
        let what = format!(
            "item {}: {} {}",
            item.id, published.extension, published.version
        );
        Ok((published.outcome, published.extension, what))
    }

    /// Gives an imported release ARS's release date.
    async fn backdate(&self, extension: &str, version: &str, at: i64) -> Result<(), ServiceError> {
        let ext = self
            .store()
            .extension_by_name(extension)
            .await?
            .ok_or(ServiceError::NotFound { what: "extension" })?;
        if let Some(release) = self.store().release(ext.id, version).await? {
            self.store()
                .backdate_release(release.release.id, at)
                .await?;
            self.invalidate_catalogue();
        }
        Ok(())
    }

    /// Points an update stream at an extension; `false` when it already pointed there.
    async fn map_stream(
        &self,
        stream: i64,
        alias: &str,
        extension: &str,
    ) -> Result<bool, ServiceError> {
        if self.store().ars_stream_extension(stream).await?.as_deref() == Some(extension) {
            return Ok(false);
        }
        let ext = self
            .store()
            .extension_by_name(extension)
            .await?
            .ok_or(ServiceError::NotFound { what: "extension" })?;
        self.store().map_ars_stream(stream, alias, ext.id).await?;
        self.invalidate_catalogue();
        Ok(true)
    }

    /// One Download ID, as an imported key of the user with its owner's address; `false` when
    /// it is already there.
    async fn import_download_id(
        &self,
        actor: &Actor,
        dlid: &ars::ArsDownloadId,
    ) -> Result<bool, ServiceError> {
        let sent = depot_core::ars::normalise_download_id(&dlid.as_sent()).ok_or_else(|| {
            ServiceError::invalid("bad_download_id", "not a Download ID ARS would accept")
        })?;
        let hash = imported_key_hash(&sent);
        if self.store().imported_download_key(&hash).await?.is_some() {
            return Ok(false);
        }
        let email = keys::normalise_email(&dlid.user.email);
        let user = match self.store().user_by_email(&email).await? {
            Some(u) => u,
            None => {
                let name = Some(dlid.user.name.trim()).filter(|n| !n.is_empty());
                self.store().create_user(&email, name).await?
            }
        };
        let label = if dlid.primary {
            "ARS main Download ID".to_string()
        } else {
            import_label(&dlid.title, dlid.id)
        };
        let hint: String = sent
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let Some(row) = self
            .store()
            .import_download_key(user.id, &label, &hash, &hint)
            .await?
        else {
            return Ok(false);
        };
        let detail = serde_json::json!({"id": row.id, "label": row.label, "ars_id": dlid.id});
        self.audit(actor, "download_key.import", &user.email, detail)
            .await?;
        Ok(true)
    }
}

/// The label of an imported add-on Download ID: its ARS title, made a label any key form takes
/// (printable, at most `MAX_LABEL` characters with the `ARS: ` prefix), or its number when the
/// title has nothing left.
fn import_label(title: &str, id: i64) -> String {
    let printable: String = title.chars().filter(|c| !c.is_control()).collect();
    let room = crate::input::MAX_LABEL - "ARS: ".len();
    let kept: String = printable.trim().chars().take(room).collect();
    match kept.trim() {
        "" => format!("ARS add-on Download ID {id}"),
        kept => format!("ARS: {kept}"),
    }
}

/// A category's directory: absolute as it is, otherwise under the site's root (as ARS does).
fn category_folder(site_root: &Path, directory: &str) -> PathBuf {
    let dir = Path::new(directory.trim());
    if dir.is_absolute() && dir.is_dir() {
        dir.to_path_buf()
    } else {
        site_root.join(directory.trim().trim_start_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn imported_labels_are_labels_the_forms_take() {
        let long = "x".repeat(300);
        for (title, want) in [
            ("Client site", "ARS: Client site"),
            ("  ", "ARS add-on Download ID 7"),
            ("a\u{7}b", "ARS: ab"),
        ] {
            assert_eq!(super::import_label(title, 7), want);
        }
        let label = super::import_label(&long, 7);
        assert!(crate::input::clean_label(Some(&label)).is_ok(), "{label}");
    }
}
