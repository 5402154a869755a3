//! API tokens: random, shown once, stored only as a hash, scoped.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use depot_store::ApiTokenRow;

use crate::Actor;
use crate::input::rfc3339;
use crate::{Depot, ServiceError, ServiceResult};

pub use depot_api::TokenView;

const PREFIX: &str = "depot_";

/// What a token may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Everything.
    Admin,
    /// Publish releases of the listed extensions (all when `None`), and read.
    Publish(Option<Vec<String>>),
    /// Read only.
    Read,
}

impl Scope {
    pub fn parse(scope: &str, extensions: Option<&str>) -> Result<Scope, String> {
        let list = extensions
            .map(|e| {
                e.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
            })
            .filter(|l| !l.is_empty());
        match (scope, list) {
            ("admin", None) => Ok(Scope::Admin),
            ("read", None) => Ok(Scope::Read),
            ("publish", list) => Ok(Scope::Publish(list)),
            ("admin" | "read", Some(_)) => {
                Err("only publish tokens can be limited to extensions".into())
            }
            (other, _) => Err(format!(
                "unknown scope {other:?}: use admin, publish or read"
            )),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Scope::Admin => "admin",
            Scope::Publish(_) => "publish",
            Scope::Read => "read",
        }
    }
}

fn token_view(row: ApiTokenRow) -> TokenView {
    TokenView {
        id: row.id,
        name: row.name,
        scope: row.scope,
        extensions: row
            .extensions
            .map(|e| e.split(',').map(str::to_string).collect()),
        created_at: rfc3339(row.created_at),
        last_used_at: row.last_used_at.map(rfc3339),
        revoked_at: row.revoked_at.map(rfc3339),
    }
}

/// The caller behind a valid token.
#[derive(Clone, Debug)]
pub struct Principal {
    pub token_id: i64,
    pub name: String,
    pub scope: Scope,
}

/// A new random token: `depot_` and 256 random bits, URL-safe.
pub fn generate_token() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a token. Tokens carry 256 random bits, so a fast hash is enough; the
/// lookup by hash means the token itself is never compared or stored.
pub fn hash_token(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

impl Depot {
    /// On the very first start there is no way in yet: creates an admin token, to be printed
    /// once. `None` once any token exists.
    pub async fn first_start_token(&self) -> ServiceResult<Option<String>> {
        if self.store().count_api_tokens().await? > 0 {
            return Ok(None);
        }
        let actor = Actor::system("first start");
        let (_, token) = self
            .create_token(&actor, "first-start admin", &Scope::Admin)
            .await?;
        Ok(Some(token))
    }

    /// Creates a token; returns its row and the token, which is shown this once.
    pub async fn create_token(
        &self,
        actor: &Actor,
        name: &str,
        scope: &Scope,
    ) -> ServiceResult<(TokenView, String)> {
        actor.require_admin()?;
        let name = name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(ServiceError::invalid(
                "bad_token_name",
                "a token name is 1 to 100 characters",
            ));
        }
        let extensions = match scope {
            Scope::Publish(Some(list)) => Some(list.join(",")),
            _ => None,
        };
        let token = generate_token();
        let row = self
            .store()
            .create_api_token(
                name,
                scope.name(),
                extensions.as_deref(),
                &hash_token(&token),
            )
            .await?;
        let view = token_view(row);
        let detail =
            serde_json::json!({"id": view.id, "scope": view.scope, "extensions": view.extensions});
        self.audit(actor, "token.create", &view.name, detail)
            .await?;
        Ok((view, token))
    }

    /// Every token (never the tokens themselves: only their hashes are kept).
    pub async fn list_tokens(&self, actor: &Actor) -> ServiceResult<Vec<TokenView>> {
        actor.require_admin()?;
        Ok(self
            .store()
            .api_tokens()
            .await?
            .into_iter()
            .map(token_view)
            .collect())
    }

    /// Revokes a token; requests carrying it are refused from then on.
    pub async fn revoke_token(&self, actor: &Actor, id: i64) -> ServiceResult<TokenView> {
        actor.require_admin()?;
        let row = self
            .store()
            .api_token(id)
            .await?
            .ok_or(ServiceError::NotFound { what: "token" })?;
        if !self.store().revoke_api_token(id).await? {
            return Err(ServiceError::Conflict(format!(
                "token {:?} is already revoked",
                row.name
            )));
        }
        self.audit(
            actor,
            "token.revoke",
            &row.name,
            serde_json::json!({"id": id}),
        )
        .await?;
        let row = self
            .store()
            .api_token(id)
            .await?
            .ok_or(ServiceError::NotFound { what: "token" })?;
        Ok(token_view(row))
    }

    /// The principal behind a bearer token.
    pub async fn authenticate(&self, token: &str) -> ServiceResult<Principal> {
        let token = token.trim();
        if !token.starts_with(PREFIX) || token.len() > 200 {
            return Err(ServiceError::Unauthenticated);
        }
        let row = self
            .store()
            .api_token_by_hash(&hash_token(token))
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        let scope = Scope::parse(&row.scope, row.extensions.as_deref())
            .map_err(|_| ServiceError::Unauthenticated)?;
        if let Err(e) = self.store().touch_api_token(row.id).await {
            tracing::warn!(error = %e, "could not record token use");
        }
        Ok(Principal {
            token_id: row.id,
            name: row.name,
            scope,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_url_safe_and_distinct() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX));
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
        );
        assert_ne!(hash_token(&a), a);
    }

    #[test]
    fn scopes() {
        assert_eq!(Scope::parse("admin", None).unwrap(), Scope::Admin);
        assert_eq!(
            Scope::parse("publish", Some("com_a, com_b")).unwrap(),
            Scope::Publish(Some(vec!["com_a".into(), "com_b".into()]))
        );
        assert!(Scope::parse("admin", Some("com_a")).is_err());
        assert!(Scope::parse("root", None).is_err());
    }
}
