//! Releases: a version of an extension, its package and its state.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReleaseView {
    pub extension: String,
    pub version: String,
    /// `draft`, `published` or `yanked`.
    pub state: String,
    pub stability: String,
    pub joomla: String,
    pub php_minimum: Option<String>,
    pub supported_databases: Option<String>,
    pub notes: Option<String>,
    /// Joomla's `<security>` level, `0` (none) to `4` (critical).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<u8>,
    pub package_id: String,
    pub filename: String,
    pub size: i64,
    pub sha256: String,
    pub download_url: String,
    pub published_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// A staged rollout in progress; absent when every site is offered the release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutView>,
    /// An application's builds, one per platform (the file fields above are its first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub builds: Vec<BuildView>,
}

/// One platform's build of an application's release.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BuildView {
    /// `{target}-{arch}`, as Tauri names them.
    pub platform: String,
    pub filename: String,
    pub size: i64,
    pub sha256: String,
    pub download_url: String,
}

/// A release's staged rollout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RolloutView {
    /// `5,25@24h,100@48h`: percent of sites, from hours after the start.
    pub schedule: String,
    pub started_at: String,
    pub paused: bool,
    /// The share of sites offered the release now.
    pub percent: u8,
    /// Whole downloads of the release so far.
    pub downloads: i64,
}

/// What an upload did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PublishOutcome {
    /// A new release was created.
    Created,
    /// A draft's file and metadata were replaced.
    Replaced,
    /// The same bytes were already published: nothing changed.
    Unchanged,
    /// An application's build for another platform joined an existing release.
    Added,
}

/// The answer to an application build's upload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublishedBuild {
    pub outcome: PublishOutcome,
    pub extension: String,
    pub version: String,
    pub stability: String,
    pub state: String,
    /// `{target}-{arch}`, as Tauri's updater names them (`linux-x86_64`).
    pub platform: String,
    pub filename: String,
    pub size: i64,
    pub sha256: String,
    pub sha512: String,
    pub download_url: String,
    /// depot's minisign signature of the build: `download_url` + `.minisig`.
    pub signature_url: String,
    /// The Tauri updater endpoint that offers this build.
    pub updater_url: String,
    /// Every platform the release has a build for, now.
    pub platforms: Vec<String>,
}

/// The answer to an upload: the release as it now is, and where sites find it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublishedRelease {
    pub outcome: PublishOutcome,
    pub extension: String,
    /// `joomla` or `composer`.
    pub ecosystem: String,
    pub element: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub client: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    pub version: String,
    pub stability: String,
    pub state: String,
    pub joomla: String,
    /// `request` when the upload named its targets, `extension default` otherwise.
    pub joomla_source: String,
    pub package_id: String,
    pub filename: String,
    pub size: i64,
    pub sha256: String,
    pub sha384: String,
    pub sha512: String,
    /// Where clients read the product's releases: a Joomla extension's update feed, a Composer
    /// package's repository metadata.
    pub feed_url: String,
    pub download_url: String,
    /// The package's minisign signature: `download_url` + `.minisig`.
    pub signature_url: String,
    /// What the vendor should know (a stable release that raises a PHP or database minimum,
    /// which Joomla's collection reader does not check).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReleasePatch {
    /// `published` or `yanked`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// `null` removes the notes.
    #[serde(
        default,
        deserialize_with = "crate::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub notes: Option<Option<String>>,
    /// Starts a staged rollout with this schedule (`5,25@24h,100@48h`); `null` offers the
    /// release to every site at once.
    #[serde(
        default,
        deserialize_with = "crate::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub rollout: Option<Option<String>>,
    /// Pauses (`true`) or resumes (`false`) the rollout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout_paused: Option<bool>,
    /// Joomla's `<security>` level, `0` (none) to `4` (critical); `null` removes it.
    #[serde(
        default,
        deserialize_with = "crate::nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u8>))]
    pub security: Option<Option<u8>>,
}

/// An upload's metadata, as query parameters of the `PUT` (or fields of a multipart form).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::IntoParams, utoipa::ToSchema),
    into_params(parameter_in = Query)
)]
#[serde(deny_unknown_fields)]
pub struct UploadParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joomla: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stability: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub draft: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub php_minimum: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supported_databases: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_group: Option<String>,
    /// Joomla's `<security>` level of the release, `0` (none) to `4` (critical).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security: Option<String>,
}

impl UploadParams {
    /// Sets the field a multipart form part names; `Err(name)` when there is no such field.
    pub fn set<'a>(&mut self, field: &'a str, value: String) -> Result<(), &'a str> {
        let slot = match field {
            "joomla" => &mut self.joomla,
            "stability" => &mut self.stability,
            "notes" => &mut self.notes,
            "draft" => &mut self.draft,
            "php_minimum" => &mut self.php_minimum,
            "supported_databases" => &mut self.supported_databases,
            "package_id" => &mut self.package_id,
            "package_group" => &mut self.package_group,
            "security" => &mut self.security,
            other => return Err(other),
        };
        *slot = Some(value);
        Ok(())
    }
}

/// An application build's upload: its metadata as query parameters of the `PUT` (or fields of
/// a multipart form, whose `file` part also names the file).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::IntoParams, utoipa::ToSchema),
    into_params(parameter_in = Query)
)]
#[serde(deny_unknown_fields)]
pub struct BuildParams {
    /// The build's file name as the bundler made it (`Acme_1.2.0_x64-setup.exe`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// The contents of the `.sig` file `tauri signer sign` wrote beside the build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stability: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub draft: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_group: Option<String>,
}

impl BuildParams {
    /// Sets the field a multipart form part names; `Err(name)` when there is no such field.
    pub fn set<'a>(&mut self, field: &'a str, value: String) -> Result<(), &'a str> {
        let slot = match field {
            "filename" => &mut self.filename,
            "signature" => &mut self.signature,
            "stability" => &mut self.stability,
            "notes" => &mut self.notes,
            "draft" => &mut self.draft,
            "package_id" => &mut self.package_id,
            "package_group" => &mut self.package_group,
            other => return Err(other),
        };
        *slot = Some(value);
        Ok(())
    }

    /// What it shares with a package's upload.
    pub fn upload_params(&self) -> UploadParams {
        UploadParams {
            stability: self.stability.clone(),
            notes: self.notes.clone(),
            draft: self.draft.clone(),
            package_id: self.package_id.clone(),
            package_group: self.package_group.clone(),
            ..UploadParams::default()
        }
    }
}

/// `/releases/{extension}/latest.json`: the newest published release of a channel, for any
/// client that is not Joomla's updater.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LatestRelease {
    pub extension: String,
    pub name: String,
    /// The channel asked for: the least stable stability it includes (`stable` by default;
    /// `beta` also offers `rc` and `stable` releases).
    pub channel: String,
    pub version: String,
    pub stability: String,
    pub published_at: Option<String>,
    pub notes: Option<String>,
    pub php_minimum: Option<String>,
    /// A paid package: its download needs a key (`?dlid=…` or `Authorization: Bearer`).
    pub paid: bool,
    pub download: LatestDownload,
}

/// The package of a [`LatestRelease`] and how to check it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LatestDownload {
    pub url: String,
    pub filename: String,
    pub size: i64,
    pub sha256: String,
    pub sha384: String,
    pub sha512: String,
    /// The minisign signature (`url` + `.minisig`), and its text once signed.
    pub signature_url: String,
    pub signature: Option<String>,
    /// The public key that checks `signature`.
    pub signing_key_url: Option<String>,
}
