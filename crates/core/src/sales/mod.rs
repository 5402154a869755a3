//! Sales from a payment provider (Stripe, Paddle Billing) turned into memberships.
//!
//! A provider's webhook is checked ([`verify`]) and read ([`read`]) into a [`SaleEvent`], the
//! same shape for every provider. A [`Sale`] is depot's record of one subscription or one
//! purchase; [`Sale::apply_state`], [`Sale::add_period`] and [`purchase_spans`] turn events into
//! membership dates. Every date comes from the event's own fields (the paid period, the time
//! the provider says a cancellation takes effect), and every rule is a maximum or is ordered by
//! the event's own time, never by arrival: a late, replayed or out-of-order event cannot
//! shorten or lengthen a subscription wrongly.

mod json;
mod paddle;
mod signature;
mod stripe;
mod term;

use serde::{Deserialize, Serialize};

pub use signature::{SignatureError, sign_hex};
pub use term::{Term, TermError};

/// A payment provider whose webhooks depot takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Stripe,
    Paddle,
}

impl Provider {
    pub const ALL: [Provider; 2] = [Provider::Stripe, Provider::Paddle];

    /// The name in URLs (`/hooks/stripe`), the database, the audit log and the mapping.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Stripe => "stripe",
            Provider::Paddle => "paddle",
        }
    }

    pub fn parse(s: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The header that carries the signature.
    pub fn signature_header(self) -> &'static str {
        match self {
            Provider::Stripe => "stripe-signature",
            Provider::Paddle => "paddle-signature",
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks a webhook's signature header against the body, as the provider documents it: an
/// HMAC-SHA256 with the endpoint's signing secret over the timestamp and the raw body, the
/// timestamp no further than `tolerance_secs` from `now_secs`.
pub fn verify(
    provider: Provider,
    header: &str,
    body: &[u8],
    secret: &[u8],
    now_secs: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let scheme = match provider {
        Provider::Stripe => signature::Scheme::STRIPE,
        Provider::Paddle => signature::Scheme::PADDLE,
    };
    scheme.verify(header, body, secret, now_secs, tolerance_secs)
}

/// Reads a verified webhook body into the event depot acts on.
pub fn read(provider: Provider, body: &[u8]) -> Result<SaleEvent, ReadError> {
    match provider {
        Provider::Stripe => stripe::read(body),
        Provider::Paddle => paddle::read(body),
    }
}

/// A webhook body that is not the provider's event shape.
#[derive(Debug, thiserror::Error)]
#[error("not a {provider} event: {reason}")]
pub struct ReadError {
    pub provider: Provider,
    pub reason: String,
}

impl ReadError {
    fn new(provider: Provider, reason: &str) -> ReadError {
        ReadError {
            provider,
            reason: reason.to_string(),
        }
    }
}

/// One provider event, as depot understands it. Kept (as JSON) while it waits for its customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleEvent {
    /// The provider's event id: each is applied once.
    pub id: String,
    /// The provider's event type, as sent (`invoice.paid`).
    pub kind: String,
    /// When the provider says it happened, in Unix milliseconds.
    pub occurred_at: i64,
    /// The provider's customer id, when the event names one.
    pub customer: Option<String>,
    /// The customer's address, when the event carries it.
    pub email: Option<String>,
    /// The customer's name, when the event carries it.
    pub name: Option<String>,
    pub change: Change,
}

/// What an event changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// Only who the customer is (their address).
    Customer,
    /// Money received for these lines.
    Paid(Payment),
    /// The provider's view of a subscription.
    Subscription(SubscriptionState),
    /// Money returned.
    Refund(Refund),
    /// Nothing depot acts on (another event type, an unpaid checkout): recorded, not applied.
    Ignored { reason: String },
}

/// A payment: one invoice, transaction or checkout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// The purchase's own id (invoice, transaction, checkout session).
    pub reference: String,
    /// The subscription it pays for, if any.
    pub subscription: Option<String>,
    pub lines: Vec<Line>,
    /// Unix milliseconds.
    pub paid_at: i64,
    /// Every id a later refund may name this payment by (charge, payment intent, invoice).
    pub refund_refs: Vec<String>,
}

/// One thing bought: the ids a mapping may name (price first, then product), and the period
/// it pays for when it is a subscription's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub price: String,
    pub product: Option<String>,
    pub period: Option<Period>,
}

impl Line {
    /// The ids to look a mapping up by, most specific first.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.price.as_str()).chain(self.product.as_deref())
    }
}

/// A span of time, Unix milliseconds, `start < end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub start: i64,
    pub end: i64,
}

/// A subscription as the provider describes it now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionState {
    pub subscription: String,
    pub lines: Vec<Line>,
    pub status: Status,
    /// When it began (Unix milliseconds).
    pub started_at: Option<i64>,
    /// The current period's end: with `Status::Trialing`, the trial's end.
    pub period_end: Option<i64>,
    /// When access ends: a cancellation at the period's end, or the moment it was cancelled
    /// or paused. `None` while it runs on.
    pub ends_at: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Trialing,
    Active,
    /// A renewal payment failed; the provider retries. Access runs to the paid period's end.
    PastDue,
    Paused,
    /// Over for good: deleted (Stripe) or cancelled (Paddle).
    Ended,
    /// Anything else (Stripe's `incomplete`, `unpaid`): changes nothing.
    Other,
}

/// Money returned for a payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    /// Ids of the payment it returns (one of them matches a payment's `refund_refs`).
    pub refs: Vec<String>,
    pub subscription: Option<String>,
    /// The whole payment, approved: only that ends access. A partial or pending refund is
    /// recorded and changes nothing.
    pub full: bool,
    pub at: i64,
}

/// When a refund ends access (`[sales] refund_ends`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundEnds {
    /// At the refund.
    #[default]
    Now,
    /// At the end of what was paid for.
    PeriodEnd,
}

/// depot's record of one subscription (dates from its periods and state) or one purchase (a
/// fixed term from its payment; see [`purchase_spans`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sale {
    pub started_at: i64,
    /// The latest paid period's end (subscriptions), `None` before any payment.
    pub paid_until: Option<i64>,
    /// When access ends whatever was paid (a cancellation, a pause, a refund).
    pub ends_at: Option<i64>,
    /// The time of the latest state applied: an older one is not applied over it.
    pub state_at: i64,
    /// Ended for good (deleted, cancelled, refunded): no later state reopens it.
    pub ended: bool,
}

impl Sale {
    /// A subscription depot has heard of first at `at`.
    pub fn new(started_at: i64) -> Sale {
        Sale {
            started_at,
            paid_until: None,
            ends_at: None,
            state_at: i64::MIN,
            ended: false,
        }
    }

    /// A paid period: the subscription runs at least to its end.
    pub fn add_period(&mut self, period: Period) {
        self.started_at = self.started_at.min(period.start);
        self.paid_until = Some(self.paid_until.map_or(period.end, |p| p.max(period.end)));
    }

    /// The provider's state at `at`, unless a later one (or the end) was applied already.
    /// Returns whether it changed anything.
    pub fn apply_state(&mut self, state: &SubscriptionState, at: i64) -> bool {
        if self.ended || at < self.state_at {
            return false;
        }
        let before = self.clone();
        self.state_at = at;
        if let Some(start) = state.started_at {
            self.started_at = self.started_at.min(start);
        }
        match state.status {
            // A trial is access the provider grants without payment, to its end.
            Status::Trialing => {
                if let Some(end) = state.period_end {
                    self.add_period(Period {
                        start: self.started_at,
                        end,
                    });
                }
                self.ends_at = state.ends_at;
            }
            Status::Active | Status::PastDue => self.ends_at = state.ends_at,
            Status::Paused => self.ends_at = Some(state.ends_at.unwrap_or(at)),
            Status::Ended => {
                self.ends_at = Some(state.ends_at.unwrap_or(at));
                self.ended = true;
            }
            Status::Other => {}
        }
        *self != before
    }

    /// A full refund of one of its payments.
    pub fn refund(&mut self, at: i64, ends: RefundEnds) {
        let end = match ends {
            RefundEnds::Now => at,
            RefundEnds::PeriodEnd => self.paid_until.unwrap_or(at),
        };
        self.ends_at = Some(self.ends_at.map_or(end, |e| e.min(end)));
        self.ended = true;
    }

    /// The membership it gives: `None` before anything was paid. `Some((from, until))`;
    /// `until` is never before `from`.
    pub fn span(&self) -> Option<(i64, Option<i64>)> {
        let paid = self.paid_until?;
        let until = self.ends_at.map_or(paid, |e| e.min(paid));
        Some((self.started_at, Some(until.max(self.started_at))))
    }
}

/// One fixed-term purchase of a group, for [`purchase_spans`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Purchase {
    pub paid_at: i64,
    pub term: Term,
    /// A full refund: when, and when it ends access.
    pub refunded: Option<(i64, RefundEnds)>,
}

/// The membership spans of a customer's fixed-term purchases of one group, in the order given
/// (callers sort by payment time, then id). A purchase made while an earlier one still runs
/// starts where that one ends, so buying again early loses nothing; a refunded purchase does
/// not extend the ones after it. Computed from the whole set each time, so the order in which
/// the payments arrived does not matter.
pub fn purchase_spans(purchases: &[Purchase]) -> Vec<(i64, Option<i64>)> {
    // `None`: nothing runs yet; `Some(None)`: a lifetime purchase runs.
    let mut chain_end: Option<Option<i64>> = None;
    purchases
        .iter()
        .map(|p| {
            let start = match chain_end {
                Some(Some(end)) => end.max(p.paid_at),
                _ => p.paid_at,
            };
            let end = p.term.end_after(start);
            match p.refunded {
                None => {
                    if chain_end != Some(None) {
                        chain_end = Some(end);
                    }
                    (start, end)
                }
                Some((at, RefundEnds::Now)) => {
                    let until = end.map_or(at, |e| e.min(at)).max(p.paid_at);
                    (p.paid_at.min(start), Some(until))
                }
                Some((_, RefundEnds::PeriodEnd)) => (start, end),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn state(status: Status, ends_at: Option<i64>) -> SubscriptionState {
        SubscriptionState {
            subscription: "sub_1".into(),
            lines: vec![],
            status,
            started_at: None,
            period_end: None,
            ends_at,
        }
    }

    #[test]
    fn periods_only_ever_extend_whatever_their_order() {
        let p = |s, e| Period {
            start: s * DAY,
            end: e * DAY,
        };
        let mut a = Sale::new(0);
        a.add_period(p(0, 30));
        a.add_period(p(30, 60));
        let mut b = Sale::new(40 * DAY);
        b.add_period(p(30, 60));
        b.add_period(p(0, 30));
        b.add_period(p(30, 60)); // replayed
        assert_eq!(a.span(), Some((0, Some(60 * DAY))));
        assert_eq!(a.span(), b.span());
    }

    #[test]
    fn an_older_state_does_not_undo_a_newer_one() {
        let mut s = Sale::new(0);
        s.add_period(Period {
            start: 0,
            end: 30 * DAY,
        });
        // Cancelled at the period's end (at day 10), then an older "active" arrives late.
        assert!(s.apply_state(&state(Status::Active, Some(30 * DAY)), 10 * DAY));
        assert!(!s.apply_state(&state(Status::Active, None), 5 * DAY));
        assert_eq!(s.ends_at, Some(30 * DAY));
        // Reactivated later: runs on.
        assert!(s.apply_state(&state(Status::Active, None), 12 * DAY));
        assert_eq!(s.ends_at, None);
        // Deleted: for good, even against a later update.
        assert!(s.apply_state(&state(Status::Ended, Some(20 * DAY)), 20 * DAY));
        assert!(!s.apply_state(&state(Status::Active, None), 25 * DAY));
        assert_eq!(s.span(), Some((0, Some(20 * DAY))));
    }

    #[test]
    fn nothing_paid_is_no_membership_and_a_trial_is_access() {
        let mut s = Sale::new(0);
        assert_eq!(s.span(), None);
        s.apply_state(
            &SubscriptionState {
                period_end: Some(14 * DAY),
                ..state(Status::Trialing, None)
            },
            0,
        );
        assert_eq!(s.span(), Some((0, Some(14 * DAY))));
    }

    #[test]
    fn a_refund_ends_now_or_at_the_period_end() {
        let mut s = Sale::new(0);
        s.add_period(Period {
            start: 0,
            end: 30 * DAY,
        });
        let mut at_end = s.clone();
        s.refund(3 * DAY, RefundEnds::Now);
        assert_eq!(s.span(), Some((0, Some(3 * DAY))));
        at_end.refund(3 * DAY, RefundEnds::PeriodEnd);
        assert_eq!(at_end.span(), Some((0, Some(30 * DAY))));
        // A later payment event (replayed) does not reopen a refunded subscription's end.
        s.add_period(Period {
            start: 0,
            end: 30 * DAY,
        });
        assert_eq!(s.span(), Some((0, Some(3 * DAY))));
    }

    #[test]
    fn early_purchases_stack_and_refunds_do_not() {
        let year = Term::Months(12);
        let buy = |paid_at| Purchase {
            paid_at,
            term: year,
            refunded: None,
        };
        let spans = purchase_spans(&[buy(0), buy(100 * DAY)]);
        let first_end = year.end_after(0).unwrap();
        assert_eq!(spans[0], (0, Some(first_end)));
        assert_eq!(spans[1], (first_end, year.end_after(first_end)));
        let refunded = Purchase {
            refunded: Some((5 * DAY, RefundEnds::Now)),
            ..buy(0)
        };
        let spans = purchase_spans(&[refunded, buy(100 * DAY)]);
        assert_eq!(spans[0], (0, Some(5 * DAY)));
        assert_eq!(spans[1], (100 * DAY, year.end_after(100 * DAY)));
        let forever = Purchase {
            term: Term::Lifetime,
            ..buy(0)
        };
        assert_eq!(
            purchase_spans(&[forever, buy(DAY)]),
            vec![(0, None), (DAY, year.end_after(DAY))]
        );
    }
}
