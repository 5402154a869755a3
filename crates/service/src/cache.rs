//! Answers from the database kept in memory until the database says they may have changed.
//!
//! Each kind of cached state (the catalogue for feeds; users, memberships, package groups and
//! keys for downloads) has a generation number in the database that every write to it bumps in
//! the same transaction. An instance drops its cached answers at once after its own writes and
//! within `Settings::catalogue_poll` of another instance's, by polling the generations.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use std::sync::Arc;

use depot_store::DownloadTarget;

use crate::Depot;
use crate::composer::ComposerRepository;
use crate::downloads::DownloadKey;
use crate::feeds::{FeedKey, RenderedFeed};
use crate::tauri::TauriCatalogue;
use crate::wordpress::{WordPressCatalogue, WordPressImage};

/// A map of loaded answers that can be dropped at any moment without losing a concurrent load's
/// correctness: a load that started before a `clear` is not kept.
pub(crate) struct Memo<K, V> {
    entries: RwLock<HashMap<K, V>>,
    /// Bumped on every clear.
    epoch: AtomicU64,
    /// Unknown names and keys are cached too (so that probing costs no database work), but only
    /// up to this many entries, so that probing cannot grow memory without bound.
    max_entries: usize,
}

impl<K: Eq + Hash, V: Clone> Memo<K, V> {
    pub(crate) fn new(max_entries: usize) -> Self {
        Memo {
            entries: RwLock::new(HashMap::new()),
            epoch: AtomicU64::new(0),
            max_entries,
        }
    }

    /// The cached answer for `key`, or `load`'s (cached unless a clear happened meanwhile).
    pub(crate) async fn get_or_load<E, Fut>(
        &self,
        key: K,
        load: impl FnOnce() -> Fut,
    ) -> Result<V, E>
    where
        Fut: Future<Output = Result<V, E>>,
    {
        if let Some(hit) = self.entries.read().expect("memo lock").get(&key) {
            return Ok(hit.clone());
        }
        let epoch = self.epoch.load(Ordering::SeqCst);
        let value = load().await?;
        let mut entries = self.entries.write().expect("memo lock");
        if self.epoch.load(Ordering::SeqCst) == epoch && entries.len() < self.max_entries {
            entries.insert(key, value.clone());
        }
        Ok(value)
    }

    pub(crate) fn clear(&self) {
        let mut entries = self.entries.write().expect("memo lock");
        self.epoch.fetch_add(1, Ordering::SeqCst);
        entries.clear();
    }
}

/// Banners and icons kept in memory (each at most `MAX_ASSET_BYTES`, most far less).
const WORDPRESS_IMAGES: usize = 64;

/// Entries kept per catalogue memo, known and unknown names together (see `Memo`).
const CATALOGUE_ENTRIES: usize = 20_000;

/// What depends on the catalogue generation: rendered feeds, and the targets of download URLs
/// (so that a download needs no database work, and known files are still served while the
/// database is away).
pub(crate) struct CatalogueCache {
    pub(crate) feeds: Memo<FeedKey, Option<Arc<RenderedFeed>>>,
    pub(crate) downloads: Memo<DownloadKey, Option<DownloadTarget>>,
    /// Akeeba Release System update streams → the extension each became (`depot import ars`).
    pub(crate) ars_streams: Memo<i64, Option<String>>,
    /// The same by the stream's alias (its search-engine-friendly URL).
    pub(crate) ars_aliases: Memo<String, Option<String>>,
    /// The Composer repository, rendered.
    pub(crate) composer: Memo<(), Arc<ComposerRepository>>,
    /// The WordPress plugins' and themes' metadata, rendered.
    pub(crate) wordpress: Memo<(), Arc<WordPressCatalogue>>,
    /// WordPress plugins' banners and icons, read out of their packages, by SHA-256.
    pub(crate) wordpress_images: Memo<String, Option<WordPressImage>>,
    /// The applications' builds as Tauri's updater reads them, rendered.
    pub(crate) tauri: Memo<(), Arc<TauriCatalogue>>,
    /// The last catalogue generation seen in the database.
    pub(crate) generation: Seen,
}

impl CatalogueCache {
    pub(crate) fn new(generation: i64) -> Self {
        CatalogueCache {
            feeds: Memo::new(CATALOGUE_ENTRIES),
            downloads: Memo::new(CATALOGUE_ENTRIES),
            ars_streams: Memo::new(CATALOGUE_ENTRIES),
            ars_aliases: Memo::new(CATALOGUE_ENTRIES),
            composer: Memo::new(1),
            wordpress: Memo::new(1),
            tauri: Memo::new(1),
            wordpress_images: Memo::new(WORDPRESS_IMAGES),
            generation: Seen::new(generation),
        }
    }

    pub(crate) fn clear(&self) {
        self.feeds.clear();
        self.downloads.clear();
        self.ars_streams.clear();
        self.ars_aliases.clear();
        self.composer.clear();
        self.wordpress.clear();
        self.tauri.clear();
        self.wordpress_images.clear();
    }
}

/// The last value seen of a number that only grows (a generation, a write counter).
pub(crate) struct Seen(AtomicI64);

impl Seen {
    pub(crate) fn new(value: i64) -> Self {
        Seen(AtomicI64::new(value))
    }

    /// Records `value`, known to be reflected already (this process wrote it), unless a newer
    /// one was seen.
    pub(crate) fn note(&self, value: i64) {
        self.0.fetch_max(value, Ordering::SeqCst);
    }

    /// Records `value`; true if it differs from the one seen before.
    pub(crate) fn moved(&self, value: i64) -> bool {
        self.0.swap(value, Ordering::SeqCst) != value
    }
}

/// Watches the generations so that other instances' writes reach this one's caches.
pub(crate) async fn poll_generations(depot: Depot) {
    let mut tick = tokio::time::interval(depot.settings().catalogue_poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match depot.store().generations().await {
            Ok(g) => {
                if depot.inner.catalogue.generation.moved(g.catalogue) {
                    depot.inner.catalogue.clear();
                }
                if depot.inner.access.generation.moved(g.access) {
                    depot.inner.access.clear();
                }
                depot.saw_identity_sync(g.identity_synced_at);
            }
            Err(e) => tracing::warn!(error = %e, "could not read the cache generations"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_load_that_overlaps_a_clear_is_not_kept() {
        let memo: Memo<u32, &str> = Memo::new(10);
        let v: Result<_, ()> = memo
            .get_or_load(1, || async {
                memo.clear();
                Ok("stale")
            })
            .await;
        assert_eq!(v, Ok("stale"));
        let v: Result<_, ()> = memo.get_or_load(1, || async { Ok("fresh") }).await;
        assert_eq!(v, Ok("fresh"));
        let v: Result<_, ()> = memo.get_or_load(1, || async { Ok("not loaded") }).await;
        assert_eq!(v, Ok("fresh"));
    }

    #[tokio::test]
    async fn full_memo_still_answers_but_keeps_nothing_new() {
        let memo: Memo<u32, u32> = Memo::new(1);
        let _: Result<_, ()> = memo.get_or_load(1, || async { Ok(1) }).await;
        let _: Result<_, ()> = memo.get_or_load(2, || async { Ok(2) }).await;
        let v: Result<_, ()> = memo.get_or_load(2, || async { Ok(3) }).await;
        assert_eq!(v, Ok(3));
        let v: Result<_, ()> = memo.get_or_load(1, || async { Ok(4) }).await;
        assert_eq!(v, Ok(1));
    }

    #[test]
    fn seen_reports_movement_once() {
        let seen = Seen::new(3);
        assert!(!seen.moved(3));
        assert!(seen.moved(4));
        assert!(!seen.moved(4));
    }
}
