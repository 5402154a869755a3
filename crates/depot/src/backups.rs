//! `depot backup DIR` and `depot restore DIR`: the service's backup plus the server secret, which
//! every download and jBackend key derives from (a restore without it would invalidate them
//! all), and the signing key (a restore without it would sign with a new one, which customers
//! who pinned the old public key would not trust). Both are written owner-only; the whole
//! backup is as sensitive as the database (it holds password hashes), so keep it where the
//! database is kept.

use std::path::Path;

use anyhow::{Context, bail};
use depot_service::{Actor, BackupManifest};

use crate::config::Settings;
use crate::startup;

const SECRET_FILE: &str = "secret";
const SIGNING_KEY_FILE: &str = "signing.key";

/// A file's text, or `None` when there is no such file.
fn read_if_there(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Where the instance's signing key is (configured, or generated into the data directory).
fn signing_key_path(settings: &Settings) -> std::path::PathBuf {
    settings
        .signing_key
        .clone()
        .unwrap_or_else(|| settings.data_dir.join(SIGNING_KEY_FILE))
}

fn secret_text(settings: &Settings) -> anyhow::Result<Option<String>> {
    if let Some(s) = settings
        .secret
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        return Ok(Some(s.to_string()));
    }
    Ok(read_if_there(&settings.data_dir.join(SECRET_FILE))?.map(|s| s.trim().to_string()))
}

fn write_owner_only(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

pub async fn backup(settings: &Settings, dir: &Path) -> anyhow::Result<BackupManifest> {
    let depot = startup::build_depot(settings).await?;
    let made = depot.backup(&Actor::system("depot backup"), dir).await;
    depot.shutdown().await;
    let manifest = made.with_context(|| format!("backing up into {}", dir.display()))?;
    if let Some(secret) = secret_text(settings)? {
        write_owner_only(&dir.join(SECRET_FILE), &secret)?;
    }
    if let Some(key) = read_if_there(&signing_key_path(settings))? {
        write_owner_only(&dir.join(SIGNING_KEY_FILE), &key)?;
    }
    Ok(manifest)
}

pub async fn restore(settings: &Settings, dir: &Path) -> anyhow::Result<BackupManifest> {
    // The secret first: starting the service would otherwise generate a new one.
    let saved = std::fs::read_to_string(dir.join(SECRET_FILE))
        .ok()
        .map(|s| s.trim().to_string());
    if let Some(saved) = &saved {
        match secret_text(settings)? {
            Some(current) if current != *saved => bail!(
                "the backup's server secret differs from this instance's ({}): every key would \
                 stop working; restore into an instance without a secret, or configure the \
                 backup's",
                if settings.secret.is_some() {
                    "configured"
                } else {
                    "in the data directory"
                }
            ),
            Some(_) => {}
            None => {
                std::fs::create_dir_all(&settings.data_dir)?;
                write_owner_only(&settings.data_dir.join(SECRET_FILE), saved)?;
            }
        }
    }
    // The signing key too, unless this instance has its own: then that one is a rotation (the
    // packages are re-signed with it, and the backup's public key stays published).
    if let Some(key) = read_if_there(&dir.join(SIGNING_KEY_FILE))? {
        let path = signing_key_path(settings);
        match read_if_there(&path)? {
            Some(current) if current.trim() != key.trim() => eprintln!(
                "note: this instance signs with its own key ({}), not the backup's: the \
                 packages will be re-signed with it",
                path.display()
            ),
            Some(_) => {}
            None => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                write_owner_only(&path, &key)?;
            }
        }
    }
    let depot = startup::build_depot(settings).await?;
    let restored = depot.restore(&Actor::system("depot restore"), dir).await;
    depot.shutdown().await;
    restored.with_context(|| format!("restoring from {}", dir.display()))
}
