//! Memberships: a user in a group over a span of time.

use sqlx::FromRow;

use crate::{Store, StoreError};

#[derive(Clone, Debug, FromRow)]
pub struct MembershipRow {
    pub id: i64,
    pub user_id: i64,
    pub group_id: i64,
    pub valid_from: i64,
    pub valid_until: Option<i64>,
    pub source: String,
    pub created_at: i64,
    /// For a mirrored membership that ended: the last time the source still showed it.
    pub last_seen_at: Option<i64>,
}

/// A membership's validity, in milliseconds since the epoch, and where it comes from.
#[derive(Clone, Debug, FromRow, PartialEq, Eq)]
pub struct MembershipSpan {
    pub valid_from: i64,
    pub valid_until: Option<i64>,
    pub source: String,
}

impl Store {
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

    /// Ends every open or later-ending membership of the user in the group at `at`, except
    /// those mirrored from the identity source (which ends them itself).
    pub async fn end_memberships(
        &self,
        user_id: i64,
        group_id: i64,
        at: i64,
    ) -> Result<u64, StoreError> {
        let mut tx = self.access_write().await?;
        let ended = sqlx::query(
            "UPDATE memberships SET valid_until = $1 WHERE user_id = $2 AND group_id = $3 \
             AND (valid_until IS NULL OR valid_until > $1) AND source <> 'joomla'",
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
            "SELECT m.valid_from, m.valid_until, m.source FROM memberships m \
             JOIN package_group_members p ON p.group_id = m.group_id \
             WHERE m.user_id = $1 AND p.package_group_id = $2",
        )
        .bind(user_id)
        .bind(package_group_id)
        .fetch_all(&self.pool)
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
}
