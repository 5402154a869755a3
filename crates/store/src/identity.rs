//! Users, groups and memberships mirrored from an outside identity source (a vendor's Joomla
//! site), and the state of the mirroring.
//!
//! Mirrored rows are ordinary rows (so keys, the entitlement rule and every page work on them
//! unchanged), marked: a user by its `joomla_id`, a group and a membership by `source = 'joomla'`.
//! A mirrored membership is open while the source shows it; `valid_from` is when depot first
//! saw it, and when it disappears `valid_until` becomes the time depot noticed and
//! `last_seen_at` the last time it was still there.

use std::collections::{BTreeSet, HashMap};

use sqlx::FromRow;

use crate::{Store, StoreError};

/// The `source` of mirrored groups and memberships.
pub const JOOMLA_SOURCE: &str = "joomla";

/// A user as the source shows them, with the groups they count as a member of (among those
/// that matter to depot).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceUser {
    pub joomla_id: i64,
    /// Normalised (trimmed, lower-case).
    pub email: String,
    pub name: Option<String>,
    pub disabled: bool,
    pub groups: BTreeSet<i64>,
}

/// Which open mirrored memberships a mirroring covers: all of them (a full pass over the
/// source), or one user's (a sign-in that read that user alone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MirrorScope {
    Everyone,
    OneUser { joomla_id: i64 },
}

/// What a mirroring changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MirrorChanges {
    pub users_created: u64,
    pub users_linked: u64,
    pub users_updated: u64,
    pub memberships_started: u64,
    pub memberships_ended: u64,
    /// Source users left out, with why (an address another depot user already has).
    pub skipped: Vec<String>,
}

impl MirrorChanges {
    pub fn is_empty(&self) -> bool {
        self.users_created
            + self.users_linked
            + self.users_updated
            + self.memberships_started
            + self.memberships_ended
            == 0
    }
}

/// The state of the mirroring, shared by every instance.
#[derive(Clone, Debug, FromRow)]
pub struct IdentitySyncRow {
    pub locked_until: i64,
    pub last_attempt_at: Option<i64>,
    pub last_success_at: Option<i64>,
    pub last_error: Option<String>,
    pub users: i64,
    pub memberships: i64,
}

#[derive(FromRow)]
struct MirroredUser {
    id: i64,
    joomla_id: Option<i64>,
    email: String,
    name: Option<String>,
    disabled: i64,
}

#[derive(FromRow)]
struct OpenMembership {
    id: i64,
    user_id: i64,
    group_id: i64,
}

impl Store {
    /// Takes the mirroring for this instance until `until`, unless another holds it.
    pub async fn take_identity_lease(&self, until: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE identity_sync SET locked_until = $1 WHERE id = 1 AND locked_until <= $2",
        )
        .bind(until)
        .bind(self.now_ms())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn identity_sync(&self) -> Result<IdentitySyncRow, StoreError> {
        Ok(sqlx::query_as(
            "SELECT locked_until, last_attempt_at, last_success_at, last_error, users, \
             memberships FROM identity_sync WHERE id = 1",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// Records a pass over the source: its counts when it succeeded, its error when not (the
    /// last success stays what it was).
    pub async fn record_identity_sync(&self, outcome: Result<(), &str>) -> Result<(), StoreError> {
        let now = self.now_ms();
        match outcome {
            Ok(()) => {
                sqlx::query(
                    "UPDATE identity_sync SET last_attempt_at = $1, last_success_at = $1, \
                     last_error = NULL, \
                     users = (SELECT COUNT(*) FROM users WHERE joomla_id IS NOT NULL), \
                     memberships = (SELECT COUNT(*) FROM memberships \
                                    WHERE source = $2 AND valid_until IS NULL) \
                     WHERE id = 1",
                )
                .bind(now)
                .bind(JOOMLA_SOURCE)
                .execute(&self.pool)
                .await?;
            }
            Err(error) => {
                sqlx::query(
                    "UPDATE identity_sync SET last_attempt_at = $1, last_error = $2 WHERE id = 1",
                )
                .bind(now)
                .bind(error)
                .execute(&self.pool)
                .await?;
            }
        }
        Ok(())
    }

    /// The groups any package group allows.
    pub async fn allowed_group_ids(&self) -> Result<BTreeSet<i64>, StoreError> {
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT DISTINCT group_id FROM package_group_members")
                .fetch_all(&self.pool)
                .await?;
        Ok(ids.into_iter().collect())
    }

    /// Makes the source's groups depot groups with the same ids and names. A depot group with
    /// one of those ids becomes the source's (a jBackend import names Joomla's group ids, so
    /// such a group already meant the Joomla group). Returns the ids taken over.
    pub async fn mirror_groups(&self, groups: &[(i64, String)]) -> Result<Vec<i64>, StoreError> {
        let current: HashMap<i64, (String, String)> =
            sqlx::query_as::<_, (i64, String, String)>("SELECT id, name, source FROM user_groups")
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(|(id, name, source)| (id, (name, source)))
                .collect();
        let mut taken_over = Vec::new();
        let now = self.now_ms();
        for (id, name) in groups {
            match current.get(id) {
                Some((n, s)) if n == name && s == JOOMLA_SOURCE => continue,
                Some((_, s)) if s != JOOMLA_SOURCE => taken_over.push(*id),
                _ => {}
            }
            sqlx::query(
                "INSERT INTO user_groups (id, name, created_at, source) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, source = excluded.source",
            )
            .bind(id)
            .bind(name)
            .bind(now)
            .bind(JOOMLA_SOURCE)
            .execute(&self.pool)
            .await?;
        }
        Ok(taken_over)
    }

    /// Brings the mirrored users and their open memberships in line with `users`, within
    /// `scope`. Reads first and writes only what differs, so a pass that finds nothing new
    /// leaves every instance's caches alone; each write is guarded so that two passes at once
    /// (a sign-in and the periodic one) cannot duplicate a row.
    pub async fn mirror_users(
        &self,
        users: &[SourceUser],
        scope: MirrorScope,
        last_seen_at: Option<i64>,
    ) -> Result<MirrorChanges, StoreError> {
        let mut changes = MirrorChanges::default();
        let known = self.mirror_candidates(scope, users).await?;
        let open = self.open_mirrored_memberships(scope).await?;
        let now = self.now_ms();

        // Who each source user is in depot, and what to change about them (by maps: a pass
        // over a large site must not compare every user with every other).
        let linked: HashMap<i64, &MirroredUser> = known
            .iter()
            .filter_map(|k| Some((k.joomla_id?, k)))
            .collect();
        let addressed: HashMap<&str, &MirroredUser> =
            known.iter().map(|k| (k.email.as_str(), k)).collect();
        let mut plan: Vec<(i64, Write, &SourceUser)> = Vec::new();
        let mut new_users: Vec<&SourceUser> = Vec::new();
        for u in users {
            let by_link = linked.get(&u.joomla_id).copied();
            let by_email = addressed.get(u.email.as_str()).copied();
            let (user, write) = match (by_link, by_email) {
                (Some(k), Some(other)) if k.id != other.id => {
                    changes.skipped.push(format!(
                        "Joomla user {} has the address of depot user {}; the address stays",
                        u.joomla_id, other.id
                    ));
                    (k, Write::Update { keep_email: true })
                }
                (Some(k), _) => (k, Write::Update { keep_email: false }),
                (None, Some(k)) => (k, Write::Link),
                (None, None) => {
                    new_users.push(u);
                    continue;
                }
            };
            let differs = |keep_email: bool| {
                user.name != u.name
                    || (user.disabled != 0) != u.disabled
                    || (!keep_email && user.email != u.email)
            };
            let write = match write {
                Write::Update { keep_email } if !differs(keep_email) => Write::Nothing,
                w => w,
            };
            plan.push((user.id, write, u));
        }
        let mut wanted: BTreeSet<(i64, i64)> = plan
            .iter()
            .flat_map(|(id, _, u)| u.groups.iter().map(move |g| (*id, *g)))
            .collect();
        let open_pairs: BTreeSet<(i64, i64)> =
            open.iter().map(|m| (m.user_id, m.group_id)).collect();
        let to_end: Vec<&OpenMembership> = open
            .iter()
            .filter(|m| !wanted.contains(&(m.user_id, m.group_id)))
            .collect();
        let user_writes = plan.iter().any(|(_, w, _)| *w != Write::Nothing);
        if !user_writes
            && new_users.is_empty()
            && to_end.is_empty()
            && wanted.is_subset(&open_pairs)
        {
            return Ok(changes);
        }

        let mut tx = self.access_write().await?;
        for (id, write, u) in &plan {
            let keep_email = match write {
                Write::Nothing => continue,
                Write::Update { keep_email } => *keep_email,
                Write::Link => false,
            };
            sqlx::query(
                "UPDATE users SET joomla_id = $1, name = $2, disabled = $3, \
                 email = CASE WHEN $4 = 1 THEN email ELSE $5 END, updated_at = $6 WHERE id = $7",
            )
            .bind(u.joomla_id)
            .bind(u.name.as_deref())
            .bind(i64::from(u.disabled))
            .bind(i64::from(keep_email))
            .bind(&u.email)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::unique(e, "user"))?;
            if *write == Write::Link {
                changes.users_linked += 1;
            } else {
                changes.users_updated += 1;
            }
            if u.disabled {
                // As when an administrator disables a user: their sessions end everywhere.
                sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        for u in new_users {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO users (email, name, disabled, joomla_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
            )
            .bind(&u.email)
            .bind(u.name.as_deref())
            .bind(i64::from(u.disabled))
            .bind(u.joomla_id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| StoreError::unique(e, "user"))?;
            changes.users_created += 1;
            for g in &u.groups {
                wanted.insert((id, *g));
            }
        }
        for m in to_end {
            let done = sqlx::query(
                "UPDATE memberships SET valid_until = $1, last_seen_at = $2 \
                 WHERE id = $3 AND valid_until IS NULL",
            )
            .bind(now)
            .bind(last_seen_at)
            .bind(m.id)
            .execute(&mut *tx)
            .await?;
            changes.memberships_ended += done.rows_affected();
        }
        for (user_id, group_id) in wanted.difference(&open_pairs) {
            let done = sqlx::query(
                "INSERT INTO memberships (user_id, group_id, valid_from, valid_until, source, \
                 created_at) SELECT $1, $2, $3, NULL, $4, $3 WHERE NOT EXISTS (SELECT 1 FROM \
                 memberships WHERE user_id = $1 AND group_id = $2 AND source = $4 \
                 AND valid_until IS NULL)",
            )
            .bind(user_id)
            .bind(group_id)
            .bind(now)
            .bind(JOOMLA_SOURCE)
            .execute(&mut *tx)
            .await?;
            changes.memberships_started += done.rows_affected();
        }
        self.commit_access(tx).await?;
        Ok(changes)
    }

    /// The depot users a mirroring may touch: every mirrored one (for one user, theirs), and
    /// those whose address a source user not yet linked has (to link them). Once everyone is
    /// linked, a pass looks up no address at all.
    async fn mirror_candidates(
        &self,
        scope: MirrorScope,
        users: &[SourceUser],
    ) -> Result<Vec<MirroredUser>, StoreError> {
        const COLUMNS: &str = "SELECT id, joomla_id, email, name, disabled FROM users";
        let mut rows: Vec<MirroredUser> = match scope {
            MirrorScope::Everyone => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{COLUMNS} WHERE joomla_id IS NOT NULL"
                )))
                .fetch_all(&self.pool)
                .await?
            }
            MirrorScope::OneUser { joomla_id } => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{COLUMNS} WHERE joomla_id = $1"
                )))
                .bind(joomla_id)
                .fetch_all(&self.pool)
                .await?
            }
        };
        // The addresses to look up: of source users not linked yet, and of linked ones whose
        // address changed on the site (another depot user may have the new one).
        let linked: HashMap<i64, &str> = rows
            .iter()
            .filter_map(|r| Some((r.joomla_id?, r.email.as_str())))
            .collect();
        let emails: Vec<String> = users
            .iter()
            .filter(|u| linked.get(&u.joomla_id) != Some(&u.email.as_str()))
            .map(|u| u.email.clone())
            .collect();
        // Depot's own users with a source user's address, found in batches.
        for chunk in emails.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "{COLUMNS} WHERE email IN ({}) AND joomla_id IS NULL",
                marks.join(",")
            );
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for e in chunk {
                q = q.bind(e.as_str());
            }
            let found: Vec<MirroredUser> = q.fetch_all(&self.pool).await?;
            rows.extend(found);
        }
        // And, for one user, whoever holds the address now (a clash to report).
        if let MirrorScope::OneUser { .. } = scope {
            for e in users.iter().map(|u| u.email.as_str()) {
                let holder: Option<MirroredUser> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{COLUMNS} WHERE email = $1 AND joomla_id IS NOT NULL"
                )))
                .bind(e)
                .fetch_optional(&self.pool)
                .await?;
                rows.extend(holder.filter(|u| !rows.iter().any(|r| r.id == u.id)));
            }
        }
        Ok(rows)
    }

    async fn open_mirrored_memberships(
        &self,
        scope: MirrorScope,
    ) -> Result<Vec<OpenMembership>, StoreError> {
        let rows = match scope {
            MirrorScope::Everyone => {
                sqlx::query_as(
                    "SELECT id, user_id, group_id FROM memberships \
                     WHERE source = $1 AND valid_until IS NULL",
                )
                .bind(JOOMLA_SOURCE)
                .fetch_all(&self.pool)
                .await?
            }
            MirrorScope::OneUser { joomla_id } => {
                sqlx::query_as(
                    "SELECT m.id, m.user_id, m.group_id FROM memberships m \
                     JOIN users u ON u.id = m.user_id \
                     WHERE m.source = $1 AND m.valid_until IS NULL AND u.joomla_id = $2",
                )
                .bind(JOOMLA_SOURCE)
                .bind(joomla_id)
                .fetch_all(&self.pool)
                .await?
            }
        };
        Ok(rows)
    }
}

/// What a mirroring writes to one existing depot user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Write {
    Nothing,
    /// Name, disabled flag and (unless another user has it) address, from the source.
    Update {
        keep_email: bool,
    },
    /// A depot user with the source user's address becomes theirs.
    Link,
}
