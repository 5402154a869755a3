//! Signing in to the admin console and to the customer account pages: passwords checked with
//! Argon2id; failures counted per account and per client in the database, so that guessing
//! locks itself out on every instance at once; sessions kept in the database (only a hash of the
//! cookie's token), so that any instance serves them and signing out anywhere ends them
//! everywhere.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use depot_core::keys;
use serde_json::json;

use crate::Actor;
use crate::input::rfc3339;
use crate::{Depot, ServiceError, ServiceResult, hash_token, valid_email};

/// How long a console session lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Failed sign-ins to one account from one client address that lock the account for that
/// address (for the rest of the window): the owner, elsewhere, is not locked out by a guesser.
const FAILURES_PER_ACCOUNT_AND_CLIENT: i64 = 5;
/// Failed sign-ins to one account from all addresses together that lock it everywhere: the
/// ceiling for guessing from many addresses. The owner's way back in is a password link, which
/// lifts the lock.
const FAILURES_PER_ACCOUNT: i64 = 50;
/// Failed sign-ins from one client address, over every account.
const FAILURES_PER_CLIENT: i64 = 20;
const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// How long an e-mailed password link works (once).
pub const PASSWORD_LINK_LIFETIME: Duration = Duration::from_secs(3600);
/// Password link requests per minute from one client, and per quarter hour for one address.
const LINKS_PER_CLIENT: i64 = 10;
const LINKS_PER_ADDRESS: i64 = 3;

/// Which pages a session opens. An administrator signed in to `/account` is a customer there,
/// and a customer session never opens `/admin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    Admin,
    Account,
}

impl SessionKind {
    fn scope(self) -> &'static str {
        match self {
            SessionKind::Admin => "admin",
            SessionKind::Account => "account",
        }
    }
}

/// A signed-in user of the console or of the account pages.
#[derive(Clone, Debug)]
pub struct Session {
    /// The session's own id (to tell it from the user's other sessions).
    pub id: i64,
    pub kind: SessionKind,
    pub user_id: i64,
    pub email: String,
    /// Every form of the session carries it; a POST without it is refused.
    pub csrf: String,
}

impl Session {
    /// The console's administrator, or the account's customer (who may touch only their own
    /// keys).
    pub fn actor(&self) -> Actor {
        match self.kind {
            SessionKind::Admin => Actor::console_user(self.user_id, &self.email),
            SessionKind::Account => Actor::customer(self.user_id, &self.email),
        }
    }
}

/// One of a user's sessions, as the account page lists it.
#[derive(Clone, Debug)]
pub struct SessionListing {
    pub id: i64,
    pub area: &'static str,
    /// The address it began from.
    pub ip: Option<String>,
    pub started: String,
    pub expires: String,
    /// The session this list is shown in.
    pub current: bool,
}

/// A new session: the cookie's token (shown only to the browser) and the session.
pub struct NewSession {
    pub token: String,
    pub session: Session,
}

fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// The one answer to a failed sign-in, whatever failed: the address, the password, a disabled
/// account or one without console access.
fn sign_in_failed() -> ServiceError {
    ServiceError::Forbidden("Wrong e-mail address or password".into())
}

/// The failure bucket of an account (its per-client buckets are `{bucket}|{address}`).
fn account_bucket(email: &str) -> String {
    format!("signin-account:{}", keys::normalise_email(email))
}

impl Depot {
    /// Signs a user in; `RateLimited` while the account or the client is locked out. The
    /// console takes administrators only; the account pages take any enabled user.
    pub async fn sign_in(
        &self,
        kind: SessionKind,
        email: &str,
        password: &str,
        client_ip: &str,
    ) -> ServiceResult<NewSession> {
        if !self.plausible_login(email) || password.is_empty() || password.len() > 1024 {
            return Err(sign_in_failed());
        }
        // The sign-in name as typed (a Joomla username may be case-sensitive); the buckets
        // take it normalised.
        let login = email.trim();
        let email = keys::normalise_email(email);
        let account = account_bucket(&email);
        let account_and_client = format!("{account}|{client_ip}");
        let client = format!("signin-ip:{client_ip}");
        let buckets = [
            (&account_and_client, FAILURES_PER_ACCOUNT_AND_CLIENT),
            (&account, FAILURES_PER_ACCOUNT),
            (&client, FAILURES_PER_CLIENT),
        ];
        for (bucket, limit) in buckets {
            if self.failures(bucket, FAILURE_WINDOW).await? >= limit {
                let retry_after_secs = self.record_failure(bucket, FAILURE_WINDOW).await?;
                crate::metrics::rate_limited(bucket);
                return Err(ServiceError::RateLimited { retry_after_secs });
            }
        }
        let user = self.user_by_password(login, password).await?;
        let user = match user {
            Some(u) if u.disabled == 0 && (kind == SessionKind::Account || u.is_admin == 1) => u,
            _ => {
                for (bucket, _) in buckets {
                    self.record_failure(bucket, FAILURE_WINDOW).await?;
                }
                return Err(sign_in_failed());
            }
        };
        self.open_session(kind, user.id, user.email, client_ip)
            .await
    }

    async fn open_session(
        &self,
        kind: SessionKind,
        user_id: i64,
        email: String,
        client_ip: &str,
    ) -> ServiceResult<NewSession> {
        let token = random_token();
        let csrf = random_token();
        let expires_at = self.now_ms() + SESSION_LIFETIME.as_millis() as i64;
        let id = self
            .store()
            .create_session(
                &hash_token(&token),
                user_id,
                kind.scope(),
                &csrf,
                expires_at,
                client_ip,
            )
            .await?;
        let _ = self.store().prune_sessions().await;
        let session = Session {
            id,
            kind,
            user_id,
            email,
            csrf,
        };
        self.audit(
            &session.actor(),
            "session.sign_in",
            &session.email,
            json!({"ip": client_ip, "scope": kind.scope()}),
        )
        .await?;
        Ok(NewSession { token, session })
    }

    /// The user behind a session cookie; `None` for an unknown or expired session, one of the
    /// other kind, a disabled user, or (console) a user who is no longer an administrator.
    pub async fn session(&self, kind: SessionKind, token: &str) -> ServiceResult<Option<Session>> {
        if token.is_empty() || token.len() > 100 {
            return Ok(None);
        }
        let row = self.store().session(&hash_token(token)).await?;
        Ok(row
            .filter(|s| {
                s.scope == kind.scope()
                    && s.disabled == 0
                    && (kind == SessionKind::Account || s.is_admin == 1)
            })
            .map(|s| Session {
                id: s.id,
                kind,
                user_id: s.user_id,
                email: s.email,
                csrf: s.csrf,
            }))
    }

    /// The signed-in user's sessions (console and account pages), newest first, this one marked.
    pub async fn own_sessions(&self, session: &Session) -> ServiceResult<Vec<SessionListing>> {
        Ok(self
            .store()
            .sessions_of_user(session.user_id)
            .await?
            .into_iter()
            .map(|s| SessionListing {
                id: s.id,
                area: if s.scope == "admin" {
                    "admin console"
                } else {
                    "account pages"
                },
                ip: s.ip,
                started: rfc3339(s.created_at),
                expires: rfc3339(s.expires_at),
                current: s.id == session.id,
            })
            .collect())
    }

    /// Ends one of the signed-in user's own sessions (another device, or this one).
    pub async fn end_own_session(&self, session: &Session, id: i64) -> ServiceResult<()> {
        if !self
            .store()
            .end_session_of_user(session.user_id, id)
            .await?
        {
            return Err(ServiceError::NotFound { what: "session" });
        }
        self.audit(
            &session.actor(),
            "session.ended",
            &session.email,
            json!({"session": id}),
        )
        .await
    }

    pub async fn sign_out(&self, kind: SessionKind, token: &str) -> ServiceResult<()> {
        if let Some(session) = self.session(kind, token).await? {
            self.store().delete_session(&hash_token(token)).await?;
            self.audit(
                &session.actor(),
                "session.sign_out",
                &session.email,
                json!({"scope": kind.scope()}),
            )
            .await?;
        }
        Ok(())
    }

    /// Asks for a password link to be mailed to `email`. Answers the same, in the same time,
    /// whether or not the address belongs to a user: the mail task decides later whether there
    /// is anything to send (as for `keybymail`).
    pub async fn request_password_link(&self, email: &str, client_ip: &str) -> ServiceResult<()> {
        if !valid_email(email) {
            return Err(ServiceError::invalid(
                "bad_email",
                "that is not an e-mail address",
            ));
        }
        let email = keys::normalise_email(email);
        self.rate_limit(
            &format!("link-ip:{client_ip}"),
            LINKS_PER_CLIENT,
            Duration::from_secs(60),
        )
        .await?;
        self.rate_limit(
            &format!("link-address:{email}"),
            LINKS_PER_ADDRESS,
            FAILURE_WINDOW,
        )
        .await?;
        self.queue_mail(crate::mail::KIND_PASSWORD_LINK, &email, None)
            .await
    }

    /// An administrator's "send a password link" (to a new customer, or one who lost theirs).
    pub async fn send_password_link(&self, actor: &Actor, user: &str) -> ServiceResult<()> {
        actor.require_admin()?;
        let user = self.find_user(user).await?;
        if user.disabled != 0 {
            return Err(ServiceError::Conflict(
                "the user is disabled: enable them first".into(),
            ));
        }
        if user.joomla_id.is_some() {
            return Err(ServiceError::Conflict(
                "a user of the Joomla site signs in with the site's password: they reset it there"
                    .into(),
            ));
        }
        self.queue_mail(crate::mail::KIND_PASSWORD_LINK, &user.email, None)
            .await?;
        self.audit(actor, "user.password_link_sent", &user.email, json!(null))
            .await
    }

    /// Makes a single-use password link for a user (the mail task calls this when it sends
    /// one); returns the link.
    pub(crate) async fn new_password_link(
        &self,
        user_id: i64,
        lifetime: Duration,
    ) -> ServiceResult<String> {
        let token = random_token();
        let now = self.now_ms();
        self.store()
            .create_password_link(
                &hash_token(&token),
                user_id,
                now + lifetime.as_millis() as i64,
            )
            .await?;
        let _ = self.store().prune_password_links(now).await;
        Ok(format!(
            "{}/account/password?token={token}",
            self.settings().public_url.trim_end_matches('/')
        ))
    }

    /// Whether a password link still works (unused, unexpired, its user enabled), without
    /// using it: a mail scanner that opens the link does not spend it.
    pub async fn password_link_works(&self, token: &str) -> ServiceResult<bool> {
        if token.is_empty() || token.len() > 100 {
            return Ok(false);
        }
        let Some(user) = self.store().password_link_user(&hash_token(token)).await? else {
            return Ok(false);
        };
        Ok(self
            .store()
            .user(user)
            .await?
            .is_some_and(|u| u.disabled == 0))
    }

    /// Sets the password through a link, which (with every other link of the user) stops
    /// working, and signs the user in to the account pages.
    pub async fn set_password_by_link(
        &self,
        token: &str,
        password: &str,
        client_ip: &str,
    ) -> ServiceResult<NewSession> {
        let expired = || {
            ServiceError::Forbidden(
                "This link has expired or was already used: ask for a new one.".into(),
            )
        };
        crate::jbackend::check_password(password)?;
        if token.is_empty() || token.len() > 100 {
            return Err(expired());
        }
        let user_id = self
            .store()
            .use_password_link(&hash_token(token))
            .await?
            .ok_or_else(expired)?;
        let user = self
            .store()
            .user(user_id)
            .await?
            .filter(|u| u.disabled == 0)
            .ok_or_else(expired)?;
        if user.joomla_id.is_some() {
            // A link mailed before the user came from the Joomla site: the site's password
            // is the one that counts.
            return Err(ServiceError::Forbidden(
                "Your password is the one of your account on our website: change it there.".into(),
            ));
        }
        self.set_password(user.id, password).await?;
        // Whoever was guessing the old password locked the account out; its owner, proving
        // their mailbox, lifts that lock (the per-client limits stay).
        self.store()
            .clear_rate_limits(&account_bucket(&user.email))
            .await?;
        let actor = Actor::customer(user.id, &user.email);
        self.audit(&actor, "user.password_link_used", &user.email, json!(null))
            .await?;
        self.open_session(SessionKind::Account, user.id, user.email, client_ip)
            .await
    }
}
