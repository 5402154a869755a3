//! Private feeds: a package group can keep its extensions' feeds (and changelogs and
//! `latest.json`) from anyone without a customer's download key in the URL, as many vendors do
//! by setting their extension's update site to `…/updates/com_foo.xml?dlid=KEY`. Such a feed is
//! unknown (`404`) without a key that belongs to someone who holds or held a membership of the
//! package group, and with one its download URLs carry the key, so that Joomla can fetch the
//! package even where no `extra_query` is set. `collection.xml`, which is public, leaves these
//! extensions out.

use std::sync::Arc;

use bytes::Bytes;

use crate::feeds::Etag;
use crate::{Credentials, Depot, RenderedFeed, ServiceError, ServiceResult};

/// Who may read a rendered feed.
pub enum FeedAccess {
    /// Everyone: the feed as rendered.
    Public,
    /// A private feed, for the customer this key proves: the feed with the key on its download
    /// URLs.
    Customer(Arc<RenderedFeed>),
    /// A private feed without a key that opens it: as if it did not exist.
    Hidden,
}

impl Depot {
    /// Whether `credentials` may read `feed`, and what they read.
    pub async fn feed_access(
        &self,
        feed: &Arc<RenderedFeed>,
        credentials: &Credentials,
    ) -> ServiceResult<FeedAccess> {
        let Some(group_id) = feed.package_group_id else {
            return Ok(FeedAccess::Public);
        };
        let Some(group) = self.package_group(group_id).await? else {
            return Ok(FeedAccess::Public);
        };
        if group.private_feeds == 0 {
            return Ok(FeedAccess::Public);
        }
        let Credentials::DownloadKey(key) = credentials else {
            return Ok(FeedAccess::Hidden);
        };
        let customer = match self.identify_download_key(key).await {
            Ok(grant) => grant,
            Err(ServiceError::Denied { .. }) => return Ok(FeedAccess::Hidden),
            Err(e) => return Err(e),
        };
        if !self.ever_member(&group, customer.user_id).await? {
            return Ok(FeedAccess::Hidden);
        }
        Ok(FeedAccess::Customer(Arc::new(with_key(feed, key))))
    }
}

/// The feed with `?dlid={key}` on every `<downloadurl>` (a JSON document as it is).
fn with_key(feed: &RenderedFeed, key: &str) -> RenderedFeed {
    let body = String::from_utf8_lossy(&feed.body);
    let body = if feed.content_type.starts_with("application/xml") {
        // URL-encoded, the key holds nothing XML would read as markup.
        let key: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
        body.replace("</downloadurl>", &format!("?dlid={key}</downloadurl>"))
    } else {
        body.into_owned()
    };
    RenderedFeed {
        etag: Etag::of(body.as_bytes()),
        body: Bytes::from(body),
        last_modified_ms: feed.last_modified_ms,
        extension_id: feed.extension_id,
        content_type: feed.content_type,
        package_group_id: feed.package_group_id,
        rollout: None,
        encoded: std::sync::OnceLock::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_goes_on_every_download_url() {
        let feed = RenderedFeed {
            body: Bytes::from_static(
                b"<updates><update><downloads><downloadurl type=\"full\" format=\"zip\">https://x/a.zip</downloadurl></downloads></update><update><downloads><downloadurl type=\"full\" format=\"zip\">https://x/b.zip</downloadurl></downloads></update></updates>",
            ),
            etag: "\"a\"".into(),
            last_modified_ms: 1,
            extension_id: Some(1),
            content_type: "application/xml; charset=utf-8",
            package_group_id: Some(2),
            rollout: None,
            encoded: std::sync::OnceLock::new(),
        };
        let keyed = with_key(&feed, "dk+A/B=");
        let body = String::from_utf8(keyed.body.to_vec()).unwrap();
        assert!(
            body.contains("https://x/a.zip?dlid=dk%2BA%2FB%3D</downloadurl>"),
            "{body}"
        );
        assert!(
            body.contains("https://x/b.zip?dlid=dk%2BA%2FB%3D</downloadurl>"),
            "{body}"
        );
        assert_ne!(keyed.etag, feed.etag);
    }
}
