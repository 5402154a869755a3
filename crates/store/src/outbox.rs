//! The mail outbox: messages to send, kept until delivered so that a mail server that is down
//! loses nothing and a request never waits on one.
//!
//! A row holds what to send, not the message: bodies carry keys, which are never stored, so the
//! message is composed at delivery time. Several instances may drain the same outbox; a row is
//! claimed with a conditional update (a lease that expires if the instance dies mid-delivery).

use sqlx::FromRow;

use crate::{Store, StoreError};

#[derive(Clone, Debug, FromRow)]
pub struct OutboxRow {
    pub id: i64,
    /// What to send, e.g. `jbackend_key`.
    pub kind: String,
    /// The normalised address.
    pub recipient: String,
    pub package_group_id: Option<i64>,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub locked_until: Option<i64>,
    pub done_at: Option<i64>,
    /// `sent`, `skipped` (nothing to send: unknown or unentitled address) or `failed`.
    pub outcome: Option<String>,
    pub last_error: Option<String>,
    pub created_at: i64,
    /// The membership a customer mail is about (ending soon, renewed, ended).
    pub membership_id: Option<i64>,
}

impl Store {
    pub async fn enqueue_mail(
        &self,
        kind: &str,
        recipient: &str,
        package_group_id: Option<i64>,
    ) -> Result<i64, StoreError> {
        self.enqueue(kind, recipient, package_group_id, None).await
    }

    /// Queues a mail about a membership (`membership_id` tells the composer which).
    pub async fn enqueue_membership_mail(
        &self,
        kind: &str,
        recipient: &str,
        membership_id: i64,
    ) -> Result<i64, StoreError> {
        self.enqueue(kind, recipient, None, Some(membership_id))
            .await
    }

    async fn enqueue(
        &self,
        kind: &str,
        recipient: &str,
        package_group_id: Option<i64>,
        membership_id: Option<i64>,
    ) -> Result<i64, StoreError> {
        let now = self.now_ms();
        Ok(sqlx::query_scalar(
            "INSERT INTO mail_outbox (kind, recipient, package_group_id, membership_id, \
             next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(kind)
        .bind(recipient)
        .bind(package_group_id)
        .bind(membership_id)
        .bind(now)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Messages due now that no instance holds, oldest first.
    pub async fn due_mail(&self, now: i64, limit: i64) -> Result<Vec<OutboxRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT * FROM mail_outbox WHERE done_at IS NULL AND next_attempt_at <= $1 \
             AND (locked_until IS NULL OR locked_until < $1) ORDER BY id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Takes a message for delivery until `lease_until`, counting the attempt. `false` when
    /// another instance took it first.
    pub async fn claim_mail(
        &self,
        id: i64,
        now: i64,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE mail_outbox SET locked_until = $1, attempts = attempts + 1 \
             WHERE id = $2 AND done_at IS NULL AND (locked_until IS NULL OR locked_until < $3)",
        )
        .bind(lease_until)
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Ends a message's life: `sent`, `skipped` or `failed`.
    pub async fn finish_mail(
        &self,
        id: i64,
        outcome: &str,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE mail_outbox SET done_at = $1, outcome = $2, last_error = $3, \
             locked_until = NULL WHERE id = $4",
        )
        .bind(self.now_ms())
        .bind(outcome)
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Puts a message back for another attempt at `next_attempt_at`.
    pub async fn retry_mail(
        &self,
        id: i64,
        next_attempt_at: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE mail_outbox SET next_attempt_at = $1, last_error = $2, locked_until = NULL \
             WHERE id = $3",
        )
        .bind(next_attempt_at)
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets messages finished before `before`.
    pub async fn prune_mail(&self, before: i64) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM mail_outbox WHERE done_at IS NOT NULL AND done_at < $1")
                .bind(before)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    /// The newest messages, for operators and tests.
    pub async fn recent_mail(&self, limit: i64) -> Result<Vec<OutboxRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM mail_outbox ORDER BY id DESC LIMIT $1")
                .bind(limit)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Messages not yet delivered or given up, and when the oldest of them was queued: the
    /// outbox's depth and age, for `/metrics`.
    pub async fn mail_backlog(&self) -> Result<(i64, Option<i64>), StoreError> {
        Ok(sqlx::query_as(
            "SELECT COUNT(*), MIN(created_at) FROM mail_outbox WHERE done_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await?)
    }
}
