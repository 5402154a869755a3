//! Tauri v2's updater: `/tauri/{application}/{target}/{arch}/{current_version}` answers `204`
//! when there is nothing newer for that platform, else `{version, pub_date, url, signature,
//! notes}`, where `signature` is the `.sig` the vendor uploaded with the build (Tauri checks it
//! against the public key in the application; depot never holds the vendor's key).
//!
//! Each platform's versions are rendered once per catalogue change; channels, staged rollouts
//! and a paid application's key work as for WordPress (see `offers`).

use std::collections::BTreeMap;
use std::sync::Arc;

use depot_core::application::Platform;
use depot_core::{Stability, Version};
use depot_store::PublishedReleaseRow;
use serde_json::{Map, Value};

use crate::feeds::ClientAnswer;
use crate::input::rfc3339;
use crate::offers::{OfferedProduct, OfferedVersion};
use crate::{Credentials, Depot, ServiceError, ServiceResult};

/// The applications as rendered after the last catalogue change.
pub(crate) struct TauriCatalogue {
    applications: BTreeMap<String, TauriApplication>,
}

struct TauriApplication {
    package_group_id: Option<i64>,
    platforms: BTreeMap<Platform, OfferedProduct>,
}

/// What Tauri's updater is told.
#[derive(Debug)]
pub enum TauriUpdate {
    /// A newer version for this platform.
    Available(ClientAnswer),
    /// Nothing newer (`204`).
    UpToDate,
}

/// What Tauri's updater asks.
#[derive(Clone, Debug)]
pub struct TauriCheck<'a> {
    pub application: &'a str,
    pub target: &'a str,
    pub arch: &'a str,
    pub current_version: &'a str,
    pub channel: Stability,
    pub credentials: &'a Credentials,
    /// The asking installation for a staged rollout: its key when it sends one, else this.
    pub site: &'a str,
}

impl Depot {
    /// The endpoint a vendor puts in `tauri.conf.json`, with Tauri's own placeholders.
    pub(crate) fn tauri_endpoint(&self, application: &str) -> String {
        self.url(&format!(
            "/tauri/{application}/{{{{target}}}}/{{{{arch}}}}/{{{{current_version}}}}"
        ))
    }

    /// What the updater asks on `platform` when `current` is installed.
    pub(crate) fn tauri_update_url(
        &self,
        application: &str,
        platform: &Platform,
        current: &str,
    ) -> String {
        self.url(&format!(
            "/tauri/{application}/{}/{}/{current}",
            platform.target(),
            platform.arch()
        ))
    }

    /// The updater section of the application's `tauri.conf.json`.
    pub(crate) fn tauri_snippet(&self, application: &str, paid: bool) -> String {
        let mut s = format!(
            "\"plugins\": {{\n  \"updater\": {{\n    \"pubkey\": \"YOUR TAURI SIGNING PUBLIC KEY\",\n    \
             \"endpoints\": [\n      \"{}\"\n    ]\n  }}\n}}",
            self.tauri_endpoint(application)
        );
        if paid {
            s.push_str(
                "\n// The customer's download key, sent with every check (JavaScript):\n\
                 // await check({ headers: { Authorization: `Bearer ${downloadKey}` } })",
            );
        }
        s
    }

    /// Tauri's update check. `None` when the application is unknown, or paid and the caller
    /// may have no version of it.
    pub async fn tauri_update(&self, check: TauriCheck<'_>) -> ServiceResult<Option<TauriUpdate>> {
        let platform = Platform::new(check.target, check.arch)
            .map_err(|e| ServiceError::invalid("bad_platform", e.to_string()))?;
        let current = Version::parse(check.current_version).map_err(|e| {
            ServiceError::invalid(
                "bad_version",
                format!("current version {:?}: {e}", check.current_version),
            )
        })?;
        let catalogue = self.tauri_catalogue().await?;
        let Some(application) = catalogue.applications.get(check.application) else {
            return Ok(None);
        };
        let Some(product) = application.platforms.get(&platform) else {
            // Known, but never built for this platform: nothing to install, and nothing a
            // paid application's caller without a key may learn.
            return Ok(match (application.package_group_id, check.credentials) {
                (Some(_), Credentials::None) => None,
                _ => Some(TauriUpdate::UpToDate),
            });
        };
        let offer = self
            .offer(
                check.application,
                product,
                check.channel,
                check.credentials,
                check.site,
                "Tauri's update check",
            )
            .await?;
        Ok(offer.map(|o| {
            if o.version > current {
                TauriUpdate::Available(o.answer)
            } else {
                TauriUpdate::UpToDate
            }
        }))
    }

    async fn tauri_catalogue(&self) -> ServiceResult<Arc<TauriCatalogue>> {
        self.inner
            .catalogue
            .tauri
            .get_or_load((), || async {
                let rows = self.store().published_builds().await?;
                Ok::<_, ServiceError>(Arc::new(self.render_tauri(rows)))
            })
            .await
    }

    fn render_tauri(&self, rows: Vec<PublishedReleaseRow>) -> TauriCatalogue {
        let mut applications: BTreeMap<String, TauriApplication> = BTreeMap::new();
        for row in rows {
            let (Ok(platform), Ok(version)) = (
                Platform::parse(&row.artifact.platform),
                Version::parse(&row.release.version),
            ) else {
                tracing::warn!(
                    release_id = row.release.id,
                    platform = %row.artifact.platform,
                    "skipping a build whose platform or version does not parse"
                );
                continue;
            };
            let app = applications
                .entry(row.extension.clone())
                .or_insert_with(|| TauriApplication {
                    package_group_id: row.package_group_id,
                    platforms: BTreeMap::new(),
                });
            let document = tauri_document(&row);
            let url =
                self.download_url(&row.extension, &row.release.version, &row.artifact.filename);
            app.platforms
                .entry(platform)
                .or_insert_with(|| OfferedProduct::new(row.package_group_id))
                .versions
                .push(OfferedVersion::new(
                    version,
                    &row.release,
                    document,
                    "url",
                    url,
                ));
        }
        for app in applications.values_mut() {
            for product in app.platforms.values_mut() {
                product.finish();
            }
        }
        TauriCatalogue { applications }
    }
}

/// Tauri's release JSON without its `url`: `version`, `pub_date` (RFC 3339), `signature`
/// (the vendor's `.sig`), `notes`.
fn tauri_document(row: &PublishedReleaseRow) -> Map<String, Value> {
    let mut document = Map::new();
    document.insert("version".into(), row.release.version.clone().into());
    if let Some(at) = row.release.published_at {
        document.insert("pub_date".into(), rfc3339(at).into());
    }
    document.insert(
        "signature".into(),
        row.artifact
            .vendor_signature
            .clone()
            .unwrap_or_default()
            .into(),
    );
    document.insert(
        "notes".into(),
        row.release.notes.clone().unwrap_or_default().into(),
    );
    document
}
