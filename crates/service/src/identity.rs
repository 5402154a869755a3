//! A vendor's Joomla site as a source of users, groups and memberships (`[identity] kind =
//! "joomla"`).
//!
//! depot mirrors what it needs: every Joomla group (same ids, so package groups name Joomla's
//! group ids as jBackend did), and the users who count as members of a group some package group
//! allows, with those memberships. One instance at a time reads the site every
//! `sync_interval` (a lease in the database), writes only what changed, and the access
//! generation carries the change to every instance's caches: a group removed on the site stops
//! downloads within one interval plus one cache poll, and no download waits on the site.
//!
//! A sign-in (`keybyauth`, `/account`) reads that one user live, checks the password against
//! the site's hash (never stored, never logged) and mirrors the user at once, so a customer who
//! has just paid gets their key without waiting for the next pass.
//!
//! While the site is unreachable, mirrored memberships keep counting for `stale_after`; after
//! that they no longer do, and a check that depended on them answers `503` (`REL_UNA`) until a
//! pass succeeds again. Feeds, free downloads and depot's own users never depend on the site.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use depot_joomla::{GroupRule, GroupTree, JoomlaAccount, JoomlaError, JoomlaSite};
use depot_store::{MirrorChanges, MirrorScope, SourceUser, StoreError, UserRow};
use serde_json::json;

use crate::{Actor, Depot, ServiceError, ServiceResult};

/// The longest a single query to the site may take before the site counts as unreachable.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// How depot reads a Joomla site.
#[derive(Clone, Debug)]
pub struct JoomlaSource {
    pub site: JoomlaSite,
    pub rule: GroupRule,
    /// Between two passes over the site.
    pub sync_interval: Duration,
    /// How long mirrored memberships keep counting while the site cannot be read.
    pub stale_after: Duration,
    /// Where the site resets a password, for the account pages.
    pub password_reset_url: Option<String>,
}

/// When the site was last read in full, as this instance knows it (its own passes, and other
/// instances' through the generation poll).
#[derive(Default)]
pub(crate) struct Freshness(AtomicI64);

impl Freshness {
    pub(crate) fn saw(&self, at: Option<i64>) {
        if let Some(at) = at {
            self.0.fetch_max(at, Ordering::SeqCst);
        }
    }

    fn at(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The answer while the site has been unreachable for longer than `stale_after`.
pub(crate) fn source_unavailable() -> ServiceError {
    ServiceError::SourceUnavailable(
        "The subscription records cannot be checked right now; please try again in a few minutes"
            .into(),
    )
}

async fn bounded<T>(query: impl Future<Output = Result<T, JoomlaError>>) -> Result<T, JoomlaError> {
    tokio::time::timeout(QUERY_TIMEOUT, query)
        .await
        .unwrap_or_else(|_| {
            Err(JoomlaError::Unavailable(format!(
                "no answer within {QUERY_TIMEOUT:?}"
            )))
        })
}

impl From<JoomlaError> for ServiceError {
    fn from(e: JoomlaError) -> Self {
        tracing::warn!(error = %e, "the Joomla site's database could not be read");
        source_unavailable()
    }
}

impl Depot {
    fn joomla(&self) -> Option<&JoomlaSource> {
        self.settings().joomla.as_ref()
    }

    /// Whether mirrored memberships count now: always without a Joomla source, and with one
    /// while the last full pass is recent enough.
    pub(crate) fn mirror_is_fresh(&self) -> bool {
        let Some(source) = self.joomla() else {
            return true;
        };
        self.now_ms() - self.inner.identity_fresh.at() <= source.stale_after.as_millis() as i64
    }

    /// Seconds since the site was last read in full; `None` without a Joomla source.
    pub(crate) fn identity_sync_age_secs(&self) -> Option<i64> {
        self.joomla()?;
        Some((self.now_ms() - self.inner.identity_fresh.at()).max(0) / 1000)
    }

    pub(crate) fn saw_identity_sync(&self, at: Option<i64>) {
        self.inner.identity_fresh.saw(at);
    }

    /// One full pass over the site, if this instance holds the lease (or `force`, for the
    /// `depot identity sync` command and tests). Records its outcome for every instance.
    pub async fn sync_identity(&self, force: bool) -> ServiceResult<bool> {
        let Some(source) = self.joomla() else {
            return Err(ServiceError::invalid(
                "no_identity_source",
                "no identity source is configured ([identity] kind = \"joomla\")",
            ));
        };
        let lease_until = self.now_ms() + source.sync_interval.as_millis() as i64;
        if !self.store().take_identity_lease(lease_until).await? && !force {
            return Ok(false);
        }
        let previous = self.store().identity_sync().await?.last_success_at;
        match self.mirror_site(source, previous).await {
            Ok(()) => {
                self.store().record_identity_sync(Ok(())).await?;
                let state = self.store().identity_sync().await?;
                self.saw_identity_sync(state.last_success_at);
                Ok(true)
            }
            Err(e) => {
                let message = e.to_string();
                self.store().record_identity_sync(Err(&message)).await?;
                Err(ServiceError::SourceUnavailable(message))
            }
        }
    }

    async fn mirror_site(
        &self,
        source: &JoomlaSource,
        previous: Option<i64>,
    ) -> Result<(), MirrorError> {
        let groups = bounded(source.site.groups()).await?;
        let named: Vec<(i64, String)> = groups.iter().map(|g| (g.id, g.title.clone())).collect();
        let taken_over = self.store().mirror_groups(&named).await?;
        if !taken_over.is_empty() {
            tracing::info!(
                ?taken_over,
                "depot groups now mirror the Joomla groups with their ids"
            );
        }
        let tree = GroupTree::new(&groups);
        let allowed = self.store().allowed_group_ids().await?;
        let qualifying: Vec<i64> = tree.qualifying(source.rule, &allowed).into_iter().collect();
        let members = bounded(source.site.members_of(&qualifying)).await?;
        let mut users: HashMap<i64, SourceUser> = HashMap::new();
        for m in members {
            let counted = counted_groups(&tree, source.rule, &allowed, &[m.group_id]);
            let entry = users
                .entry(m.user.id)
                .or_insert_with(|| source_user(&m.user));
            entry.groups.extend(counted);
        }
        let users: Vec<SourceUser> = users.into_values().collect();
        let changes = self
            .mirror_users(&users, MirrorScope::Everyone, previous)
            .await?;
        for skipped in &changes.skipped {
            tracing::warn!("{skipped}");
        }
        if !changes.is_empty() {
            tracing::info!(?changes, "mirrored the Joomla site's changes");
            let detail = json!({
                "users_created": changes.users_created,
                "users_linked": changes.users_linked,
                "users_updated": changes.users_updated,
                "memberships_started": changes.memberships_started,
                "memberships_ended": changes.memberships_ended,
            });
            self.audit(&Actor::system("joomla"), "identity.sync", "joomla", detail)
                .await
                .map_err(|e| MirrorError(e.to_string()))?;
        }
        Ok(())
    }

    /// Mirrors `users`, planning again when another pass (a forced one beside the background
    /// loop, another instance, a sign-in) created one of them between this pass's read and its
    /// write: the next plan links to what the other made instead of creating it twice.
    async fn mirror_users(
        &self,
        users: &[SourceUser],
        scope: MirrorScope,
        previous: Option<i64>,
    ) -> Result<MirrorChanges, StoreError> {
        let mut attempts = 0;
        loop {
            match self.store().mirror_users(users, scope, previous).await {
                Err(StoreError::Conflict(_)) if attempts < 3 => attempts += 1,
                result => return result,
            }
        }
    }

    /// The site's account for a sign-in name, or `None` without a Joomla source or when the
    /// site has no such account.
    pub(crate) async fn joomla_account(&self, login: &str) -> ServiceResult<Option<JoomlaAccount>> {
        let Some(source) = self.joomla() else {
            return Ok(None);
        };
        Ok(bounded(source.site.account(login)).await?)
    }

    /// Mirrors one account read at sign-in (its groups as they are now) and returns its depot
    /// user.
    pub(crate) async fn mirror_account(&self, account: &JoomlaAccount) -> ServiceResult<UserRow> {
        let source = self
            .joomla()
            .ok_or(ServiceError::NotFound { what: "user" })?;
        let groups = bounded(source.site.groups()).await?;
        let tree = GroupTree::new(&groups);
        let allowed = self.store().allowed_group_ids().await?;
        let mut user = source_user(&account.user);
        user.groups = counted_groups(&tree, source.rule, &allowed, &account.groups);
        let scope = MirrorScope::OneUser {
            joomla_id: account.user.id,
        };
        let changes = self.mirror_users(&[user], scope, None).await?;
        for skipped in &changes.skipped {
            tracing::warn!("{skipped}");
        }
        self.store()
            .user_by_joomla_id(account.user.id)
            .await?
            .ok_or(ServiceError::NotFound { what: "user" })
    }
}

/// The allowed groups a member of `direct` counts as a member of.
fn counted_groups(
    tree: &GroupTree,
    rule: GroupRule,
    allowed: &BTreeSet<i64>,
    direct: &[i64],
) -> BTreeSet<i64> {
    direct
        .iter()
        .flat_map(|&g| tree.counted(rule, g))
        .filter(|g| allowed.contains(g))
        .collect()
}

fn source_user(u: &depot_joomla::JoomlaUser) -> SourceUser {
    SourceUser {
        joomla_id: u.id,
        email: u.email.clone(),
        name: Some(u.name.trim().to_string()).filter(|n| !n.is_empty()),
        disabled: u.disabled,
        groups: BTreeSet::new(),
    }
}

/// Why a pass failed, in words for the log and the console (no personal data).
#[derive(Debug)]
struct MirrorError(String);

impl std::fmt::Display for MirrorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<JoomlaError> for MirrorError {
    fn from(e: JoomlaError) -> Self {
        MirrorError(e.to_string())
    }
}

impl From<depot_store::StoreError> for MirrorError {
    fn from(e: depot_store::StoreError) -> Self {
        MirrorError(format!("depot's database: {e}"))
    }
}

/// Reads the site every `sync_interval` (when this instance holds the lease), from start.
pub(crate) async fn sync_loop(depot: Depot) {
    let Some(interval) = depot.joomla().map(|s| s.sync_interval) else {
        return;
    };
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tick.tick().await;
        match depot.sync_identity(false).await {
            Ok(_) if failing => {
                failing = false;
                tracing::info!("the Joomla site's database answers again");
            }
            Ok(_) => {}
            // Said once when it starts failing, then quietly until it recovers.
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "could not read the Joomla site; retrying every {interval:?}");
            }
            Err(e) => tracing::debug!(error = %e, "the Joomla site is still unreadable"),
        }
    }
}
