//! `keybymail` and the mail outbox that delivers what it asks for.
//!
//! The request only checks its input, counts against the rate limits and adds one outbox row,
//! whatever the address: so it answers the same, in the same time, for an address that exists and
//! qualifies and for one that does not. The delivery task decides later, and off the request path,
//! whether there is anything to send; a mail server that is down only delays it (retries with
//! growing pauses, rows kept in the database until delivered).

use std::time::Duration;

use depot_core::{Refusal, keys};
use depot_mail::messages::{
    KeyMail, PasswordLinkMail, WebhookDisabledMail, WelcomeMail, key_mail, password_link_mail,
    webhook_disabled_mail, welcome_mail,
};
use depot_store::OutboxRow;

use crate::entitlement::denied;
use crate::{Depot, ServiceError, ServiceResult, valid_email};

/// The outbox kind of a `keybymail` request (and of an administrator's "resend keys").
const KIND_KEY: &str = "jbackend_key";
/// The outbox kind of a password link (customer account pages).
pub(crate) const KIND_PASSWORD_LINK: &str = "password_link";
/// The outbox kind of a welcome: a first purchase made the customer's account (`sales`).
pub(crate) const KIND_WELCOME: &str = "welcome";
/// Requests per minute from one client address, and per quarter hour for one e-mail address.
const MAIL_PER_IP: i64 = 10;
const MAIL_PER_ADDRESS: i64 = 3;
const ADDRESS_WINDOW: Duration = Duration::from_secs(15 * 60);
/// The pause after the first failure, doubled after each further one, up to `MAX_PAUSE`.
const FIRST_PAUSE: Duration = Duration::from_secs(10);
const MAX_PAUSE: Duration = Duration::from_secs(3600);
/// Delivered messages are kept this long for operators, then forgotten.
const KEEP_DONE: Duration = Duration::from_secs(7 * 86_400);
/// A welcome's password link works longer than an asked-for one: the customer did not ask
/// for it and may read it days later.
const WELCOME_LINK_LIFETIME: Duration = Duration::from_secs(7 * 86_400);
/// The label of the download key a key mail creates for a user who has none.
const MAILED_KEY_LABEL: &str = "Joomla";

/// What became of one outbox message.
enum Delivery {
    Sent,
    /// Nothing to send (an unknown, disabled or unentitled address).
    Skipped,
}

/// The pause before attempt `attempts + 1`.
fn backoff(attempts: i64) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 16) as u32;
    FIRST_PAUSE.saturating_mul(1 << doublings).min(MAX_PAUSE)
}

impl Depot {
    /// `keybymail`: queues the group's key for `email`. `Ok` for every well-formed request.
    pub async fn key_by_mail(
        &self,
        group: &str,
        email: Option<&str>,
        client_ip: &str,
    ) -> ServiceResult<()> {
        let group = self.package_group_named(group).await?;
        let email = email.map(str::trim).filter(|e| !e.is_empty());
        let email = email.ok_or_else(|| ServiceError::refused(Refusal::EmailNotSpecified))?;
        if !valid_email(email) {
            return Err(denied(Refusal::BadRequest, "Malformed e-mail address"));
        }
        let email = keys::normalise_email(email);
        self.rate_limit(
            &format!("mail-ip:{client_ip}"),
            MAIL_PER_IP,
            Duration::from_secs(60),
        )
        .await?;
        self.rate_limit(
            &format!("mail-address:{email}"),
            MAIL_PER_ADDRESS,
            ADDRESS_WINDOW,
        )
        .await?;
        self.queue_mail(KIND_KEY, &email, Some(group.id)).await
    }

    /// Adds a message to the outbox and wakes the delivery task.
    pub(crate) async fn queue_mail(
        &self,
        kind: &str,
        email: &str,
        package_group: Option<i64>,
    ) -> ServiceResult<()> {
        self.store()
            .enqueue_mail(kind, email, package_group)
            .await?;
        self.inner.mail_due.notify_one();
        Ok(())
    }

    /// An administrator's "resend keys": mails the user their keys for the package group, as
    /// `keybymail` would, without its rate limits.
    pub async fn resend_keys(
        &self,
        actor: &crate::Actor,
        user: &str,
        package_group: &str,
    ) -> ServiceResult<()> {
        actor.require_admin()?;
        let user = self.find_user(user).await?;
        let group = self.existing_package_group(package_group).await?;
        self.queue_mail(KIND_KEY, &user.email, Some(group.id))
            .await?;
        let detail = serde_json::json!({"package_group": group.name});
        self.audit(actor, "keys.resend", &user.email, detail).await
    }

    /// Delivers every message due now; returns how many it finished (sent or skipped).
    pub async fn deliver_due_mail(&self) -> ServiceResult<usize> {
        let _pass = self.inner.mail_pass.lock().await;
        let mut finished = 0;
        loop {
            let now = self.now_ms();
            let due = self.store().due_mail(now, 20).await?;
            if due.is_empty() {
                return Ok(finished);
            }
            let mut claimed_any = false;
            for row in due {
                let lease_until = now + self.settings().mail_lease.as_millis() as i64;
                if !self.store().claim_mail(row.id, now, lease_until).await? {
                    continue;
                }
                claimed_any = true;
                if self.deliver_one(row).await? {
                    finished += 1;
                }
            }
            if !claimed_any {
                return Ok(finished);
            }
        }
    }

    /// Tries one claimed message; returns whether it is finished.
    async fn deliver_one(&self, row: OutboxRow) -> ServiceResult<bool> {
        let attempts = row.attempts + 1;
        match self.compose_and_send(&row).await {
            Ok(Delivery::Sent) => {
                self.store().finish_mail(row.id, "sent", None).await?;
                tracing::info!(outbox_id = row.id, kind = %row.kind, "mail sent");
                Ok(true)
            }
            Ok(Delivery::Skipped) => {
                self.store().finish_mail(row.id, "skipped", None).await?;
                Ok(true)
            }
            Err(e) => {
                let error = e.to_string();
                if attempts >= i64::from(self.settings().mail_max_attempts) {
                    tracing::error!(outbox_id = row.id, attempts, error = %error, "mail given up");
                    self.store()
                        .finish_mail(row.id, "failed", Some(&error))
                        .await?;
                    return Ok(true);
                }
                let pause = backoff(attempts);
                tracing::warn!(
                    outbox_id = row.id,
                    attempts,
                    retry_in_secs = pause.as_secs(),
                    error = %error,
                    "mail delivery failed; will retry"
                );
                let next = self.now_ms() + pause.as_millis() as i64;
                self.store().retry_mail(row.id, next, &error).await?;
                Ok(false)
            }
        }
    }

    async fn compose_and_send(&self, row: &OutboxRow) -> ServiceResult<Delivery> {
        match row.kind.as_str() {
            KIND_KEY => self.send_key_mail(row).await,
            KIND_PASSWORD_LINK => self.send_password_link_mail(row).await,
            KIND_WELCOME => self.send_welcome_mail(row).await,
            crate::webhooks::KIND_WEBHOOK_DISABLED => self.send_webhook_disabled_mail(row).await,
            crate::notices::KIND_ENDING_SOON
            | crate::notices::KIND_RENEWED
            | crate::notices::KIND_ENDED => match self.membership_mail(row).await? {
                Some(email) => self.send(&email).await,
                None => Ok(Delivery::Skipped),
            },
            kind => {
                tracing::error!(outbox_id = row.id, kind, "unknown outbox kind");
                Ok(Delivery::Skipped)
            }
        }
    }

    /// A password link, for an enabled user only. The link is made here, at sending time, so a
    /// retry after a failed attempt mails a fresh one.
    async fn send_password_link_mail(&self, row: &OutboxRow) -> ServiceResult<Delivery> {
        let Some(user) = self.store().user_by_email(&row.recipient).await? else {
            return Ok(Delivery::Skipped);
        };
        // A Joomla site's user signs in with the site's password, which depot cannot set.
        if user.disabled != 0 || user.joomla_id.is_some() {
            return Ok(Delivery::Skipped);
        }
        let lifetime = crate::sessions::PASSWORD_LINK_LIFETIME;
        let link = self.new_password_link(user.id, lifetime).await?;
        let email = password_link_mail(&PasswordLinkMail {
            email: &user.email,
            link: &link,
            minutes: lifetime.as_secs() / 60,
            brand: &self.settings().branding,
        });
        self.send(&email).await
    }

    /// A welcome with a fresh password link and the groups the customer has now.
    async fn send_welcome_mail(&self, row: &OutboxRow) -> ServiceResult<Delivery> {
        let Some(user) = self.store().user_by_email(&row.recipient).await? else {
            return Ok(Delivery::Skipped);
        };
        if user.disabled != 0 || user.joomla_id.is_some() {
            return Ok(Delivery::Skipped);
        }
        let now = self.now_ms();
        let all_groups = self.store().groups().await?;
        let mut groups: Vec<String> = Vec::new();
        for m in self.store().memberships_of(user.id).await? {
            let active = m.valid_from <= now && m.valid_until.is_none_or(|u| now < u);
            if let Some(g) = all_groups.iter().find(|g| g.id == m.group_id)
                && active
                && !groups.contains(&g.name)
            {
                groups.push(g.name.clone());
            }
        }
        let link = self
            .new_password_link(user.id, WELCOME_LINK_LIFETIME)
            .await?;
        let account_url = format!(
            "{}/account",
            self.settings().public_url.trim_end_matches('/')
        );
        let email = welcome_mail(&WelcomeMail {
            email: &user.email,
            link: &link,
            days: WELCOME_LINK_LIFETIME.as_secs() / 86_400,
            account_url: &account_url,
            groups: &groups,
            brand: &self.settings().branding,
        });
        self.send(&email).await
    }

    /// Tells an administrator which endpoints are off now (none left: nothing to send).
    async fn send_webhook_disabled_mail(&self, row: &OutboxRow) -> ServiceResult<Delivery> {
        let endpoints: Vec<String> = self
            .disabled_webhooks()
            .await?
            .into_iter()
            .map(|e| format!("{} ({})", e.url, e.disabled_reason.unwrap_or_default()))
            .collect();
        if endpoints.is_empty() {
            return Ok(Delivery::Skipped);
        }
        let console_url = format!(
            "{}/admin/webhooks",
            self.settings().public_url.trim_end_matches('/')
        );
        let email = webhook_disabled_mail(&WebhookDisabledMail {
            email: &row.recipient,
            endpoints: &endpoints,
            console_url: &console_url,
            brand: &self.settings().branding,
        });
        self.send(&email).await
    }

    async fn send(&self, email: &depot_mail::Email) -> ServiceResult<Delivery> {
        self.inner
            .mailer
            .send(email)
            .await
            .map_err(|e| ServiceError::Mail(e.to_string()))?;
        Ok(Delivery::Sent)
    }

    async fn send_key_mail(&self, row: &OutboxRow) -> ServiceResult<Delivery> {
        let Some(group_id) = row.package_group_id else {
            return Ok(Delivery::Skipped);
        };
        let Some(group) = self.store().package_group(group_id).await? else {
            return Ok(Delivery::Skipped);
        };
        let Some(user) = self.store().user_by_email(&row.recipient).await? else {
            return Ok(Delivery::Skipped);
        };
        match self.entitle(&group, user.id, self.now_ms()).await {
            Ok(()) => {}
            Err(ServiceError::Denied { .. }) => return Ok(Delivery::Skipped),
            Err(e) => return Err(e),
        }
        let secret = self.settings().secret.expose();
        let version = self.store().jbackend_key_version(user.id, group.id).await?;
        let key = keys::jbackend_key(secret, &group.seed, &user.email, version);
        let download_key = self.mailed_download_key(user.id).await?;
        let email = key_mail(&KeyMail {
            email: &user.email,
            package_group: &group.title,
            key: &key,
            download_key: &download_key,
            base_url: &self.settings().public_url,
            brand: &self.settings().branding,
        });
        self.send(&email).await
    }

    /// The user's oldest live download key, or a new one for Joomla's Download Key field.
    async fn mailed_download_key(&self, user_id: i64) -> ServiceResult<String> {
        let live = self
            .store()
            .download_keys_of(user_id)
            .await?
            .into_iter()
            // An imported key cannot be shown again, so it cannot be mailed either.
            .find(|k| k.revoked_at.is_none() && k.imported_hash.is_none());
        let row = match live {
            Some(row) => row,
            None => self.new_download_key(user_id, MAILED_KEY_LABEL).await?,
        };
        Ok(self.download_key_text(&row))
    }
}

/// Delivers mail while the service runs: at once when a request queued some, otherwise every
/// `poll` (retries, and messages other instances queued).
pub(crate) async fn deliver_loop(depot: Depot, poll: Duration) {
    let mut last_prune = 0;
    loop {
        if let Err(e) = depot.deliver_due_mail().await {
            tracing::warn!(error = %e, "mail outbox unavailable");
        }
        let now = depot.now_ms();
        if now - last_prune > 3_600_000 {
            last_prune = now;
            let before = now - KEEP_DONE.as_millis() as i64;
            if let Err(e) = depot.store().prune_mail(before).await {
                tracing::warn!(error = %e, "could not prune the mail outbox");
            }
        }
        tokio::select! {
            _ = depot.inner.mail_due.notified() => {}
            _ = tokio::time::sleep(poll) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_an_hour() {
        assert_eq!(backoff(1), Duration::from_secs(10));
        assert_eq!(backoff(2), Duration::from_secs(20));
        assert_eq!(backoff(5), Duration::from_secs(160));
        assert_eq!(backoff(30), MAX_PAUSE);
        assert_eq!(backoff(i64::MAX), MAX_PAUSE);
    }
}
