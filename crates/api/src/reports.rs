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

/// `GET /api/v1/reports/statistics`: what a vendor reads, from daily rollups.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct StatisticsQuery {
    /// One extension; all when absent.
    pub extension: Option<String>,
    /// The last this many days, today included (1–366; default 30).
    pub days: Option<i64>,
}

/// A count on a day (`YYYY-MM-DD`, UTC).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayCount {
    pub day: String,
    pub count: i64,
}

/// A count of something named: a Joomla version, a `REL_…` code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NamedCount {
    pub name: String,
    pub count: i64,
}

/// Whole downloads of one release over the period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleaseDownloads {
    pub extension: String,
    pub version: String,
    pub downloads: i64,
    pub bytes: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Statistics {
    /// The extension they are of; `None`: every extension.
    pub extension: Option<String>,
    pub days: i64,
    /// Whole downloads served per day, every day of the period (zeros included), oldest first.
    pub downloads_per_day: Vec<DayCount>,
    /// Update checks (feed requests) per day, every day of the period, oldest first.
    pub checks_per_day: Vec<DayCount>,
    /// An estimate of the sites that use it: distinct anonymised client addresses (an IPv6 /64
    /// counts as one) that checked for updates in the last 7 and 30 days. Sites behind one
    /// address count once; a site whose address changes counts more than once.
    pub active_sites_7_days: i64,
    pub active_sites_30_days: i64,
    /// Update checks per Joomla version (from the updater's user agent), most first.
    pub joomla_versions: Vec<NamedCount>,
    /// Downloads per release, most first.
    pub releases: Vec<ReleaseDownloads>,
    /// Refused downloads per `REL_…` code, most first.
    pub refusals: Vec<NamedCount>,
}
