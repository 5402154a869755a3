//! `depot backup DIR` and `depot restore DIR`: the service's backup plus the server secret, which
//! every download and jBackend key derives from (a restore without it would invalidate them
//! all). The secret is written owner-only; the whole backup is as sensitive as the database
//! (it holds password hashes), so keep it where the database is kept.

use std::path::Path;

use anyhow::{Context, bail};
use depot_service::{Actor, BackupManifest};

use crate::config::Settings;
use crate::startup;

const SECRET_FILE: &str = "secret";

fn secret_text(settings: &Settings) -> anyhow::Result<Option<String>> {
    if let Some(s) = settings
        .secret
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        return Ok(Some(s.to_string()));
    }
    let path = settings.data_dir.join(SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(s) => Ok(Some(s.trim().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
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
    let depot = startup::build_depot(settings).await?;
    let restored = depot.restore(&Actor::system("depot restore"), dir).await;
    depot.shutdown().await;
    restored.with_context(|| format!("restoring from {}", dir.display()))
}
