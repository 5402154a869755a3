//! Recording downloads and feed requests off the request path.
//!
//! Handlers hand events to an in-memory queue and move on; one writer task drains it into the
//! database in batches (every second, or as soon as a batch is full). A failed write keeps the
//! batch and retries, and `flush` (called at shutdown) writes out everything still queued.
//! Download events go to a write-ahead journal first (`journal`), so a killed process loses
//! none; feed-request counts are aggregates and may lose their last second.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use depot_core::{Clock, Refusal};
use depot_store::{DownloadEvent, FeedCheck, Store};

use crate::journal::{Journal, Segment};
use crate::metrics::DownloadResult;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

const BATCH: usize = 500;
const QUEUE: usize = 100_000;
/// Events kept while the database refuses writes, before the oldest are dropped.
const MAX_BACKLOG: usize = 1_000_000;

enum Msg {
    Download(DownloadEvent),
    Flush(oneshot::Sender<()>),
}

/// What feed requests leave until the next write: counts per (extension, day number since the
/// epoch), then per Joomla version (looked up by `&str`, so a request for a known combination
/// allocates nothing), and the anonymised sites seen per extension and day.
#[derive(Default)]
struct FeedTally {
    counts: HashMap<(i64, i64), HashMap<String, i64>>,
    sites: HashSet<(i64, i64, u64)>,
}

/// The tally, and the key of its site tokens (derived from the server secret), behind one
/// pointer: every download body carries a recorder, so it stays small.
struct FeedState {
    tally: Mutex<FeedTally>,
    site_key: [u8; 32],
}

type FeedCounts = Arc<FeedState>;

/// Days of sites kept for the active-sites estimate (it looks back 30).
const SITE_DAYS: i64 = 31;

/// A site as the active-sites estimate counts it: a keyed hash of its address (an IPv6 address
/// by its /64, as one site's addresses vary within it). The key comes from the server secret, so
/// the stored value cannot be turned back into an address by hashing all of them.
pub(crate) fn site_token(key: &[u8; 32], ip: std::net::IpAddr) -> u64 {
    let v6;
    let prefix: &[u8] = match ip {
        std::net::IpAddr::V4(v4) => &v4.octets(),
        std::net::IpAddr::V6(v6_ip) => match v6_ip.to_ipv4_mapped() {
            Some(v4) => &v4.octets(),
            None => {
                v6 = v6_ip.octets();
                &v6[..8]
            }
        },
    };
    let hash = blake3::keyed_hash(key, prefix);
    u64::from_le_bytes(hash.as_bytes()[..8].try_into().expect("8 bytes"))
}

const DAY_MS: i64 = 86_400_000;

/// `YYYY-MM-DD` of a day number.
fn day_string(day: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(day * 86_400)
        .map(|t| t.date().to_string())
        .unwrap_or_default()
}

/// Who asked for a download, as far as the event log records it.
#[derive(Clone, Debug, Default)]
pub struct Requester {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub grant: Option<crate::Grant>,
}

impl Requester {
    pub fn new(ip: Option<String>, user_agent: Option<&str>) -> Self {
        Requester {
            ip,
            user_agent: user_agent.map(|ua| ua.chars().take(300).collect()),
            grant: None,
        }
    }
}

#[derive(Clone)]
pub struct EventRecorder {
    tx: mpsc::Sender<Msg>,
    journal: Arc<Journal>,
    feed_counts: FeedCounts,
    clock: Clock,
}

impl EventRecorder {
    /// Starts the writer, after writing out what a killed process left in the journal in
    /// `journal_dir`.
    pub(crate) async fn start(
        store: Store,
        journal_dir: &std::path::Path,
        site_key: [u8; 32],
    ) -> (Self, JoinHandle<()>) {
        let journal = Arc::new(Journal::open(journal_dir));
        let (left, segments) = journal.orphans();
        if !segments.is_empty() {
            match store.insert_download_events(&left).await {
                Ok(()) => {
                    tracing::info!(
                        events = left.len(),
                        "wrote the download events a stopped process left"
                    );
                    segments.into_iter().for_each(Segment::remove);
                }
                Err(e) => {
                    tracing::error!(error = %e, "could not write the download events a stopped process left; next start tries again")
                }
            }
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        let feed_counts: FeedCounts = Arc::new(FeedState {
            tally: Mutex::default(),
            site_key,
        });
        let clock = store.clock().clone();
        let writer = tokio::spawn(write_loop(store, rx, feed_counts.clone(), journal.clone()));
        let recorder = EventRecorder {
            tx,
            journal,
            feed_counts,
            clock,
        };
        (recorder, writer)
    }

    /// Queues a download event. Never blocks a request: if the queue is full the event is
    /// dropped and logged.
    fn download(&self, event: DownloadEvent) {
        let _segment = self.journal.append(&event);
        if self.tx.try_send(Msg::Download(event)).is_err() {
            tracing::warn!("download event queue full; event dropped");
        }
    }

    /// Records a package served (or handed to the store by a redirect), and to whom.
    pub fn download_served(
        &self,
        download: &crate::Download,
        status: u16,
        bytes: u64,
        who: &Requester,
    ) {
        crate::metrics::download(if status == 302 {
            DownloadResult::Redirected
        } else {
            DownloadResult::Served
        });
        self.download(DownloadEvent {
            artifact_id: download.artifact_id,
            at: self.clock.now_ms(),
            status: i64::from(status),
            bytes: bytes as i64,
            ip: who.ip.clone(),
            user_agent: who.user_agent.clone(),
            user_id: who.grant.map(|g| g.user_id),
            key_id: who.grant.and_then(|g| g.key_id),
            error_code: None,
        });
    }

    /// Records a refused download with its error code (the credentials themselves never).
    pub fn download_denied(&self, download: &crate::Download, refusal: Refusal, who: &Requester) {
        crate::metrics::download(DownloadResult::Refused);
        self.download(DownloadEvent {
            artifact_id: download.artifact_id,
            at: self.clock.now_ms(),
            status: i64::from(refusal.http_status()),
            bytes: 0,
            ip: who.ip.clone(),
            user_agent: who.user_agent.clone(),
            user_id: None,
            key_id: None,
            error_code: Some(refusal.code().to_string()),
        });
    }

    /// Counts one feed request for an extension from a site running `joomla_version`, at
    /// `client` (for the active-sites estimate).
    pub fn feed_check(
        &self,
        extension_id: i64,
        joomla_version: Option<&str>,
        client: Option<std::net::IpAddr>,
    ) {
        let day = self.clock.now_ms().div_euclid(DAY_MS);
        let version = joomla_version.unwrap_or("unknown");
        let site = client.map(|ip| site_token(&self.feed_counts.site_key, ip));
        let mut tally = self.feed_counts.tally.lock().expect("feed counts");
        let per_version = tally.counts.entry((extension_id, day)).or_default();
        match per_version.get_mut(version) {
            Some(n) => *n += 1,
            None => {
                per_version.insert(version.to_string(), 1);
            }
        }
        if let Some(site) = site {
            tally.sites.insert((extension_id, day, site));
        }
    }

    /// At shutdown: writes out everything recorded, then leaves no journal behind (a segment
    /// whose batch could not be written stays, for the next start).
    pub(crate) async fn close(&self) {
        self.flush().await;
        self.journal.close();
    }

    /// Writes out everything recorded so far.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

async fn write_loop(
    store: Store,
    mut rx: mpsc::Receiver<Msg>,
    feed_counts: FeedCounts,
    journal: Arc<Journal>,
) {
    let mut batch = Batch {
        pending: Vec::new(),
        segments: Vec::new(),
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(Msg::Download(e)) => {
                    batch.pending.push(e);
                    if batch.pending.len() >= BATCH {
                        batch.write(&store, &mut rx, &journal, &feed_counts).await;
                    }
                }
                Some(Msg::Flush(done)) => {
                    batch.write(&store, &mut rx, &journal, &feed_counts).await;
                    let _ = done.send(());
                }
                None => {
                    batch.write(&store, &mut rx, &journal, &feed_counts).await;
                    return;
                }
            },
            _ = tick.tick() => batch.write(&store, &mut rx, &journal, &feed_counts).await,
        }
    }
}

/// The events taken for the database, and the journal segments that hold them (removed once
/// they are written).
struct Batch {
    pending: Vec<DownloadEvent>,
    segments: Vec<Segment>,
}

impl Batch {
    async fn write(
        &mut self,
        store: &Store,
        rx: &mut mpsc::Receiver<Msg>,
        journal: &Journal,
        feed_counts: &FeedCounts,
    ) {
        // Everything queued so far belongs to the segment being closed: take it all.
        let mut flushes = Vec::new();
        let finished = journal.rotate(|| {
            while let Ok(msg) = rx.try_recv() {
                match msg {
                    Msg::Download(e) => self.pending.push(e),
                    Msg::Flush(done) => flushes.push(done),
                }
            }
        });
        self.segments.extend(finished);
        if write(store, &mut self.pending, feed_counts).await {
            self.segments.drain(..).for_each(Segment::remove);
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

/// Writes the pending events and feed counts; true if the events are in the database.
async fn write(store: &Store, pending: &mut Vec<DownloadEvent>, feed_counts: &FeedCounts) -> bool {
    let mut written = true;
    if !pending.is_empty() {
        match store.insert_download_events(pending).await {
            Ok(()) => pending.clear(),
            Err(e) => {
                written = false;
                tracing::error!(error = %e, queued = pending.len(), "could not write download events; will retry");
                if pending.len() > MAX_BACKLOG {
                    let excess = pending.len() - MAX_BACKLOG;
                    pending.drain(..excess);
                    tracing::error!(
                        dropped = excess,
                        "download event backlog full; oldest dropped"
                    );
                }
            }
        }
    }
    let FeedTally {
        counts: taken,
        sites,
    } = std::mem::take(&mut *feed_counts.tally.lock().expect("feed counts"));
    write_sites(store, sites, feed_counts).await;
    let counts: Vec<FeedCheck> = taken
        .iter()
        .flat_map(|(&(extension_id, day), versions)| {
            let day = day_string(day);
            versions.iter().map(move |(version, &checks)| FeedCheck {
                extension_id,
                joomla_version: version.clone(),
                day: day.clone(),
                checks,
            })
        })
        .collect();
    if !counts.is_empty()
        && let Err(e) = store.add_feed_checks(&counts).await
    {
        tracing::error!(error = %e, "could not write feed counts; will retry");
        let mut tally = feed_counts.tally.lock().expect("feed counts");
        for (key, versions) in taken {
            let per_version = tally.counts.entry(key).or_default();
            for (version, checks) in versions {
                *per_version.entry(version).or_default() += checks;
            }
        }
    }
    written
}

/// Writes the sites seen since the last write (kept for a retry when that fails), and once a
/// day forgets those older than the estimate looks back.
async fn write_sites(store: &Store, sites: HashSet<(i64, i64, u64)>, feed_counts: &FeedCounts) {
    if sites.is_empty() {
        return;
    }
    let today = sites.iter().map(|&(_, day, _)| day).max().unwrap_or(0);
    let rows: Vec<(i64, i64, String)> = sites
        .iter()
        .map(|&(extension, day, site)| (extension, day, format!("{site:016x}")))
        .collect();
    match store.add_feed_sites(&rows).await {
        Ok(()) => {
            static PRUNED: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
            if PRUNED.swap(today, std::sync::atomic::Ordering::Relaxed) != today
                && let Err(e) = store.prune_feed_sites(today - SITE_DAYS).await
            {
                tracing::warn!(error = %e, "could not forget old feed sites");
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "could not write feed sites; will retry");
            feed_counts
                .tally
                .lock()
                .expect("feed counts")
                .sites
                .extend(sites);
        }
    }
}
