//! Sales from payment providers: which price gives which group for how long, who a provider's
//! customer is, every event received (applied once), and one row per subscription or purchase
//! that drives a membership.

use sqlx::FromRow;

use crate::{Store, StoreError};

/// A provider's price (or product, or payment link) mapped to a group and a term.
#[derive(Clone, Debug, FromRow, PartialEq, Eq)]
pub struct SalePriceRow {
    pub provider: String,
    pub price: String,
    pub group_id: i64,
    /// `subscription`, `lifetime`, `30d`, `12m` (`depot_core::sales::Term`).
    pub term: String,
    pub created_at: i64,
}

/// One provider event as received: what became of it.
#[derive(Clone, Debug, FromRow)]
pub struct SaleEventRow {
    pub provider: String,
    pub event_id: String,
    pub kind: String,
    pub occurred_at: i64,
    pub received_at: i64,
    pub customer: Option<String>,
    /// `processing`, `applied`, `waiting` (for its customer's address), `unknown_price`,
    /// `ignored`.
    pub outcome: String,
    /// What happened, in a sentence for the console; no personal data.
    pub detail: String,
    /// The event as depot read it, kept while it waits.
    pub event: Option<String>,
}

/// depot's record of one subscription or purchase.
#[derive(Clone, Debug, FromRow, PartialEq, Eq)]
pub struct SaleRow {
    pub id: i64,
    pub provider: String,
    /// The subscription's id, or the purchase's (invoice, transaction, checkout).
    pub reference: String,
    /// `subscription` or `purchase`.
    pub kind: String,
    pub group_id: i64,
    pub user_id: i64,
    pub price: String,
    pub term: String,
    pub membership_id: Option<i64>,
    pub started_at: i64,
    pub paid_until: Option<i64>,
    pub ends_at: Option<i64>,
    pub state_at: i64,
    /// 0 or 1.
    pub ended: i64,
    pub refunded_at: Option<i64>,
    /// `now` or `period_end`, with `refunded_at`.
    pub refund_ends: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// How long a claim on an event holds before another delivery of it may take over (the
/// instance that claimed it stopped half-way).
const CLAIM_MS: i64 = 60_000;

impl Store {
    pub async fn sale_prices(&self) -> Result<Vec<SalePriceRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM sale_prices ORDER BY provider, price")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    pub async fn sale_price(
        &self,
        provider: &str,
        price: &str,
    ) -> Result<Option<SalePriceRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM sale_prices WHERE provider = $1 AND price = $2")
                .bind(provider)
                .bind(price)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Adds or replaces a mapping. Sales already made keep the term they were made with.
    pub async fn set_sale_price(
        &self,
        provider: &str,
        price: &str,
        group_id: i64,
        term: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sale_prices (provider, price, group_id, term, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (provider, price) \
             DO UPDATE SET group_id = excluded.group_id, term = excluded.term",
        )
        .bind(provider)
        .bind(price)
        .bind(group_id)
        .bind(term)
        .bind(self.now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn remove_sale_price(&self, provider: &str, price: &str) -> Result<bool, StoreError> {
        Ok(
            sqlx::query("DELETE FROM sale_prices WHERE provider = $1 AND price = $2")
                .bind(provider)
                .bind(price)
                .execute(&self.pool)
                .await?
                .rows_affected()
                > 0,
        )
    }

    /// The address a provider's customer id stands for, as its events told it.
    pub async fn sale_customer_email(
        &self,
        provider: &str,
        customer: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT email FROM sale_customers WHERE provider = $1 AND customer = $2",
        )
        .bind(provider)
        .bind(customer)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Remembers (or updates) a customer's address; `email` normalised.
    pub async fn remember_sale_customer(
        &self,
        provider: &str,
        customer: &str,
        email: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sale_customers (provider, customer, email) VALUES ($1, $2, $3) \
             ON CONFLICT (provider, customer) DO UPDATE SET email = excluded.email",
        )
        .bind(provider)
        .bind(customer)
        .bind(email)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Claims an event for applying: `false` when it was applied (or is being applied) already.
    /// A claim left by an instance that stopped half-way lapses after a minute.
    pub async fn claim_sale_event(
        &self,
        provider: &str,
        event_id: &str,
        kind: &str,
        occurred_at: i64,
        customer: Option<&str>,
    ) -> Result<bool, StoreError> {
        let now = self.now_ms();
        let inserted = sqlx::query(
            "INSERT INTO sale_events (provider, event_id, kind, occurred_at, received_at, \
             customer, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, 'processing', '') \
             ON CONFLICT (provider, event_id) DO NOTHING",
        )
        .bind(provider)
        .bind(event_id)
        .bind(kind)
        .bind(occurred_at)
        .bind(now)
        .bind(customer)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted > 0 {
            return Ok(true);
        }
        let taken = sqlx::query(
            "UPDATE sale_events SET received_at = $1 WHERE provider = $2 AND event_id = $3 \
             AND outcome = 'processing' AND received_at < $4",
        )
        .bind(now)
        .bind(provider)
        .bind(event_id)
        .bind(now - CLAIM_MS)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(taken > 0)
    }

    /// Records what became of a claimed event; `event` is kept only while it waits.
    pub async fn finish_sale_event(
        &self,
        provider: &str,
        event_id: &str,
        outcome: &str,
        detail: &str,
        event: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sale_events SET outcome = $1, detail = $2, event = $3 \
             WHERE provider = $4 AND event_id = $5",
        )
        .bind(outcome)
        .bind(detail)
        .bind(event)
        .bind(provider)
        .bind(event_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets a claim that failed half-way, so that the provider's next delivery applies it.
    pub async fn release_sale_event(
        &self,
        provider: &str,
        event_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM sale_events WHERE provider = $1 AND event_id = $2 \
             AND outcome = 'processing'",
        )
        .bind(provider)
        .bind(event_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Events kept with `outcome` (`waiting`, `unknown_price`) for applying again, oldest
    /// first; `customer` narrows to one customer's.
    pub async fn kept_sale_events(
        &self,
        provider: &str,
        outcome: &str,
        customer: Option<&str>,
    ) -> Result<Vec<SaleEventRow>, StoreError> {
        let rows = match customer {
            Some(customer) => {
                sqlx::query_as(
                    "SELECT * FROM sale_events WHERE provider = $1 AND outcome = $2 \
                     AND customer = $3 ORDER BY occurred_at, event_id",
                )
                .bind(provider)
                .bind(outcome)
                .bind(customer)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query_as(
                    "SELECT * FROM sale_events WHERE provider = $1 AND outcome = $2 \
                     ORDER BY occurred_at, event_id",
                )
                .bind(provider)
                .bind(outcome)
                .fetch_all(&self.pool)
                .await?
            }
        };
        Ok(rows)
    }

    /// Moves a kept event back to `processing` for applying again: `false` if another
    /// instance did first.
    pub async fn reclaim_sale_event(
        &self,
        provider: &str,
        event_id: &str,
        outcome: &str,
    ) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "UPDATE sale_events SET outcome = 'processing', received_at = $1 \
             WHERE provider = $2 AND event_id = $3 AND outcome = $4",
        )
        .bind(self.now_ms())
        .bind(provider)
        .bind(event_id)
        .bind(outcome)
        .execute(&self.pool)
        .await?
        .rows_affected()
            > 0)
    }

    /// The latest events received, newest first; `outcome` filters.
    pub async fn sale_events(
        &self,
        outcome: Option<&str>,
        limit: i64,
    ) -> Result<Vec<SaleEventRow>, StoreError> {
        let rows =
            match outcome {
                Some(outcome) => {
                    sqlx::query_as(
                        "SELECT * FROM sale_events WHERE outcome = $1 \
                     ORDER BY received_at DESC, event_id DESC LIMIT $2",
                    )
                    .bind(outcome)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
                }
                None => sqlx::query_as(
                    "SELECT * FROM sale_events ORDER BY received_at DESC, event_id DESC LIMIT $1",
                )
                .bind(limit)
                .fetch_all(&self.pool)
                .await?,
            };
        Ok(rows)
    }

    pub async fn sale(
        &self,
        provider: &str,
        reference: &str,
        group_id: i64,
    ) -> Result<Option<SaleRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT * FROM sales WHERE provider = $1 AND reference = $2 AND group_id = $3",
        )
        .bind(provider)
        .bind(reference)
        .bind(group_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Every sale of a subscription or purchase, whatever its group.
    pub async fn sales_of_reference(
        &self,
        provider: &str,
        reference: &str,
    ) -> Result<Vec<SaleRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM sales WHERE provider = $1 AND reference = $2")
                .bind(provider)
                .bind(reference)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// The sales a refund names by one of its payment's ids.
    pub async fn sales_refunded_by(
        &self,
        provider: &str,
        refs: &[String],
    ) -> Result<Vec<SaleRow>, StoreError> {
        let mut sales: Vec<SaleRow> = Vec::new();
        for r in refs {
            let found: Vec<SaleRow> = sqlx::query_as(
                "SELECT s.* FROM sales s JOIN sale_refund_refs r ON r.sale_id = s.id \
                 WHERE r.provider = $1 AND r.ref = $2",
            )
            .bind(provider)
            .bind(r)
            .fetch_all(&self.pool)
            .await?;
            for sale in found {
                if !sales.iter().any(|s| s.id == sale.id) {
                    sales.push(sale);
                }
            }
        }
        Ok(sales)
    }

    pub async fn add_sale_refund_refs(
        &self,
        provider: &str,
        sale_id: i64,
        refs: &[String],
    ) -> Result<(), StoreError> {
        for r in refs {
            sqlx::query(
                "INSERT INTO sale_refund_refs (provider, ref, sale_id) VALUES ($1, $2, $3) \
                 ON CONFLICT (provider, ref, sale_id) DO NOTHING",
            )
            .bind(provider)
            .bind(r)
            .bind(sale_id)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    /// A customer's fixed-term purchases of a group, from every provider, in payment order.
    pub async fn purchases_of(
        &self,
        user_id: i64,
        group_id: i64,
    ) -> Result<Vec<SaleRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT * FROM sales WHERE user_id = $1 AND group_id = $2 AND kind = 'purchase' \
             ORDER BY started_at, id",
        )
        .bind(user_id)
        .bind(group_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Inserts a sale (`id` 0) or updates one; returns its id.
    pub async fn save_sale(&self, sale: &SaleRow) -> Result<i64, StoreError> {
        let now = self.now_ms();
        if sale.id == 0 {
            return sqlx::query_scalar(
                "INSERT INTO sales (provider, reference, kind, group_id, user_id, price, term, \
                 membership_id, started_at, paid_until, ends_at, state_at, ended, refunded_at, \
                 refund_ends, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
                 $9, $10, $11, $12, $13, $14, $15, $16, $16) RETURNING id",
            )
            .bind(&sale.provider)
            .bind(&sale.reference)
            .bind(&sale.kind)
            .bind(sale.group_id)
            .bind(sale.user_id)
            .bind(&sale.price)
            .bind(&sale.term)
            .bind(sale.membership_id)
            .bind(sale.started_at)
            .bind(sale.paid_until)
            .bind(sale.ends_at)
            .bind(sale.state_at)
            .bind(sale.ended)
            .bind(sale.refunded_at)
            .bind(&sale.refund_ends)
            .bind(now)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| StoreError::unique(e, "sale"));
        }
        sqlx::query(
            "UPDATE sales SET membership_id = $1, started_at = $2, paid_until = $3, \
             ends_at = $4, state_at = $5, ended = $6, refunded_at = $7, refund_ends = $8, \
             updated_at = $9 WHERE id = $10",
        )
        .bind(sale.membership_id)
        .bind(sale.started_at)
        .bind(sale.paid_until)
        .bind(sale.ends_at)
        .bind(sale.state_at)
        .bind(sale.ended)
        .bind(sale.refunded_at)
        .bind(&sale.refund_ends)
        .bind(now)
        .bind(sale.id)
        .execute(&self.pool)
        .await?;
        Ok(sale.id)
    }

    /// Sets a membership's dates (a sale's changed).
    pub async fn set_membership_span(
        &self,
        membership_id: i64,
        valid_from: i64,
        valid_until: Option<i64>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.access_write().await?;
        let changed =
            sqlx::query("UPDATE memberships SET valid_from = $1, valid_until = $2 WHERE id = $3")
                .bind(valid_from)
                .bind(valid_until)
                .bind(membership_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        self.commit_access(tx).await?;
        Ok(changed > 0)
    }

    pub async fn membership(&self, id: i64) -> Result<Option<crate::MembershipRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM memberships WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }
}
