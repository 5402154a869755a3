//! Mails that keep customers, about their memberships: "ends in N days" (once per membership,
//! only for one that will not renew by itself), "renewed" (a payment extended it) and "ended"
//! (what they keep, how to renew). Each can be turned off (`[customer_mails]`).
//!
//! A pass every `NOTICE_EVERY` finds what is due; each notice is claimed on the membership row
//! before it is queued, so several instances send it once. Mails go through the outbox like
//! every other, composed when sent.

use std::time::Duration;

use depot_mail::messages::{MembershipMail, MembershipMailKind, membership_mail};
use depot_store::{Notice, OutboxRow};

use crate::{Depot, ServiceResult};

/// `[customer_mails]`.
#[derive(Clone, Debug)]
pub struct CustomerMails {
    /// A welcome when a first purchase makes an account.
    pub welcome: bool,
    /// How long before its end a membership's customer is told; `None`: never.
    pub ending_soon: Option<Duration>,
    pub renewed: bool,
    pub ended: bool,
}

impl Default for CustomerMails {
    fn default() -> Self {
        CustomerMails {
            welcome: true,
            ending_soon: Some(Duration::from_secs(7 * 86_400)),
            renewed: true,
            ended: true,
        }
    }
}

/// How often an instance looks for notices due.
const NOTICE_EVERY: Duration = Duration::from_secs(600);
/// An end further back than this is not announced (after a long outage, or on the first start
/// with this feature, old ends are history, not news).
const ENDED_NEWS_FOR: Duration = Duration::from_secs(7 * 86_400);

const DAY_MS: i64 = 86_400_000;

pub(crate) const KIND_ENDING_SOON: &str = "membership_ending";
pub(crate) const KIND_RENEWED: &str = "membership_renewed";
pub(crate) const KIND_ENDED: &str = "membership_ended";

impl Depot {
    /// Queues the "ends soon" and "ended" mails due now; returns how many.
    pub async fn send_membership_notices(&self) -> ServiceResult<usize> {
        let settings = &self.settings().customer_mails;
        let now = self.now_ms();
        let mut due = Vec::new();
        if let Some(before) = settings.ending_soon {
            let horizon = now + before.as_millis() as i64;
            for n in self.store().memberships_ending(now, horizon).await? {
                due.push((n, Notice::EndingSoon, KIND_ENDING_SOON));
            }
        }
        if settings.ended {
            let since = now - ENDED_NEWS_FOR.as_millis() as i64;
            for n in self.store().memberships_ended(since, now).await? {
                due.push((n, Notice::Ended, KIND_ENDED));
            }
        }
        let mut queued = 0;
        for (n, notice, kind) in due {
            if self.store().claim_notice(n.membership_id, notice).await? {
                self.store()
                    .enqueue_membership_mail(kind, &n.email, n.membership_id)
                    .await?;
                queued += 1;
            }
        }
        if queued > 0 {
            self.inner.mail_due.notify_one();
        }
        Ok(queued)
    }

    /// "Renewed", when a payment extended a membership.
    pub(crate) async fn queue_renewed_mail(
        &self,
        email: &str,
        membership_id: i64,
    ) -> ServiceResult<()> {
        if self.settings().customer_mails.renewed {
            self.store()
                .enqueue_membership_mail(KIND_RENEWED, email, membership_id)
                .await?;
            self.inner.mail_due.notify_one();
        }
        Ok(())
    }

    /// Composes a membership mail at sending time; `None` when there is nothing to send (the
    /// membership or its user is gone, or the user is disabled).
    pub(crate) async fn membership_mail(
        &self,
        row: &OutboxRow,
    ) -> ServiceResult<Option<depot_mail::Email>> {
        let kind = match row.kind.as_str() {
            KIND_ENDING_SOON => MembershipMailKind::EndingSoon,
            KIND_RENEWED => MembershipMailKind::Renewed,
            _ => MembershipMailKind::Ended,
        };
        let Some(id) = row.membership_id else {
            return Ok(None);
        };
        let Some(m) = self.store().membership(id).await? else {
            return Ok(None);
        };
        let Some(user) = self.store().user(m.user_id).await? else {
            return Ok(None);
        };
        if user.disabled != 0 {
            return Ok(None);
        }
        let Some(until) = m.valid_until else {
            return Ok(None);
        };
        // "Renewed" and "ends soon" are news only while the membership runs: one that ended
        // (cancelled, refunded) before the mail left says nothing wrong.
        if kind != MembershipMailKind::Ended && until <= self.now_ms() {
            return Ok(None);
        }
        let group = self
            .store()
            .group(m.group_id)
            .await?
            .map_or_else(|| format!("group {}", m.group_id), |g| g.name);
        let keeps = self.store().group_keeps_released(m.group_id).await?;
        let day = crate::input::rfc3339(until)
            .chars()
            .take(10)
            .collect::<String>();
        let days_left = (kind == MembershipMailKind::EndingSoon)
            .then(|| ((until - self.now_ms()).max(0) + DAY_MS - 1) / DAY_MS);
        let account_url = format!(
            "{}/account",
            self.settings().public_url.trim_end_matches('/')
        );
        Ok(Some(membership_mail(&MembershipMail {
            email: &user.email,
            kind,
            group: &group,
            until: &day,
            days_left,
            keeps,
            account_url: &account_url,
            brand: &self.settings().branding,
        })))
    }
}

/// Looks for notices due while the service runs, the first time a while after start (a
/// restart does not hurry them; a pass finds everything due since).
pub(crate) async fn notice_loop(depot: Depot) {
    loop {
        tokio::time::sleep(NOTICE_EVERY).await;
        if let Err(e) = depot.send_membership_notices().await {
            tracing::warn!(error = %e, "membership notices pass failed");
        }
    }
}
