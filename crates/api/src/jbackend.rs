//! The jBackend Release System API's wire format (`/post/release/…`, and the refusals of every
//! download): what Joomla sites and the vendor's own scripts already parse, so its field names
//! and values are jBackend's, not the admin API's.

use serde::{Deserialize, Serialize};

/// A call that succeeded: `{"status":"ok"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Done {
    /// Always `ok`.
    pub status: String,
}

impl Done {
    pub fn ok() -> Self {
        Done {
            status: "ok".into(),
        }
    }
}

/// `keybyauth`'s answer: the account's key for the package group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssuedKey {
    /// Always `ok`.
    pub status: String,
    /// The account's e-mail address.
    pub email: String,
    /// The download key: the value for the extension's Download Key field.
    pub key: String,
}

/// Every refusal of the release API and of downloads:
/// `{"status":"ko","error_code":"REL_…","error_description":"…"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Refused {
    /// Always `ko`.
    pub status: String,
    /// `REL_ENS`, `REL_KNS`, `REL_BRQ`, `REL_INK`, `REL_AUF`, `REL_NAU`, `REL_EXP`, `REL_PNF`,
    /// `REL_GNF`, `REL_RLM`, `REL_ERR` or `REL_UNA` (docs/product.md, error codes).
    pub error_code: String,
    /// A sentence for the person reading it; Joomla shows it to the site's administrator.
    pub error_description: String,
}
