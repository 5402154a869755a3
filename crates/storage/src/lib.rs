//! Package storage: a local directory (the default) or any S3-compatible store, behind one
//! interface that streams in both directions, so a package of any size never sits in memory.
//!
//! Writes are atomic: a file appears whole under its key or not at all (a local write goes to a
//! staging file that is renamed on completion; an S3 write is a multipart upload completed last).

use std::ops::Range;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::buffered::BufWriter;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::signer::{SignedUrlOptions, Signer};
use object_store::{
    ClientOptions, GetOptions, GetRange, GetResultPayload, ObjectStore, ObjectStoreExt,
};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

mod open_files;

/// The `[storage]` section of the configuration.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct StorageSettings {
    /// `local` or `s3`.
    pub kind: String,
    /// Local: the package directory (default `<data_dir>/packages`).
    pub path: Option<PathBuf>,
    /// S3: endpoint URL for non-AWS stores (MinIO, Garage, R2, …).
    pub endpoint: Option<String>,
    pub bucket: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// S3: `bucket` in the path rather than the host name (what most self-hosted stores need).
    pub path_style: bool,
    /// S3: allow a plain-HTTP endpoint (tests, a store on the same private network).
    pub allow_http: bool,
    /// S3: a key prefix, to share a bucket.
    pub prefix: Option<String>,
    /// S3: answer free downloads with a redirect to a short-lived presigned URL instead of
    /// streaming through depot.
    pub redirect: bool,
    /// Lifetime of a presigned URL, in seconds.
    pub presign_ttl_secs: u64,
}

impl Default for StorageSettings {
    fn default() -> Self {
        StorageSettings {
            kind: "local".into(),
            path: None,
            endpoint: None,
            bucket: None,
            region: "us-east-1".into(),
            access_key_id: None,
            secret_access_key: None,
            path_style: true,
            allow_http: false,
            prefix: None,
            redirect: false,
            presign_ttl_secs: 300,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("storage configuration: {0}")]
    Config(String),
    #[error("stored object {0} not found")]
    NotFound(String),
    #[error("storage error: {0}")]
    Backend(#[from] object_store::Error),
    #[error("storage I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// A stream of an object's bytes.
pub type ByteStream = BoxStream<'static, Result<Bytes, StorageError>>;

/// Bytes read from storage: the part asked for, and the size of the whole object.
pub struct Object {
    pub total_size: u64,
    pub range: Range<u64>,
    pub body: ObjectBody,
}

/// Where an object's bytes come from.
pub enum ObjectBody {
    /// A file on the local disk: a server may hand it to the kernel (`sendfile`) instead of
    /// reading it through user space.
    File(LocalFile),
    /// Bytes streamed from a remote store.
    Stream(ByteStream),
}

/// `range` of an open local file. The file may be shared with other downloads of the same
/// object: read it only at explicit offsets (`read_at`, `sendfile` with an offset), never
/// through its position.
#[derive(Debug)]
pub struct LocalFile {
    pub file: Arc<std::fs::File>,
    pub range: Range<u64>,
}

impl ObjectBody {
    /// The bytes as a stream, whatever their source.
    pub fn into_stream(self) -> ByteStream {
        match self {
            ObjectBody::File(local) => local.into_stream(),
            ObjectBody::Stream(s) => s,
        }
    }
}

#[derive(Clone, Debug)]
enum Backend {
    Local {
        root: PathBuf,
        open: Arc<open_files::OpenFiles>,
    },
    S3 {
        signer: Arc<AmazonS3>,
        redirect: bool,
        ttl: Duration,
    },
}

#[derive(Clone, Debug)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    backend: Backend,
    prefix: Option<Path>,
}

/// Bytes per read of a local file: large enough that a 100 MiB download takes a couple of
/// thousand reads, small enough that a thousand slow readers hold little memory (a connection
/// holds about one chunk).
const FILE_CHUNK: usize = 64 * 1024;

impl LocalFile {
    /// The range as a blocking reader (at its own offsets, so sharing the file is safe).
    pub fn into_reader(self) -> impl std::io::Read + Send {
        struct At(LocalFile);
        impl std::io::Read for At {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                use std::os::unix::fs::FileExt;
                let LocalFile { file, range } = &mut self.0;
                let want = buf.len().min((range.end - range.start) as usize);
                if want == 0 {
                    return Ok(0);
                }
                let n = file.read_at(&mut buf[..want], range.start)?;
                range.start += n as u64;
                Ok(n)
            }
        }
        At(self)
    }

    /// The range as a stream of `FILE_CHUNK`-sized reads, for a server that cannot `sendfile`.
    ///
    /// The reads are made on the runtime's thread, not handed to the blocking pool: packages
    /// are read over and over and live in the page cache, where a 64 KiB read is a memory copy
    /// of a few microseconds, while a hand-off to a blocking thread and back costs two context
    /// switches per chunk (measured: 1 MiB downloads 2.7x faster this way). A read that misses
    /// the cache holds one worker for one disk read.
    pub fn into_stream(self) -> ByteStream {
        use std::os::unix::fs::FileExt;
        let LocalFile { file, range } = self;
        let stream = futures::stream::unfold((file, range), |(file, range)| async move {
            if range.is_empty() {
                return None;
            }
            let want = (range.end - range.start).min(FILE_CHUNK as u64) as usize;
            let mut buf = bytes::BytesMut::zeroed(want);
            match file.read_at(&mut buf, range.start) {
                Ok(0) => Some((
                    Err(StorageError::Io(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the stored file is shorter than recorded",
                    ))),
                    (file, range.end..range.end),
                )),
                Ok(n) => {
                    buf.truncate(n);
                    let rest = range.start + n as u64..range.end;
                    Some((Ok(buf.freeze()), (file, rest)))
                }
                Err(e) => Some((Err(StorageError::Io(e)), (file, range.end..range.end))),
            }
        });
        stream.boxed()
    }
}

/// Multipart parts must be at least 5 MiB on S3; 8 MiB keeps memory per upload bounded.
const WRITE_BUFFER: usize = 8 << 20;

impl Storage {
    /// Opens the configured store. `data_dir` anchors the default local directory.
    pub fn open(settings: &StorageSettings, data_dir: &FsPath) -> Result<Self, StorageError> {
        let prefix = settings
            .prefix
            .as_deref()
            .filter(|p| !p.trim_matches('/').is_empty())
            .map(|p| Path::parse(p.trim_matches('/')))
            .transpose()
            .map_err(|e| StorageError::Config(format!("prefix: {e}")))?;
        match settings.kind.as_str() {
            "local" => {
                let root = settings
                    .path
                    .clone()
                    .unwrap_or_else(|| data_dir.join("packages"));
                std::fs::create_dir_all(&root).map_err(|e| {
                    StorageError::Config(format!("cannot create {}: {e}", root.display()))
                })?;
                let root = root.canonicalize()?;
                let store = LocalFileSystem::new_with_prefix(&root)?;
                Ok(Storage {
                    store: Arc::new(store),
                    backend: Backend::Local {
                        root,
                        open: Default::default(),
                    },
                    prefix,
                })
            }
            "s3" => {
                let bucket = settings
                    .bucket
                    .as_deref()
                    .filter(|b| !b.is_empty())
                    .ok_or_else(|| {
                        StorageError::Config("storage.bucket is required for s3".into())
                    })?;
                let mut builder = AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(&settings.region)
                    .with_virtual_hosted_style_request(!settings.path_style)
                    // `with_client_options` replaces all client options, so allow_http goes here.
                    .with_client_options(
                        ClientOptions::new()
                            .with_allow_http(settings.allow_http)
                            .with_timeout(Duration::from_secs(300))
                            .with_connect_timeout(Duration::from_secs(10)),
                    );
                if let Some(endpoint) = settings.endpoint.as_deref().filter(|e| !e.is_empty()) {
                    builder = builder.with_endpoint(endpoint);
                }
                if let Some(id) = &settings.access_key_id {
                    builder = builder.with_access_key_id(id);
                }
                if let Some(secret) = &settings.secret_access_key {
                    builder = builder.with_secret_access_key(secret);
                }
                let s3 = Arc::new(builder.build()?);
                Ok(Storage {
                    store: s3.clone(),
                    backend: Backend::S3 {
                        signer: s3,
                        redirect: settings.redirect,
                        ttl: Duration::from_secs(
                            settings.presign_ttl_secs.clamp(10, 7 * 24 * 3600),
                        ),
                    },
                    prefix,
                })
            }
            other => Err(StorageError::Config(format!(
                "storage.kind {other:?} is not local or s3"
            ))),
        }
    }

    /// A human description, for logs and `check-config`.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Local { root, .. } => format!("local directory {}", root.display()),
            Backend::S3 { signer, .. } => format!("S3 {signer}"),
        }
    }

    fn path(&self, key: &str) -> Result<Path, StorageError> {
        let key =
            Path::parse(key).map_err(|e| StorageError::Config(format!("key {key:?}: {e}")))?;
        Ok(match &self.prefix {
            Some(p) => p.parts().chain(key.parts()).collect(),
            None => key,
        })
    }

    /// Stores a local file under `key`, streamed; the object appears only once it is complete.
    pub async fn put_file(&self, key: &str, file: &FsPath) -> Result<(), StorageError> {
        let path = self.path(key)?;
        let mut src = tokio::fs::File::open(file).await?;
        let mut dst = BufWriter::with_capacity(self.store.clone(), path, WRITE_BUFFER);
        match tokio::io::copy(&mut src, &mut dst).await {
            Ok(_) => {
                dst.shutdown().await?;
                Ok(())
            }
            Err(e) => {
                let _ = dst.abort().await;
                Err(e.into())
            }
        }
    }

    /// Whether the objects are files on this machine (a backup copies them) rather than in an
    /// object store that keeps its own copies (a backup lists them).
    pub fn is_local(&self) -> bool {
        matches!(self.backend, Backend::Local { .. })
    }

    /// Removes the partial files a process killed mid-write left in local storage (the
    /// `NAME#N` staging files an object becomes when complete) once older than `max_age`;
    /// younger ones may be another instance's write in flight. Returns how many went. Blocking:
    /// call it off the runtime.
    pub fn remove_stale_partials(&self, max_age: Duration) -> std::io::Result<usize> {
        let Backend::Local { root, .. } = &self.backend else {
            return Ok(0);
        };
        fn walk(dir: &FsPath, max_age: Duration, removed: &mut usize) -> std::io::Result<()> {
            let entries = match std::fs::read_dir(dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(e),
            };
            for entry in entries.flatten() {
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                if kind.is_dir() {
                    walk(&entry.path(), max_age, removed)?;
                    continue;
                }
                let name = entry.file_name();
                let partial = name
                    .to_string_lossy()
                    .rsplit_once('#')
                    .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
                let old = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t.elapsed().unwrap_or_default() > max_age);
                if partial && old && std::fs::remove_file(entry.path()).is_ok() {
                    *removed += 1;
                }
            }
            Ok(())
        }
        let mut removed = 0;
        walk(root, max_age, &mut removed)?;
        Ok(removed)
    }

    /// Size of the stored object, or `None` if there is none.
    pub async fn size(&self, key: &str) -> Result<Option<u64>, StorageError> {
        match self.store.head(&self.path(key)?).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Reads `range` (or the whole object) as a stream.
    pub async fn get(&self, key: &str, range: Option<Range<u64>>) -> Result<Object, StorageError> {
        if let Backend::Local { root, open } = &self.backend
            && let Some(object) = open.get(root, &self.path(key)?, range.clone())?
        {
            return Ok(object);
        }
        let opts = GetOptions {
            range: range.map(GetRange::Bounded),
            ..Default::default()
        };
        let result = match self.store.get_opts(&self.path(key)?, opts).await {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(StorageError::NotFound(key.to_string()));
            }
            Err(e) => return Err(e.into()),
        };
        let total_size = result.meta.size;
        let range = result.range.clone();
        let body = match result.payload {
            GetResultPayload::File(file, _) => ObjectBody::File(LocalFile {
                file: Arc::new(file),
                range: range.clone(),
            }),
            GetResultPayload::Stream(s) => {
                ObjectBody::Stream(s.map_err(StorageError::from).boxed())
            }
        };
        Ok(Object {
            total_size,
            range,
            body,
        })
    }

    /// Deletes an object; deleting a missing one is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.store.delete(&self.path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// A short-lived presigned GET URL that makes the store send `Content-Disposition` itself,
    /// when the store is S3 and redirects are enabled; `None` otherwise (stream instead).
    pub async fn redirect_url(
        &self,
        key: &str,
        content_disposition: &str,
    ) -> Result<Option<url::Url>, StorageError> {
        let Backend::S3 {
            signer,
            redirect: true,
            ttl,
        } = &self.backend
        else {
            return Ok(None);
        };
        let opts = SignedUrlOptions::new()
            .with_query([("response-content-disposition", content_disposition)]);
        let url = signer
            .signed_url_opts(http::Method::GET, &self.path(key)?, *ttl, &opts)
            .await?;
        Ok(Some(url))
    }

    /// Whether the store answers: for readiness checks.
    pub async fn check(&self) -> Result<(), StorageError> {
        match &self.backend {
            Backend::Local { root, .. } => {
                tokio::fs::metadata(root).await?;
                Ok(())
            }
            Backend::S3 { .. } => {
                let prefix = self.prefix.clone();
                let mut listing = self.store.list(prefix.as_ref());
                match listing.next().await {
                    None | Some(Ok(_)) => Ok(()),
                    Some(Err(e)) => Err(e.into()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_partial_files_go_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(&StorageSettings::default(), dir.path()).unwrap();
        let root = dir.path().join("packages").join("ab");
        std::fs::create_dir_all(&root).unwrap();
        let old = |name: &str| {
            let path = root.join(name);
            let file = std::fs::File::create(&path).unwrap();
            let day_ago = std::time::SystemTime::now() - Duration::from_secs(86_400);
            file.set_modified(day_ago).unwrap();
            path
        };
        let stale = old("pkg.zip#17");
        let complete = old("pkg.zip");
        let odd = old("notes#draft");
        let fresh = root.join("other.zip#3");
        std::fs::write(&fresh, b"in flight").unwrap();
        assert_eq!(
            storage
                .remove_stale_partials(Duration::from_secs(3600))
                .unwrap(),
            1
        );
        assert!(!stale.exists() && complete.exists() && odd.exists() && fresh.exists());
    }
}
