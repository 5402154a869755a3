//! Local packages opened once for every download in flight.
//!
//! A download of a local file holds the file open until its last byte is sent. With one
//! descriptor per download, ten thousand slow readers of one release need ten thousand
//! descriptors for the files beside ten thousand for the sockets, past the usual hard limit of
//! 20,000. Stored objects are named by their content (`packages/ab/abcd….zip`), so every download
//! of one key reads the same bytes and can share one open file, read at explicit offsets
//! (`pread`, `sendfile` with an offset), never through the file's position. The file closes when
//! its last download ends; the map keeps only weak handles.

use std::collections::HashMap;
use std::fs::File;
use std::ops::Range;
use std::path::Path as FsPath;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use object_store::path::Path;

use crate::{LocalFile, Object, ObjectBody, StorageError};

/// Below this many entries the map is not swept for closed files.
const SWEEP_FLOOR: usize = 256;

#[derive(Debug, Default)]
pub(crate) struct OpenFiles {
    files: Mutex<Files>,
}

#[derive(Debug, Default)]
struct Files {
    /// By the object's key: a string hashes in a few instructions per byte, a `Path` component
    /// by component (~4,000 instructions per download, measured). The size is the open file's
    /// own, read when it was opened: an object stored again under the key is a new file, seen
    /// once the downloads holding the old one end (as before the size was kept).
    by_key: HashMap<Box<str>, OpenFile>,
    /// Sweep closed files once the map grows past this (twice the open ones after a sweep).
    sweep_at: usize,
}

/// Whether object_store would store `location` under the same file name (it escapes other
/// characters); keys depot writes are hex digests, `/` and `.zip`.
fn is_plain(location: &Path) -> bool {
    location
        .as_ref()
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'-' | b'_'))
}

#[derive(Debug)]
struct OpenFile {
    file: Weak<File>,
    size: u64,
}

impl OpenFiles {
    /// `range` (or all) of the object at `location` under `root`, from a file shared with the
    /// downloads in flight; `None` for a location this does not handle (read it through
    /// object_store).
    pub(crate) fn get(
        &self,
        root: &FsPath,
        location: &Path,
        range: Option<Range<u64>>,
    ) -> Result<Option<Object>, StorageError> {
        if !is_plain(location) {
            return Ok(None);
        }
        let (file, total_size) =
            self.open(root, location.as_ref())
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => StorageError::NotFound(location.to_string()),
                    _ => StorageError::Io(e),
                })?;
        let range = range.unwrap_or(0..total_size);
        if range.start > range.end || range.end > total_size {
            return Err(StorageError::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "bytes {}-{} asked of a stored file of {total_size}",
                    range.start, range.end
                ),
            )));
        }
        Ok(Some(Object {
            total_size,
            range: range.clone(),
            body: ObjectBody::File(LocalFile { file, range }),
        }))
    }

    /// The open file of `key` and its size, opened now if no download holds it.
    fn open(&self, root: &FsPath, key: &str) -> std::io::Result<(Arc<File>, u64)> {
        let mut files = self.files.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(open) = files.by_key.get(key)
            && let Some(file) = open.file.upgrade()
        {
            return Ok((file, open.size));
        }
        // Opened under the lock: two first downloads of one file open it once. An open of a
        // file in the page cache's directory entries takes microseconds.
        let file = Arc::new(File::open(root.join(key))?);
        let size = file.metadata()?.len();
        let open = OpenFile {
            file: Arc::downgrade(&file),
            size,
        };
        files.by_key.insert(key.into(), open);
        if files.by_key.len() > files.sweep_at.max(SWEEP_FLOOR) {
            files.by_key.retain(|_, open| open.file.strong_count() > 0);
            files.sweep_at = 2 * files.by_key.len();
        }
        Ok((file, size))
    }

    /// How many files are open for downloads (for tests).
    #[cfg(test)]
    fn open_count(&self) -> usize {
        let files = self.files.lock().unwrap_or_else(PoisonError::into_inner);
        files
            .by_key
            .values()
            .filter(|open| open.file.strong_count() > 0)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn downloads_of_one_object_share_its_file_and_read_their_own_ranges() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("packages/ab")).unwrap();
        std::fs::write(dir.path().join("packages/ab/abcd.zip"), b"0123456789").unwrap();
        let open = OpenFiles::default();
        let key = Path::from("packages/ab/abcd.zip");
        let read = |object: Object| {
            let ObjectBody::File(local) = object.body else {
                panic!("a local file")
            };
            let mut bytes = Vec::new();
            local.into_reader().read_to_end(&mut bytes).unwrap();
            bytes
        };
        let whole = open.get(dir.path(), &key, None).unwrap().unwrap();
        let part = open.get(dir.path(), &key, Some(2..5)).unwrap().unwrap();
        assert_eq!((whole.total_size, part.total_size), (10, 10));
        let (ObjectBody::File(a), ObjectBody::File(b)) = (&whole.body, &part.body) else {
            panic!("local files")
        };
        assert!(Arc::ptr_eq(&a.file, &b.file), "one open file for both");
        assert_eq!(open.open_count(), 1);
        assert_eq!(read(part), b"234");
        assert_eq!(read(whole), b"0123456789");
        // Closed with its last download; opened again for the next one.
        assert_eq!(open.open_count(), 0);
        assert_eq!(
            read(open.get(dir.path(), &key, Some(8..10)).unwrap().unwrap()),
            b"89"
        );
    }

    #[test]
    fn missing_objects_short_files_and_unusual_names_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("short.zip"), b"abc").unwrap();
        let open = OpenFiles::default();
        let missing = open.get(dir.path(), &Path::from("packages/none.zip"), None);
        assert!(matches!(missing, Err(StorageError::NotFound(_))));
        let short = open.get(dir.path(), &Path::from("short.zip"), Some(0..4));
        assert!(matches!(short, Err(StorageError::Io(_))));
        // object_store escapes names like this one on disk: left to it.
        let unusual = open.get(dir.path(), &Path::from("a b.zip"), None).unwrap();
        assert!(unusual.is_none());
    }
}
