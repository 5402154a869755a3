//! Extensions: what feeds are for, free or in a package group.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExtensionView {
    pub name: String,
    /// `joomla` (a Joomla extension) or `composer` (a Composer package).
    pub ecosystem: String,
    pub element: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub client: String,
    pub folder: Option<String>,
    pub title: String,
    pub description: Option<String>,
    pub info_url: Option<String>,
    pub default_joomla: String,
    /// `None` for a free extension.
    pub package_group: Option<String>,
    /// Where clients read its releases: a Joomla extension's update feed, a Composer package's
    /// repository metadata.
    pub feed_url: String,
    pub changelog_url: String,
    /// What to paste into the extension's manifest so that Joomla finds its updates (and, for
    /// a paid extension, asks for a Download Key); for a Composer package, the repository entry
    /// of a customer's `composer.json`.
    pub manifest_snippet: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ExtensionPatch {
    /// A package group id makes the extension paid; `null` makes it free.
    #[serde(
        default,
        deserialize_with = "crate::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub package_group: Option<Option<String>>,
    /// The name feeds show.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `null` removes it.
    #[serde(
        default,
        deserialize_with = "crate::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub description: Option<Option<String>>,
    /// An http(s) address; `null` removes it.
    #[serde(
        default,
        deserialize_with = "crate::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub info_url: Option<Option<String>>,
    /// Joomla targets of releases uploaded without their own, e.g. `4.4,5,6`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_joomla: Option<String>,
}
