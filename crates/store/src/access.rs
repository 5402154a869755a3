//! Users, groups, memberships, package groups and download keys: what decides who may download a
//! paid package.

use std::sync::atomic::Ordering;

use sqlx::{Any, FromRow, Transaction};

use crate::{Store, StoreError};

#[derive(Clone, Debug, FromRow)]
pub struct UserRow {
    pub id: i64,
    /// Normalised: trimmed and lower-cased.
    pub email: String,
    pub name: Option<String>,
    pub password_hash: Option<String>,
    /// 0 or 1.
    pub disabled: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// 0 or 1: may sign in to the admin console.
    pub is_admin: i64,
}

#[derive(Clone, Debug, FromRow)]
pub struct PackageGroupRow {
    pub id: i64,
    pub name: String,
    pub title: String,
    pub seed: String,
    /// `active` or `keep-released`.
    pub policy: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Clone, Debug, FromRow)]
pub struct DownloadKeyRow {
    pub id: i64,
    pub user_id: i64,
    pub label: String,
    pub version: i64,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
}

#[derive(Clone, Debug, FromRow)]
pub struct GroupRow {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
}

#[derive(Clone, Debug, FromRow)]
pub struct MembershipRow {
    pub id: i64,
    pub user_id: i64,
    pub group_id: i64,
    pub valid_from: i64,
    pub valid_until: Option<i64>,
    pub source: String,
    pub created_at: i64,
}

/// A membership's validity, in milliseconds since the epoch.
#[derive(Clone, Copy, Debug, FromRow, PartialEq, Eq)]
pub struct MembershipSpan {
    pub valid_from: i64,
    pub valid_until: Option<i64>,
}

impl Store {
    /// Begins a write to what decides entitlement. Bumping the access generation comes first,
    /// in the same transaction: instances drop their cached checks when it moves, and on SQLite
    /// taking the write lock first keeps two writers from deadlocking on a lock upgrade.
    async fn access_write(&self) -> Result<Transaction<'static, Any>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE access_state SET generation = generation + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// Commits an `access_write` and tells this process's caches at once.
    async fn commit_access(&self, tx: Transaction<'static, Any>) -> Result<(), StoreError> {
        tx.commit().await?;
        self.access_writes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// How many access writes this process has committed: a cache that saw a different count
    /// must not trust what it holds.
    pub fn access_writes(&self) -> u64 {
        self.access_writes.load(Ordering::SeqCst)
    }

    pub async fn create_user(
        &self,
        email: &str,
        name: Option<&str>,
    ) -> Result<UserRow, StoreError> {
        let mut tx = self.access_write().await?;
        let row = sqlx::query_as(
            "INSERT INTO users (email, name, created_at, updated_at) VALUES ($1, $2, $3, $3) \
             RETURNING *",
        )
        .bind(email)
        .bind(name)
        .bind(self.now_ms())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| StoreError::unique(e, "user"))?;
        self.commit_access(tx).await?;
        Ok(row)
    }

    /// `email` must already be normalised.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn user(&self, id: i64) -> Result<Option<UserRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn set_password_hash(&self, id: i64, hash: &str) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
                .bind(hash)
                .bind(self.now_ms())
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Counts one hit on `bucket` in the fixed window starting at `window_start` and returns the
    /// window's count. The database is the one place every instance shares, so the limit holds
    /// however many instances run.
    pub async fn hit_rate_limit(&self, bucket: &str, window_start: i64) -> Result<i64, StoreError> {
        let hits = sqlx::query_scalar(
            "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1) \
             ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limits.hits + 1 \
             RETURNING hits",
        )
        .bind(bucket)
        .bind(window_start)
        .fetch_one(&self.pool)
        .await?;
        Ok(hits)
    }

    /// The count of `bucket` in the window starting at `window_start`, without counting a hit.
    pub async fn rate_limit_hits(
        &self,
        bucket: &str,
        window_start: i64,
    ) -> Result<i64, StoreError> {
        let hits: Option<i64> = sqlx::query_scalar(
            "SELECT hits FROM rate_limits WHERE bucket = $1 AND window_start = $2",
        )
        .bind(bucket)
        .bind(window_start)
        .fetch_optional(&self.pool)
        .await?;
        Ok(hits.unwrap_or(0))
    }

    /// Forgets windows that ended before `before`.
    pub async fn prune_rate_limits(&self, before: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Grants or withdraws the admin console; withdrawing ends the user's console sessions.
    pub async fn set_user_admin(&self, id: i64, admin: bool) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE users SET is_admin = $1, updated_at = $2 WHERE id = $3")
            .bind(i64::from(admin))
            .bind(self.now_ms())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if !admin {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND scope = 'admin'")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn set_user_disabled(&self, id: i64, disabled: bool) -> Result<bool, StoreError> {
        let mut tx = self.access_write().await?;
        let done = sqlx::query("UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3")
            .bind(i64::from(disabled))
            .bind(self.now_ms())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        self.commit_access(tx).await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn create_group(&self, id: i64, name: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO user_groups (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(name)
            .bind(self.now_ms())
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::unique(e, "group"))?;
        Ok(())
    }

    /// Creates the group unless a group with this id exists.
    pub async fn ensure_group(&self, id: i64, name: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO user_groups (id, name, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(name)
        .bind(self.now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn add_membership(
        &self,
        user_id: i64,
        group_id: i64,
        valid_from: i64,
        valid_until: Option<i64>,
        source: &str,
    ) -> Result<i64, StoreError> {
        let mut tx = self.access_write().await?;
        let id = sqlx::query_scalar(
            "INSERT INTO memberships (user_id, group_id, valid_from, valid_until, source, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(user_id)
        .bind(group_id)
        .bind(valid_from)
        .bind(valid_until)
        .bind(source)
        .bind(self.now_ms())
        .fetch_one(&mut *tx)
        .await?;
        self.commit_access(tx).await?;
        Ok(id)
    }

    /// Ends every open or later-ending membership of the user in the group at `at`.
    pub async fn end_memberships(
        &self,
        user_id: i64,
        group_id: i64,
        at: i64,
    ) -> Result<u64, StoreError> {
        let mut tx = self.access_write().await?;
        let ended = sqlx::query(
            "UPDATE memberships SET valid_until = $1 WHERE user_id = $2 AND group_id = $3 \
             AND (valid_until IS NULL OR valid_until > $1)",
        )
        .bind(at)
        .bind(user_id)
        .bind(group_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        self.commit_access(tx).await?;
        Ok(ended)
    }

    /// The user's memberships in any group a package group allows.
    pub async fn memberships_for_package_group(
        &self,
        user_id: i64,
        package_group_id: i64,
    ) -> Result<Vec<MembershipSpan>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT m.valid_from, m.valid_until FROM memberships m \
             JOIN package_group_members p ON p.group_id = m.group_id \
             WHERE m.user_id = $1 AND p.package_group_id = $2",
        )
        .bind(user_id)
        .bind(package_group_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn create_package_group(
        &self,
        name: &str,
        title: &str,
        seed: &str,
        policy: &str,
        groups: &[i64],
    ) -> Result<PackageGroupRow, StoreError> {
        let mut tx = self.access_write().await?;
        let now = self.now_ms();
        let row: PackageGroupRow = sqlx::query_as(
            "INSERT INTO package_groups (name, title, seed, policy, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING *",
        )
        .bind(name)
        .bind(title)
        .bind(seed)
        .bind(policy)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| StoreError::unique(e, "package group"))?;
        for g in groups {
            sqlx::query(
                "INSERT INTO package_group_members (package_group_id, group_id) VALUES ($1, $2)",
            )
            .bind(row.id)
            .bind(g)
            .execute(&mut *tx)
            .await?;
        }
        self.commit_access(tx).await?;
        Ok(row)
    }

    pub async fn package_group(&self, id: i64) -> Result<Option<PackageGroupRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM package_groups WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn package_group_by_name(
        &self,
        name: &str,
    ) -> Result<Option<PackageGroupRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM package_groups WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Makes an extension paid (its package group) or free (`None`).
    pub async fn set_extension_package_group(
        &self,
        extension_id: i64,
        package_group_id: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        crate::catalogue::bump_generation(&mut tx).await?;
        sqlx::query("UPDATE extensions SET package_group_id = $1, updated_at = $2 WHERE id = $3")
            .bind(package_group_id)
            .bind(self.now_ms())
            .bind(extension_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces what feeds show of an extension (its title, description, info URL and default
    /// Joomla targets).
    pub async fn update_extension_metadata(
        &self,
        extension_id: i64,
        title: &str,
        description: Option<&str>,
        info_url: Option<&str>,
        default_targets: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        crate::catalogue::bump_generation(&mut tx).await?;
        sqlx::query(
            "UPDATE extensions SET title = $1, description = $2, info_url = $3, \
             default_targets = $4, updated_at = $5 WHERE id = $6",
        )
        .bind(title)
        .bind(description)
        .bind(info_url)
        .bind(default_targets)
        .bind(self.now_ms())
        .bind(extension_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The user's jBackend key version in a package group (0 until rotated).
    pub async fn jbackend_key_version(
        &self,
        user_id: i64,
        package_group_id: i64,
    ) -> Result<i64, StoreError> {
        let v: Option<i64> = sqlx::query_scalar(
            "SELECT version FROM jbackend_key_versions WHERE user_id = $1 AND package_group_id = $2",
        )
        .bind(user_id)
        .bind(package_group_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(v.unwrap_or(0))
    }

    /// Rotates the user's jBackend key in a package group; returns the new version.
    pub async fn bump_jbackend_key_version(
        &self,
        user_id: i64,
        package_group_id: i64,
    ) -> Result<i64, StoreError> {
        let mut tx = self.access_write().await?;
        let version = sqlx::query_scalar(
            "INSERT INTO jbackend_key_versions (user_id, package_group_id, version) \
             VALUES ($1, $2, 1) ON CONFLICT (user_id, package_group_id) \
             DO UPDATE SET version = jbackend_key_versions.version + 1 RETURNING version",
        )
        .bind(user_id)
        .bind(package_group_id)
        .fetch_one(&mut *tx)
        .await?;
        self.commit_access(tx).await?;
        Ok(version)
    }

    /// A new download key row (its key is derived from the id and version).
    pub async fn create_download_key(
        &self,
        user_id: i64,
        label: &str,
    ) -> Result<DownloadKeyRow, StoreError> {
        let mut tx = self.access_write().await?;
        let row = sqlx::query_as(
            "INSERT INTO download_keys (user_id, label, version, created_at) VALUES ($1, $2, 1, $3) \
             RETURNING *",
        )
        .bind(user_id)
        .bind(label)
        .bind(self.now_ms())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| StoreError::unique(e, "download key label"))?;
        self.commit_access(tx).await?;
        Ok(row)
    }

    pub async fn download_key(&self, id: i64) -> Result<Option<DownloadKeyRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM download_keys WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn revoke_download_key(&self, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.access_write().await?;
        let done = sqlx::query(
            "UPDATE download_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(self.now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        self.commit_access(tx).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Renames a group; `false` when there is none.
    pub async fn rename_group(&self, id: i64, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE user_groups SET name = $1 WHERE id = $2")
            .bind(name)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a group that nothing refers to: no membership (past ones included, so no
    /// subscription history is lost) and no package group. `false` when it is unknown or in
    /// use; the check and the delete are one statement, so a membership added meanwhile is
    /// never deleted with it.
    pub async fn delete_unused_group(&self, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.access_write().await?;
        let done = sqlx::query(
            "DELETE FROM user_groups WHERE id = $1 \
             AND NOT EXISTS (SELECT 1 FROM memberships WHERE group_id = $1) \
             AND NOT EXISTS (SELECT 1 FROM package_group_members WHERE group_id = $1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        self.commit_access(tx).await?;
        Ok(done.rows_affected() == 1)
    }

    /// How many memberships and package groups refer to a group.
    pub async fn group_usage(&self, id: i64) -> Result<(i64, i64), StoreError> {
        Ok(sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM memberships WHERE group_id = $1), \
             (SELECT COUNT(*) FROM package_group_members WHERE group_id = $1)",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Deletes a package group that no extension belongs to (with its allowed groups and the
    /// users' jBackend key versions). `false` when it is unknown or in use.
    pub async fn delete_unused_package_group(&self, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.access_write().await?;
        // Its allowed groups and key versions go with it (ON DELETE CASCADE).
        let done = sqlx::query(
            "DELETE FROM package_groups WHERE id = $1 \
             AND NOT EXISTS (SELECT 1 FROM extensions WHERE package_group_id = $1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        self.commit_access(tx).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Changes a package group's display name and policy (the policy decides downloads, so
    /// the change counts as an access write).
    pub async fn update_package_group(
        &self,
        id: i64,
        title: &str,
        policy: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.access_write().await?;
        sqlx::query("UPDATE package_groups SET title = $1, policy = $2 WHERE id = $3")
            .bind(title)
            .bind(policy)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        self.commit_access(tx).await?;
        Ok(())
    }

    /// Renames a live key; `false` when it is revoked or unknown.
    pub async fn relabel_download_key(&self, id: i64, label: &str) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE download_keys SET label = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(label)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(|e| StoreError::unique(e, "download key label"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Users ordered by id, after `after_id`, optionally only those whose address contains
    /// `email_like` (already lower-case).
    pub async fn users(
        &self,
        email_like: Option<&str>,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<UserRow>, StoreError> {
        let pattern = format!("%{}%", email_like.unwrap_or_default());
        Ok(sqlx::query_as(
            "SELECT * FROM users WHERE id > $1 AND email LIKE $2 ORDER BY id LIMIT $3",
        )
        .bind(after_id)
        .bind(pattern)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn set_user_name(&self, id: i64, name: Option<&str>) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET name = $1, updated_at = $2 WHERE id = $3")
            .bind(name)
            .bind(self.now_ms())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn groups(&self) -> Result<Vec<GroupRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM user_groups ORDER BY id")
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn group(&self, id: i64) -> Result<Option<GroupRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM user_groups WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Every membership of a user, newest first.
    pub async fn memberships_of(&self, user_id: i64) -> Result<Vec<MembershipRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT * FROM memberships WHERE user_id = $1 ORDER BY valid_from DESC, id DESC",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn package_groups(&self) -> Result<Vec<PackageGroupRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM package_groups ORDER BY name")
            .fetch_all(&self.pool)
            .await?)
    }

    /// The user groups a package group allows.
    pub async fn package_group_members(
        &self,
        package_group_id: i64,
    ) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT group_id FROM package_group_members WHERE package_group_id = $1              ORDER BY group_id",
        )
        .bind(package_group_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every download key of a user, live ones first, oldest first.
    pub async fn download_keys_of(&self, user_id: i64) -> Result<Vec<DownloadKeyRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT * FROM download_keys WHERE user_id = $1 \
             ORDER BY CASE WHEN revoked_at IS NULL THEN 0 ELSE 1 END, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }
}
