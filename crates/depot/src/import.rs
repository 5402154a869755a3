//! `depot import jbackend`: moving from the jBackend Release System without touching installed
//! sites.
//!
//! It reads the plugin's two settings (seed article, `../shared/seeds/000_…`):
//! - package groups: `package group;groups[;hash;package name]`, e.g.
//!   `redj_enterprise;9,12;HASH123KEY456;ReDJ Enterprise` (the hash becomes the group's key seed);
//! - packages: `package id;package path[;package group]`, e.g.
//!   `redj_ent_190;/private/joomla/redj/com_redj-1.9.0.zip;redj_enterprise`, paths relative to
//!   `--folder`.
//!
//! Every line is imported on its own: a line that fails is reported with its reason and the rest
//! go on. Running the import again changes nothing that is already there.

use std::path::{Path, PathBuf};

use anyhow::Context;
use depot_core::package::{self, PackageLimits};
use depot_service::{Actor, Depot, PublishOptions, PublishOutcome, ServiceError, spool};
use depot_store::StoreError;

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

/// The lines of a settings file worth reading, with their 1-based numbers.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

#[derive(Debug, Default)]
pub struct Report {
    pub imported: Vec<String>,
    pub unchanged: Vec<String>,
    /// `(file, line number, reason)`.
    pub failed: Vec<(String, usize, String)>,
}

/// A package path inside `folder`, refusing anything that escapes it.
fn resolve(folder: &Path, relative: &str) -> Result<PathBuf, String> {
    if Path::new(relative)
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(format!("{relative} is outside the packages folder"));
    }
    let base = folder
        .canonicalize()
        .map_err(|e| format!("folder {}: {e}", folder.display()))?;
    let path = base.join(relative.trim_start_matches('/'));
    let path = path
        .canonicalize()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if !path.starts_with(&base) {
        return Err(format!("{relative} is outside the packages folder"));
    }
    Ok(path)
}

/// The actor the audit log names for what an import creates.
const IMPORT: &str = "depot import jbackend";

pub async fn import_jbackend(
    depot: &Depot,
    packages: &Path,
    groups: &Path,
    folder: &Path,
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let groups_text = std::fs::read_to_string(groups)
        .with_context(|| format!("cannot read {}", groups.display()))?;
    let packages_text = std::fs::read_to_string(packages)
        .with_context(|| format!("cannot read {}", packages.display()))?;
    let groups_name = groups.display().to_string();
    let packages_name = packages.display().to_string();

    for (n, line) in lines(&groups_text) {
        let result = async {
            let g = parse_group_line(line)?;
            if depot
                .store()
                .package_group_by_name(&g.name)
                .await
                .map_err(|e| e.to_string())?
                .is_some()
            {
                return Ok(None);
            }
            for id in &g.groups {
                depot
                    .store()
                    .ensure_group(*id, &format!("Group {id} (imported)"))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            let seed = g.seed.clone().unwrap_or_else(depot_service::generate_token);
            depot
                .store()
                .create_package_group(
                    &g.name,
                    g.title.as_deref().unwrap_or(&g.name),
                    &seed,
                    "active",
                    &g.groups,
                )
                .await
                .map_err(|e| e.to_string())?;
            let detail = serde_json::json!({"groups": g.groups, "policy": "active"});
            depot
                .audit(
                    &Actor::system(IMPORT),
                    "package_group.create",
                    &g.name,
                    detail,
                )
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(Some(g.name))
        }
        .await;
        match result {
            Ok(Some(name)) => report.imported.push(format!("package group {name}")),
            Ok(None) => report.unchanged.push(format!("package group on line {n}")),
            Err(e) => report.failed.push((groups_name.clone(), n, e)),
        }
    }

    for (n, line) in lines(&packages_text) {
        let result = async {
            let p = parse_package_line(line)?;
            let path = resolve(folder, &p.path)?;
            let file =
                std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let manifest =
                package::inspect(std::io::BufReader::new(file), &PackageLimits::default())
                    .map_err(|e| e.to_string())?;
            let stream = tokio_util::io::ReaderStream::new(
                tokio::fs::File::open(&path)
                    .await
                    .map_err(|e| e.to_string())?,
            );
            let settings = depot.settings();
            let spooled = spool(&settings.temp_dir, stream, settings.max_upload_bytes)
                .await
                .map_err(|e| e.to_string())?;
            let options = PublishOptions {
                package_id: Some(p.package_id.clone()),
                package_group: p.group.clone(),
                ..PublishOptions::default()
            };
            let published = depot
                .publish(
                    &Actor::system(IMPORT),
                    &manifest.identity.full_name,
                    manifest.version.as_str(),
                    spooled,
                    &options,
                )
                .await
                .map_err(|e| match e {
                    ServiceError::Store(StoreError::Conflict(what)) => {
                        format!("{what} already exists")
                    }
                    other => other.to_string(),
                })?;
            Ok::<_, String>((
                published.outcome,
                format!(
                    "{} {} as {}",
                    published.extension, published.version, published.package_id
                ),
            ))
        }
        .await;
        match result {
            Ok((PublishOutcome::Unchanged, what)) => report.unchanged.push(what),
            Ok((_, what)) => report.imported.push(what),
            Err(e) => report.failed.push((packages_name.clone(), n, e)),
        }
    }
    Ok(report)
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

    #[test]
    fn paths_stay_in_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("pub")).unwrap();
        std::fs::write(dir.path().join("pub/a.zip"), b"x").unwrap();
        std::fs::write(dir.path().join("outside.zip"), b"x").unwrap();
        let folder = dir.path().join("pub");
        assert!(resolve(&folder, "/a.zip").is_ok());
        assert!(
            resolve(&folder, "../outside.zip")
                .unwrap_err()
                .contains("outside")
        );
        assert!(resolve(&folder, "missing.zip").is_err());
    }
}
