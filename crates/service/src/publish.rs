//! Publishing a package: the server reads the manifest, checks it against the URL, hashes and
//! stores the file and creates the release, so that nothing half-written is ever visible.
//!
//! Order matters: the file is spooled and inspected first (nothing stored yet), then written to
//! storage (invisible until a release row points at it), then the release and artifact rows are
//! created in one transaction. A failure at any step removes what the earlier steps made.

use depot_core::composer::{ComposerManifest, PackageName};
use depot_core::feed::{
    Minimums, SupportedDatabases, parse_php_minimum, parse_security, raised_minimums,
};
use depot_core::package::{self, Contents, Manifest, PackageError};
use depot_core::wordpress::{Slug, WordPressManifest};
use depot_core::{Ecosystem, Identity, ReleaseState, Stability, Targets, Version};
use depot_store::{ExtensionRow, NewArtifact, NewExtension, NewRelease, StoreError};

use crate::Actor;
use crate::{Depot, ServiceError, ServiceResult, Spooled};

pub use depot_api::{PublishOutcome, PublishedRelease};

/// What the uploader may say besides the file.
#[derive(Clone, Debug, Default)]
pub struct PublishOptions {
    /// Joomla targets (`4.4,5,6`); the extension's default when absent.
    pub joomla: Option<String>,
    pub stability: Option<String>,
    pub notes: Option<String>,
    pub draft: bool,
    pub php_minimum: Option<String>,
    pub supported_databases: Option<String>,
    /// jBackend's package id; derived when absent.
    pub package_id: Option<String>,
    /// Joomla's `<security>` level of the release, `0` to `4`.
    pub security: Option<String>,
    /// The package group (by name) that makes the extension paid. Applied before the release
    /// exists, so a paid extension is never downloadable for free, even for a moment.
    pub package_group: Option<String>,
}

/// Options checked and normalised before anything is stored.
pub(crate) struct Checked {
    pub(crate) targets: Option<Targets>,
    pub(crate) stability: Stability,
    pub(crate) php_minimum: Option<String>,
    pub(crate) supported_databases: Option<String>,
    pub(crate) package_id: Option<String>,
    pub(crate) security: Option<i64>,
}

pub(crate) fn check_options(version: &Version, o: &PublishOptions) -> ServiceResult<Checked> {
    let targets = o
        .joomla
        .as_deref()
        .filter(|j| !j.trim().is_empty())
        .map(|j| j.parse::<Targets>())
        .transpose()
        .map_err(|e| ServiceError::invalid("bad_joomla_targets", e.to_string()))?;
    let implied = version.implied_stability();
    let stability = match o.stability.as_deref().filter(|s| !s.trim().is_empty()) {
        None => implied,
        Some(s) => {
            let st: Stability = s.parse().map_err(|e: depot_core::VersionError| {
                ServiceError::invalid("bad_stability", e.to_string())
            })?;
            if version.has_stability_suffix() && st != implied {
                return Err(ServiceError::invalid(
                    "bad_stability",
                    format!(
                        "version {version} is {implied} by its name; it cannot be published as {st}"
                    ),
                ));
            }
            st
        }
    };
    let php_minimum = o
        .php_minimum
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .map(parse_php_minimum)
        .transpose()
        .map_err(|e| ServiceError::invalid("bad_php_minimum", e.0))?;
    let supported_databases = o
        .supported_databases
        .as_deref()
        .filter(|d| !d.trim().is_empty())
        .map(|d| d.parse::<SupportedDatabases>().map(|s| s.to_string()))
        .transpose()
        .map_err(|e| ServiceError::invalid("bad_supported_databases", e.0))?;
    let package_id = match o
        .package_id
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        Some(p) if valid_package_id(p) => Some(p.to_string()),
        Some(p) => {
            return Err(ServiceError::invalid(
                "bad_package_id",
                format!("package id {p:?}: use up to 100 letters, digits, '_', '-' or '.'"),
            ));
        }
        None => None,
    };
    let security = o
        .security
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(parse_security)
        .transpose()
        .map_err(|e| ServiceError::invalid("bad_security", e.0))?
        .map(i64::from);
    Ok(Checked {
        security,
        targets,
        stability,
        php_minimum,
        supported_databases,
        package_id,
    })
}

fn valid_package_id(p: &str) -> bool {
    p.len() <= 100
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Content-addressed, so that the same bytes are stored once and a key never changes meaning.
pub(crate) fn storage_key(sha256: &str) -> String {
    format!("packages/{}/{sha256}.zip", &sha256[..2])
}

fn same_identity(row: &ExtensionRow, id: &Identity) -> bool {
    row.element == id.element
        && row.ext_type == id.kind.as_str()
        && row.client == id.client.as_str()
        && row.folder == id.folder.clone().unwrap_or_default()
}

impl Depot {
    /// Refuses an upload of `extension` that `actor` may not make, before its body is read
    /// (`publish` checks again).
    pub fn check_may_publish(&self, actor: &Actor, extension: &str) -> ServiceResult<()> {
        actor.require_publish(extension, "publish")
    }

    /// Publishes an uploaded package as `extension` `version`.
    pub async fn publish(
        &self,
        actor: &Actor,
        extension: &str,
        version: &str,
        upload: Spooled,
        options: &PublishOptions,
    ) -> ServiceResult<PublishedRelease> {
        actor.require_publish(extension, "publish")?;
        let ecosystem = match self.store().extension_by_name(extension).await? {
            Some(row) => row.ecosystem,
            None => Ecosystem::of_name(extension),
        };
        let bad_name = |e: String| ServiceError::invalid("bad_extension_name", e);
        match ecosystem {
            Ecosystem::Application => return Err(builds_only(extension)),
            Ecosystem::Joomla => Identity::type_of_full_name(extension)
                .map(drop)
                .map_err(|e| bad_name(e.to_string()))?,
            Ecosystem::Composer => PackageName::parse(extension)
                .map(drop)
                .map_err(|e| bad_name(e.to_string()))?,
            Ecosystem::WordPress => Slug::parse(extension)
                .map(drop)
                .map_err(|e| bad_name(e.to_string()))?,
        }
        let version = Version::parse(version)
            .map_err(|e| ServiceError::invalid("bad_version", e.to_string()))?;
        let contents = self.inspect(&upload).await?;
        let product = match ecosystem {
            Ecosystem::Joomla => {
                let manifest = contents.joomla?;
                if manifest.identity.full_name != extension {
                    return Err(ServiceError::Mismatch(format!(
                        "the manifest {} describes {} ({} {:?}), not {extension}",
                        manifest.path,
                        manifest.identity.full_name,
                        manifest.identity.kind,
                        manifest.identity.element
                    )));
                }
                if manifest.version != version {
                    return Err(ServiceError::Mismatch(format!(
                        "the manifest {} says version {}, not {version}",
                        manifest.path, manifest.version
                    )));
                }
                Product::joomla(manifest)
            }
            Ecosystem::Composer => {
                let name = PackageName::parse(extension)
                    .map_err(|e| ServiceError::invalid("bad_extension_name", e.to_string()))?;
                Product::composer(name, version, contents.composer.transpose()?)?
            }
            Ecosystem::WordPress => {
                let manifest = contents.wordpress.ok_or_else(|| {
                    ServiceError::Package(PackageError::NoWordPressHeader {
                        slug: extension.to_string(),
                    })
                })?;
                Product::wordpress(extension, version, manifest)?
            }
            Ecosystem::Application => return Err(builds_only(extension)),
        };
        self.publish_inspected(actor, product, upload, options)
            .await
    }

    /// Publishes an uploaded package as the extension and version its manifest names (the
    /// console's upload, where the file is all there is).
    pub async fn publish_package(
        &self,
        actor: &Actor,
        upload: Spooled,
        options: &PublishOptions,
    ) -> ServiceResult<PublishedRelease> {
        let product = Product::named_by(self.inspect(&upload).await?)?;
        self.publish_inspected(actor, product, upload, options)
            .await
    }

    async fn publish_inspected(
        &self,
        actor: &Actor,
        product: Product,
        upload: Spooled,
        options: &PublishOptions,
    ) -> ServiceResult<PublishedRelease> {
        let version = product.version.clone();
        let extension = product.name.as_str();
        actor.require_publish(extension, "publish")?;
        let checked = check_options(&version, options)?;
        if product.ecosystem != Ecosystem::Joomla && checked.targets.is_some() {
            return Err(ServiceError::invalid(
                "bad_joomla_targets",
                format!(
                    "{extension} is a {} product: Joomla targets do not apply",
                    product.ecosystem
                ),
            ));
        }
        if product.ecosystem == Ecosystem::Composer {
            // Composer reads a version's stability from its name alone.
            if checked.stability != version.implied_stability() {
                return Err(ServiceError::invalid(
                    "bad_stability",
                    format!(
                        "Composer takes {version} for {}: name the version for its stability \
                         (1.2.0-beta1, 1.2.0-rc1)",
                        version.implied_stability()
                    ),
                ));
            }
        }

        let package_group_id = match options.package_group.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() => Some(self.upload_package_group(name).await?),
            _ => None,
        };
        let mut ext = self.extension_for(&product, package_group_id).await?;
        if package_group_id.is_some() && ext.package_group_id != package_group_id {
            self.store()
                .set_extension_package_group(ext.id, package_group_id)
                .await?;
            ext.package_group_id = package_group_id;
        }
        let targets_source = if checked.targets.is_some() {
            "request"
        } else {
            "extension default"
        };
        let targets = match &checked.targets {
            Some(t) => t.clone(),
            None => ext
                .default_targets
                .parse()
                .map_err(|e: depot_core::TargetsError| {
                    ServiceError::invalid("bad_joomla_targets", e.to_string())
                })?,
        };
        let state = if options.draft {
            ReleaseState::Draft
        } else {
            ReleaseState::Published
        };
        let filename = format!("{}-{version}.zip", product.file_stem());
        let new_release = NewRelease {
            extension_id: ext.id,
            version: version.to_string(),
            stability: checked.stability,
            targets: targets.to_string(),
            php_minimum: checked.php_minimum.clone(),
            supported_databases: checked.supported_databases.clone(),
            notes: options.notes.clone().filter(|n| !n.trim().is_empty()),
            state,
            security: checked.security,
        };
        let existing = self.store().release(ext.id, version.as_str()).await?;
        let unchanged = existing
            .as_ref()
            .is_some_and(|r| r.artifact.sha256 == upload.sha256);
        let key = storage_key(&upload.sha256);
        let new_artifact = NewArtifact {
            package_id: checked
                .package_id
                .clone()
                .unwrap_or_else(|| format!("{}_{version}", product.package_id_stem())),
            storage_key: key.clone(),
            size: upload.size as i64,
            sha256: upload.sha256.clone(),
            sha384: upload.sha384.clone(),
            sha512: upload.sha512.clone(),
            sha1: upload.sha1.clone(),
            manifest: product.metadata.clone(),
            // Signed before it is stored, so that no published file is ever without its
            // signature.
            signature: match unchanged {
                true => None,
                false => Some(self.sign_file(upload.file.path(), &filename).await?),
            },
            filename,
            platform: String::new(),
            vendor_signature: None,
        };
        let (outcome, row) = match existing {
            Some(r) if unchanged => (PublishOutcome::Unchanged, r),
            Some(r) if r.release.state != ReleaseState::Draft => {
                return Err(ServiceError::Conflict(format!(
                    "{extension} {version} is already {} with different bytes (sha256 {}); \
                     publish a new version instead",
                    r.release.state, r.artifact.sha256
                )));
            }
            Some(r) => {
                self.storage().put_file(&key, upload.file.path()).await?;
                let old_key = match self
                    .store()
                    .replace_draft(r.release.id, &new_release, &new_artifact)
                    .await
                {
                    Ok(k) => k,
                    Err(e) => {
                        self.remove_unused(&key).await;
                        return Err(conflict_or(e));
                    }
                };
                self.remove_unused(&old_key).await;
                let row = self
                    .store()
                    .release(ext.id, version.as_str())
                    .await?
                    .ok_or(ServiceError::NotFound { what: "release" })?;
                (PublishOutcome::Replaced, row)
            }
            None => {
                self.storage().put_file(&key, upload.file.path()).await?;
                match self
                    .store()
                    .create_release(&new_release, &new_artifact)
                    .await
                {
                    Ok(row) => (PublishOutcome::Created, row),
                    Err(e) => {
                        self.remove_unused(&key).await;
                        return Err(conflict_or(e));
                    }
                }
            }
        };
        if outcome != PublishOutcome::Unchanged {
            self.invalidate_catalogue();
            let action = if row.release.state == ReleaseState::Draft {
                "release.draft"
            } else {
                "release.publish"
            };
            let subject = format!("{} {}", ext.name, row.release.version);
            let detail = serde_json::json!({
                "outcome": outcome,
                "sha256": row.artifact.sha256,
                "size": row.artifact.size,
            });
            self.audit(actor, action, &subject, detail).await?;
        }
        tracing::info!(
            extension,
            version = %version,
            outcome = ?outcome,
            size = upload.size,
            "published package"
        );
        let warnings = self.collection_warnings(&ext, &row.release).await?;
        for warning in &warnings {
            tracing::warn!(extension, version = %version, "{warning}");
        }
        Ok(PublishedRelease {
            warnings,
            outcome,
            extension: ext.name.clone(),
            ecosystem: ext.ecosystem.to_string(),
            element: ext.element.clone(),
            kind: ext.ext_type.clone(),
            client: ext.client.clone(),
            folder: (!ext.folder.is_empty()).then(|| ext.folder.clone()),
            version: row.release.version.clone(),
            stability: row.release.stability.to_string(),
            state: row.release.state.to_string(),
            joomla: row.release.targets.clone(),
            joomla_source: if outcome == PublishOutcome::Unchanged {
                "existing release"
            } else {
                targets_source
            }
            .to_string(),
            package_id: row.artifact.package_id.clone(),
            feed_url: self.metadata_url(&ext),
            download_url: self.download_url(
                &ext.name,
                &row.release.version,
                &row.artifact.filename,
            ),
            signature_url: format!(
                "{}.minisig",
                self.download_url(&ext.name, &row.release.version, &row.artifact.filename)
            ),
            filename: row.artifact.filename,
            size: row.artifact.size,
            sha256: row.artifact.sha256,
            sha384: row.artifact.sha384,
            sha512: row.artifact.sha512,
        })
    }

    /// What the vendor should know about a stable Joomla release that raises a minimum (PHP, a
    /// database) over the release before it: Joomla's collection reader does not check
    /// minimums, so a site that finds the extension through `collection.xml` on an older PHP is
    /// offered this release, and on "Update" reinstalls the older one its extension feed allows,
    /// at every check. depot keeps listing the newest release there (the sites that can run it
    /// get it; see docs/product.md §2.1) and says so here.
    async fn collection_warnings(
        &self,
        ext: &ExtensionRow,
        release: &depot_store::ReleaseRow,
    ) -> ServiceResult<Vec<String>> {
        if ext.ecosystem != Ecosystem::Joomla
            || release.state != ReleaseState::Published
            || release.stability != Stability::Stable
        {
            return Ok(Vec::new());
        }
        let Ok(this) = Version::parse(&release.version) else {
            return Ok(Vec::new());
        };
        let previous = self
            .store()
            .releases_of(ext.id)
            .await?
            .into_iter()
            .map(|r| r.release)
            .filter(|r| r.state == ReleaseState::Published && r.stability == Stability::Stable)
            .filter_map(|r| Version::parse(&r.version).ok().map(|v| (v, r)))
            .filter(|(v, _)| *v < this)
            .max_by(|(a, _), (b, _)| a.cmp(b));
        let Some((_, previous)) = previous else {
            return Ok(Vec::new());
        };
        let databases = |r: &depot_store::ReleaseRow| {
            r.supported_databases
                .as_deref()
                .and_then(|d| d.parse::<SupportedDatabases>().ok())
        };
        let (old_dbs, new_dbs) = (databases(&previous), databases(release));
        let raised = raised_minimums(
            Minimums {
                php: previous.php_minimum.as_deref(),
                databases: old_dbs.as_ref(),
            },
            Minimums {
                php: release.php_minimum.as_deref(),
                databases: new_dbs.as_ref(),
            },
        );
        if raised.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![format!(
            "{} {} raises {} over {}: Joomla's collection reader does not check minimums, so \
             sites that find {} through {} on an older setup are offered {} and reinstall {} \
             at every update; point the extension's manifest at its own feed \
             (<server type=\"extension\">{}</server>), which Joomla checks",
            ext.name,
            release.version,
            raised.join(", "),
            previous.version,
            ext.name,
            self.url("/updates/collection.xml"),
            release.version,
            previous.version,
            self.feed_url(&ext.name)
        )])
    }

    /// The id of the package group an upload names.
    pub(crate) async fn upload_package_group(&self, name: &str) -> ServiceResult<i64> {
        Ok(self
            .store()
            .package_group_by_name(name)
            .await?
            .ok_or_else(|| {
                ServiceError::invalid(
                    "unknown_package_group",
                    format!("package group {name:?} does not exist"),
                )
            })?
            .id)
    }

    /// Reads the package's manifests off the async runtime (it decompresses every entry).
    async fn inspect(&self, upload: &Spooled) -> ServiceResult<Contents> {
        let file = upload.file.reopen()?;
        let limits = self.settings().package_limits.clone();
        tokio::task::spawn_blocking(move || {
            package::inspect_contents(std::io::BufReader::new(file), &limits)
        })
        .await
        .map_err(|e| ServiceError::Io(std::io::Error::other(e)))?
        .map_err(ServiceError::from)
    }

    /// The extension a product is, created on its first upload.
    pub(crate) async fn extension_for(
        &self,
        product: &Product,
        package_group_id: Option<i64>,
    ) -> ServiceResult<ExtensionRow> {
        if let Some(row) = self.store().extension_by_name(&product.name).await? {
            return product.check_is(row);
        }
        let id = product.identity.as_ref();
        let new = NewExtension {
            name: product.name.clone(),
            element: id.map_or(product.name.clone(), |id| id.element.clone()),
            ext_type: id
                .map(|id| id.kind.as_str().into())
                .or_else(|| product.kind.clone())
                .unwrap_or_default(),
            client: id.map(|id| id.client.as_str().into()).unwrap_or_default(),
            folder: id.and_then(|id| id.folder.clone()).unwrap_or_default(),
            title: product.title.clone(),
            default_targets: self.settings().default_targets.to_string(),
            package_group_id,
            ecosystem: product.ecosystem,
        };
        match self.store().create_extension(&new).await {
            Ok(row) => Ok(row),
            // Another upload created it first.
            Err(StoreError::Conflict(_)) => {
                match self.store().extension_by_name(&product.name).await? {
                    Some(row) => product.check_is(row),
                    None => Err(ServiceError::Conflict(format!(
                        "another extension already has element {} ({} {})",
                        new.element, new.ext_type, new.client
                    ))),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes a stored file unless a release still points at it.
    pub(crate) async fn remove_unused(&self, key: &str) {
        match self.store().storage_key_in_use(key).await {
            Ok(false) => {
                if let Err(e) = self.storage().delete(key).await {
                    tracing::warn!(key, error = %e, "could not delete an unused package file");
                }
            }
            Ok(true) => {}
            Err(e) => {
                tracing::warn!(key, error = %e, "could not check whether a package file is in use")
            }
        }
    }
}

/// What an upload is, read from its manifests: the product it belongs to and its version.
pub(crate) struct Product {
    /// The extension's name: a Joomla full name, a Composer `vendor/name`.
    name: String,
    ecosystem: Ecosystem,
    version: Version,
    /// What the catalogue calls it when it is new.
    title: String,
    /// Joomla's identity of a Joomla extension.
    identity: Option<Identity>,
    /// What kind of product of its ecosystem it is (a WordPress `plugin` or `theme`).
    kind: Option<String>,
    /// The fields its metadata repeats from its own manifest (a `composer.json`), as JSON.
    metadata: Option<String>,
}

impl Product {
    /// An application: nothing to read from its builds, the upload names it.
    pub(crate) fn application(name: &str, version: Version) -> Self {
        Product {
            name: name.to_string(),
            ecosystem: Ecosystem::Application,
            version,
            title: name.to_string(),
            identity: None,
            kind: None,
            metadata: None,
        }
    }

    fn joomla(manifest: Manifest) -> Self {
        Product {
            name: manifest.identity.full_name.clone(),
            ecosystem: Ecosystem::Joomla,
            version: manifest.version,
            title: manifest.name,
            identity: Some(manifest.identity),
            kind: None,
            metadata: None,
        }
    }

    /// A Composer package of `name` at `version`, with what its `composer.json` says (which
    /// must agree).
    fn composer(
        name: PackageName,
        version: Version,
        manifest: Option<ComposerManifest>,
    ) -> ServiceResult<Self> {
        if let Some(m) = &manifest {
            if let Some(named) = m.name.as_ref().filter(|n| **n != name) {
                return Err(ServiceError::Mismatch(format!(
                    "{} names the package {named}, not {name}",
                    m.path
                )));
            }
            // Composer accepts `v1.2.0` for `1.2.0`.
            let said = m
                .version
                .as_deref()
                .map(|v| v.strip_prefix(['v', 'V']).unwrap_or(v));
            if let Some(said) = said.filter(|v| *v != version.as_str()) {
                return Err(ServiceError::Mismatch(format!(
                    "{} says version {said}, not {version}",
                    m.path
                )));
            }
        }
        let title = manifest
            .as_ref()
            .and_then(|m| m.description.clone())
            .unwrap_or_else(|| name.to_string());
        let metadata = manifest
            .map(|m| serde_json::to_string(&m.metadata))
            .transpose()
            .map_err(|e| ServiceError::Io(std::io::Error::other(e)))?;
        Ok(Product {
            name: name.to_string(),
            ecosystem: Ecosystem::Composer,
            version,
            title: title.chars().take(200).collect(),
            identity: None,
            kind: None,
            metadata,
        })
    }

    /// A WordPress plugin or theme `slug` at `version`, as its headers describe it (they must
    /// agree: the folder is the slug, the header's version is the version).
    fn wordpress(slug: &str, version: Version, manifest: WordPressManifest) -> ServiceResult<Self> {
        if manifest.folder != slug {
            return Err(ServiceError::Mismatch(format!(
                "the zip's folder is {:?}, not {slug}: WordPress would install it as another \
                 {} beside {slug}",
                manifest.folder, manifest.kind
            )));
        }
        if let Some(said) = manifest
            .version
            .as_deref()
            .filter(|v| *v != version.as_str())
        {
            return Err(ServiceError::Mismatch(format!(
                "{} says Version: {said}, not {version}",
                manifest.path
            )));
        }
        let metadata = serde_json::to_string(&manifest)
            .map_err(|e| ServiceError::Io(std::io::Error::other(e)))?;
        Ok(Product {
            name: slug.to_string(),
            ecosystem: Ecosystem::WordPress,
            version,
            title: manifest.name.chars().take(200).collect(),
            identity: None,
            kind: Some(manifest.kind.clone()),
            metadata: Some(metadata),
        })
    }

    /// The product a package names by itself (an upload with no name and version given): its
    /// Joomla manifest, else the WordPress plugin or theme its folder holds, else its
    /// `composer.json` with both a name and a version.
    fn named_by(contents: Contents) -> ServiceResult<Self> {
        let joomla_error = match contents.joomla {
            Ok(manifest) => return Ok(Product::joomla(manifest)),
            Err(e) => e,
        };
        if let Some(manifest) = contents.wordpress {
            let slug = manifest.folder.clone();
            Slug::parse(&slug)
                .map_err(|e| ServiceError::invalid("bad_extension_name", e.to_string()))?;
            let version = manifest.version.as_deref().ok_or_else(|| {
                ServiceError::invalid(
                    "no_manifest",
                    format!("{} has no Version: header", manifest.path),
                )
            })?;
            let version = Version::parse(version)
                .map_err(|e| ServiceError::invalid("bad_version", e.to_string()))?;
            return Product::wordpress(&slug, version, manifest);
        }
        let Some(composer) = contents.composer else {
            return Err(joomla_error.into());
        };
        let m = composer?;
        let name = m.name.clone();
        let version = m
            .version
            .as_deref()
            .map(|v| v.strip_prefix(['v', 'V']).unwrap_or(v));
        match (name, version) {
            (Some(name), Some(version)) => {
                let version = Version::parse(version)
                    .map_err(|e| ServiceError::invalid("bad_version", e.to_string()))?;
                Product::composer(name, version, Some(m))
            }
            _ => Err(ServiceError::invalid(
                "no_manifest",
                format!(
                    "{} has no name or no version, and the zip has no Joomla manifest: publish \
                     it as vendor/name and version (`depot release publish vendor/name VERSION \
                     FILE`)",
                    m.path
                ),
            )),
        }
    }

    /// What its files are named after: the full name, or a Composer package's part after `/`.
    fn file_stem(&self) -> &str {
        match self.ecosystem {
            Ecosystem::Joomla => &self.name,
            Ecosystem::Composer => self.name.rsplit('/').next().unwrap_or(&self.name),
            Ecosystem::WordPress | Ecosystem::Application => &self.name,
        }
    }

    /// What a derived jBackend package id starts with: the name, a Composer package's `/` as
    /// `--` (a package id is one URL segment, and no other name can read the same: a vendor
    /// never holds `--`, a slug never does either, a Joomla name has no `-` pairs before `_`).
    fn package_id_stem(&self) -> String {
        self.name.replace('/', "--")
    }

    /// `row` if it is this product, as registered.
    fn check_is(&self, row: ExtensionRow) -> ServiceResult<ExtensionRow> {
        if row.ecosystem != self.ecosystem {
            return Err(ServiceError::Mismatch(format!(
                "{} is registered as a {} product, not {}",
                row.name, row.ecosystem, self.ecosystem
            )));
        }
        match &self.identity {
            Some(id) if !same_identity(&row, id) => Err(ServiceError::Mismatch(format!(
                "{} is registered as {} {:?} (client {}, folder {:?}); the manifest says {} {:?} (client {}, folder {:?})",
                row.name,
                row.ext_type,
                row.element,
                row.client,
                row.folder,
                id.kind,
                id.element,
                id.client.as_str(),
                id.folder.clone().unwrap_or_default()
            ))),
            _ => Ok(row),
        }
    }
}

/// An application's release is its builds, one per platform, not one package.
fn builds_only(extension: &str) -> ServiceError {
    ServiceError::invalid(
        "application_builds",
        format!(
            "{extension} is an application: upload its builds one platform at a time (PUT \
             /api/v1/extensions/{extension}/releases/{{version}}/builds/{{target}}/{{arch}}, or \
             depot publish FILE --name {extension} --version VERSION --platform TARGET-ARCH \
             --signature FILE.sig)"
        ),
    )
}

pub(crate) fn conflict_or(e: StoreError) -> ServiceError {
    match e {
        StoreError::Conflict("package id") => {
            ServiceError::Conflict("that package id is already used by another release".into())
        }
        StoreError::Conflict(what) => {
            ServiceError::Conflict(format!("{what} was created by a concurrent upload; retry"))
        }
        e => e.into(),
    }
}
