//! Sales become memberships by themselves: a payment provider's webhook (`/hooks/stripe`,
//! `/hooks/paddle`) is verified, read (`depot_core::sales`), recorded once per event id, and
//! applied: a first purchase creates the customer's account and a membership (and mails a
//! welcome), a renewal extends it to the paid period's end, a cancellation ends it at the
//! period's end, a refund ends it (`[sales] refund_ends`).
//!
//! An event that cannot be applied yet is kept and applied later, so arrival order never
//! matters: one naming a customer whose address depot has not seen (Paddle sends the address
//! in its own `customer.*` event; a Stripe subscription update may come before the first
//! invoice) waits for it, a refund of a payment not yet recorded waits for the payment, and an
//! unknown price waits for its mapping (`depot sales price set`).

use std::time::Duration;

use depot_core::keys::normalise_email;
use depot_core::sales::{
    self, Change, Line, Payment, Provider, Purchase, Refund, RefundEnds, Sale, SaleEvent,
    SubscriptionState, Term,
};
use depot_store::{SaleEventRow, SalePriceRow, SaleRow, UserRow};
use serde_json::json;

use crate::input::rfc3339;
use crate::{Actor, Depot, Secret, ServiceError, ServiceResult, valid_email};

pub use depot_api::{SaleEventQuery, SaleEventView, SalePriceView};

/// `[sales]`: the providers whose webhooks depot takes, and how it applies them.
#[derive(Clone, Debug, Default)]
pub struct SalesSettings {
    pub stripe: Option<WebhookSecret>,
    pub paddle: Option<WebhookSecret>,
    pub refund_ends: RefundEnds,
}

/// A provider endpoint's signing secret, and how far its timestamp may be from now.
#[derive(Clone, Debug)]
pub struct WebhookSecret {
    pub secret: Secret,
    pub tolerance: Duration,
}

impl SalesSettings {
    fn webhook(&self, provider: Provider) -> Option<&WebhookSecret> {
        match provider {
            Provider::Stripe => self.stripe.as_ref(),
            Provider::Paddle => self.paddle.as_ref(),
        }
    }
}

/// What became of one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// Received before: nothing done again.
    Duplicate,
    /// Kept until the customer's address, or the payment a refund names, arrives.
    Waiting,
    /// No mapping for its prices: recorded, nothing changed, applied when one is added.
    UnknownPrice,
    Ignored,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Duplicate => "duplicate",
            Outcome::Waiting => "waiting",
            Outcome::UnknownPrice => "unknown_price",
            Outcome::Ignored => "ignored",
        }
    }

    /// Whether the event is kept for applying again later.
    fn kept(self) -> bool {
        matches!(self, Outcome::Waiting | Outcome::UnknownPrice)
    }
}

/// An outcome and what happened, in words for the console (ids and dates, no personal data).
struct Applied {
    outcome: Outcome,
    detail: String,
}

fn applied(outcome: Outcome, detail: impl Into<String>) -> Applied {
    Applied {
        outcome,
        detail: detail.into(),
    }
}

/// The kinds of `SaleRow::kind`.
const SUBSCRIPTION: &str = "subscription";
const PURCHASE: &str = "purchase";

/// Passes over kept events after one is applied (an applied one can unblock another).
const MAX_PASSES: usize = 3;

impl Depot {
    /// A provider's webhook: verified, recorded once, applied. `Err` for a bad signature or
    /// body (nothing changes) and for a failure the provider should retry.
    pub async fn receive_sale_webhook(
        &self,
        provider: Provider,
        signature: Option<&str>,
        body: &[u8],
    ) -> ServiceResult<Outcome> {
        let Some(webhook) = self.settings().sales.webhook(provider) else {
            return Err(ServiceError::NotFound {
                what: "webhook endpoint (no signing secret configured)",
            });
        };
        let header = signature.ok_or_else(|| {
            tracing::warn!(%provider, "webhook without a signature refused");
            ServiceError::invalid(
                "bad_signature",
                format!("the {} header is missing", provider.signature_header()),
            )
        })?;
        sales::verify(
            provider,
            header,
            body,
            webhook.secret.expose(),
            self.now_ms().div_euclid(1000),
            webhook.tolerance.as_secs() as i64,
        )
        .map_err(|e| {
            // The body holds customers' addresses: only the reason is logged.
            tracing::warn!(%provider, reason = %e, "webhook signature refused");
            ServiceError::invalid("bad_signature", e.to_string())
        })?;
        let event = sales::read(provider, body).map_err(|e| {
            tracing::warn!(%provider, reason = %e.reason, "webhook body refused");
            ServiceError::invalid("bad_event", e.to_string())
        })?;
        let claimed = self
            .store()
            .claim_sale_event(
                provider.as_str(),
                &event.id,
                &event.kind,
                event.occurred_at,
                event.customer.as_deref(),
            )
            .await?;
        if !claimed {
            return Ok(Outcome::Duplicate);
        }
        let outcome = self.apply_claimed(provider, &event).await?;
        if outcome == Outcome::Applied {
            self.apply_kept(provider, event.customer.as_deref()).await?;
        }
        Ok(outcome)
    }

    /// Applies a claimed event and records the outcome; a failure half-way releases the claim
    /// so that the provider's retry applies it (every step is safe to repeat).
    async fn apply_claimed(&self, provider: Provider, event: &SaleEvent) -> ServiceResult<Outcome> {
        let result = self.apply_sale_event(provider, event).await;
        let p = provider.as_str();
        match result {
            Ok(a) => {
                let kept = a
                    .outcome
                    .kept()
                    .then(|| serde_json::to_string(event).expect("an event serialises"));
                self.store()
                    .finish_sale_event(p, &event.id, a.outcome.as_str(), &a.detail, kept.as_deref())
                    .await?;
                tracing::info!(%provider, event = %event.id, kind = %event.kind,
                               outcome = a.outcome.as_str(), "sale event");
                Ok(a.outcome)
            }
            Err(e) => {
                let _ = self.store().release_sale_event(p, &event.id).await;
                Err(e)
            }
        }
    }

    /// Applies again the events kept for this customer (or, with `None`, the provider's
    /// unknown prices) until a pass changes nothing.
    async fn apply_kept(&self, provider: Provider, customer: Option<&str>) -> ServiceResult<()> {
        let p = provider.as_str();
        for _ in 0..MAX_PASSES {
            let mut kept: Vec<SaleEventRow> = Vec::new();
            if let Some(c) = customer {
                kept.extend(self.store().kept_sale_events(p, "waiting", Some(c)).await?);
                kept.extend(
                    self.store()
                        .kept_sale_events(p, "unknown_price", Some(c))
                        .await?,
                );
            } else {
                kept.extend(
                    self.store()
                        .kept_sale_events(p, "unknown_price", None)
                        .await?,
                );
            }
            let mut progress = false;
            for row in kept {
                let Some(event) = row
                    .event
                    .as_deref()
                    .and_then(|e| serde_json::from_str::<SaleEvent>(e).ok())
                else {
                    continue;
                };
                if !self
                    .store()
                    .reclaim_sale_event(p, &row.event_id, &row.outcome)
                    .await?
                {
                    continue;
                }
                progress |= self.apply_claimed(provider, &event).await? == Outcome::Applied;
            }
            if !progress {
                break;
            }
        }
        Ok(())
    }

    async fn apply_sale_event(
        &self,
        provider: Provider,
        event: &SaleEvent,
    ) -> ServiceResult<Applied> {
        let email = self.customer_email(provider, event).await?;
        match &event.change {
            Change::Ignored { reason } => Ok(applied(Outcome::Ignored, reason.clone())),
            Change::Customer => Ok(match email {
                Some(_) => applied(Outcome::Applied, "the customer's address is known"),
                None => applied(Outcome::Ignored, "no usable address"),
            }),
            Change::Paid(payment) => self.apply_payment(provider, event, email, payment).await,
            Change::Subscription(state) => {
                self.apply_subscription(provider, event, email, state).await
            }
            Change::Refund(refund) => self.apply_refund(provider, event, refund).await,
        }
    }

    /// The customer's address: from the event (remembered for the customer id), or what an
    /// earlier event told of the customer id.
    async fn customer_email(
        &self,
        provider: Provider,
        event: &SaleEvent,
    ) -> ServiceResult<Option<String>> {
        let p = provider.as_str();
        let given = event
            .email
            .as_deref()
            .filter(|e| valid_email(e))
            .map(normalise_email);
        match (&given, &event.customer) {
            (Some(email), Some(customer)) => {
                self.store()
                    .remember_sale_customer(p, customer, email)
                    .await?;
                Ok(given)
            }
            (Some(_), None) => Ok(given),
            (None, Some(customer)) => Ok(self.store().sale_customer_email(p, customer).await?),
            (None, None) => Ok(None),
        }
    }

    /// The mapping of each line that has one.
    async fn mapped_lines<'a>(
        &self,
        provider: Provider,
        lines: &'a [Line],
    ) -> ServiceResult<Vec<(&'a Line, SalePriceRow, Term)>> {
        let mut mapped = Vec::new();
        for line in lines {
            for key in line.keys() {
                if let Some(row) = self.store().sale_price(provider.as_str(), key).await? {
                    let term = row.term.parse::<Term>().unwrap_or(Term::Subscription);
                    mapped.push((line, row, term));
                    break;
                }
            }
        }
        Ok(mapped)
    }

    /// The customer's account, created (without a password) if they have none.
    async fn sale_customer(
        &self,
        actor: &Actor,
        email: &str,
        event: &SaleEvent,
    ) -> ServiceResult<UserRow> {
        if let Some(user) = self.store().user_by_email(email).await? {
            return Ok(user);
        }
        let name = crate::input::clean_name(event.name.as_deref(), "name").unwrap_or(None);
        match self.store().create_user(email, name.as_deref()).await {
            Ok(user) => {
                self.audit(actor, "user.create", email, json!({"event": event.id}))
                    .await?;
                Ok(user)
            }
            // Another instance made it a moment ago.
            Err(depot_store::StoreError::Conflict(_)) => self
                .store()
                .user_by_email(email)
                .await?
                .ok_or(ServiceError::NotFound { what: "user" }),
            Err(e) => Err(e.into()),
        }
    }

    async fn apply_payment(
        &self,
        provider: Provider,
        event: &SaleEvent,
        email: Option<String>,
        payment: &Payment,
    ) -> ServiceResult<Applied> {
        let mapped = self.mapped_lines(provider, &payment.lines).await?;
        if mapped.is_empty() {
            return Ok(unknown_prices(&payment.lines, &payment.reference));
        }
        let Some(email) = email else {
            return Ok(applied(
                Outcome::Waiting,
                "waiting for the customer's address",
            ));
        };
        let actor = Actor::provider(provider);
        let user = self.sale_customer(&actor, &email, event).await?;
        let mut done = Vec::new();
        for (line, price, term) in mapped {
            let sale = match (term, &payment.subscription, line.period) {
                (Term::Subscription, Some(subscription), Some(period)) => {
                    let mut sale = self
                        .sale_row(
                            provider,
                            subscription,
                            SUBSCRIPTION,
                            &user,
                            &price,
                            period.start,
                        )
                        .await?;
                    let mut state = sale_state(&sale);
                    state.add_period(period);
                    store_state(&mut sale, &state);
                    sale
                }
                (Term::Subscription, _, _) => {
                    done.push(format!(
                        "{} is mapped as a subscription but {} pays no subscription period",
                        price.price, payment.reference
                    ));
                    continue;
                }
                // A fixed term counts from each payment, whatever it pays for.
                _ => {
                    self.sale_row(
                        provider,
                        &payment.reference,
                        PURCHASE,
                        &user,
                        &price,
                        payment.paid_at,
                    )
                    .await?
                }
            };
            let id = self.store().save_sale(&sale).await?;
            self.store()
                .add_sale_refund_refs(provider.as_str(), id, &payment.refund_refs)
                .await?;
            let sale = SaleRow { id, ..sale };
            done.push(self.sync_memberships(&actor, &user, sale).await?);
        }
        Ok(applied(Outcome::Applied, done.join("; ")))
    }

    /// The sale of `reference` in the price's group: the one recorded, or a new one (id 0).
    async fn sale_row(
        &self,
        provider: Provider,
        reference: &str,
        kind: &str,
        user: &UserRow,
        price: &SalePriceRow,
        started_at: i64,
    ) -> ServiceResult<SaleRow> {
        if let Some(row) = self
            .store()
            .sale(provider.as_str(), reference, price.group_id)
            .await?
        {
            return Ok(row);
        }
        let fresh = Sale::new(started_at);
        let mut row = SaleRow {
            id: 0,
            provider: provider.as_str().into(),
            reference: reference.into(),
            kind: kind.into(),
            group_id: price.group_id,
            user_id: user.id,
            price: price.price.clone(),
            term: price.term.clone(),
            membership_id: None,
            started_at,
            paid_until: None,
            ends_at: None,
            state_at: 0,
            ended: 0,
            refunded_at: None,
            refund_ends: None,
            created_at: 0,
            updated_at: 0,
        };
        store_state(&mut row, &fresh);
        Ok(row)
    }

    async fn apply_subscription(
        &self,
        provider: Provider,
        event: &SaleEvent,
        email: Option<String>,
        state: &SubscriptionState,
    ) -> ServiceResult<Applied> {
        let p = provider.as_str();
        let mut sales = self
            .store()
            .sales_of_reference(p, &state.subscription)
            .await?;
        let actor = Actor::provider(provider);
        if sales.is_empty() {
            // The first news of this subscription: it needs a mapping and an address.
            let mapped: Vec<_> = self
                .mapped_lines(provider, &state.lines)
                .await?
                .into_iter()
                .filter(|(_, _, term)| *term == Term::Subscription)
                .collect();
            if mapped.is_empty() {
                return Ok(unknown_prices(&state.lines, &state.subscription));
            }
            let Some(email) = email else {
                return Ok(applied(
                    Outcome::Waiting,
                    "waiting for the customer's address",
                ));
            };
            let user = self.sale_customer(&actor, &email, event).await?;
            let started = state.started_at.unwrap_or(event.occurred_at);
            for (_, price, _) in mapped {
                let row = self
                    .sale_row(
                        provider,
                        &state.subscription,
                        SUBSCRIPTION,
                        &user,
                        &price,
                        started,
                    )
                    .await?;
                sales.push(row);
            }
        }
        let mut done = Vec::new();
        for mut sale in sales {
            let mut s = sale_state(&sale);
            if !s.apply_state(state, event.occurred_at) {
                done.push(format!(
                    "{}: no change (a later state was applied)",
                    sale.reference
                ));
                if sale.id != 0 {
                    continue;
                }
            }
            store_state(&mut sale, &s);
            done.push(self.save_and_sync(&actor, sale).await?);
        }
        Ok(applied(Outcome::Applied, done.join("; ")))
    }

    async fn apply_refund(
        &self,
        provider: Provider,
        event: &SaleEvent,
        refund: &Refund,
    ) -> ServiceResult<Applied> {
        let p = provider.as_str();
        let mut sales = self.store().sales_refunded_by(p, &refund.refs).await?;
        if sales.is_empty()
            && let Some(subscription) = &refund.subscription
        {
            sales = self.store().sales_of_reference(p, subscription).await?;
        }
        if sales.is_empty() {
            // The payment may not have arrived yet; without a customer to wait on, nothing
            // will bring it.
            return Ok(match event.customer {
                Some(_) => applied(Outcome::Waiting, "waiting for the payment it refunds"),
                None => applied(
                    Outcome::Ignored,
                    "a refund of a payment depot did not record",
                ),
            });
        }
        if !refund.full {
            return Ok(applied(
                Outcome::Ignored,
                "a partial or unapproved refund: access is unchanged",
            ));
        }
        let ends = self.settings().sales.refund_ends;
        let actor = Actor::provider(provider);
        let mut done = Vec::new();
        for mut sale in sales {
            if sale.refunded_at.is_some() {
                continue;
            }
            sale.refunded_at = Some(refund.at);
            sale.refund_ends = Some(refund_ends_name(ends).into());
            if sale.kind == SUBSCRIPTION {
                let mut s = sale_state(&sale);
                s.refund(refund.at, ends);
                store_state(&mut sale, &s);
            }
            done.push(self.save_and_sync(&actor, sale).await?);
        }
        Ok(applied(Outcome::Applied, done.join("; ")))
    }

    /// Stores a changed sale and brings its memberships in line with it.
    async fn save_and_sync(&self, actor: &Actor, mut sale: SaleRow) -> ServiceResult<String> {
        sale.id = self.store().save_sale(&sale).await?;
        let user = self
            .store()
            .user(sale.user_id)
            .await?
            .ok_or(ServiceError::NotFound { what: "user" })?;
        self.sync_memberships(actor, &user, sale).await
    }

    /// Brings the memberships a sale drives in line with it: a subscription's own, or the
    /// spans of all the customer's fixed-term purchases of the group (they stack).
    async fn sync_memberships(
        &self,
        actor: &Actor,
        user: &UserRow,
        sale: SaleRow,
    ) -> ServiceResult<String> {
        if sale.kind == SUBSCRIPTION {
            let span = sale_state(&sale).span();
            return self.sync_membership(actor, user, sale, span).await;
        }
        let purchases = self.store().purchases_of(user.id, sale.group_id).await?;
        let spans = sales::purchase_spans(
            &purchases
                .iter()
                .map(|p| Purchase {
                    paid_at: p.started_at,
                    term: p.term.parse().unwrap_or(Term::Lifetime),
                    refunded: p.refunded_at.map(|at| {
                        let ends = match p.refund_ends.as_deref() {
                            Some("period_end") => RefundEnds::PeriodEnd,
                            _ => RefundEnds::Now,
                        };
                        (at, ends)
                    }),
                })
                .collect::<Vec<_>>(),
        );
        let mut done = String::new();
        for (purchase, span) in purchases.into_iter().zip(spans) {
            let is_this = purchase.id == sale.id;
            let said = self
                .sync_membership(actor, user, purchase, Some(span))
                .await?;
            if is_this {
                done = said;
            }
        }
        Ok(done)
    }

    /// Creates or moves the membership of one sale to `span`; audits what changed.
    async fn sync_membership(
        &self,
        actor: &Actor,
        user: &UserRow,
        mut sale: SaleRow,
        span: Option<(i64, Option<i64>)>,
    ) -> ServiceResult<String> {
        let Some((from, until)) = span else {
            return Ok(format!("{}: nothing paid yet", sale.reference));
        };
        let group = sale.group_id;
        let detail = |action: &str| {
            json!({"group": group, "from": rfc3339(from), "until": until.map(rfc3339),
                   "provider": sale.provider, "reference": sale.reference, "action": action})
        };
        let existing = match sale.membership_id {
            Some(id) => self.store().membership(id).await?,
            None => None,
        };
        let said = match existing {
            Some(m) if m.valid_from == from && m.valid_until == until => {
                return Ok(format!("{}: membership unchanged", sale.reference));
            }
            Some(m) => {
                self.store().set_membership_span(m.id, from, until).await?;
                // Later is an extension, earlier an end; the same end with another start
                // (an earlier period arrived late) is neither.
                let order = match (m.valid_until, until) {
                    (before, after) if before == after => std::cmp::Ordering::Equal,
                    (_, None) => std::cmp::Ordering::Greater,
                    (None, Some(_)) => std::cmp::Ordering::Less,
                    (Some(before), Some(after)) => after.cmp(&before),
                };
                let longer = order == std::cmp::Ordering::Greater;
                let action = match order {
                    std::cmp::Ordering::Greater => "membership.extend",
                    std::cmp::Ordering::Less => "membership.end",
                    std::cmp::Ordering::Equal => "membership.update",
                };
                self.audit(actor, action, &user.email, detail(action))
                    .await?;
                if longer {
                    self.queue_renewed_mail(&user.email, m.id).await?;
                }
                action
            }
            None => {
                let first = self.store().memberships_of(user.id).await?.is_empty();
                let id = self
                    .store()
                    .add_membership(user.id, group, from, until, &sale.provider)
                    .await?;
                sale.membership_id = Some(id);
                self.store().save_sale(&sale).await?;
                self.audit(
                    actor,
                    "membership.add",
                    &user.email,
                    detail("membership.add"),
                )
                .await?;
                // A first purchase: the customer hears how to get in.
                if first && user.password_hash.is_none() && self.settings().customer_mails.welcome {
                    self.queue_mail(crate::mail::KIND_WELCOME, &user.email, None)
                        .await?;
                }
                "membership.add"
            }
        };
        let until = until.map_or("no end".to_string(), rfc3339);
        Ok(format!(
            "{}: {said} (group {group}, until {until})",
            sale.reference
        ))
    }

    /// Maps a provider's price (or product, or payment link) to a group and a term, then
    /// applies the events that were waiting for it.
    pub async fn set_sale_price(
        &self,
        actor: &Actor,
        provider: &str,
        price: &str,
        group: i64,
        term: &str,
    ) -> ServiceResult<SalePriceView> {
        actor.require_admin()?;
        let provider = known_provider(provider)?;
        let price = price.trim();
        if price.is_empty() || price.len() > 200 || price.chars().any(|c| c.is_control()) {
            return Err(ServiceError::invalid(
                "bad_price",
                "a price id is 1 to 200 printable characters (price_…, pri_…, prod_…, plink_…)",
            ));
        }
        let term: Term = term
            .parse()
            .map_err(|e: sales::TermError| ServiceError::invalid("bad_term", e.to_string()))?;
        self.existing_group(group).await?;
        self.store()
            .set_sale_price(provider.as_str(), price, group, &term.to_string())
            .await?;
        let detail =
            json!({"provider": provider.as_str(), "group": group, "term": term.to_string()});
        self.audit(actor, "sale_price.set", price, detail).await?;
        self.apply_kept(provider, None).await?;
        self.sale_prices(actor)
            .await?
            .into_iter()
            .find(|p| p.provider == provider.as_str() && p.price == price)
            .ok_or(ServiceError::NotFound { what: "price" })
    }

    pub async fn remove_sale_price(
        &self,
        actor: &Actor,
        provider: &str,
        price: &str,
    ) -> ServiceResult<()> {
        actor.require_admin()?;
        let provider = known_provider(provider)?;
        if !self
            .store()
            .remove_sale_price(provider.as_str(), price)
            .await?
        {
            return Err(ServiceError::NotFound { what: "price" });
        }
        let detail = json!({"provider": provider.as_str()});
        self.audit(actor, "sale_price.remove", price, detail).await
    }

    pub async fn sale_prices(&self, actor: &Actor) -> ServiceResult<Vec<SalePriceView>> {
        actor.require_reader()?;
        let groups = self.store().groups().await?;
        Ok(self
            .store()
            .sale_prices()
            .await?
            .into_iter()
            .map(|p| SalePriceView {
                group_name: groups
                    .iter()
                    .find(|g| g.id == p.group_id)
                    .map(|g| g.name.clone()),
                provider: p.provider,
                price: p.price,
                group: p.group_id,
                term: p.term,
            })
            .collect())
    }

    /// The latest provider events, newest first.
    pub async fn sale_events(
        &self,
        actor: &Actor,
        q: &SaleEventQuery,
    ) -> ServiceResult<Vec<SaleEventView>> {
        actor.require_reader()?;
        let limit = q.limit.unwrap_or(100).clamp(1, 1000);
        let outcome = q
            .outcome
            .as_deref()
            .map(str::trim)
            .filter(|o| !o.is_empty());
        Ok(self
            .store()
            .sale_events(outcome, limit)
            .await?
            .into_iter()
            .map(|e| SaleEventView {
                provider: e.provider,
                id: e.event_id,
                kind: e.kind,
                occurred_at: rfc3339(e.occurred_at),
                received_at: rfc3339(e.received_at),
                outcome: e.outcome,
                detail: e.detail,
            })
            .collect())
    }
}

fn known_provider(name: &str) -> ServiceResult<Provider> {
    Provider::parse(name.trim()).ok_or_else(|| {
        ServiceError::invalid(
            "unknown_provider",
            format!("{name:?} is not a provider depot takes: stripe or paddle"),
        )
    })
}

fn unknown_prices(lines: &[Line], reference: &str) -> Applied {
    let keys: Vec<&str> = lines.iter().flat_map(Line::keys).collect();
    let detail = if keys.is_empty() {
        format!("{reference}: the event names no price (map a payment link, or turn on invoices)")
    } else {
        format!("{reference}: no mapping for {}", keys.join(", "))
    };
    applied(Outcome::UnknownPrice, detail)
}

fn refund_ends_name(ends: RefundEnds) -> &'static str {
    match ends {
        RefundEnds::Now => "now",
        RefundEnds::PeriodEnd => "period_end",
    }
}

/// The pure state of a stored sale.
fn sale_state(row: &SaleRow) -> Sale {
    Sale {
        started_at: row.started_at,
        paid_until: row.paid_until,
        ends_at: row.ends_at,
        state_at: row.state_at,
        ended: row.ended != 0,
    }
}

fn store_state(row: &mut SaleRow, sale: &Sale) {
    row.started_at = sale.started_at;
    row.paid_until = sale.paid_until;
    row.ends_at = sale.ends_at;
    row.state_at = sale.state_at;
    row.ended = i64::from(sale.ended);
}
