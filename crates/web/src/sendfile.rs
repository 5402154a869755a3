//! Zero-copy downloads: a package on the local disk goes from the page cache to the socket with
//! `sendfile(2)`, never through user space, and a connection sending one holds no buffer of it.
//!
//! hyper writes a response by handing the connection's IO the head and the body's frames as
//! `IoSlice`s; with an IO that takes vectored writes it queues body frames as they are and never
//! copies them. So a file's body ([`FileBody`]) yields frames that are slices of one static,
//! never-written buffer ([`PLACEHOLDER`]), and the connection's IO ([`SendfileStream`])
//! recognises them by address and sends, in their place, as many bytes of the file with
//! `sendfile`. hyper does all of HTTP (the head, `Content-Length`, keep-alive, pipelining, a
//! client that goes away) and never sees the difference.
//!
//! The body and the IO share the connection's queue of files ([`Files`]): the body pushes its
//! file when hyper first polls it, the IO sends from the front of the queue and pops a file once
//! its range is sent. Responses on an HTTP/1 connection are written one after the other, so the
//! queue is in the order of the placeholder bytes. HTTP/2 copies frames into its own buffers, so
//! only HTTP/1 requests are offered the queue; an HTTP/2 download is streamed.
//!
//! The download event is recorded when hyper takes the body's last frame, before the client
//! can hold the complete file (as a streamed body records when it ends), or, for a client that
//! leaves earlier, when the connection ends, with the bytes the kernel took.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use depot_service::DownloadBody;
use depot_storage::LocalFile;
use http_body::{Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

/// Bytes per placeholder frame, and so at most per `sendfile` call (nginx's
/// `sendfile_max_chunk` is 2 MiB). The buffer is never written, so its pages are never touched
/// and cost no memory. hyper counts a response done once it has the last frame; the connection
/// stays open past its idle timeout while [`Files::is_sending`].
const PLACEHOLDER_LEN: usize = 1 << 20;

/// What a file's frames point into. Its content is never sent (nor read).
static PLACEHOLDER: [u8; PLACEHOLDER_LEN] = [0; PLACEHOLDER_LEN];

fn is_placeholder(buf: &[u8]) -> bool {
    let start = PLACEHOLDER.as_ptr() as usize;
    let at = buf.as_ptr() as usize;
    !buf.is_empty() && at >= start && at < start + PLACEHOLDER_LEN
}

/// A file queued on a connection: what is left of its range, and the download it belongs to.
struct Queued {
    file: Arc<std::fs::File>,
    offset: u64,
    remaining: u64,
    /// The whole length, for recording the download before its last bytes go.
    length: u64,
    /// Recorded as whole when hyper took the last frame.
    recorded: bool,
    /// Dropped (recording the download) once the range is sent or the connection ends.
    download: DownloadBody,
}

/// One HTTP/1 connection's files waiting to be sent, shared by its response bodies and its IO.
#[derive(Clone, Default)]
pub struct Files(Arc<Mutex<VecDeque<Queued>>>);

impl Files {
    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<Queued>> {
        // The queue's state is valid between any two statements; a panic elsewhere leaves it
        // usable.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether some file is not yet all sent.
    pub fn is_sending(&self) -> bool {
        !self.queue().is_empty()
    }

    /// The body of `download`: sent with `sendfile` when it is a local file, else streamed.
    pub(crate) fn body(files: Option<&Files>, mut download: DownloadBody) -> axum::body::Body {
        if let Some(files) = files
            && let Some(LocalFile { file, range }) = download.take_local_file()
        {
            let length = range.end - range.start;
            return axum::body::Body::new(FileBody {
                files: files.clone(),
                queued: Some(Queued {
                    file,
                    offset: range.start,
                    remaining: length,
                    length,
                    recorded: false,
                    download,
                }),
                unannounced: length,
            });
        }
        axum::body::Body::from_stream(download)
    }
}

/// A local file's response body: placeholder frames for the file's length.
struct FileBody {
    files: Files,
    /// The file, until hyper first polls the body and it joins the connection's queue.
    queued: Option<Queued>,
    /// Placeholder bytes not yet handed to hyper.
    unannounced: u64,
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(queued) = self.queued.take() {
            self.files.queue().push_back(queued);
        }
        if self.unannounced == 0 {
            return Poll::Ready(None);
        }
        let n = self.unannounced.min(PLACEHOLDER_LEN as u64) as usize;
        self.unannounced -= n as u64;
        if self.unannounced == 0 {
            // The last frame: hyper holds the whole response, and the client may act on a
            // complete download as soon as its last bytes leave, so it is recorded now (as a
            // streamed body is when it ends). Until this body ends, its file is the queue's
            // last (responses on a connection go one after the other).
            if let Some(last) = self.files.queue().back_mut() {
                last.download.record_whole(last.length);
                last.recorded = true;
            }
        }
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&PLACEHOLDER[..n])))))
    }

    fn is_end_stream(&self) -> bool {
        self.unannounced == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.unannounced)
    }
}

/// A connection's socket: ordinary writes pass through, placeholder bytes become `sendfile`.
pub struct SendfileStream {
    socket: TcpStream,
    files: Files,
}

impl SendfileStream {
    pub fn new(socket: TcpStream, files: Files) -> Self {
        SendfileStream { socket, files }
    }

    /// Sends up to `len` bytes of the file at the front of the queue.
    fn poll_sendfile(&mut self, cx: &mut Context<'_>, len: usize) -> Poll<io::Result<usize>> {
        let files = self.files.clone();
        let mut queue = files.queue();
        let Some(front) = queue.front_mut() else {
            return Poll::Ready(Err(io::Error::other(
                "a file's bytes were written with no file queued",
            )));
        };
        let count = (len as u64).min(front.remaining) as usize;
        loop {
            ready!(self.socket.poll_write_ready(cx))?;
            let sent = self.socket.try_io(Interest::WRITABLE, || {
                rustix::fs::sendfile(&self.socket, &front.file, Some(&mut front.offset), count)
                    .map_err(io::Error::from)
            });
            match sent {
                Ok(0) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the stored file is shorter than recorded",
                    )));
                }
                Ok(n) => {
                    front.remaining -= n as u64;
                    if !front.recorded {
                        front.download.record_sent(n as u64);
                    }
                    if front.remaining == 0 {
                        queue.pop_front();
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncRead for SendfileStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_read(cx, buf)
    }
}

impl AsyncWrite for SendfileStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if is_placeholder(buf) {
            return self.poll_sendfile(cx, buf.len());
        }
        Pin::new(&mut self.socket).poll_write(cx, buf)
    }

    /// The ordinary slices before the first placeholder go out in one `writev`; a placeholder
    /// at the front goes out with `sendfile`. hyper calls again for the rest.
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match bufs.iter().position(|b| is_placeholder(b)) {
            Some(0) => self.poll_sendfile(cx, bufs[0].len()),
            Some(first) => Pin::new(&mut self.socket).poll_write_vectored(cx, &bufs[..first]),
            None => Pin::new(&mut self.socket).poll_write_vectored(cx, bufs),
        }
    }

    /// Must stay `true`: it is what makes hyper queue body frames instead of copying them into
    /// its own buffer, where the placeholder could no longer be recognised.
    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_shutdown(cx)
    }
}
