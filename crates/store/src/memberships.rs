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
    /// When its customer was told it ends soon, and that it ended (each once).
    pub ending_notice_at: Option<i64>,
    pub ended_notice_at: Option<i64>,
}

/// A membership a notice is due for, and its customer's address.
#[derive(Clone, Debug, FromRow)]
pub struct MembershipNotice {
    pub membership_id: i64,
    pub email: String,
}

/// Which notice: the column that says it was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    EndingSoon,
    Ended,
}

impl Notice {
    fn column(self) -> &'static str {
        match self {
            Notice::EndingSoon => "ending_notice_at",
            Notice::Ended => "ended_notice_at",
        }
    }
}

/// The memberships a notice may be about: depot's own and sales' (a Joomla site's
/// groups are the site's to tell), whose user is enabled, that no other membership of the user
/// in the group carries on past their end, and that are not a subscription still renewing
/// or a refunded sale.
const NOTICE_CANDIDATES: &str = "FROM memberships m JOIN users u ON u.id = m.user_id \
     WHERE m.source <> 'joomla' AND u.disabled = 0 AND m.valid_until IS NOT NULL \
     AND NOT EXISTS (SELECT 1 FROM memberships o WHERE o.user_id = m.user_id \
         AND o.group_id = m.group_id AND o.id <> m.id AND o.valid_from <= m.valid_until \
         AND (o.valid_until IS NULL OR o.valid_until > m.valid_until)) \
     AND NOT EXISTS (SELECT 1 FROM sales s WHERE s.membership_id = m.id \
         AND ((s.kind = 'subscription' AND s.ended = 0 AND s.ends_at IS NULL) \
              OR s.refunded_at IS NOT NULL))";

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

    /// Memberships ending in `(now, horizon]` (started, not yet told): for "ends soon".
    pub async fn memberships_ending(
        &self,
        now: i64,
        horizon: i64,
    ) -> Result<Vec<MembershipNotice>, StoreError> {
        let sql = format!(
            "SELECT m.id AS membership_id, u.email {NOTICE_CANDIDATES} \
             AND m.valid_from <= $1 AND m.valid_until > $1 AND m.valid_until <= $2 \
             AND m.ending_notice_at IS NULL ORDER BY m.id"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(now)
            .bind(horizon)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Memberships that ended in `(since, now]`, not yet told: for "ended".
    pub async fn memberships_ended(
        &self,
        since: i64,
        now: i64,
    ) -> Result<Vec<MembershipNotice>, StoreError> {
        let sql = format!(
            "SELECT m.id AS membership_id, u.email {NOTICE_CANDIDATES} \
             AND m.valid_until > $1 AND m.valid_until <= $2 AND m.valid_from < m.valid_until \
             AND m.ended_notice_at IS NULL ORDER BY m.id"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(since)
            .bind(now)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Marks a notice as given: `false` when it was already (by another instance).
    pub async fn claim_notice(
        &self,
        membership_id: i64,
        notice: Notice,
    ) -> Result<bool, StoreError> {
        let column = notice.column();
        let sql =
            format!("UPDATE memberships SET {column} = $1 WHERE id = $2 AND {column} IS NULL");
        Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(self.now_ms())
            .bind(membership_id)
            .execute(&self.pool)
            .await?
            .rows_affected()
            == 1)
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
