//! Clients that ask "what is the newest version I may have?" and get one document about it
//! (WordPress's `info.json`, Tauri's update answer). Every version's document is rendered once
//! per catalogue change; the answer is chosen per request by channel, staged rollout and, for a
//! paid product, the customer's key, which the paid answer adds to its download URL (these
//! updaters fetch the file without sending credentials of their own).

use std::sync::Arc;

use depot_core::rollout::cohort;
use depot_core::{Stability, Version};
use serde_json::{Map, Value};

use crate::feeds::ClientAnswer;
use crate::rollouts::{RunningRollout, offered_to};
use crate::{Credentials, Depot, RenderedFeed, ServiceError, ServiceResult};

/// A product's versions, as rendered after the last catalogue change.
pub(crate) struct OfferedProduct {
    pub(crate) package_group_id: Option<i64>,
    /// Newest first, once [`OfferedProduct::finish`]ed.
    pub(crate) versions: Vec<OfferedVersion>,
}

/// One version's document, without its download URL.
pub(crate) struct OfferedVersion {
    pub(crate) version: Version,
    pub(crate) stability: Stability,
    /// When it was published (a paid version is offered to whoever may have it then).
    pub(crate) published_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) document: Map<String, Value>,
    /// The member of `document` that carries the download URL.
    pub(crate) url_field: &'static str,
    pub(crate) download_url: String,
    pub(crate) rollout: Option<RunningRollout>,
    /// The whole document, for a free product (everyone sees the same).
    public: Option<Arc<RenderedFeed>>,
}

/// What a client is offered: the document, and the version it is about.
pub(crate) struct Offer {
    pub(crate) answer: ClientAnswer,
    pub(crate) version: Version,
}

impl OfferedVersion {
    pub(crate) fn new(
        version: Version,
        release: &depot_store::ReleaseRow,
        document: Map<String, Value>,
        url_field: &'static str,
        download_url: String,
    ) -> Self {
        OfferedVersion {
            version,
            stability: release.stability,
            published_at: release.published_at.unwrap_or(i64::MAX),
            updated_at: release.updated_at,
            document,
            url_field,
            download_url,
            rollout: RunningRollout::of(release),
            public: None,
        }
    }

    /// The document with its download URL; a paid one's carries the customer's key as `dlid`.
    fn render(&self, key: Option<&str>) -> RenderedFeed {
        let mut document = self.document.clone();
        let url = match key {
            None => self.download_url.clone(),
            Some(key) => format!(
                "{}?dlid={}",
                self.download_url,
                url::form_urlencoded::byte_serialize(key.as_bytes()).collect::<String>()
            ),
        };
        document.insert(self.url_field.into(), url.into());
        let body = serde_json::to_string_pretty(&Value::Object(document)).unwrap_or_default();
        RenderedFeed::json(body, self.updated_at)
    }
}

impl OfferedProduct {
    pub(crate) fn new(package_group_id: Option<i64>) -> Self {
        OfferedProduct {
            package_group_id,
            versions: Vec::new(),
        }
    }

    /// Orders the versions newest first and renders a free product's documents.
    pub(crate) fn finish(&mut self) {
        self.versions.sort_by(|a, b| b.version.cmp(&a.version));
        if self.package_group_id.is_none() {
            for v in &mut self.versions {
                v.public = Some(Arc::new(v.render(None)));
            }
        }
    }
}

impl Depot {
    /// The newest version of `product` in `channel` that the caller may have; `None` when there
    /// is none for them (a paid product without a key that entitles: as if it did not exist).
    ///
    /// `site` identifies the asking site for a staged rollout (its key when it sends one, else
    /// its address): a version being rolled out is skipped for a site outside its share.
    /// `client` names the metadata in the error a wrong kind of credentials gets.
    pub(crate) async fn offer(
        &self,
        name: &str,
        product: &OfferedProduct,
        channel: Stability,
        credentials: &Credentials,
        site: &str,
        client: &str,
    ) -> ServiceResult<Option<Offer>> {
        let key = match credentials {
            Credentials::DownloadKey(key) => Some(key.as_str()),
            Credentials::None => None,
            _ => {
                return Err(ServiceError::invalid(
                    "bad_credentials",
                    format!("{client} takes a download key (dlid)"),
                ));
            }
        };
        let now = self.now_ms();
        let cohort = cohort(key.unwrap_or(site), name);
        let mut versions = product
            .versions
            .iter()
            .filter(|v| v.stability >= channel)
            .filter(|v| offered_to(v.rollout.as_ref(), cohort, now));
        let Some(group_id) = product.package_group_id else {
            // Chosen by the site's cohort while a version is being rolled out.
            let rolling = product.versions.iter().any(|v| v.rollout.is_some());
            return Ok(versions.next().and_then(|v| {
                let document = v.public.clone()?;
                Some(Offer {
                    answer: if rolling {
                        ClientAnswer::for_client(document)
                    } else {
                        ClientAnswer::shared(document)
                    },
                    version: v.version.clone(),
                })
            }));
        };
        let Some(key) = key else {
            return Ok(None);
        };
        let customer = self.identify_download_key(key).await?;
        let Some(group) = self.package_group(group_id).await? else {
            return Ok(None);
        };
        let standing = match self.standing(&group, customer.user_id).await {
            Ok(standing) => standing,
            Err(ServiceError::Denied { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        for version in versions {
            if standing.allows(version.published_at)? {
                return Ok(Some(Offer {
                    answer: ClientAnswer::for_client(Arc::new(version.render(Some(key)))),
                    version: version.version.clone(),
                }));
            }
        }
        Ok(None)
    }
}
