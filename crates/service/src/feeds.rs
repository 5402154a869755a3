//! Feeds, rendered once per catalogue change and served from memory.
//!
//! A cache hit does no database work; a miss joins the releases' fragments, each rendered once
//! (see `depot_store::fragments`), so even a feed of 10,000 releases is a concatenation. Every
//! catalogue write bumps a generation number in the database; this instance clears its cache at once after its own writes, and a poller notices
//! other instances' writes within `Settings::catalogue_poll`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use bytes::Bytes;
use depot_core::feed::{self, CollectionEntry, FeedExtension, FeedRelease, SupportedDatabases};
use depot_core::rollout::RolloutSchedule;

use crate::rollouts::RunningRollout;
use depot_core::{Client, ExtensionType, Identity, Stability, Targets, Version};
use depot_store::{ExtensionRow, FeedFragment, FeedReleaseRow, FragmentOrder};

use crate::{Depot, ServiceError, ServiceResult};

/// A feed ready to send.
#[derive(Debug)]
pub struct RenderedFeed {
    pub body: Bytes,
    pub etag: Etag,
    /// Milliseconds since the epoch of the newest change the feed shows.
    pub last_modified_ms: i64,
    /// The extension an extension or changelog feed is about (for request statistics).
    pub extension_id: Option<i64>,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The package group of the extension it is about, whose private feeds (if it keeps them)
    /// decide who may read it.
    pub package_group_id: Option<i64>,
    /// A release of it being rolled out: who sees the feed as it is, and what the others see.
    pub rollout: Option<Arc<FeedRollout>>,
    /// The body compressed, once a client asked for it (see [`RenderedFeed::encodings`]).
    pub encoded: OnceLock<Encodings>,
}

/// A document's body gzip- and Brotli-compressed, with an `ETag` for each form.
#[derive(Debug)]
pub struct Encodings {
    pub gzip: Bytes,
    pub gzip_etag: Etag,
    pub br: Bytes,
    pub br_etag: Etag,
}

/// Below this, a compressed body saves less than its headers cost.
const MIN_COMPRESSIBLE: usize = 1024;

impl Encodings {
    fn of(body: &[u8], etag: &Etag) -> Encodings {
        use std::io::Write;
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        // Writing to memory cannot fail.
        let _ = gzip.write_all(body);
        let gzip = gzip.finish().unwrap_or_default();
        let mut br = Vec::new();
        let params = brotli::enc::BrotliEncoderParams {
            quality: 5,
            lgwin: 22,
            ..Default::default()
        };
        let _ = brotli::BrotliCompress(&mut &body[..], &mut br, &params);
        Encodings {
            gzip: Bytes::from(gzip),
            gzip_etag: etag.form("gz"),
            br: Bytes::from(br),
            br_etag: etag.form("br"),
        }
    }
}

/// A document's strong validator, quoted (`"…"`): kept as shared bytes, so that each response
/// carries it without a copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Etag(Bytes);

impl Etag {
    /// The validator of a document with this body.
    pub(crate) fn of(body: &[u8]) -> Etag {
        Etag::of_hash(&blake3::hash(body))
    }

    /// The validator named by a hash of whatever decides the document.
    pub(crate) fn of_hash(hash: &blake3::Hash) -> Etag {
        Etag(Bytes::from(format!("\"{}\"", &hash.to_hex()[..32])))
    }

    /// The validator of another form of the same document (RFC 9110 §8.8.3.3): this one, marked.
    fn form(&self, mark: &str) -> Etag {
        Etag(Bytes::from(format!(
            "{}-{mark}\"",
            self.as_str().trim_end_matches('"')
        )))
    }

    pub fn as_str(&self) -> &str {
        // Made of ASCII only (above).
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The validator's bytes, shared.
    pub fn to_bytes(&self) -> Bytes {
        self.0.clone()
    }
}

impl From<&str> for Etag {
    fn from(quoted: &str) -> Etag {
        Etag(Bytes::copy_from_slice(quoted.as_bytes()))
    }
}

/// A document chosen for one client (by its key, or its cohort in a staged rollout), or the
/// same for everyone: whether shared caches may keep it.
#[derive(Debug)]
pub struct ClientAnswer {
    pub document: Arc<RenderedFeed>,
    pub per_client: bool,
}

impl ClientAnswer {
    pub(crate) fn shared(document: Arc<RenderedFeed>) -> Self {
        ClientAnswer {
            document,
            per_client: false,
        }
    }

    pub(crate) fn for_client(document: Arc<RenderedFeed>) -> Self {
        ClientAnswer {
            document,
            per_client: true,
        }
    }
}

/// A feed's staged rollout: sites in the rollout's share see the feed, the others this one.
#[derive(Debug)]
pub struct FeedRollout {
    /// The feed without the release being rolled out; `None` when that leaves nothing to
    /// answer (`latest.json` of a first release).
    pub held_back: Option<Arc<RenderedFeed>>,
    pub running: RunningRollout,
}

impl RenderedFeed {
    fn new(body: String, last_modified_ms: i64, extension_id: Option<i64>) -> Self {
        let etag = Etag::of(body.as_bytes());
        RenderedFeed::with_etag(body, etag, last_modified_ms, extension_id)
    }

    /// A document whose validator is made from what decides its body rather than by hashing it.
    fn with_etag(
        body: String,
        etag: Etag,
        last_modified_ms: i64,
        extension_id: Option<i64>,
    ) -> Self {
        RenderedFeed {
            etag,
            body: Bytes::from(body),
            last_modified_ms,
            extension_id,
            content_type: "application/xml; charset=utf-8",
            package_group_id: None,
            rollout: None,
            encoded: OnceLock::new(),
        }
    }

    /// The body compressed both ways, made the first time a client accepts either and kept
    /// with the document, so once per change; `None` for a body too small to gain. Documents
    /// made for one client are not compressed (the work would be done per request).
    pub fn encodings(&self) -> Option<&Encodings> {
        (self.body.len() >= MIN_COMPRESSIBLE).then(|| {
            self.encoded
                .get_or_init(|| Encodings::of(&self.body, &self.etag))
        })
    }

    /// A JSON document instead of Joomla's XML.
    pub(crate) fn json(body: String, last_modified_ms: i64) -> Self {
        let etag = Etag::of(body.as_bytes());
        RenderedFeed::json_with_etag(body, etag, last_modified_ms)
    }

    /// A JSON document whose validator is already known (see [`RenderedFeed::with_etag`]).
    pub(crate) fn json_with_etag(body: String, etag: Etag, last_modified_ms: i64) -> Self {
        RenderedFeed {
            content_type: "application/json",
            ..RenderedFeed::with_etag(body, etag, last_modified_ms, None)
        }
    }
}

/// Bump when what a fragment holds changes; a new depot version renders every fragment again
/// anyway.
const FRAGMENT_FORMAT: &str = concat!("2/", env!("CARGO_PKG_VERSION"));

/// Hex digits of a fragment's digest per part (its `<update>` blocks, its `<changelog>`).
const DIGEST_HALF: usize = 16;

/// Which part of the release fragments a feed is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum FragmentKind {
    Updates,
    Changelog,
}

/// A release's fragment held in memory.
pub(crate) struct HeldFragment {
    release_id: i64,
    digest: String,
    /// Where it goes in the feed: by this key, then by release id, both descending.
    sort_key: String,
    release_updated_at: i64,
    updates: String,
    changelog: String,
}

impl From<FeedFragment> for HeldFragment {
    fn from(f: FeedFragment) -> Self {
        HeldFragment {
            release_id: f.release_id,
            digest: f.digest,
            sort_key: f.sort_key,
            release_updated_at: f.release_updated_at,
            updates: f.updates,
            changelog: f.changelog,
        }
    }
}

impl HeldFragment {
    /// Whether it comes before `other` in the feed (the database's `ORDER BY sort_key DESC,
    /// release_id DESC`; the keys are digits only, so every collation orders them as bytes).
    fn comes_before(&self, other: &HeldFragment) -> bool {
        (self.sort_key.as_bytes(), self.release_id) > (other.sort_key.as_bytes(), other.release_id)
    }
}

/// An extension's fragments in feed order, as of a `feed_version` and a stamp: a later version
/// is reached by patching in the few releases whose writes moved it (`feed_changes`), not by
/// reading the order of all of them again.
pub(crate) struct KnownOrder {
    feed_version: i64,
    stamp: String,
    fragments: Vec<Arc<HeldFragment>>,
}

impl KnownOrder {
    /// The newest `updated_at` of the releases in the feed (every fragment is current with
    /// its release: a release write drops its fragment).
    fn releases_updated_at(&self) -> i64 {
        self.fragments
            .iter()
            .map(|f| f.release_updated_at)
            .max()
            .unwrap_or_default()
    }

    /// This order with `changed` releases (sorted, as `feed_changes` gives them) taken out and
    /// `now` (what the feed shows of them at `feed_version`) put in their places.
    fn patched(&self, feed_version: i64, changed: &[i64], now: &[Arc<HeldFragment>]) -> KnownOrder {
        let mut fragments: Vec<Arc<HeldFragment>> = self
            .fragments
            .iter()
            .filter(|f| changed.binary_search(&f.release_id).is_err())
            .cloned()
            .collect();
        for f in now {
            let at = fragments.partition_point(|held| held.comes_before(f));
            fragments.insert(at, f.clone());
        }
        KnownOrder {
            feed_version,
            stamp: self.stamp.clone(),
            fragments,
        }
    }
}

/// Release fragments held in memory by extension and release, so that a cold feed asks the
/// database only for their order and digests. An extension's entries are replaced by what its
/// latest feed used, so releases that left it do not linger.
///
/// Beside them, each extension's order as last known (patched forward by the releases that
/// changed since), and its last joined feed with what it was made from: a catalogue change
/// elsewhere clears every cached feed, and an extension whose releases did not move (its
/// `feed_version`) gets its feed back without a query over its releases.
#[derive(Default)]
pub(crate) struct FragmentCache {
    held: Mutex<HashMap<i64, HashMap<i64, Arc<HeldFragment>>>>,
    orders: Mutex<HashMap<i64, Arc<KnownOrder>>>,
    joined: Mutex<HashMap<(i64, FragmentKind), Joined>>,
}

/// An extension's feed as last joined.
struct Joined {
    from: JoinedFrom,
    feed: Arc<RenderedFeed>,
}

/// What a joined feed shows besides its fragments' order: when any of it differs, the feed is
/// joined again.
#[derive(Clone, Debug, PartialEq, Eq)]
struct JoinedFrom {
    feed_version: i64,
    stamp: String,
    updated_at: i64,
    package_group_id: Option<i64>,
}

/// Plain maps, valid between any two statements: a panic elsewhere leaves them usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FragmentCache {
    /// The extension's feed of `kind` if it was last joined from `from`.
    fn joined(
        &self,
        extension_id: i64,
        kind: FragmentKind,
        from: &JoinedFrom,
    ) -> Option<Arc<RenderedFeed>> {
        lock(&self.joined)
            .get(&(extension_id, kind))
            .filter(|j| &j.from == from)
            .map(|j| j.feed.clone())
    }

    fn keep_joined(
        &self,
        extension_id: i64,
        kind: FragmentKind,
        from: JoinedFrom,
        feed: Arc<RenderedFeed>,
    ) {
        lock(&self.joined).insert((extension_id, kind), Joined { from, feed });
    }

    fn known_order(&self, extension_id: i64) -> Option<Arc<KnownOrder>> {
        lock(&self.orders).get(&extension_id).cloned()
    }

    fn keep_order(&self, extension_id: i64, order: Arc<KnownOrder>) {
        lock(&self.orders).insert(extension_id, order);
    }

    /// Forgets every order and joined feed (after a restore replaced the database, whose
    /// feed versions may repeat ones seen before). Fragments stay: their digests vouch for them.
    pub(crate) fn forget_orders(&self) {
        lock(&self.orders).clear();
        lock(&self.joined).clear();
    }

    fn hold(&self, extension_id: i64, fragments: Vec<FeedFragment>) {
        let fragments: Vec<_> = fragments.into_iter().map(|f| Arc::new(f.into())).collect();
        self.hold_shared(extension_id, &fragments);
    }

    fn hold_shared(&self, extension_id: i64, fragments: &[Arc<HeldFragment>]) {
        let mut all = lock(&self.held);
        let held = all.entry(extension_id).or_default();
        for f in fragments {
            held.insert(f.release_id, f.clone());
        }
    }

    /// The fragments `order` names, if every one is held with its digest; else the releases
    /// whose fragment is not.
    fn in_order(
        &self,
        extension_id: i64,
        order: &FragmentOrder,
    ) -> Result<Vec<Arc<HeldFragment>>, Vec<i64>> {
        let mut all = lock(&self.held);
        let held = all.entry(extension_id).or_default();
        let mut found = Vec::with_capacity(order.fragments.len());
        let mut absent = Vec::new();
        for (id, digest) in &order.fragments {
            match held.get(id) {
                Some(f) if &f.digest == digest => found.push(f.clone()),
                _ => absent.push(*id),
            }
        }
        if !absent.is_empty() {
            return Err(absent);
        }
        *held = found.iter().map(|f| (f.release_id, f.clone())).collect();
        Ok(found)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum FeedKey {
    Extension(String),
    Changelog(String),
    Collection,
    /// `/releases/{extension}/latest.json` of a channel.
    Latest(String, Stability),
}

/// Whether the Joomla feeds list the extension (the products of other ecosystems have their
/// own).
fn is_joomla(row: &ExtensionRow) -> bool {
    row.ecosystem == depot_core::Ecosystem::Joomla
}

fn to_identity(row: &ExtensionRow) -> ServiceResult<Identity> {
    let corrupt = |e: String| {
        ServiceError::invalid("corrupt_catalogue", format!("extension {}: {e}", row.name))
    };
    let kind: ExtensionType = row
        .ext_type
        .parse()
        .map_err(|e: depot_core::IdentityError| corrupt(e.to_string()))?;
    let client: Client = row
        .client
        .parse()
        .map_err(|e: depot_core::IdentityError| corrupt(e.to_string()))?;
    let folder = (!row.folder.is_empty()).then_some(row.folder.as_str());
    Identity::new(&row.element, kind, client, folder).map_err(|e| corrupt(e.to_string()))
}

fn to_feed_extension(row: &ExtensionRow) -> ServiceResult<FeedExtension> {
    Ok(FeedExtension {
        identity: to_identity(row)?,
        name: row.title.clone(),
        description: row.description.clone(),
        info_url: row.info_url.clone(),
    })
}

/// The parts of a stored release a feed needs; a row that no longer parses is skipped with a
/// warning rather than breaking the whole feed.
struct ParsedRelease {
    version: Version,
    stability: Stability,
    targets: Targets,
}

fn parse_release(
    release_id: i64,
    version: &str,
    stability: Stability,
    targets: &str,
) -> Option<ParsedRelease> {
    let parsed = (|| {
        Some(ParsedRelease {
            version: Version::parse(version).ok()?,
            stability,
            targets: targets.parse().ok()?,
        })
    })();
    if parsed.is_none() {
        tracing::warn!(
            release_id,
            "skipping a release whose stored fields do not parse"
        );
    }
    parsed
}

impl Depot {
    /// Drops every cached feed and download target (after a catalogue change made by this
    /// instance).
    pub fn invalidate_catalogue(&self) {
        self.inner.catalogue.clear();
        // The poller would otherwise see this write's generation as another instance's and
        // clear once more, dropping what was rendered since (and, were the database to go
        // away then, what could be served without it).
        self.inner
            .catalogue
            .generation
            .note(self.store().catalogue_written());
    }

    pub(crate) async fn cached<F, Fut, D>(
        &self,
        key: FeedKey,
        render: F,
    ) -> ServiceResult<Option<Arc<RenderedFeed>>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ServiceResult<Option<D>>>,
        D: Into<Arc<RenderedFeed>>,
    {
        let mut rendered = None;
        let feed = self
            .inner
            .catalogue
            .feeds
            .get_or_load(key, || async {
                let feed = render().await?.map(Into::into);
                rendered = Some(feed.is_some());
                Ok(feed)
            })
            .await;
        crate::metrics::feed_lookup(rendered);
        feed
    }

    /// `/updates/{extension}.xml`; `None` for an unknown extension.
    pub async fn extension_feed(&self, name: &str) -> ServiceResult<Option<Arc<RenderedFeed>>> {
        self.cached(FeedKey::Extension(name.to_string()), || {
            self.joined_feed(name, FragmentKind::Updates)
        })
        .await
    }

    /// `/changelogs/{extension}.xml`; `None` for an unknown extension.
    pub async fn changelog_feed(&self, name: &str) -> ServiceResult<Option<Arc<RenderedFeed>>> {
        self.cached(FeedKey::Changelog(name.to_string()), || {
            self.joined_feed(name, FragmentKind::Changelog)
        })
        .await
    }

    /// An extension's feed of `kind`: its releases' fragments (rendered first where missing or
    /// out of date) in the order the database gives, from memory where held.
    async fn joined_feed(
        &self,
        name: &str,
        kind: FragmentKind,
    ) -> ServiceResult<Option<Arc<RenderedFeed>>> {
        let Some(row) = self
            .store()
            .extension_by_name(name)
            .await?
            .filter(is_joomla)
        else {
            return Ok(None);
        };
        let stamp = self.fragments_stamp(&row);
        // Read before the releases: a write after this moves `feed_version`, so a feed kept
        // under it is never older than what it claims.
        let from = JoinedFrom {
            feed_version: row.feed_version,
            stamp: stamp.clone(),
            updated_at: row.updated_at,
            package_group_id: row.package_group_id,
        };
        if let Some(feed) = self.inner.fragments.joined(row.id, kind, &from) {
            return Ok(Some(feed));
        }
        let order = self.fragment_order(&row, stamp).await?;
        let (head, tail) = match kind {
            FragmentKind::Updates => (feed::EXTENSION_FEED_HEAD, feed::EXTENSION_FEED_TAIL),
            FragmentKind::Changelog => (feed::CHANGELOG_HEAD, feed::CHANGELOG_TAIL),
        };
        let part = |f: &HeldFragment| match kind {
            FragmentKind::Updates => f.updates.len(),
            FragmentKind::Changelog => f.changelog.len(),
        };
        let size = head.len() + tail.len() + order.fragments.iter().map(|f| part(f)).sum::<usize>();
        let join = |skip: Option<i64>| {
            let mut body = String::with_capacity(size);
            body.push_str(head);
            for f in order
                .fragments
                .iter()
                .filter(|f| Some(f.release_id) != skip)
            {
                body.push_str(match kind {
                    FragmentKind::Updates => &f.updates,
                    FragmentKind::Changelog => &f.changelog,
                });
            }
            body.push_str(tail);
            body
        };
        let body = join(None);
        // A release being rolled out is left out of what sites outside its share see (its
        // changelog entry stays: it names no download).
        let rollout = match kind {
            FragmentKind::Updates => self.store().rollouts_of(row.id).await?.into_iter().next(),
            FragmentKind::Changelog => None,
        }
        .and_then(|r| {
            let schedule = r.rollout.parse::<RolloutSchedule>().ok()?;
            let held_back = RenderedFeed {
                extension_id: Some(row.id),
                package_group_id: row.package_group_id,
                ..RenderedFeed::new(join(Some(r.release_id)), row.updated_at, Some(row.id))
            };
            Some(Arc::new(FeedRollout {
                held_back: Some(Arc::new(held_back)),
                running: RunningRollout {
                    schedule,
                    started_at: r.rollout_started_at,
                    paused_at: r.rollout_paused_at,
                },
            }))
        });
        // The digests name every fragment's content, in order; the stamp covers the rest.
        let mut validator = blake3::Hasher::new();
        validator.update(&[kind as u8]);
        validator.update(order.stamp.as_bytes());
        for f in &order.fragments {
            let own = match kind {
                FragmentKind::Updates => f.digest.get(..DIGEST_HALF),
                FragmentKind::Changelog => f.digest.get(DIGEST_HALF..),
            };
            validator.update(&f.release_id.to_le_bytes());
            validator.update(own.unwrap_or(&f.digest).as_bytes());
        }
        let etag = Etag::of_hash(&validator.finalize());
        let last_modified = row.updated_at.max(order.releases_updated_at());
        let feed = Arc::new(RenderedFeed {
            body: Bytes::from(body),
            etag,
            last_modified_ms: last_modified,
            extension_id: Some(row.id),
            content_type: "application/xml; charset=utf-8",
            package_group_id: row.package_group_id,
            rollout,
            encoded: OnceLock::new(),
        });
        self.inner
            .fragments
            .keep_joined(row.id, kind, from, feed.clone());
        Ok(Some(feed))
    }

    /// The extension's fragments in feed order as of `row.feed_version`: the order known
    /// before, patched by the releases written since, or else read in full.
    async fn fragment_order(
        &self,
        row: &ExtensionRow,
        stamp: String,
    ) -> ServiceResult<Arc<KnownOrder>> {
        let known = self
            .inner
            .fragments
            .known_order(row.id)
            .filter(|k| k.stamp == stamp);
        if let Some(known) = known {
            if known.feed_version == row.feed_version {
                return Ok(known);
            }
            let changed = self
                .store()
                .feed_changes(row.id, known.feed_version, row.feed_version)
                .await?;
            if let Some(changed) = changed {
                let stale = self
                    .store()
                    .releases_needing_fragments_among(row.id, &stamp, &changed)
                    .await?;
                if !stale.is_empty() {
                    let fragments = self.render_fragments(row, stale)?;
                    self.store().save_fragments(&stamp, &fragments).await?;
                }
                // A write after `feed_version` may show here already, or drop a fragment
                // that the patch then leaves out: either way its own move patches it next.
                let now = self.store().fragments_in_feed(row.id, &changed).await?;
                let now: Vec<_> = now.into_iter().map(|f| Arc::new(f.into())).collect();
                self.inner.fragments.hold_shared(row.id, &now);
                let patched = Arc::new(known.patched(row.feed_version, &changed, &now));
                self.inner.fragments.keep_order(row.id, patched.clone());
                return Ok(patched);
            }
        }
        let missing = self
            .store()
            .releases_needing_fragments(row.id, &stamp)
            .await?;
        if !missing.is_empty() {
            let fragments = self.render_fragments(row, missing)?;
            self.store().save_fragments(&stamp, &fragments).await?;
            self.inner.fragments.hold(row.id, fragments);
        }
        // A write between reading the order and fetching what is not held can leave a fragment
        // out: read the order again (a few times; each write makes the next attempt agree).
        let mut attempts = 0;
        let fragments = loop {
            let order = self.store().fragment_order(row.id).await?;
            match self.inner.fragments.in_order(row.id, &order) {
                Ok(held) => break held,
                Err(_) if attempts == 3 => {
                    return Err(ServiceError::Conflict(
                        "the catalogue kept changing while the feed was made".into(),
                    ));
                }
                Err(absent) => {
                    // Rendered by another instance, or before a restart.
                    let stored = self.store().fragments_by_release(&absent).await?;
                    self.inner.fragments.hold(row.id, stored);
                    if let Ok(held) = self.inner.fragments.in_order(row.id, &order) {
                        break held;
                    }
                }
            }
            attempts += 1;
        };
        let order = Arc::new(KnownOrder {
            feed_version: row.feed_version,
            stamp,
            fragments,
        });
        self.inner.fragments.keep_order(row.id, order.clone());
        Ok(order)
    }

    /// What an extension's fragments are rendered from besides each release: the extension's
    /// feed fields, the public URL and the renderer. A change to any of them renders them all
    /// again.
    fn fragments_stamp(&self, row: &ExtensionRow) -> String {
        let mut hasher = blake3::Hasher::new();
        let none = "\0";
        for part in [
            FRAGMENT_FORMAT,
            &self.settings().public_url,
            &row.name,
            &row.element,
            &row.ext_type,
            &row.client,
            &row.folder,
            &row.title,
            row.description.as_deref().unwrap_or(none),
            row.info_url.as_deref().unwrap_or(none),
        ] {
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        hasher.finalize().to_hex()[..32].to_string()
    }

    /// The fragments of `releases` (rows that no longer parse are skipped, with a warning).
    fn render_fragments(
        &self,
        row: &ExtensionRow,
        releases: Vec<FeedReleaseRow>,
    ) -> ServiceResult<Vec<FeedFragment>> {
        let ext = to_feed_extension(row)?;
        let changelog_url = self.changelog_url(&row.name);
        let updates = feed::UpdateRenderer::new(&ext, Some(&changelog_url));
        let mut fragments = Vec::with_capacity(releases.len());
        for r in releases {
            let Some(p) = parse_release(r.id, &r.version, r.stability, &r.targets) else {
                continue;
            };
            let release = FeedRelease {
                download_url: self.download_url(&row.name, &r.version, &r.filename),
                version: p.version,
                stability: p.stability,
                targets: p.targets,
                php_minimum: r.php_minimum,
                security: r.security.and_then(|s| u8::try_from(s).ok()),
                supported_databases: r
                    .supported_databases
                    .as_deref()
                    .and_then(|s| s.parse::<SupportedDatabases>().ok()),
                sha256: r.sha256,
                sha512: r.sha512,
                notes: r.notes,
            };
            let mut update_blocks = String::new();
            updates.release(&release, &mut update_blocks);
            let mut changelog = String::new();
            feed::changelog_entry(&ext, &release, &mut changelog);
            // Half for each part, so that a feed's validator moves only with its own part.
            let digest = format!(
                "{}{}",
                &blake3::hash(update_blocks.as_bytes()).to_hex()[..DIGEST_HALF],
                &blake3::hash(changelog.as_bytes()).to_hex()[..DIGEST_HALF]
            );
            fragments.push(FeedFragment {
                release_id: r.id,
                extension_id: row.id,
                release_updated_at: r.updated_at,
                sort_key: release.version.sort_key(),
                digest,
                updates: update_blocks,
                changelog,
            });
        }
        Ok(fragments)
    }

    /// `/updates/collection.xml`: for each extension and Joomla major, its newest stable release.
    pub async fn collection_feed(&self) -> ServiceResult<Arc<RenderedFeed>> {
        let feed = self
            .cached(FeedKey::Collection, || async {
                let extensions = self.store().extensions().await?;
                // Private feeds are not listed: the collection is public.
                let private: std::collections::HashSet<i64> = self
                    .store()
                    .package_groups()
                    .await?
                    .into_iter()
                    .filter(|g| g.private_feeds != 0)
                    .map(|g| g.id)
                    .collect();
                let mut by_extension: HashMap<i64, Vec<ParsedRelease>> = HashMap::new();
                let mut last_modified = 0;
                for r in self.store().all_published_releases().await? {
                    last_modified = last_modified.max(r.updated_at);
                    // A release being rolled out joins the collection when everyone has it.
                    if r.rollout.is_none()
                        && let Some(p) = parse_release(r.id, &r.version, r.stability, &r.targets)
                        && p.stability == Stability::Stable
                    {
                        by_extension.entry(r.extension_id).or_default().push(p);
                    }
                }
                let mut entries = Vec::new();
                let listed = |e: &&ExtensionRow| {
                    is_joomla(e) && !e.package_group_id.is_some_and(|g| private.contains(&g))
                };
                for ext in extensions.iter().filter(listed) {
                    let Some(releases) = by_extension.get(&ext.id) else {
                        continue;
                    };
                    let identity = to_identity(ext)?;
                    let mut majors: Vec<u32> =
                        releases.iter().flat_map(|r| r.targets.majors()).collect();
                    majors.sort_unstable();
                    majors.dedup();
                    for major in majors.into_iter().rev() {
                        let Some(best) = releases
                            .iter()
                            .filter(|r| r.targets.supports_major(major))
                            .max_by(|a, b| a.version.cmp(&b.version))
                        else {
                            continue;
                        };
                        entries.push(CollectionEntry {
                            identity: identity.clone(),
                            name: ext.title.clone(),
                            version: best.version.clone(),
                            target_regex: best.targets.platform_regex(major).unwrap_or_default(),
                            details_url: self.feed_url(&ext.name),
                            info_url: ext.info_url.clone(),
                        });
                    }
                }
                let body = feed::render_collection(&self.settings().collection_name, &entries);
                Ok(Some(RenderedFeed::new(body, last_modified, None)))
            })
            .await?;
        feed.ok_or(ServiceError::NotFound { what: "collection" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fragment(release_id: i64, version: &str) -> FeedFragment {
        FeedFragment {
            release_id,
            extension_id: 1,
            release_updated_at: release_id * 10,
            sort_key: Version::parse(version).unwrap().sort_key(),
            digest: format!("d{release_id}"),
            updates: format!("<{version}>"),
            changelog: String::new(),
        }
    }

    fn ids(order: &KnownOrder) -> Vec<i64> {
        order.fragments.iter().map(|f| f.release_id).collect()
    }

    /// Patching takes the changed releases out and puts what the feed shows of them where
    /// the database's `ORDER BY sort_key DESC, release_id DESC` would.
    #[test]
    fn a_patched_order_is_the_order_the_database_gives() {
        let known = KnownOrder {
            feed_version: 7,
            stamp: "s".into(),
            fragments: [
                (2, "1.10.0"),
                (4, "1.10.0-rc1"),
                (3, "1.9.0"),
                (5, "1.0.0"),
                (1, "1.0"),
            ]
            .into_iter()
            .map(|(id, v)| Arc::new(HeldFragment::from(fragment(id, v))))
            .collect(),
        };
        // 3 yanked, 2 rewritten, 6 and 7 published, 8 written but not in the feed.
        let now = vec![
            fragment(2, "1.10.0"),
            fragment(6, "1.9.5"),
            fragment(7, "0.9"),
        ];
        let now: Vec<_> = now.into_iter().map(|f| Arc::new(f.into())).collect();
        let patched = known.patched(9, &[2, 3, 6, 7, 8], &now);
        assert_eq!(ids(&patched), [2, 4, 6, 5, 1, 7]);
        assert_eq!(patched.feed_version, 9);
        assert_eq!(patched.releases_updated_at(), 70);
        // Patched with nothing changed, it is the same order.
        assert_eq!(ids(&patched.patched(10, &[], &[])), ids(&patched));
    }
}
