//! `depot import jbackend`: the jBackend Release System's two plugin settings.
//!
//! - package groups: `package group;groups[;hash;package name]`, e.g.
//!   `redj_enterprise;9,12;HASH123KEY456;ReDJ Enterprise` (the hash becomes the group's key seed,
//!   so the `email` + `key` pairs customers hold keep working);
//! - packages: `package id;package path[;package group]`, e.g.
//!   `redj_ent_190;/private/joomla/redj/com_redj-1.9.0.zip;redj_enterprise`, paths relative to
//!   the packages folder. Each keeps its package id, so `/get/release/download/{id}` still works.
//!
//! Running the import again changes nothing that is already there.

use std::path::Path;

use depot_core::jbackend_settings::{parse_group_line, parse_package_line};

use super::{ImportReport, SettingsFile, lines};
use crate::{Actor, Depot, NewPackageGroup, PublishOptions, PublishOutcome};

/// The actor the audit log names for what an import creates.
const IMPORT: &str = "depot import jbackend";

impl Depot {
    /// Imports jBackend's package groups, then its packages from `folder`.
    pub async fn import_jbackend(
        &self,
        packages: &SettingsFile,
        groups: &SettingsFile,
        folder: &Path,
    ) -> ImportReport {
        let actor = Actor::system(IMPORT);
        let mut report = ImportReport::default();
        for (n, line) in lines(&groups.text) {
            match self.import_package_group(&actor, line).await {
                Ok(Some(name)) => report.imported.push(format!("package group {name}")),
                Ok(None) => report.unchanged.push(format!("package group on line {n}")),
                Err(e) => report.failed.push((groups.name.clone(), n, e)),
            }
        }
        for (n, line) in lines(&packages.text) {
            match self.import_package(&actor, line, folder).await {
                Ok((PublishOutcome::Unchanged, what)) => report.unchanged.push(what),
                Ok((_, what)) => report.imported.push(what),
                Err(e) => report.failed.push((packages.name.clone(), n, e)),
            }
        }
        report
    }

    /// One package group line; `None` when the group is already there.
    async fn import_package_group(
        &self,
        actor: &Actor,
        line: &str,
    ) -> Result<Option<String>, String> {
        let g = parse_group_line(line)?;
        if self
            .store()
            .package_group_by_name(&g.name)
            .await
            .map_err(|e| e.to_string())?
            .is_some()
        {
            return Ok(None);
        }
        for id in &g.groups {
            self.ensure_group(actor, *id, None)
                .await
                .map_err(|e| e.to_string())?;
        }
        let new = NewPackageGroup {
            id: g.name.clone(),
            groups: g.groups,
            seed: g.seed,
            name: g.title,
            policy: None,
            private_feeds: None,
        };
        self.add_package_group(actor, new)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Some(g.name))
    }

    /// One package line: publishes the package under its jBackend package id.
    async fn import_package(
        &self,
        actor: &Actor,
        line: &str,
        folder: &Path,
    ) -> Result<(PublishOutcome, String), String> {
        let p = parse_package_line(line)?;
        let spooled = self.spool_package(folder, &p.path).await?;
        let options = PublishOptions {
            package_id: Some(p.package_id.clone()),
            package_group: p.group.clone(),
            ..PublishOptions::default()
        };
        // The manifest names the extension and version, as for the console's upload; the
        // package is inspected once, under the configured limits.
        let published = self
            .publish_package(actor, spooled, &options)
            .await
            .map_err(|e| e.to_string())?;
        let what = format!(
            "{} {} as {}",
            published.extension, published.version, published.package_id
        );
        Ok((published.outcome, what))
    }
}
