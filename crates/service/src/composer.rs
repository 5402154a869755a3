//! The Composer repository at `/composer`: `packages.json`, and each package's metadata at
//! `/composer/p2/{vendor}/{package}.json` (Composer 2's `metadata-url`), the dists being the
//! packages' ordinary download URLs.
//!
//! Each customer sees exactly what they may install: free packages for everyone, a paid
//! package's versions only with a download key whose user is entitled to them ("keep what you
//! paid for" included, by each version's publication date, as for a download). A paid package
//! no one has shown a right to is not listed at all, so its existence does not leak.
//!
//! Every version's JSON is rendered once per catalogue change; a request joins the versions its
//! customer may see, which for a free package is the same cached document for everyone.

use std::collections::BTreeMap;
use std::sync::Arc;

use depot_core::Ecosystem;
use depot_core::rollout::cohort;

use crate::rollouts::{RunningRollout, offered_to};
use depot_store::PublishedReleaseRow;
use serde_json::{Map, Value, json};

use crate::feeds::ClientAnswer;
use crate::input::rfc3339;
use crate::{Credentials, Depot, Etag, Grant, RenderedFeed, ServiceError, ServiceResult};

/// The repository as rendered after the last catalogue change.
pub(crate) struct ComposerRepository {
    packages: BTreeMap<String, ComposerPackage>,
    /// When the newest release it lists changed.
    last_modified: i64,
    /// `packages.json` for a request without credentials: the free packages.
    public_root: Arc<RenderedFeed>,
}

struct ComposerPackage {
    package_group_id: Option<i64>,
    versions: Vec<ComposerVersion>,
    /// The whole document, for a free package (everyone sees the same).
    public: Option<Arc<RenderedFeed>>,
}

struct ComposerVersion {
    published_at: i64,
    rollout: Option<RunningRollout>,
    /// The version's object in the package's metadata.
    json: String,
    /// Its hash, from which a document's `ETag` is made without hashing the document (each
    /// customer's is joined per request; hashing it was a quarter of the request).
    digest: blake3::Hash,
}

/// Who asks: nobody in particular, or the user a download key proves.
enum Viewer {
    Anyone,
    Customer(Grant),
}

impl Depot {
    /// `/composer/p2/{name}.json`, where Composer reads a package's versions.
    pub(crate) fn composer_metadata_url(&self, name: &str) -> String {
        self.url(&format!("/composer/p2/{name}.json"))
    }

    /// The repository entry a customer puts in their `composer.json`.
    pub(crate) fn composer_repository_snippet(&self) -> String {
        let entry = json!({
            "repositories": [{"type": "composer", "url": self.url("/composer")}]
        });
        serde_json::to_string_pretty(&entry).unwrap_or_default()
    }

    /// `/composer/packages.json` for whoever `credentials` prove: the packages they may
    /// install. Refuses a key that is not valid (`REL_INV`), so that Composer asks again
    /// rather than installing without the paid packages.
    pub async fn composer_root(
        &self,
        credentials: &Credentials,
    ) -> ServiceResult<Arc<RenderedFeed>> {
        let repository = self.composer_repository().await?;
        let customer = match self.viewer(credentials).await? {
            Viewer::Anyone => return Ok(repository.public_root.clone()),
            Viewer::Customer(grant) => grant,
        };
        let mut names = Vec::new();
        for (name, package) in &repository.packages {
            if !self.visible_versions(package, &customer).await?.is_empty() {
                names.push(name.as_str());
            }
        }
        Ok(Arc::new(self.render_root(&names, repository.last_modified)))
    }

    /// A package's metadata for whoever `credentials` prove; `None` when there is no such
    /// package or none of its versions is theirs to see. `site` identifies the client for a
    /// staged rollout (its key when it sends one, else its address): a version being rolled out
    /// is left out for a client outside its share.
    pub async fn composer_package(
        &self,
        name: &str,
        credentials: &Credentials,
        site: &str,
    ) -> ServiceResult<Option<ClientAnswer>> {
        let repository = self.composer_repository().await?;
        let viewer = self.viewer(credentials).await?;
        let Some(package) = repository.packages.get(name) else {
            return Ok(None);
        };
        if let Some(public) = &package.public {
            return Ok(Some(ClientAnswer::shared(public.clone())));
        }
        let versions = match viewer {
            Viewer::Customer(customer) => self.visible_versions(package, &customer).await?,
            Viewer::Anyone if package.package_group_id.is_none() => {
                package.versions.iter().collect()
            }
            Viewer::Anyone => return Ok(None),
        };
        let (now, cohort) = (self.now_ms(), cohort(site, name));
        let versions: Vec<&ComposerVersion> = versions
            .into_iter()
            .filter(|v| offered_to(v.rollout.as_ref(), cohort, now))
            .collect();
        if versions.is_empty() {
            return Ok(None);
        }
        Ok(Some(ClientAnswer::for_client(Arc::new(package_document(
            name,
            &versions,
            repository.last_modified,
        )))))
    }

    async fn viewer(&self, credentials: &Credentials) -> ServiceResult<Viewer> {
        match credentials {
            Credentials::None => Ok(Viewer::Anyone),
            Credentials::DownloadKey(key) => {
                Ok(Viewer::Customer(self.identify_download_key(key).await?))
            }
            Credentials::Account(user_id) => Ok(Viewer::Customer(Grant {
                user_id: *user_id,
                key_id: None,
            })),
            Credentials::EmailKey { .. } => Err(ServiceError::invalid(
                "bad_credentials",
                "the Composer repository takes a download key as the password of HTTP basic auth",
            )),
        }
    }

    /// The versions of `package` the customer may install (all of a free package's).
    async fn visible_versions<'a>(
        &self,
        package: &'a ComposerPackage,
        customer: &Grant,
    ) -> ServiceResult<Vec<&'a ComposerVersion>> {
        let Some(group_id) = package.package_group_id else {
            return Ok(package.versions.iter().collect());
        };
        let Some(group) = self.package_group(group_id).await? else {
            return Ok(Vec::new());
        };
        let standing = match self.standing(&group, customer.user_id).await {
            Ok(standing) => standing,
            // Not theirs: left out, as if it did not exist.
            Err(ServiceError::Denied { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut visible = Vec::new();
        for version in &package.versions {
            if standing.allows(version.published_at)? {
                visible.push(version);
            }
        }
        Ok(visible)
    }

    async fn composer_repository(&self) -> ServiceResult<Arc<ComposerRepository>> {
        self.inner
            .catalogue
            .composer
            .get_or_load((), || async {
                let rows = self
                    .store()
                    .published_releases_in(Ecosystem::Composer.as_str())
                    .await?;
                Ok::<_, ServiceError>(Arc::new(self.render_repository(rows)))
            })
            .await
    }

    fn render_repository(&self, rows: Vec<PublishedReleaseRow>) -> ComposerRepository {
        let mut packages: BTreeMap<String, ComposerPackage> = BTreeMap::new();
        let mut last_modified = 0;
        for row in rows {
            last_modified = last_modified.max(row.release.updated_at);
            let json = self.render_version(&row);
            let package =
                packages
                    .entry(row.extension.clone())
                    .or_insert_with(|| ComposerPackage {
                        package_group_id: row.package_group_id,
                        versions: Vec::new(),
                        public: None,
                    });
            package.versions.push(ComposerVersion {
                published_at: row.release.published_at.unwrap_or(i64::MAX),
                rollout: RunningRollout::of(&row.release),
                digest: blake3::hash(json.as_bytes()),
                json,
            });
        }
        for (name, package) in &mut packages {
            // One document for everyone: a free package none of whose versions is being
            // rolled out.
            if package.package_group_id.is_none()
                && package.versions.iter().all(|v| v.rollout.is_none())
            {
                let versions: Vec<&ComposerVersion> = package.versions.iter().collect();
                package.public = Some(Arc::new(package_document(name, &versions, last_modified)));
            }
        }
        let free: Vec<&str> = packages
            .iter()
            .filter(|(_, p)| p.package_group_id.is_none())
            .map(|(name, _)| name.as_str())
            .collect();
        let public_root = Arc::new(self.render_root(&free, last_modified));
        ComposerRepository {
            packages,
            last_modified,
            public_root,
        }
    }

    /// One version's object: what the package's `composer.json` says, and where its dist is.
    fn render_version(&self, row: &PublishedReleaseRow) -> String {
        let (release, artifact) = (&row.release, &row.artifact);
        let mut version: Map<String, Value> = artifact
            .manifest
            .as_deref()
            .and_then(|m| serde_json::from_str(m).ok())
            .unwrap_or_default();
        version.insert("name".into(), row.extension.clone().into());
        version.insert("version".into(), release.version.clone().into());
        version
            .entry("type")
            .or_insert_with(|| Value::from("library"));
        version.insert(
            "dist".into(),
            json!({
                "type": "zip",
                "url": self.download_url(&row.extension, &release.version, &artifact.filename),
                // Composer checks the file's SHA-1 against it; empty skips the check (files
                // stored before depot kept their SHA-1).
                "shasum": artifact.sha1.clone().unwrap_or_default(),
            }),
        );
        if let Some(at) = release.published_at {
            version.insert("time".into(), rfc3339(at).into());
        }
        Value::Object(version).to_string()
    }

    fn render_root(&self, names: &[&str], last_modified: i64) -> RenderedFeed {
        let root = json!({
            "packages": {},
            "metadata-url": self.url("/composer/p2/%package%.json"),
            "available-packages": names,
        });
        RenderedFeed::json(root.to_string(), last_modified)
    }
}

/// `{"packages": {name: [versions…]}}`, Composer 2's metadata of one package (not minified).
/// Its `ETag` is a hash of the name and the versions' digests: the same versions give the same
/// bytes, so the same validator, for every customer who sees them.
fn package_document(name: &str, versions: &[&ComposerVersion], last_modified: i64) -> RenderedFeed {
    let name_json = Value::from(name).to_string();
    let mut body = String::with_capacity(
        name_json.len() + 20 + versions.iter().map(|v| v.json.len() + 1).sum::<usize>(),
    );
    let mut etag = blake3::Hasher::new();
    etag.update(b"depot/composer-package/v1\0");
    etag.update(&(name.len() as u64).to_le_bytes());
    etag.update(name.as_bytes());
    body.push_str("{\"packages\":{");
    body.push_str(&name_json);
    body.push_str(":[");
    for (i, version) in versions.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&version.json);
        etag.update(version.digest.as_bytes());
    }
    body.push_str("]}}");
    RenderedFeed::json_with_etag(body, Etag::of_hash(&etag.finalize()), last_modified)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(json: &str) -> ComposerVersion {
        ComposerVersion {
            published_at: 0,
            rollout: None,
            json: json.to_string(),
            digest: blake3::hash(json.as_bytes()),
        }
    }

    #[test]
    fn a_package_document_is_json_composer_reads() {
        let (one, two) = (
            version(r#"{"version":"1.0.0"}"#),
            version(r#"{"version":"1.1.0"}"#),
        );
        let both = package_document("acme/widgets", &[&one, &two], 0);
        let doc: serde_json::Value = serde_json::from_slice(&both.body).unwrap();
        assert_eq!(doc["packages"]["acme/widgets"][1]["version"], "1.1.0");
        let empty = package_document("a/b", &[], 0);
        let empty: serde_json::Value = serde_json::from_slice(&empty.body).unwrap();
        assert_eq!(empty["packages"]["a/b"], serde_json::json!([]));
    }

    /// The validator follows the bytes: the same versions give the same `ETag`, any other
    /// set, order or name another.
    #[test]
    fn a_package_documents_etag_follows_its_versions() {
        let (one, two) = (
            version(r#"{"version":"1.0.0"}"#),
            version(r#"{"version":"1.1.0"}"#),
        );
        let etag = |name, versions: &[&ComposerVersion]| {
            package_document(name, versions, 0)
                .etag
                .as_str()
                .to_string()
        };
        assert_eq!(etag("a/b", &[&one, &two]), etag("a/b", &[&one, &two]));
        let others = [
            etag("a/b", &[&one]),
            etag("a/b", &[&two, &one]),
            etag("a/c", &[&one, &two]),
            etag("a/b", &[]),
        ];
        for other in &others {
            assert_ne!(&etag("a/b", &[&one, &two]), other);
        }
        assert!(etag("a/b", &[&one]).starts_with('"'));
    }
}
