//! The jBackend Release System API (docs/product.md §2.3): `validate` and `keybyauth`.

use std::sync::OnceLock;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
pub use depot_api::jbackend::IssuedKey;
use depot_core::{Refusal, keys};
use depot_store::{PackageGroupRow, UserRow};

use crate::{Credentials, Depot, ServiceError, ServiceResult, valid_email};

/// Attempts allowed per minute, per client address and per account.
const AUTH_PER_IP: i64 = 20;
const AUTH_PER_ACCOUNT: i64 = 5;
const AUTH_WINDOW: Duration = Duration::from_secs(60);
/// Key validations allowed per minute and client address: a site validates a key when its
/// administrator saves it, not on every page, so this only slows down guessing.
const VALIDATE_PER_IP: i64 = 60;
const MAX_PASSWORD: usize = 1024;

/// A hash to verify against when the account does not exist, so that an unknown user costs the
/// same as a wrong password.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        Argon2::default()
            .hash_password(b"depot: no such account")
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).ok().is_some_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

impl Depot {
    /// The user `login` names if `password` is theirs. With a Joomla source, a site account
    /// (by username or address) is checked against the site's hash and mirrored at once;
    /// otherwise depot's own users by address. An unknown login costs the same Argon2
    /// verification as a wrong password, so timing tells nothing about depot's own users.
    pub(crate) async fn user_by_password(
        &self,
        login: &str,
        password: &str,
    ) -> ServiceResult<Option<UserRow>> {
        match self.joomla_account(login).await {
            Ok(Some(account)) => {
                let candidate = password.to_string();
                let hash = account.password_hash.clone();
                let ok = tokio::task::spawn_blocking(move || {
                    depot_joomla::passwords::verify(&candidate, &hash)
                })
                .await
                .unwrap_or(false);
                if !ok {
                    return Ok(None);
                }
                return self.mirror_account(&account).await.map(Some);
            }
            Ok(None) => {}
            // depot's own users still sign in while the site is away; its users must wait.
            Err(e) => {
                let own = self
                    .store()
                    .user_by_email(&keys::normalise_email(login))
                    .await?
                    .filter(|u| u.joomla_id.is_none());
                if own.is_none() {
                    return Err(e);
                }
            }
        }
        let user = self
            .store()
            .user_by_email(&keys::normalise_email(login))
            .await?
            // A mirrored user's password is the site's; depot's copy (if any) does not count.
            .filter(|u| u.joomla_id.is_none());
        let hash = user
            .as_ref()
            .and_then(|u| u.password_hash.clone())
            .unwrap_or_else(|| dummy_hash().to_string());
        let candidate = password.to_string();
        let ok = tokio::task::spawn_blocking(move || verify_password(&candidate, &hash))
            .await
            .unwrap_or(false);
        Ok(user.filter(|u| ok && u.password_hash.is_some()))
    }

    /// Whether `login` may name an account: an address, or with a Joomla source also a Joomla
    /// username (at most 150 characters there, no control characters).
    pub(crate) fn plausible_login(&self, login: &str) -> bool {
        valid_email(login)
            || (self.settings().joomla.is_some()
                && !login.is_empty()
                && login.chars().count() <= 150
                && !login.chars().any(char::is_control))
    }
}

/// The rule every new password meets.
pub(crate) fn check_password(password: &str) -> ServiceResult<()> {
    if password.chars().count() < 8 || password.len() > MAX_PASSWORD {
        return Err(ServiceError::invalid(
            "bad_password",
            "a password is 8 to 1024 bytes long (at least 8 characters)",
        ));
    }
    Ok(())
}

impl Depot {
    pub(crate) async fn package_group_named(&self, name: &str) -> ServiceResult<PackageGroupRow> {
        self.store()
            .package_group_by_name(name)
            .await?
            .ok_or_else(|| ServiceError::refused(Refusal::GroupNotFound))
    }

    /// `validate`: whether `email` + `key` would download the group's packages now.
    pub async fn validate_key(
        &self,
        group: &str,
        email: Option<String>,
        key: Option<String>,
        client_ip: &str,
    ) -> ServiceResult<()> {
        let group = self.package_group_named(group).await?;
        self.rate_limit(
            &format!("validate-ip:{client_ip}"),
            VALIDATE_PER_IP,
            AUTH_WINDOW,
        )
        .await?;
        let grant = self
            .identify(&group, &Credentials::EmailKey { email, key })
            .await?;
        self.entitle(&group, grant.user_id, self.now_ms()).await
    }

    /// `keybyauth`: the jBackend key of an account that proves its password and is entitled.
    pub async fn key_by_auth(
        &self,
        group: &str,
        username: Option<&str>,
        password: Option<&str>,
        client_ip: &str,
    ) -> ServiceResult<IssuedKey> {
        let group = self.package_group_named(group).await?;
        let username = username.map(str::trim).filter(|u| !u.is_empty());
        let username = username.ok_or_else(|| ServiceError::refused(Refusal::EmailNotSpecified))?;
        let password = password
            .filter(|p| !p.is_empty())
            .ok_or_else(|| ServiceError::refused(Refusal::AuthenticationFailed))?;
        if !self.plausible_login(username) || password.len() > MAX_PASSWORD {
            return Err(ServiceError::refused(Refusal::BadRequest));
        }
        let login = keys::normalise_email(username);
        self.rate_limit(&format!("auth-ip:{client_ip}"), AUTH_PER_IP, AUTH_WINDOW)
            .await?;
        self.rate_limit(
            &format!("auth-account:{login}"),
            AUTH_PER_ACCOUNT,
            AUTH_WINDOW,
        )
        .await?;
        let user = self
            .user_by_password(username.trim(), password)
            .await?
            .ok_or_else(|| ServiceError::refused(Refusal::AuthenticationFailed))?;
        let email = user.email.clone();
        self.entitle(&group, user.id, self.now_ms()).await?;
        let version = self.store().jbackend_key_version(user.id, group.id).await?;
        let key = keys::jbackend_key(
            self.settings().secret.expose(),
            &group.seed,
            &email,
            version,
        );
        Ok(IssuedKey {
            status: "ok".into(),
            email,
            key,
        })
    }

    /// Sets an account's password (Argon2id, off the async runtime).
    pub async fn set_password(&self, user_id: i64, password: &str) -> ServiceResult<()> {
        check_password(password)?;
        let password = password.to_string();
        let hash = tokio::task::spawn_blocking(move || {
            Argon2::default()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
        })
        .await
        .map_err(|e| ServiceError::Io(std::io::Error::other(e)))?
        .map_err(|e| ServiceError::Io(std::io::Error::other(e.to_string())))?;
        if !self.store().set_password_hash(user_id, &hash).await? {
            return Err(ServiceError::NotFound { what: "user" });
        }
        Ok(())
    }
}
