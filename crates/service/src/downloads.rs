//! Downloads: resolving a download URL to the stored file behind it, then answering it (checking
//! the credentials, choosing between a redirect and a stream, recording the event).

use std::ops::Range;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use depot_core::{Refusal, ReleaseState};
use depot_storage::{ByteStream, LocalFile, ObjectBody, StorageError};
use depot_store::DownloadTarget;
use futures::Stream;

use crate::{Credentials, Depot, EventRecorder, Grant, Requester, ServiceError, ServiceResult};

/// A published release file, ready to be served.
#[derive(Clone, Debug)]
pub struct Download {
    pub extension_id: i64,
    pub artifact_id: i64,
    pub storage_key: String,
    pub filename: String,
    pub size: u64,
    pub sha256: String,
    /// When the file was stored, in milliseconds since the epoch.
    pub created_at_ms: i64,
    /// When its release was published.
    pub published_at: Option<i64>,
    /// `Some` for a paid package: the package group whose members may download it.
    pub package_group_id: Option<i64>,
    /// Its `.minisig`, once signed.
    pub signature: Option<String>,
}

impl Download {
    /// A strong validator for the file: its content hash.
    pub fn etag(&self) -> String {
        format!("\"{}\"", &self.sha256[..self.sha256.len().min(32)])
    }
}

fn published(target: Option<DownloadTarget>) -> ServiceResult<Download> {
    // Drafts and yanked releases are as absent to a downloader as to a feed reader.
    match target {
        Some(t) if t.state == ReleaseState::Published => Ok(Download {
            extension_id: t.extension_id,
            artifact_id: t.artifact.id,
            storage_key: t.artifact.storage_key,
            filename: t.artifact.filename,
            size: t.artifact.size.max(0) as u64,
            sha256: t.artifact.sha256,
            created_at_ms: t.artifact.created_at,
            published_at: t.published_at,
            package_group_id: t.package_group_id,
            signature: t.signature,
        }),
        _ => Err(ServiceError::NotFound { what: "package" }),
    }
}

/// How a download URL names its file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum DownloadKey {
    /// `/download/{extension}/{version}/{filename}`
    Path {
        extension: String,
        version: String,
        filename: String,
    },
    /// jBackend's package id.
    Package(String),
}

impl Depot {
    /// `/download/{extension}/{version}/{filename}`: the name must be the one the feed emits.
    pub async fn resolve_download(
        &self,
        extension: &str,
        version: &str,
        filename: &str,
    ) -> ServiceResult<Download> {
        let key = DownloadKey::Path {
            extension: extension.to_string(),
            version: version.to_string(),
            filename: filename.to_string(),
        };
        published(self.download_target(key).await?)
    }

    /// jBackend's `/get/release/download/{package_id}`.
    pub async fn resolve_package(&self, package_id: &str) -> ServiceResult<Download> {
        published(
            self.download_target(DownloadKey::Package(package_id.to_string()))
                .await?,
        )
    }

    /// A download URL's target, from the catalogue cache when it is there.
    async fn download_target(&self, key: DownloadKey) -> ServiceResult<Option<DownloadTarget>> {
        let store = self.store();
        self.inner
            .catalogue
            .downloads
            .get_or_load(key.clone(), || async move {
                match &key {
                    DownloadKey::Path {
                        extension,
                        version,
                        filename,
                    } => store.download_target(extension, version, filename).await,
                    DownloadKey::Package(id) => store.download_target_by_package_id(id).await,
                }
            })
            .await
            .map_err(ServiceError::from)
    }
}

/// Which bytes of a download the request wants, once its HTTP conditions are evaluated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wanted {
    /// The whole file: a download, recorded as one.
    Whole,
    /// A byte range of it (a resumed download; not recorded as a new one).
    Part(Range<u64>),
    /// The client's copy is current (`If-None-Match`).
    Unchanged,
    /// A range outside the file.
    Unsatisfiable,
}

/// A download request, as the use case sees it.
#[derive(Debug)]
pub struct DownloadRequest<'a> {
    pub credentials: Credentials,
    pub requester: Requester,
    pub wanted: Wanted,
    /// A `HEAD` request: headers only, nothing recorded.
    pub head: bool,
    /// The `Content-Disposition` a storage that hands the bytes out itself must send.
    pub disposition: &'a str,
}

/// How a permitted download is answered.
pub enum Delivery {
    /// Nothing to send: the client's copy is current.
    Unchanged,
    /// The range lies outside the file.
    Unsatisfiable,
    /// The storage serves the bytes itself, from this (short-lived) URL.
    Redirect(url::Url),
    /// Headers only (`HEAD`), for these bytes.
    Head(Range<u64>),
    /// These bytes of the file, as a stream that records the download when it ends.
    Bytes {
        range: Range<u64>,
        body: Box<DownloadBody>,
    },
}

/// What was decided for a download: whose it is (`None` for a free package) and how to answer.
pub struct Served {
    pub grant: Option<Grant>,
    pub delivery: Delivery,
}

impl Depot {
    /// Answers a download: checks the credentials (a refusal is recorded in the download log),
    /// then says where the bytes come from, recording a whole download when it is handed out.
    pub async fn serve_download(
        &self,
        download: Download,
        request: DownloadRequest<'_>,
    ) -> ServiceResult<Served> {
        let DownloadRequest {
            credentials,
            mut requester,
            wanted,
            head,
            disposition,
        } = request;
        let authorized = match self.authorize(&download, &credentials).await {
            Ok(grant) => self.refuse_if_shared(grant, requester.ip.as_deref()),
            Err(e) => Err(e),
        };
        requester.grant = match authorized {
            Ok(grant) => grant,
            Err(e) => {
                if !head {
                    let refusal = e.refusal().unwrap_or(Refusal::Internal);
                    self.events()
                        .download_denied(&download, refusal, &requester);
                    let client = requester.ip.as_deref().unwrap_or("-");
                    self.emit_refusal(refusal.code(), client, &download.filename);
                }
                return Err(e);
            }
        };
        let grant = requester.grant;
        let whole = wanted == Wanted::Whole;
        let range = match wanted {
            Wanted::Unchanged => return Ok(Served::new(grant, Delivery::Unchanged)),
            Wanted::Unsatisfiable => return Ok(Served::new(grant, Delivery::Unsatisfiable)),
            Wanted::Whole => 0..download.size,
            Wanted::Part(range) => range,
        };
        if !head
            && let Some(url) = self
                .inner
                .storage
                .redirect_url(&download.storage_key, disposition)
                .await?
        {
            if whole {
                self.events()
                    .download_served(&download, 302, download.size, &requester);
            }
            return Ok(Served::new(grant, Delivery::Redirect(url)));
        }
        if head || range.is_empty() {
            return Ok(Served::new(grant, Delivery::Head(range)));
        }
        let object = self
            .inner
            .storage
            .get(&download.storage_key, (!whole).then(|| range.clone()))
            .await
            .map_err(|e| match e {
                StorageError::NotFound(_) => {
                    tracing::error!(key = %download.storage_key, "a published package file is missing from storage");
                    ServiceError::NotFound { what: "package" }
                }
                other => ServiceError::from(other),
            })?;
        let on_end = whole.then(|| EventDraft {
            recorder: self.events().clone(),
            download,
            requester,
        });
        let (file, stream) = match object.body {
            ObjectBody::File(file) => (Some(file), None),
            ObjectBody::Stream(stream) => (None, Some(stream)),
        };
        let body = DownloadBody {
            file,
            stream,
            sent: 0,
            on_end,
        };
        Ok(Served::new(
            grant,
            Delivery::Bytes {
                range,
                body: Box::new(body),
            },
        ))
    }
}

impl Depot {
    /// A package's `.minisig`, to whoever may download the package. Not a download: nothing
    /// is recorded.
    pub async fn download_signature(
        &self,
        download: Download,
        credentials: &Credentials,
    ) -> ServiceResult<String> {
        self.authorize(&download, credentials).await?;
        download
            .signature
            .ok_or(ServiceError::NotFound { what: "signature" })
    }
}

impl Served {
    fn new(grant: Option<Grant>, delivery: Delivery) -> Self {
        Served { grant, delivery }
    }
}

/// What is known of a download event before its bytes have been sent.
struct EventDraft {
    recorder: EventRecorder,
    download: Download,
    requester: Requester,
}

/// A download's bytes. Counts what was actually delivered and, for a whole download, records
/// the event when the body ends or is dropped (a client that disconnects half way is recorded
/// with the bytes it got).
///
/// A body read from the local disk holds the open file until it is either streamed or taken
/// by a server that sends it by other means ([`DownloadBody::take_local_file`]).
pub struct DownloadBody {
    file: Option<LocalFile>,
    stream: Option<ByteStream>,
    sent: u64,
    on_end: Option<EventDraft>,
}

impl DownloadBody {
    /// The local file behind the body, if there is one and nothing was streamed yet, for a
    /// server that hands it to the kernel. Whoever takes it reports what it sent through
    /// [`DownloadBody::record_sent`]; the body itself then yields nothing.
    pub fn take_local_file(&mut self) -> Option<LocalFile> {
        self.file.take()
    }

    /// Counts `n` bytes sent by whoever took the local file.
    pub fn record_sent(&mut self, n: u64) {
        self.sent += n;
    }

    /// Records a whole download now, as sent in full, before its last bytes are handed over:
    /// once they leave, the client may act on the complete download before this process
    /// records anything (a streamed body records when its last chunk is taken, before it is
    /// written, for the same reason).
    pub fn record_whole(&mut self, total: u64) {
        self.sent = total;
        self.record_event();
    }

    /// Records a whole download's event, once, with the bytes counted so far.
    fn record_event(&mut self) {
        if let Some(d) = self.on_end.take() {
            d.recorder
                .download_served(&d.download, 200, self.sent, &d.requester);
        }
    }
}

impl Stream for DownloadBody {
    type Item = Result<Bytes, StorageError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.stream.is_none() {
            match this.file.take() {
                Some(file) => this.stream = Some(file.into_stream()),
                None => return Poll::Ready(None),
            }
        }
        let Some(stream) = this.stream.as_mut() else {
            return Poll::Ready(None);
        };
        let poll = stream.as_mut().poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &poll {
            this.sent += chunk.len() as u64;
        }
        poll
    }
}

impl Drop for DownloadBody {
    fn drop(&mut self) {
        crate::metrics::download_bytes(self.sent);
        self.record_event();
    }
}
