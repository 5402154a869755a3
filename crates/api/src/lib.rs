//! The admin API's wire format (`/api/v1`), one module per noun like every other layer: what a
//! request sends and what a response holds. The server serialises these types, the CLI and the
//! tests deserialise them, so renaming a field is a compile error everywhere it matters.
//!
//! With the `openapi` feature the types also describe themselves for the OpenAPI document; doc
//! comments on fields become the descriptions there.

pub mod audit;
pub mod error;
pub mod extensions;
pub mod groups;
pub mod jbackend;
pub mod keys;
pub mod memberships;
pub mod package_groups;
pub mod releases;
pub mod reports;
pub mod sales;
pub mod tokens;
pub mod users;
pub mod webhooks;

pub use audit::{AuditActor, AuditEntry, AuditPage, AuditQuery};
pub use error::{ErrorBody, ErrorItem};
pub use extensions::{ExtensionPatch, ExtensionView};
pub use groups::{GroupPatch, GroupView, NewGroup};
pub use keys::{DownloadKeyView, JbackendKeyView, KeyPatch, NewKey};
pub use memberships::{EndMembership, Ended, MembershipView, NewMembership};
pub use package_groups::{NewPackageGroup, PackageGroupPatch, PackageGroupView};
pub use releases::{
    BuildParams, BuildView, LatestDownload, LatestRelease, PublishOutcome, PublishedBuild,
    PublishedRelease, ReleasePatch, ReleaseView, RolloutView, UploadParams,
};
pub use reports::{
    DayCount, DownloadLogEntry, DownloadLogPage, DownloadLogQuery, FeedCheckCount, FeedCheckQuery,
    NamedCount, ReleaseDownloads, SharedKey, SharedKeyQuery, Statistics, StatisticsQuery,
};
pub use sales::{SaleEventQuery, SaleEventView, SalePriceView, SaleReceipt, SetSalePrice};
pub use tokens::{CreatedToken, NewToken, TokenView};
pub use users::{NewUser, UserPage, UserPatch, UserQuery, UserView};
pub use webhooks::{NewWebhook, WebhookDeliveryView, WebhookPatch, WebhookView};

use serde::{Deserialize, Deserializer, Serialize};

/// A list answer: `{"items":[…]}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// For a patch field where `null` means "clear it" and absence means "leave it": absent is
/// `None`, `null` is `Some(None)`. Serialised back the same way (absent fields are skipped).
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// The `source` of what depot itself holds (as opposed to what it mirrors from a Joomla site).
pub fn depot_source() -> String {
    "depot".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_tells_null_from_absent_both_ways() {
        let p: UserPatch = serde_json::from_str(r#"{"name":null}"#).unwrap();
        assert_eq!(p.name, Some(None));
        assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"name":null}"#);
        let p: UserPatch = serde_json::from_str(r#"{"disabled":true}"#).unwrap();
        assert_eq!(p.name, None);
        assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"disabled":true}"#);
    }

    #[test]
    fn unknown_fields_in_a_request_are_refused() {
        assert!(serde_json::from_str::<NewGroup>(r#"{"id":1,"name":"a","x":1}"#).is_err());
    }
}
