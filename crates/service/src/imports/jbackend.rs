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

use super::{ImportReport, SettingsFile, lines, resolve};
use crate::{Actor, Depot, NewPackageGroup, PublishOptions, PublishOutcome, ServiceError, spool};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupLine {
    pub name: String,
    pub groups: Vec<i64>,
    pub seed: Option<String>,
    pub title: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageLine {
    pub package_id: String,
    pub path: String,
    pub group: Option<String>,
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// `package group;groups[;hash;package name]`
pub fn parse_group_line(line: &str) -> Result<GroupLine, String> {
    let fields: Vec<&str> = line.split(';').map(str::trim).collect();
    if !(2..=4).contains(&fields.len()) {
        return Err("expected `package group;groups[;hash;package name]`".into());
    }
    let name = fields[0];
    if !is_identifier(name) {
        return Err(format!(
            "{name:?} is not a package group id (letters, digits, _ - .)"
        ));
    }
    let groups = fields[1]
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(|g| {
            g.parse::<i64>()
                .map_err(|_| format!("group {g:?} is not a number"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if groups.is_empty() {
        return Err("no user groups listed".into());
    }
    let optional = |i: usize| {
        fields
            .get(i)
            .filter(|f| !f.is_empty())
            .map(|f| f.to_string())
    };
    Ok(GroupLine {
        name: name.to_string(),
        groups,
        seed: optional(2),
        title: optional(3),
    })
}

/// `package id;package path[;package group]`
pub fn parse_package_line(line: &str) -> Result<PackageLine, String> {
    let fields: Vec<&str> = line.split(';').map(str::trim).collect();
    if !(2..=3).contains(&fields.len()) {
        return Err("expected `package id;package path[;package group]`".into());
    }
    if !is_identifier(fields[0]) {
        return Err(format!("{:?} is not a package id", fields[0]));
    }
    if fields[1].is_empty() {
        return Err("no package path".into());
    }
    Ok(PackageLine {
        package_id: fields[0].to_string(),
        path: fields[1].to_string(),
        group: fields
            .get(2)
            .filter(|g| !g.is_empty())
            .map(|g| g.to_string()),
    })
}

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
            self.ensure_group(actor, *id)
                .await
                .map_err(|e| e.to_string())?;
        }
        let new = NewPackageGroup {
            id: g.name.clone(),
            groups: g.groups,
            seed: g.seed,
            name: g.title,
            policy: None,
        };
        self.add_package_group(actor, new)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Some(g.name))
    }

    /// The user group `id`, created under a placeholder name when it does not exist yet.
    async fn ensure_group(&self, actor: &Actor, id: i64) -> Result<(), ServiceError> {
        if self.store().group(id).await?.is_some() {
            return Ok(());
        }
        match self
            .add_group(actor, id, &format!("Group {id} (imported)"))
            .await
        {
            // Created meanwhile by someone else: there it is.
            Ok(_) | Err(ServiceError::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// One package line: publishes the package under its jBackend package id.
    async fn import_package(
        &self,
        actor: &Actor,
        line: &str,
        folder: &Path,
    ) -> Result<(PublishOutcome, String), String> {
        let p = parse_package_line(line)?;
        let path = resolve(folder, &p.path)?;
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let settings = self.settings();
        let spooled = spool(
            &settings.temp_dir,
            tokio_util::io::ReaderStream::new(file),
            settings.max_upload_bytes,
        )
        .await
        .map_err(|e| e.to_string())?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_seeds_lines() {
        assert_eq!(
            parse_group_line("redj_enterprise;9,12;HASH123KEY456;ReDJ Enterprise").unwrap(),
            GroupLine {
                name: "redj_enterprise".into(),
                groups: vec![9, 12],
                seed: Some("HASH123KEY456".into()),
                title: Some("ReDJ Enterprise".into()),
            }
        );
        assert_eq!(parse_group_line("g;9").unwrap().seed, None);
        assert_eq!(
            parse_package_line("redj_com_190;/public/joomla/redj/com_redj.zip").unwrap(),
            PackageLine {
                package_id: "redj_com_190".into(),
                path: "/public/joomla/redj/com_redj.zip".into(),
                group: None,
            }
        );
        assert_eq!(
            parse_package_line("redj_ent_190;x.zip;redj_enterprise")
                .unwrap()
                .group
                .as_deref(),
            Some("redj_enterprise")
        );
    }

    #[test]
    fn names_what_is_wrong() {
        assert!(parse_group_line("g").unwrap_err().contains("expected"));
        assert!(
            parse_group_line("g;nine")
                .unwrap_err()
                .contains("not a number")
        );
        assert!(
            parse_group_line("g;")
                .unwrap_err()
                .contains("no user groups")
        );
        assert!(
            parse_group_line("bad id;9")
                .unwrap_err()
                .contains("not a package group id")
        );
        assert!(parse_package_line("id").unwrap_err().contains("expected"));
        assert!(
            parse_package_line("id;")
                .unwrap_err()
                .contains("no package path")
        );
        assert!(
            parse_package_line("a b;x.zip")
                .unwrap_err()
                .contains("not a package id")
        );
    }
}
