//! `/wordpress/{slug}/info.json`: a WordPress plugin's or theme's update metadata in the format of
//! the plugin-update-checker library (what most plugins sold outside WordPress.org ship), read
//! from the plugin's header and `readme.txt` at upload.
//!
//! A plugin's document has `name`, `slug`, `version`, `download_url`, `homepage`, `requires`,
//! `tested`, `requires_php`, `author`, `author_homepage`, `last_updated`, `upgrade_notice` and
//! `sections` (`description`, `installation`, `changelog`, …, as HTML); a theme's has `version`,
//! `details_url` and `download_url`. A paid product's metadata answers only a key that may have
//! a version of it (the newest such version, "keep what you paid for" included), and its
//! `download_url` carries that key as `dlid`, so that WordPress's own updater, which sends no
//! credentials, can fetch the zip. Every version's document is rendered once per catalogue
//! change; a paid answer only adds its key.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use depot_core::wordpress::{
    MAX_ASSET_BYTES, WordPressAsset, WordPressManifest, asset_content_type, asset_member,
    markdown_to_html,
};
use depot_core::{Ecosystem, Stability, Version};
use depot_store::PublishedReleaseRow;
use futures::StreamExt;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::io::Read;

use crate::feeds::ClientAnswer;
use crate::offers::{OfferedProduct, OfferedVersion};
use crate::{Credentials, Depot, ServiceError, ServiceResult};

/// The WordPress products as rendered after the last catalogue change.
pub(crate) struct WordPressCatalogue {
    products: BTreeMap<String, OfferedProduct>,
    /// The published versions' banners and icons, by the SHA-256 their URLs name.
    assets: HashMap<String, AssetSource>,
}

/// Where a banner or icon is: an entry of a stored package.
#[derive(Clone, Debug)]
struct AssetSource {
    storage_key: String,
    entry: String,
    name: String,
}

/// A banner or icon, ready to be served.
#[derive(Clone, Debug)]
pub struct WordPressImage {
    pub bytes: Bytes,
    pub content_type: &'static str,
}

impl Depot {
    /// Where a banner or icon is served: named by its hash, so that its URL says nothing to
    /// whoever has not read the metadata (a paid plugin's among them).
    fn wordpress_asset_url(&self, asset: &WordPressAsset) -> String {
        self.url(&format!(
            "/wordpress/assets/{}/{}",
            asset.sha256, asset.name
        ))
    }

    /// A published version's banner or icon by the hash its URL names; `None` when no
    /// published version has it.
    pub async fn wordpress_asset(&self, sha256: &str) -> ServiceResult<Option<WordPressImage>> {
        let catalogue = self.wordpress_catalogue().await?;
        let Some(source) = catalogue.assets.get(sha256).cloned() else {
            return Ok(None);
        };
        let sha256 = sha256.to_string();
        self.inner
            .catalogue
            .wordpress_images
            .get_or_load(sha256.clone(), || async move {
                let object = self.storage().get(&source.storage_key, None).await?;
                let mut zip = Vec::with_capacity(object.total_size.min(64 << 20) as usize);
                let mut stream = object.body.into_stream();
                while let Some(chunk) = stream.next().await {
                    zip.extend_from_slice(&chunk?);
                }
                let bytes = tokio::task::spawn_blocking(move || image_in(zip, &source.entry))
                    .await
                    .map_err(|e| ServiceError::Io(std::io::Error::other(e)))??;
                // The file the metadata named, or nothing.
                if hex::encode(Sha256::digest(&bytes)) != sha256 {
                    return Ok(None);
                }
                Ok::<_, ServiceError>(Some(WordPressImage {
                    bytes: Bytes::from(bytes),
                    content_type: asset_content_type(&source.name),
                }))
            })
            .await
    }

    /// `/wordpress/{slug}/info.json`.
    pub(crate) fn wordpress_metadata_url(&self, slug: &str) -> String {
        self.url(&format!("/wordpress/{slug}/info.json"))
    }

    /// The lines a vendor adds to their plugin or theme so that it updates from depot (with
    /// plugin-update-checker).
    pub(crate) fn wordpress_snippet(&self, slug: &str, paid: bool) -> String {
        let mut s = format!(
            "require __DIR__ . '/plugin-update-checker/plugin-update-checker.php';\n\
             $depotUpdates = \\YahnisElsts\\PluginUpdateChecker\\v5\\PucFactory::buildUpdateChecker(\n    \
             '{}',\n    __FILE__,\n    '{slug}'\n);",
            self.wordpress_metadata_url(slug)
        );
        if paid {
            s.push_str(
                "\n// The customer's download key, from your settings page.\n\
                 $depotUpdates->addQueryArgFilter(function ($query) {\n    \
                 $query['dlid'] = get_option('YOUR_PLUGIN_download_key');\n    \
                 return $query;\n});",
            );
        }
        s
    }

    /// The newest version of `slug` in `channel` that the caller may have, as
    /// plugin-update-checker reads it; `None` when there is no such product or no version of
    /// it for the caller (a paid product without a key that entitles).
    ///
    /// `site` identifies the asking site for a staged rollout (its key when it sends one, else
    /// its address): a version being rolled out is skipped for a site outside its share.
    pub async fn wordpress_info(
        &self,
        slug: &str,
        channel: Stability,
        credentials: &Credentials,
        site: &str,
    ) -> ServiceResult<Option<ClientAnswer>> {
        let catalogue = self.wordpress_catalogue().await?;
        let Some(product) = catalogue.products.get(slug) else {
            return Ok(None);
        };
        let offer = self
            .offer(
                slug,
                product,
                channel,
                credentials,
                site,
                "WordPress metadata",
            )
            .await?;
        Ok(offer.map(|o| o.answer))
    }

    async fn wordpress_catalogue(&self) -> ServiceResult<Arc<WordPressCatalogue>> {
        self.inner
            .catalogue
            .wordpress
            .get_or_load((), || async {
                let rows = self
                    .store()
                    .published_releases_in(Ecosystem::WordPress.as_str())
                    .await?;
                Ok::<_, ServiceError>(Arc::new(self.render_wordpress(rows)))
            })
            .await
    }

    fn render_wordpress(&self, rows: Vec<PublishedReleaseRow>) -> WordPressCatalogue {
        let mut products: BTreeMap<String, OfferedProduct> = BTreeMap::new();
        let mut assets = HashMap::new();
        for row in rows {
            let Some((version, images)) = self.render_wordpress_version(&row) else {
                tracing::warn!(
                    release_id = row.release.id,
                    "skipping a WordPress release whose stored metadata does not parse"
                );
                continue;
            };
            for image in images {
                assets.insert(
                    image.sha256,
                    AssetSource {
                        storage_key: row.artifact.storage_key.clone(),
                        entry: image.entry,
                        name: image.name,
                    },
                );
            }
            products
                .entry(row.extension.clone())
                .or_insert_with(|| OfferedProduct::new(row.package_group_id))
                .versions
                .push(version);
        }
        for product in products.values_mut() {
            product.finish();
        }
        WordPressCatalogue { products, assets }
    }

    /// A version's document, and the banners and icons it names.
    fn render_wordpress_version(
        &self,
        row: &PublishedReleaseRow,
    ) -> Option<(OfferedVersion, Vec<WordPressAsset>)> {
        let (release, artifact) = (&row.release, &row.artifact);
        let manifest: WordPressManifest =
            serde_json::from_str(artifact.manifest.as_deref()?).ok()?;
        let version = Version::parse(&release.version).ok()?;
        let download_url = self.download_url(&row.extension, &release.version, &artifact.filename);
        let mut document = Map::new();
        let mut put = |key: &str, value: Option<String>| {
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                document.insert(key.into(), value.into());
            }
        };
        put("name", Some(manifest.name.clone()));
        put("slug", Some(row.extension.clone()));
        put("version", Some(release.version.clone()));
        if manifest.kind == "theme" {
            // The page WordPress links as "View version details".
            let details = manifest
                .homepage
                .clone()
                .unwrap_or_else(|| self.url(&format!("/releases/{}/latest.json", row.extension)));
            put("details_url", Some(details));
        } else {
            put("homepage", manifest.homepage.clone());
            put("author", manifest.author.clone());
            put("author_homepage", manifest.author_homepage.clone());
        }
        put("requires", manifest.requires.clone());
        put("tested", manifest.tested.clone());
        put("requires_php", manifest.requires_php.clone());
        put("last_updated", release.published_at.map(wordpress_date));
        put("upgrade_notice", manifest.upgrade_notice.clone());
        // plugin-update-checker's `banners` {low, high} and `icons` {1x, 2x, svg}.
        for asset in &manifest.assets {
            if let Some((group, member)) = asset_member(&asset.name)
                && let Value::Object(images) = document
                    .entry(group)
                    .or_insert_with(|| Value::Object(Map::new()))
            {
                images.insert(member.into(), self.wordpress_asset_url(asset).into());
            }
        }
        if manifest.kind != "theme" {
            let mut sections: Map<String, Value> = manifest
                .sections
                .iter()
                .map(|(k, html)| (k.clone(), Value::from(html.clone())))
                .collect();
            if !sections.contains_key("description")
                && let Some(d) = &manifest.description
            {
                sections.insert("description".into(), markdown_to_html(d).into());
            }
            // The release notes stand in for a readme without a changelog.
            if !sections.contains_key("changelog")
                && let Some(notes) = release.notes.as_deref().filter(|n| !n.trim().is_empty())
            {
                sections.insert("changelog".into(), markdown_to_html(notes).into());
            }
            document.insert("sections".into(), Value::Object(sections));
        }
        Some((
            OfferedVersion::new(version, release, document, "download_url", download_url),
            manifest.assets,
        ))
    }
}

/// The bytes of `entry` in the zip `zip`.
fn image_in(zip: Vec<u8>, entry: &str) -> ServiceResult<Vec<u8>> {
    let corrupt = |e: String| ServiceError::Io(std::io::Error::other(e));
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(zip)).map_err(|e| corrupt(e.to_string()))?;
    let file = archive.by_name(entry).map_err(|e| corrupt(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_ASSET_BYTES)
        .read_to_end(&mut bytes)
        .map_err(ServiceError::Io)?;
    Ok(bytes)
}

/// `last_updated` as WordPress.org's API writes it (`2026-12-04 10:30:00`, UTC).
fn wordpress_date(ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_as_wordpress_writes_them() {
        assert_eq!(
            super::wordpress_date(1_764_844_200_000),
            "2025-12-04 10:30:00"
        );
    }
}
