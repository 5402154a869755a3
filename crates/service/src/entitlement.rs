//! Who may download a paid package: credentials → user → entitlement (docs/product.md §1, §3, §4).

use depot_core::entitlement::{self, Decision, Membership, Policy};
use depot_core::{Refusal, keys};
use std::sync::Arc;

use depot_store::{DownloadKeyRow, JOOMLA_SOURCE, MembershipSpan, PackageGroupRow};

use crate::cache::{Memo, Seen};
use crate::{Depot, Download, ServiceError, ServiceResult};

/// Answers kept per kind (known and unknown ids together, see `Memo`).
const MAX_CACHED: usize = 100_000;

/// What a paid download checks, kept in memory so that a download with a key does no database
/// work beyond finding the release. Emptied whenever the access generation moves, which every
/// write to users, memberships, package groups and keys does.
pub(crate) struct AccessCache {
    pub(crate) generation: Seen,
    /// `Store::access_writes` when last looked at: this process's own writes clear the cache
    /// before the next check, without waiting for the poller.
    local_writes: Seen,
    package_groups: Memo<i64, Option<PackageGroupRow>>,
    download_keys: Memo<i64, Option<KeyOnRecord>>,
    /// Imported Download IDs by the hash they are kept as.
    imported_keys: Memo<String, Option<DownloadKeyRow>>,
    /// (user, package group) → the user's standing in it; `None` for an unknown user.
    holders: Memo<(i64, i64), Option<Holder>>,
    users_by_email: Memo<String, Option<i64>>,
    jbackend_versions: Memo<(i64, i64), i64>,
}

/// What checking a download key needs of its row, and the tag its current keys carry,
/// computed when the row is read: an HMAC on every request cost ~14,000 instructions, more
/// than the rest of the key check. Small and `Copy`, so a cache hit allocates nothing.
#[derive(Clone, Copy)]
struct KeyOnRecord {
    id: i64,
    user_id: i64,
    version: u32,
    revoked: bool,
    tag: [u8; 16],
}

#[derive(Clone)]
struct Holder {
    disabled: bool,
    /// Every membership, depot's own and those mirrored from the identity source.
    all: Arc<[Membership]>,
    /// depot's own only (added by hand, by the API, by an import): what counts once the
    /// identity source has been away too long.
    own: Arc<[Membership]>,
    /// Whether any membership is mirrored.
    mirrored: bool,
}

impl AccessCache {
    pub(crate) fn new(generation: i64) -> Self {
        AccessCache {
            generation: Seen::new(generation),
            local_writes: Seen::new(0),
            package_groups: Memo::new(MAX_CACHED),
            download_keys: Memo::new(MAX_CACHED),
            imported_keys: Memo::new(MAX_CACHED),
            holders: Memo::new(MAX_CACHED),
            users_by_email: Memo::new(MAX_CACHED),
            jbackend_versions: Memo::new(MAX_CACHED),
        }
    }

    pub(crate) fn clear(&self) {
        self.package_groups.clear();
        self.download_keys.clear();
        self.imported_keys.clear();
        self.holders.clear();
        self.users_by_email.clear();
        self.jbackend_versions.clear();
    }
}

/// The credentials a download request carried. `Debug` names the kind only, so that a key can
/// never reach a log line through it.
#[derive(Clone, Default)]
pub enum Credentials {
    #[default]
    None,
    /// Joomla's Download Key (`dlid`) or `Authorization: Bearer`.
    DownloadKey(String),
    /// jBackend's `email` + `key`; either may be missing.
    EmailKey {
        email: Option<String>,
        key: Option<String>,
    },
    /// A customer signed in to their account pages (the web layer checked the session): the
    /// user is known, and the memberships decide as for a key.
    Account(i64),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Credentials::None => "Credentials::None",
            Credentials::DownloadKey(_) => "Credentials::DownloadKey(***)",
            Credentials::EmailKey { .. } => "Credentials::EmailKey(***)",
            Credentials::Account(_) => "Credentials::Account",
        })
    }
}

/// A paid download allowed: whose, and through which download key (never the key itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    pub user_id: i64,
    pub key_id: Option<i64>,
}

/// The longest e-mail address accepted (RFC 5321's path limit).
const MAX_EMAIL: usize = 254;

pub(crate) fn denied(refusal: Refusal, description: impl Into<String>) -> ServiceError {
    ServiceError::Denied {
        refusal,
        description: description.into(),
    }
}

fn invalid_key() -> ServiceError {
    ServiceError::refused(Refusal::InvalidKey)
}

/// A plausible address: one `@`, something on each side, no spaces, not too long.
pub fn valid_email(email: &str) -> bool {
    let e = email.trim();
    e.len() <= MAX_EMAIL
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(e.split_once('@'), Some((local, domain)) if !local.is_empty() && domain.contains('.') && !domain.contains('@') && !domain.starts_with('.') && !domain.ends_with('.'))
}

fn format_day(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .map(|t| t.date().to_string())
        .unwrap_or_else(|_| "an unknown date".into())
}

impl Depot {
    /// The access cache, first emptied if this process has written access data since the last
    /// look.
    fn access(&self) -> &AccessCache {
        let cache = &self.inner.access;
        if cache
            .local_writes
            .moved(self.store().access_writes() as i64)
        {
            cache.clear();
        }
        cache
    }

    pub(crate) async fn package_group(&self, id: i64) -> ServiceResult<Option<PackageGroupRow>> {
        self.access()
            .package_groups
            .get_or_load(id, || self.store().package_group(id))
            .await
            .map_err(ServiceError::from)
    }

    /// `Ok(None)` for a free package; `Ok(Some(grant))` when the credentials entitle their user;
    /// otherwise a `Denied` error with the code of docs/product.md §4.
    pub(crate) async fn authorize(
        &self,
        download: &Download,
        credentials: &Credentials,
    ) -> ServiceResult<Option<Grant>> {
        let Some(package_group_id) = download.package_group_id else {
            return Ok(None);
        };
        let group = self
            .package_group(package_group_id)
            .await?
            .ok_or(ServiceError::NotFound {
                what: "package group",
            })?;
        let grant = self.identify(&group, credentials).await?;
        let published_at = download.published_at.unwrap_or(i64::MAX);
        self.entitle(&group, grant.user_id, published_at).await?;
        Ok(Some(grant))
    }

    /// Finds the user the credentials prove, or refuses them.
    pub(crate) async fn identify(
        &self,
        group: &PackageGroupRow,
        credentials: &Credentials,
    ) -> ServiceResult<Grant> {
        let secret = self.settings().secret.expose();
        match credentials {
            Credentials::None => Err(ServiceError::refused(Refusal::EmailNotSpecified)),
            Credentials::Account(user_id) => Ok(Grant {
                user_id: *user_id,
                key_id: None,
            }),
            Credentials::DownloadKey(k) => self.identify_download_key(k).await,
            Credentials::EmailKey { email, key } => {
                let email = email.as_deref().map(str::trim).filter(|e| !e.is_empty());
                let key = key.as_deref().map(str::trim).filter(|k| !k.is_empty());
                let email =
                    email.ok_or_else(|| ServiceError::refused(Refusal::EmailNotSpecified))?;
                let key = key.ok_or_else(|| ServiceError::refused(Refusal::KeyNotSpecified))?;
                if !valid_email(email) {
                    return Err(denied(Refusal::BadRequest, "Malformed e-mail address"));
                }
                if !keys::looks_like_jbackend_key(key) {
                    return Err(invalid_key());
                }
                let email = keys::normalise_email(email);
                let user_id = self
                    .access()
                    .users_by_email
                    .get_or_load(email.clone(), || async {
                        let user = self.store().user_by_email(&email).await?;
                        Ok::<_, ServiceError>(user.map(|u| u.id))
                    })
                    .await?
                    .ok_or_else(invalid_key)?;
                let version = self
                    .access()
                    .jbackend_versions
                    .get_or_load((user_id, group.id), || {
                        self.store().jbackend_key_version(user_id, group.id)
                    })
                    .await?;
                if !keys::verify_jbackend_key(secret, &group.seed, &email, version, key) {
                    return Err(invalid_key());
                }
                Ok(Grant {
                    user_id,
                    key_id: None,
                })
            }
        }
    }

    /// The user a download key (depot's own, or an imported Download ID) belongs to.
    pub(crate) async fn identify_download_key(&self, k: &str) -> ServiceResult<Grant> {
        let Some(claim) = keys::parse_download_key(k) else {
            return self.identify_imported(k).await;
        };
        let serial = claim.serial as i64;
        let key = self
            .access()
            .download_keys
            .get_or_load(serial, || async {
                let row = self.store().download_key(serial).await?;
                Ok::<_, ServiceError>(row.map(|row| {
                    let version = row.version as u32;
                    KeyOnRecord {
                        id: row.id,
                        user_id: row.user_id,
                        version,
                        revoked: row.revoked_at.is_some(),
                        tag: keys::download_tag(
                            self.settings().secret.expose(),
                            claim.serial,
                            version,
                        ),
                    }
                }))
            })
            .await?
            .filter(|key| !key.revoked)
            .ok_or_else(invalid_key)?;
        if !claim.carries(&key.tag, key.version) {
            return Err(invalid_key());
        }
        Ok(Grant {
            user_id: key.user_id,
            key_id: Some(key.id),
        })
    }

    /// A Download ID imported from Akeeba Release System, found by its hash.
    async fn identify_imported(&self, sent: &str) -> ServiceResult<Grant> {
        let normalised = depot_core::ars::normalise_download_id(sent).ok_or_else(invalid_key)?;
        let hash = crate::imports::imported_key_hash(&normalised);
        let row = self
            .access()
            .imported_keys
            .get_or_load(hash.clone(), || self.store().imported_download_key(&hash))
            .await?
            .filter(|r| r.revoked_at.is_none())
            .ok_or_else(invalid_key)?;
        Ok(Grant {
            user_id: row.user_id,
            key_id: Some(row.id),
        })
    }

    /// The user's standing in the package group, from the access cache; `None` for an unknown
    /// user.
    async fn holder(&self, group: &PackageGroupRow, user_id: i64) -> ServiceResult<Option<Holder>> {
        self.access()
            .holders
            .get_or_load((user_id, group.id), || async {
                let Some(user) = self.store().user(user_id).await? else {
                    return Ok(None);
                };
                let spans = self
                    .store()
                    .memberships_for_package_group(user.id, group.id)
                    .await?;
                let membership = |m: &MembershipSpan| Membership {
                    valid_from: m.valid_from,
                    valid_until: m.valid_until,
                };
                Ok::<_, ServiceError>(Some(Holder {
                    disabled: user.disabled != 0,
                    all: spans.iter().map(membership).collect(),
                    own: spans
                        .iter()
                        .filter(|m| m.source != JOOMLA_SOURCE)
                        .map(membership)
                        .collect(),
                    mirrored: spans.iter().any(|m| m.source == JOOMLA_SOURCE),
                }))
            })
            .await
    }

    /// Whether the user holds or held a membership that the package group allows (depot's own
    /// or mirrored): who may read the group's private feeds.
    pub(crate) async fn ever_member(
        &self,
        group: &PackageGroupRow,
        user_id: i64,
    ) -> ServiceResult<bool> {
        Ok(self
            .holder(group, user_id)
            .await?
            .is_some_and(|h| !h.disabled && !h.all.is_empty()))
    }

    /// Whether the user may have a release of the group published at `published_at`.
    pub(crate) async fn entitle(
        &self,
        group: &PackageGroupRow,
        user_id: i64,
        published_at: i64,
    ) -> ServiceResult<()> {
        self.standing(group, user_id).await?.entitle(published_at)
    }

    /// The user's standing in the package group, looked up once for deciding any number of
    /// its releases (a Composer package's versions, the account page's list). Refuses an
    /// unknown user (`REL_INV`).
    pub(crate) async fn standing<'g>(
        &self,
        group: &'g PackageGroupRow,
        user_id: i64,
    ) -> ServiceResult<Standing<'g>> {
        let holder = self.holder(group, user_id).await?.ok_or_else(invalid_key)?;
        Ok(Standing {
            group,
            policy: Policy::parse(&group.policy).unwrap_or(Policy::Active),
            now: self.now_ms(),
            fresh: !holder.mirrored || self.mirror_is_fresh(),
            holder,
        })
    }
}

/// A user's standing in one package group at one moment: what decides each of its releases.
pub(crate) struct Standing<'g> {
    group: &'g PackageGroupRow,
    holder: Holder,
    policy: Policy,
    now: i64,
    /// Whether what the identity source last said may still be relied on (always, for a
    /// user with no mirrored membership).
    fresh: bool,
}

impl Standing<'_> {
    fn decide(&self, published_at: i64) -> ServiceResult<Decision> {
        let memberships = if self.fresh {
            &self.holder.all
        } else {
            &self.holder.own
        };
        let decision = entitlement::decide(
            self.now,
            self.holder.disabled,
            memberships,
            self.policy,
            published_at,
        );
        if !self.fresh && decision != Decision::Allowed {
            // What the site last said is too old to go on, and depot's own records do not
            // settle it.
            return Err(crate::identity::source_unavailable());
        }
        Ok(decision)
    }

    /// Whether the user may have the release, for lists that leave out what is not theirs
    /// (no refusal to word). Errs only when the identity source is needed and away.
    pub(crate) fn allows(&self, published_at: i64) -> ServiceResult<bool> {
        Ok(self.decide(published_at)? == Decision::Allowed)
    }

    /// The release is the user's, or the refusal that says why not (docs/product.md §4).
    pub(crate) fn entitle(&self, published_at: i64) -> ServiceResult<()> {
        let group = self.group;
        match self.decide(published_at)? {
            Decision::Allowed => Ok(()),
            Decision::NotAuthorised => Err(denied(
                Refusal::NotAuthorised,
                format!("No active subscription to {} for this account", group.title),
            )),
            Decision::Expired { ended_at } => Err(denied(
                Refusal::Expired,
                format!(
                    "Your subscription to {} ended on {}, before this release; renew {} to download it",
                    group.title,
                    format_day(ended_at),
                    group.title
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn email_syntax() {
        for ok in ["a@b.co", " User@Example.com "] {
            assert!(super::valid_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@b",
            "@b.co",
            "a b@c.de",
            "a@b@c.de",
            "a@.de",
            &format!("{}@b.co", "a".repeat(260)),
        ] {
            assert!(!super::valid_email(bad), "{bad}");
        }
    }
}

#[cfg(test)]
mod redaction {
    use super::Credentials;

    #[test]
    fn debug_never_shows_keys() {
        let creds = [
            Credentials::DownloadKey("dkSECRETKEY".into()),
            Credentials::EmailKey {
                email: Some("a@b.co".into()),
                key: Some("SECRETKEY".into()),
            },
        ];
        for c in creds {
            let shown = format!("{c:?}");
            assert!(
                !shown.contains("SECRETKEY") && !shown.contains("a@b.co"),
                "{shown}"
            );
        }
    }
}
