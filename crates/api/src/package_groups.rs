//! Package groups: what a paid extension belongs to, which groups' members may download it, and
//! the policy once a membership ends.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PackageGroupView {
    pub id: String,
    pub name: String,
    pub groups: Vec<i64>,
    pub policy: String,
    /// Its extensions' feeds answer only a customer's download key in the URL (`?dlid=`), and
    /// `collection.xml` leaves them out.
    #[serde(default)]
    pub private_feeds: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewPackageGroup {
    pub id: String,
    pub groups: Vec<i64>,
    /// The jBackend key seed (made up when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `active` (default) or `keep-released`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Private feeds (default `false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_feeds: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PackageGroupPatch {
    /// The display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `active` or `keep-released`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_feeds: Option<bool>,
}
