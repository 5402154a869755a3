//! Keys: download keys a user creates and revokes, and the jBackend keys derived for them.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DownloadKeyView {
    pub id: i64,
    pub label: String,
    /// The key; for an imported one (`imported`), only its last characters (`…ab12`).
    pub key: String,
    pub revoked: bool,
    pub created_at: String,
    /// A Download ID imported from Akeeba Release System: kept as a hash, it cannot be shown
    /// again, and works until revoked.
    #[serde(default)]
    pub imported: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JbackendKeyView {
    pub package_group: String,
    pub name: String,
    pub email: String,
    pub key: String,
    /// Whether the user may download the group's packages now.
    pub entitled: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KeyPatch {
    pub label: String,
}
