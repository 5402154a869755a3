//! Feeds, rendered once per catalogue change and served from memory.
//!
//! A cache hit does no database work. Every catalogue write bumps a generation number in the
//! database; this instance clears its cache at once after its own writes, and a poller notices
//! other instances' writes within `Settings::catalogue_poll`.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use depot_core::feed::{self, CollectionEntry, FeedExtension, FeedRelease, SupportedDatabases};
use depot_core::{Client, ExtensionType, Identity, Stability, Targets, Version};
use depot_store::ExtensionRow;

use crate::{Depot, ServiceError, ServiceResult};

/// A feed ready to send.
#[derive(Debug)]
pub struct RenderedFeed {
    pub body: Bytes,
    /// A strong validator, quoted.
    pub etag: String,
    /// Milliseconds since the epoch of the newest change the feed shows.
    pub last_modified_ms: i64,
    /// The extension an extension or changelog feed is about (for request statistics).
    pub extension_id: Option<i64>,
}

impl RenderedFeed {
    fn new(body: String, last_modified_ms: i64, extension_id: Option<i64>) -> Self {
        let hash = blake3::hash(body.as_bytes());
        RenderedFeed {
            etag: format!("\"{}\"", &hash.to_hex()[..32]),
            body: Bytes::from(body),
            last_modified_ms,
            extension_id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum FeedKey {
    Extension(String),
    Changelog(String),
    Collection,
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
    }

    async fn cached<F, Fut>(
        &self,
        key: FeedKey,
        render: F,
    ) -> ServiceResult<Option<Arc<RenderedFeed>>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ServiceResult<Option<RenderedFeed>>>,
    {
        let mut rendered = None;
        let feed = self
            .inner
            .catalogue
            .feeds
            .get_or_load(key, || async {
                let feed = render().await?.map(Arc::new);
                rendered = Some(feed.is_some());
                Ok(feed)
            })
            .await;
        crate::metrics::feed_lookup(rendered);
        feed
    }

    /// `/updates/{extension}.xml`; `None` for an unknown extension.
    pub async fn extension_feed(&self, name: &str) -> ServiceResult<Option<Arc<RenderedFeed>>> {
        self.cached(FeedKey::Extension(name.to_string()), || async {
            let Some((id, ext, releases, last_modified)) = self.feed_input(name).await? else {
                return Ok(None);
            };
            let changelog = self.changelog_url(name);
            let body = feed::render_extension_feed(&ext, &releases, Some(&changelog));
            Ok(Some(RenderedFeed::new(body, last_modified, Some(id))))
        })
        .await
    }

    /// `/changelogs/{extension}.xml`; `None` for an unknown extension.
    pub async fn changelog_feed(&self, name: &str) -> ServiceResult<Option<Arc<RenderedFeed>>> {
        self.cached(FeedKey::Changelog(name.to_string()), || async {
            let Some((id, ext, releases, last_modified)) = self.feed_input(name).await? else {
                return Ok(None);
            };
            let body = feed::render_changelog(&ext, &releases);
            Ok(Some(RenderedFeed::new(body, last_modified, Some(id))))
        })
        .await
    }

    async fn feed_input(
        &self,
        name: &str,
    ) -> ServiceResult<Option<(i64, FeedExtension, Vec<FeedRelease>, i64)>> {
        let Some(row) = self.store().extension_by_name(name).await? else {
            return Ok(None);
        };
        let ext = to_feed_extension(&row)?;
        let mut last_modified = row.updated_at;
        let rows = self.store().feed_releases(row.id).await?;
        let mut releases = Vec::with_capacity(rows.len());
        for r in rows {
            let Some(p) = parse_release(r.id, &r.version, r.stability, &r.targets) else {
                continue;
            };
            last_modified = last_modified.max(r.updated_at);
            releases.push(FeedRelease {
                download_url: self.download_url(name, &r.version, &r.filename),
                version: p.version,
                stability: p.stability,
                targets: p.targets,
                php_minimum: r.php_minimum,
                supported_databases: r
                    .supported_databases
                    .as_deref()
                    .and_then(|s| s.parse::<SupportedDatabases>().ok()),
                sha256: r.sha256,
                sha512: r.sha512,
                notes: r.notes,
            });
        }
        Ok(Some((row.id, ext, releases, last_modified)))
    }

    /// `/updates/collection.xml`: for each extension and Joomla major, its newest stable release.
    pub async fn collection_feed(&self) -> ServiceResult<Arc<RenderedFeed>> {
        let feed = self
            .cached(FeedKey::Collection, || async {
                let extensions = self.store().extensions().await?;
                let mut by_extension: HashMap<i64, Vec<ParsedRelease>> = HashMap::new();
                let mut last_modified = 0;
                for r in self.store().all_published_releases().await? {
                    last_modified = last_modified.max(r.updated_at);
                    if let Some(p) = parse_release(r.id, &r.version, r.stability, &r.targets)
                        && p.stability == Stability::Stable
                    {
                        by_extension.entry(r.extension_id).or_default().push(p);
                    }
                }
                let mut entries = Vec::new();
                for ext in &extensions {
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
