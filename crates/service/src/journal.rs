//! The download events' write-ahead journal: an event is appended to a file before it is
//! queued, so a process killed between a download and the next batch write (`kill -9`, an OOM
//! kill) loses nothing; the next start writes what the dead process left.
//!
//! Appends are plain `write`s, not `fsync`s: they survive the process, which is what dies in
//! practice, not a power cut of the machine (the database's own durability covers what was
//! already written). Each batch the writer takes starts a new segment file, and a segment is
//! deleted once its batch is in the database; a kill between the two writes that batch twice
//! at the next start (a window of one delete). Each process holds a lock on its own segments, so
//! several instances sharing a data directory replay only the segments of dead ones.

use std::fs::File;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use depot_store::DownloadEvent;
use serde::{Deserialize, Serialize};

/// A download event as a journal line.
#[derive(Serialize, Deserialize)]
struct Line {
    artifact_id: i64,
    at: i64,
    status: i64,
    bytes: i64,
    ip: Option<String>,
    user_agent: Option<String>,
    user_id: Option<i64>,
    key_id: Option<i64>,
    error_code: Option<String>,
}

impl From<&DownloadEvent> for Line {
    fn from(e: &DownloadEvent) -> Self {
        Line {
            artifact_id: e.artifact_id,
            at: e.at,
            status: e.status,
            bytes: e.bytes,
            ip: e.ip.clone(),
            user_agent: e.user_agent.clone(),
            user_id: e.user_id,
            key_id: e.key_id,
            error_code: e.error_code.clone(),
        }
    }
}

impl From<Line> for DownloadEvent {
    fn from(l: Line) -> Self {
        DownloadEvent {
            artifact_id: l.artifact_id,
            at: l.at,
            status: l.status,
            bytes: l.bytes,
            ip: l.ip,
            user_agent: l.user_agent,
            user_id: l.user_id,
            key_id: l.key_id,
            error_code: l.error_code,
        }
    }
}

/// One segment file, locked by this process while it exists.
pub(crate) struct Segment {
    path: PathBuf,
    file: File,
}

impl Segment {
    fn create(dir: &Path, instance: &str, number: u64) -> std::io::Result<Segment> {
        let path = dir.join(format!("{instance}-{number:012}.jsonl"));
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)?;
        lock(&file)?;
        Ok(Segment { path, file })
    }

    /// Removes the segment: its events are in the database.
    pub(crate) fn remove(self) {
        if let Err(e) = std::fs::remove_file(&self.path) {
            tracing::warn!(error = %e, path = %self.path.display(), "could not remove a journal segment");
        }
    }
}

fn lock(file: &File) -> std::io::Result<()> {
    rustix::fs::flock(file, rustix::fs::FlockOperation::NonBlockingLockExclusive)
        .map_err(std::io::Error::from)
}

/// The journal of one process.
pub(crate) struct Journal {
    dir: PathBuf,
    instance: String,
    current: Mutex<Current>,
}

struct Current {
    number: u64,
    segment: Option<Segment>,
    /// Whether anything was appended since the segment began (an idle writer does not rotate).
    used: bool,
}

impl Journal {
    /// Opens the journal directory and starts this process's first segment. A journal that
    /// cannot be written (a read-only or full disk) is reported and events go on in memory only.
    pub(crate) fn open(dir: &Path) -> Journal {
        let instance = hex::encode(rand::random::<[u8; 6]>());
        let first = std::fs::create_dir_all(dir).and_then(|()| Segment::create(dir, &instance, 0));
        let first = match first {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(error = %e, dir = %dir.display(), "cannot write the download-event journal; events are kept in memory only");
                None
            }
        };
        Journal {
            dir: dir.to_path_buf(),
            instance,
            current: Mutex::new(Current {
                number: 0,
                segment: first,
                used: false,
            }),
        }
    }

    /// Appends `event`. The segment cannot change until the returned guard is dropped: the
    /// caller queues the event meanwhile, so that every event of a segment is queued before the
    /// segment is rotated out.
    pub(crate) fn append(&self, event: &DownloadEvent) -> impl Drop + '_ {
        let mut line = serde_json::to_vec(&Line::from(event)).expect("an event serialises");
        line.push(b'\n');
        let mut current = self.current.lock().expect("journal");
        current.used = true;
        if let Some(segment) = current.segment.as_mut()
            && let Err(e) = segment.file.write_all(&line)
        {
            tracing::warn!(error = %e, "could not append to the download-event journal");
        }
        current
    }

    /// Starts a new segment and returns the finished one, with `drain` run while no event can
    /// be appended (the writer takes every queued event then).
    pub(crate) fn rotate(&self, drain: impl FnOnce()) -> Option<Segment> {
        let mut current = self.current.lock().expect("journal");
        drain();
        if !current.used {
            return None;
        }
        let number = current.number + 1;
        let next = match Segment::create(&self.dir, &self.instance, number) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "could not start a journal segment");
                None
            }
        };
        let finished = std::mem::replace(&mut current.segment, next);
        current.number = number;
        current.used = false;
        finished
    }

    /// At shutdown, after the last batch is written: removes the (empty) current segment.
    pub(crate) fn close(&self) {
        let mut current = self.current.lock().expect("journal");
        if !current.used
            && let Some(segment) = current.segment.take()
        {
            segment.remove();
        }
    }

    /// The events in segments no live process holds (left by a killed one), with the segments to
    /// remove once they are written.
    pub(crate) fn orphans(&self) -> (Vec<DownloadEvent>, Vec<Segment>) {
        let mut events = Vec::new();
        let mut segments = Vec::new();
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return (events, segments);
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "jsonl")
                || path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&self.instance))
            {
                continue;
            }
            let Ok(file) = std::fs::OpenOptions::new()
                .read(true)
                .append(true)
                .open(&path)
            else {
                continue;
            };
            if lock(&file).is_err() {
                continue; // a live process's segment
            }
            for line in std::io::BufReader::new(&file).lines().map_while(Result::ok) {
                // The last line of a killed process may be cut short: it was never acknowledged.
                if let Ok(l) = serde_json::from_str::<Line>(&line) {
                    events.push(l.into());
                }
            }
            segments.push(Segment { path, file });
        }
        (events, segments)
    }
}
