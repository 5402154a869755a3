//! Reports: the download log and feed checks.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct DownloadLogQuery {
    pub extension: Option<String>,
    pub version: Option<String>,
    /// A user's id or e-mail address.
    pub user: Option<String>,
    pub key: Option<i64>,
    pub status: Option<i64>,
    /// A date (`YYYY-MM-DD`, from midnight UTC) or an RFC 3339 time.
    pub from: Option<String>,
    pub until: Option<String>,
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DownloadLogEntry {
    pub id: i64,
    pub at: String,
    pub extension: String,
    pub version: String,
    pub package_id: String,
    pub status: i64,
    pub bytes: i64,
    pub error_code: Option<String>,
    pub user_id: Option<i64>,
    pub key_id: Option<i64>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DownloadLogPage {
    pub items: Vec<DownloadLogEntry>,
    /// Pass as `before` for the next (older) page; `None` on the last page.
    pub next_before: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct FeedCheckQuery {
    pub extension: Option<String>,
    pub from: Option<String>,
    pub until: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedCheckCount {
    pub extension: String,
    pub joomla_version: String,
    pub day: String,
    pub checks: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct SharedKeyQuery {
    /// Flag keys used from more than this many addresses (default: the server's
    /// `keys.shared_addresses`).
    pub addresses: Option<u32>,
    /// Over the last this many hours (default: `keys.shared_window_hours`).
    pub hours: Option<u32>,
}

/// A key that downloaded from more client addresses than one site would use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SharedKey {
    pub user_id: i64,
    pub email: String,
    /// The download key's id; `None` for the user's jBackend key (e-mail + key).
    pub key_id: Option<i64>,
    /// The download key's label, if any.
    pub label: Option<String>,
    /// Distinct addresses (an IPv4 address, or an IPv6 /64) in the window.
    pub addresses: u64,
    pub downloads: u64,
    pub last_at: String,
}
