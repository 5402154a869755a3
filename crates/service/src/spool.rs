//! Receiving an upload: the body is streamed to a temporary file while it is hashed and counted,
//! so that a package of any size costs a fixed amount of memory, a too-large body is cut off as
//! soon as it passes the limit, and an interrupted upload leaves nothing behind (the temporary
//! file is deleted when dropped).

use std::path::Path;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256, Sha384, Sha512};
use tempfile::NamedTempFile;
use tokio::io::AsyncWriteExt;

use crate::error::{ServiceError, ServiceResult};

/// An upload received in full.
pub struct Spooled {
    pub file: NamedTempFile,
    pub size: u64,
    pub sha256: String,
    pub sha384: String,
    pub sha512: String,
    /// What Composer checks a dist against.
    pub sha1: String,
}

pub async fn spool<S, E>(dir: &Path, mut body: S, limit: u64) -> ServiceResult<Spooled>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    tokio::fs::create_dir_all(dir).await?;
    let temp = tempfile::Builder::new()
        .prefix("upload-")
        .suffix(".zip")
        .tempfile_in(dir)?;
    let mut out = tokio::fs::File::from_std(temp.reopen()?);
    let (mut h256, mut h384, mut h512) = (Sha256::new(), Sha384::new(), Sha512::new());
    let mut h1 = sha1::Sha1::new();
    let mut size: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ServiceError::UploadAborted(e.to_string()))?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(ServiceError::TooLarge(limit));
        }
        h256.update(&chunk);
        h384.update(&chunk);
        h512.update(&chunk);
        h1.update(&chunk);
        out.write_all(&chunk).await?;
    }
    out.flush().await?;
    out.sync_all().await?;
    Ok(Spooled {
        file: temp,
        size,
        sha256: hex::encode(h256.finalize()),
        sha384: hex::encode(h384.finalize()),
        sha512: hex::encode(h512.finalize()),
        sha1: hex::encode(h1.finalize()),
    })
}

/// An upload spooled longer ago than this is not in flight: its request is gone (the process
/// that took it was killed) and nothing will remove it.
pub(crate) const STALE_SPOOL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Removes spooled uploads (`upload-*.zip`) older than `max_age` from `dir`: what a killed
/// process left behind. Recent ones may be another instance's uploads in flight (instances can
/// share a data directory), so they stay. Returns how many were removed.
pub(crate) fn remove_stale(dir: &Path, max_age: std::time::Duration) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with("upload-") && name.ends_with(".zip")) {
            continue;
        }
        // Another instance sharing the directory may remove the same file first: skip it.
        let Ok(modified) = entry.metadata().and_then(|m| m.modified()) else {
            continue;
        };
        if modified.elapsed().unwrap_or_default() <= max_age {
            continue;
        }
        match std::fs::remove_file(entry.path()) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(parts: &[&'static [u8]]) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
        futures::stream::iter(
            parts
                .iter()
                .map(|p| Ok(Bytes::from_static(p)))
                .collect::<Vec<_>>(),
        )
    }

    #[tokio::test]
    async fn hashes_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let s = spool(dir.path(), body(&[b"ab", b"c"]), 10).await.unwrap();
        assert_eq!(s.size, 3);
        assert_eq!(
            s.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // The FIPS 180-2 vectors for "abc": feeds carry sha256 and sha512, and Joomla checks them.
        assert_eq!(
            s.sha384,
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed\
             8086072ba1e7cc2358baeca134c825a7"
        );
        assert_eq!(
            s.sha512,
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
        assert_eq!(s.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(std::fs::read(s.file.path()).unwrap(), b"abc");
    }

    #[tokio::test]
    async fn too_large_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let e = spool(dir.path(), body(&[b"abcdef", b"ghijk"]), 10)
            .await
            .err()
            .unwrap();
        assert!(matches!(e, ServiceError::TooLarge(10)));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn aborted_body_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let parts: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(Bytes::from_static(b"abc")),
            Err(std::io::Error::other("connection reset")),
        ];
        let e = spool(dir.path(), futures::stream::iter(parts), 100)
            .await
            .err()
            .unwrap();
        assert!(matches!(e, ServiceError::UploadAborted(_)));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn stale_spool_files_are_removed_and_fresh_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("upload-old.zip");
        let fresh = dir.path().join("upload-fresh.zip");
        let other = dir.path().join("notes.txt");
        for p in [&old, &fresh, &other] {
            std::fs::write(p, b"x").unwrap();
        }
        let two_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(48 * 3600);
        for p in [&old, &other] {
            std::fs::File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(two_days_ago)
                .unwrap();
        }
        assert_eq!(remove_stale(dir.path(), STALE_SPOOL).unwrap(), 1);
        assert!(!old.exists() && fresh.exists() && other.exists());
        assert_eq!(
            remove_stale(&dir.path().join("missing"), STALE_SPOOL).unwrap(),
            0
        );
    }
}
