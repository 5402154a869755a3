//! Moving to depot from another release system without touching installed sites: each import
//! reads the other system's settings, creates what is missing through the same use cases the API
//! uses (so every check and audit entry applies), and reports line by line.

mod ars;
mod jbackend;

pub use ars::ars_item_package_id;
pub(crate) use ars::imported_key_hash;

use std::path::{Path, PathBuf};

/// What an import did: every line is imported on its own, and a line that fails is reported
/// with its reason while the rest go on.
#[derive(Debug, Default, serde::Serialize)]
pub struct ImportReport {
    pub imported: Vec<String>,
    pub unchanged: Vec<String>,
    /// `(file, line number, reason)`.
    pub failed: Vec<(String, usize, String)>,
}

/// A settings file to import: its name (for the report) and its text.
#[derive(Clone, Debug)]
pub struct SettingsFile {
    pub name: String,
    pub text: String,
}

impl crate::Depot {
    /// The package file `relative` to `folder` (never outside it), spooled for publishing
    /// under the configured upload limit.
    async fn spool_package(&self, folder: &Path, relative: &str) -> Result<crate::Spooled, String> {
        let path = resolve(folder, relative)?;
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let settings = self.settings();
        crate::spool(
            &settings.temp_dir,
            tokio_util::io::ReaderStream::new(file),
            settings.max_upload_bytes,
        )
        .await
        .map_err(|e| e.to_string())
    }

    /// The user group `id`, created as `name` (or a placeholder) when it does not exist yet.
    async fn ensure_group(
        &self,
        actor: &crate::Actor,
        id: i64,
        name: Option<&str>,
    ) -> Result<(), crate::ServiceError> {
        if self.store().group(id).await?.is_some() {
            return Ok(());
        }
        let placeholder = format!("Group {id} (imported)");
        match self
            .add_group(actor, id, name.unwrap_or(&placeholder))
            .await
        {
            // Created meanwhile by someone else: there it is.
            Ok(_) | Err(crate::ServiceError::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// The lines of a settings file worth reading, with their 1-based numbers.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn skips_blank_lines_and_comments() {
        let numbered: Vec<_> = lines("# c\n\n a;b \nc;d").collect();
        assert_eq!(numbered, vec![(3, "a;b"), (4, "c;d")]);
    }
}
