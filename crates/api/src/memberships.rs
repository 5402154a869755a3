//! Memberships: a user in a group, from a date, until a date or open-ended.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MembershipView {
    pub id: i64,
    pub group: i64,
    pub group_name: Option<String>,
    pub valid_from: String,
    /// `None`: open-ended.
    pub valid_until: Option<String>,
    pub active: bool,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewMembership {
    pub group: i64,
    /// A date (`YYYY-MM-DD`) or an RFC 3339 time; now when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Open-ended when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EndMembership {
    pub group: i64,
    /// When it ends; now when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// How many memberships a call ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ended {
    pub ended: u64,
}
