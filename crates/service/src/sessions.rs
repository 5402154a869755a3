//! Signing in to the admin console: passwords checked with Argon2id; failures counted per account
//! and per client in the database, so that guessing locks itself out on every instance at once;
//! sessions kept in the database (only a hash of the cookie's token), so that any instance
//! serves them and signing out anywhere ends them everywhere.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use depot_core::keys;
use serde_json::json;

use crate::audit::Actor;
use crate::{Depot, ServiceError, ServiceResult, hash_token, valid_email};

/// How long a console session lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Failed sign-ins that lock an account for the rest of the window.
const FAILURES_PER_ACCOUNT: i64 = 5;
/// Failed sign-ins from one client address, over every account.
const FAILURES_PER_CLIENT: i64 = 20;
const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// A signed-in console user.
#[derive(Clone, Debug)]
pub struct Session {
    pub user_id: i64,
    pub email: String,
    /// Every form of the session carries it; a POST without it is refused.
    pub csrf: String,
}

impl Session {
    pub fn actor(&self) -> Actor {
        Actor::user(self.user_id, &self.email)
    }
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

impl Depot {
    /// Signs an administrator in; `RateLimited` while the account or the client is locked out.
    pub async fn sign_in_admin(
        &self,
        email: &str,
        password: &str,
        client_ip: &str,
    ) -> ServiceResult<NewSession> {
        if !valid_email(email) || password.is_empty() || password.len() > 1024 {
            return Err(sign_in_failed());
        }
        let email = keys::normalise_email(email);
        let account = format!("signin-account:{email}");
        let client = format!("signin-ip:{client_ip}");
        for (bucket, limit) in [
            (&account, FAILURES_PER_ACCOUNT),
            (&client, FAILURES_PER_CLIENT),
        ] {
            if self.failures(bucket, FAILURE_WINDOW).await? >= limit {
                let retry_after_secs = self.record_failure(bucket, FAILURE_WINDOW).await?;
                return Err(ServiceError::RateLimited { retry_after_secs });
            }
        }
        let user = self.user_with_password(&email, password).await?;
        let user = match user {
            Some(u) if u.is_admin == 1 && u.disabled == 0 => u,
            _ => {
                self.record_failure(&account, FAILURE_WINDOW).await?;
                self.record_failure(&client, FAILURE_WINDOW).await?;
                return Err(sign_in_failed());
            }
        };
        let token = random_token();
        let csrf = random_token();
        let expires_at = depot_store::now_ms() + SESSION_LIFETIME.as_millis() as i64;
        self.store()
            .create_session(&hash_token(&token), user.id, "admin", &csrf, expires_at)
            .await?;
        let _ = self.store().prune_sessions().await;
        let session = Session {
            user_id: user.id,
            email: user.email,
            csrf,
        };
        self.audit(
            &session.actor(),
            "session.sign_in",
            &session.email,
            json!({"ip": client_ip}),
        )
        .await?;
        Ok(NewSession { token, session })
    }

    /// The administrator behind a session cookie; `None` for an unknown or expired session, or
    /// a user who is no longer an enabled administrator.
    pub async fn admin_session(&self, token: &str) -> ServiceResult<Option<Session>> {
        if token.is_empty() || token.len() > 100 {
            return Ok(None);
        }
        let row = self.store().session(&hash_token(token)).await?;
        Ok(row
            .filter(|s| s.scope == "admin" && s.is_admin == 1 && s.disabled == 0)
            .map(|s| Session {
                user_id: s.user_id,
                email: s.email,
                csrf: s.csrf,
            }))
    }

    pub async fn sign_out(&self, token: &str) -> ServiceResult<()> {
        if let Some(session) = self.admin_session(token).await? {
            self.store().delete_session(&hash_token(token)).await?;
            self.audit(
                &session.actor(),
                "session.sign_out",
                &session.email,
                json!(null),
            )
            .await?;
        }
        Ok(())
    }
}
