//! `depot backup DIR` and `depot restore DIR`: the database out of one consistent snapshot, and
//! the package files (copied from local storage, or listed with their hashes when an object
//! store keeps them), into an empty instance that then serves the same feeds and downloads byte
//! for byte.
//!
//! Layout of DIR: `db/TABLE.jsonl` (a header line with the columns, then one JSON array per
//! row), `packages/KEY` (local storage only), and `manifest.json`, written last: a directory
//! without it is not a finished backup.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use depot_store::{BACKUP_TABLES, Cell, ColumnKind, Dumped, MIGRATIONS, StoreError};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Actor, Depot, ServiceError, ServiceResult};

/// The layout's version; a restore refuses others.
const FORMAT: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
pub struct BackupManifest {
    pub format: u32,
    pub depot_version: String,
    /// The last migration of the database backed up.
    pub schema_version: i64,
    pub created_at_ms: i64,
    /// Rows per table.
    pub tables: BTreeMap<String, u64>,
    /// Whether `packages/` holds the files (local storage) or they stayed in the object store.
    pub packages_copied: bool,
    pub packages: Vec<PackageFile>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PackageFile {
    pub key: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Serialize, Deserialize)]
struct Header {
    columns: Vec<(String, Kind)>,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Int,
    Text,
}

impl From<ColumnKind> for Kind {
    fn from(k: ColumnKind) -> Self {
        match k {
            ColumnKind::Int => Kind::Int,
            ColumnKind::Text => Kind::Text,
        }
    }
}

impl From<Kind> for ColumnKind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Int => ColumnKind::Int,
            Kind::Text => ColumnKind::Text,
        }
    }
}

fn to_json(cell: Cell) -> serde_json::Value {
    match cell {
        Cell::Null => serde_json::Value::Null,
        Cell::Int(v) => v.into(),
        Cell::Text(v) => v.into(),
    }
}

fn from_json(value: serde_json::Value, kind: ColumnKind) -> Result<Cell, String> {
    match (value, kind) {
        (serde_json::Value::Null, _) => Ok(Cell::Null),
        (serde_json::Value::Number(n), ColumnKind::Int) => n
            .as_i64()
            .map(Cell::Int)
            .ok_or_else(|| format!("{n} is not a 64-bit integer")),
        (serde_json::Value::String(s), ColumnKind::Text) => Ok(Cell::Text(s)),
        (other, _) => Err(format!("{other} does not fit its column")),
    }
}

fn bad_backup(dir: &Path, why: impl std::fmt::Display) -> ServiceError {
    ServiceError::invalid("bad_backup", format!("{}: {why}", dir.display()))
}

/// The path of a stored object's copy; keys are relative paths without `..` (the storage checks
/// that too).
fn package_path(dir: &Path, key: &str) -> ServiceResult<PathBuf> {
    if key.is_empty() || key.starts_with('/') || key.split('/').any(|p| p == ".." || p.is_empty()) {
        return Err(bad_backup(dir, format!("package key {key:?}")));
    }
    Ok(dir.join("packages").join(key))
}

fn sha256_of_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match file.read(&mut buf)? {
            0 => return Ok(hex::encode(hasher.finalize())),
            n => hasher.update(&buf[..n]),
        }
    }
}

impl Depot {
    /// Writes a backup into `dir`, which must not exist or be empty.
    pub async fn backup(&self, actor: &Actor, dir: &Path) -> ServiceResult<BackupManifest> {
        actor.require_admin()?;
        if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
            return Err(bad_backup(dir, "not empty; back up into a new directory"));
        }
        std::fs::create_dir_all(dir.join("db"))?;
        let mut snapshot = self.store().snapshot().await?;
        let mut tables = BTreeMap::new();
        let mut packages = Vec::new();
        for table in BACKUP_TABLES {
            let file = std::fs::File::create(dir.join("db").join(format!("{table}.jsonl")))?;
            let mut out = std::io::BufWriter::new(file);
            let mut columns: Vec<(String, ColumnKind)> = Vec::new();
            let io = |e: std::io::Error| StoreError::Restore(format!("writing the backup: {e}"));
            let rows = snapshot
                .dump(table, |item| {
                    match item {
                        Dumped::Columns(described) => {
                            columns = described.to_vec();
                            let header = Header {
                                columns: columns
                                    .iter()
                                    .map(|(n, k)| (n.clone(), (*k).into()))
                                    .collect(),
                            };
                            serde_json::to_writer(&mut out, &header).map_err(|e| io(e.into()))?;
                        }
                        Dumped::Row(cells) => {
                            if *table == "artifacts" {
                                packages.push(artifact(&columns, &cells)?);
                            }
                            let row: Vec<_> = cells.into_iter().map(to_json).collect();
                            serde_json::to_writer(&mut out, &row).map_err(|e| io(e.into()))?;
                        }
                    }
                    out.write_all(b"\n").map_err(io)
                })
                .await?;
            out.flush()?;
            tables.insert(table.to_string(), rows);
        }
        drop(snapshot);
        let copied = self.storage().is_local();
        if copied {
            for p in &packages {
                self.copy_out(dir, p).await?;
            }
        }
        let manifest = BackupManifest {
            format: FORMAT,
            depot_version: env!("CARGO_PKG_VERSION").to_string(),
            schema_version: MIGRATIONS.last().map_or(0, |m| m.version),
            created_at_ms: self.store().now_ms(),
            tables,
            packages_copied: copied,
            packages,
        };
        let text = serde_json::to_vec_pretty(&manifest).expect("a manifest serialises");
        std::fs::write(dir.join("manifest.json"), text)?;
        Ok(manifest)
    }

    /// Streams one stored package into the backup, checking its hash on the way.
    async fn copy_out(&self, dir: &Path, p: &PackageFile) -> ServiceResult<()> {
        let path = package_path(dir, &p.key)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let object = self.storage().get(&p.key, None).await?;
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let mut hasher = Sha256::new();
        let mut stream = object.body.into_stream();
        while let Some(chunk) = stream.try_next().await? {
            hasher.update(&chunk);
            file.write_all(&chunk)?;
        }
        file.flush()?;
        if hex::encode(hasher.finalize()) != p.sha256 {
            return Err(ServiceError::invalid(
                "corrupt_package",
                format!(
                    "the stored package {} does not match its recorded hash",
                    p.key
                ),
            ));
        }
        Ok(())
    }

    /// Restores the backup in `dir` into this instance, whose database must be empty. In one
    /// transaction, so that a failure leaves the database as empty as it was: the packages are
    /// checked (and copied into storage), then every row goes in.
    pub async fn restore(&self, actor: &Actor, dir: &Path) -> ServiceResult<BackupManifest> {
        actor.require_admin()?;
        let manifest: BackupManifest = std::fs::read(dir.join("manifest.json"))
            .map_err(|e| {
                bad_backup(
                    dir,
                    format!("no manifest.json ({e}): not a finished backup"),
                )
            })
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| bad_backup(dir, e)))?;
        let ours = MIGRATIONS.last().map_or(0, |m| m.version);
        if manifest.format != FORMAT || manifest.schema_version > ours {
            return Err(bad_backup(
                dir,
                format!(
                    "made by depot {} (schema {}); this depot reads format {FORMAT} up to schema {ours}",
                    manifest.depot_version, manifest.schema_version
                ),
            ));
        }
        let mut restore = self.store().begin_restore().await?;
        self.restore_packages(dir, &manifest).await?;
        for table in BACKUP_TABLES {
            let path = dir.join("db").join(format!("{table}.jsonl"));
            let file =
                std::fs::File::open(&path).map_err(|e| bad_backup(dir, format!("{table}: {e}")))?;
            let mut lines = std::io::BufReader::new(file).lines();
            let Some(header) = lines.next() else {
                return Err(bad_backup(dir, format!("{table}: empty file")));
            };
            let header: Header = serde_json::from_str(&header?)
                .map_err(|e| bad_backup(dir, format!("{table}: header: {e}")))?;
            let columns: Vec<(String, ColumnKind)> = header
                .columns
                .into_iter()
                .map(|(n, k)| (n, k.into()))
                .collect();
            for (n, line) in lines.enumerate() {
                let values: Vec<serde_json::Value> = serde_json::from_str(&line?)
                    .map_err(|e| bad_backup(dir, format!("{table} row {}: {e}", n + 1)))?;
                let cells = values
                    .into_iter()
                    .zip(&columns)
                    .map(|(v, (_, kind))| from_json(v, *kind))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| bad_backup(dir, format!("{table} row {}: {e}", n + 1)))?;
                restore.insert(table, &columns, cells).await?;
            }
        }
        restore.finish().await?;
        self.invalidate_catalogue();
        self.inner.fragments.forget_orders();
        self.audit(
            actor,
            "backup.restored",
            &dir.display().to_string(),
            serde_json::json!({"made_at_ms": manifest.created_at_ms, "depot_version": manifest.depot_version}),
        )
        .await?;
        Ok(manifest)
    }

    /// Copies the backup's package files into storage, checking each hash; or, when they stayed
    /// in an object store, checks that each is there with its size.
    async fn restore_packages(&self, dir: &Path, manifest: &BackupManifest) -> ServiceResult<()> {
        let mut missing = Vec::new();
        for p in &manifest.packages {
            if manifest.packages_copied {
                let path = package_path(dir, &p.key)?;
                let sha = sha256_of_file(&path)
                    .map_err(|e| bad_backup(dir, format!("package {}: {e}", p.key)))?;
                if sha != p.sha256 {
                    return Err(bad_backup(
                        dir,
                        format!("package {} does not match its hash", p.key),
                    ));
                }
                if self.storage().size(&p.key).await? != Some(p.size) {
                    self.storage().put_file(&p.key, &path).await?;
                }
            } else if self.storage().size(&p.key).await? != Some(p.size) {
                missing.push(p.key.clone());
            }
        }
        if !missing.is_empty() {
            return Err(bad_backup(
                dir,
                format!(
                    "{} package(s) are not in the configured storage (e.g. {}): restore against the bucket the backup was made from",
                    missing.len(),
                    missing[0]
                ),
            ));
        }
        Ok(())
    }
}

/// A package file as the `artifacts` table describes it.
fn artifact(columns: &[(String, ColumnKind)], cells: &[Cell]) -> Result<PackageFile, StoreError> {
    let get = |name: &str| {
        columns
            .iter()
            .position(|(c, _)| c == name)
            .and_then(|i| cells.get(i))
            .ok_or_else(|| StoreError::Restore(format!("artifacts without {name}")))
    };
    match (get("storage_key")?, get("size")?, get("sha256")?) {
        (Cell::Text(key), Cell::Int(size), Cell::Text(sha256)) => Ok(PackageFile {
            key: key.clone(),
            size: (*size).max(0) as u64,
            sha256: sha256.clone(),
        }),
        _ => Err(StoreError::Restore(
            "an artifact row without its key, size or hash".into(),
        )),
    }
}
