//! Who is acting, and what they may do. An [`Actor`] is made once, from an API token, a console
//! or account session, or a server command, and carries its authority; every use case that
//! changes or reveals something asks it (`require_admin`, `require_publish`, `require_user`), so
//! a new door (a handler, a page, a command) cannot forget a check: it has nothing to check with.

use crate::tokens::{Principal, Scope};
use crate::{ServiceError, ServiceResult};

/// Who is acting: named in the audit log, and allowed what its authority allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    kind: &'static str,
    id: Option<i64>,
    name: String,
    authority: Authority,
}

/// What an actor may do.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Authority {
    /// Everything: an admin token, a console user (always an administrator), a server command.
    Admin,
    /// A token of this scope: publish (some extensions, or all) or read.
    Token(Scope),
    /// A customer on the account pages: their own keys, nothing else.
    Own(i64),
}

impl Actor {
    /// A caller of the admin API, with its token's scope.
    pub fn token(principal: &Principal) -> Actor {
        Actor {
            kind: "token",
            id: Some(principal.token_id),
            name: principal.name.clone(),
            authority: match principal.scope {
                Scope::Admin => Authority::Admin,
                ref other => Authority::Token(other.clone()),
            },
        }
    }

    /// A signed-in console user: the console admits administrators only.
    pub(crate) fn console_user(id: i64, email: &str) -> Actor {
        Actor {
            kind: "user",
            id: Some(id),
            name: email.to_string(),
            authority: Authority::Admin,
        }
    }

    /// A customer signed in to the account pages.
    pub(crate) fn customer(id: i64, email: &str) -> Actor {
        Actor {
            kind: "user",
            id: Some(id),
            name: email.to_string(),
            authority: Authority::Own(id),
        }
    }

    /// A command run on the server itself (`depot import`, `depot token create`, first start).
    pub fn system(what: &str) -> Actor {
        Actor {
            kind: "system",
            id: None,
            name: what.to_string(),
            authority: Authority::Admin,
        }
    }

    /// A payment provider's webhook (`/hooks/stripe`): its changes are audited under its name.
    pub(crate) fn provider(provider: depot_core::sales::Provider) -> Actor {
        Actor {
            kind: "provider",
            id: None,
            name: provider.as_str().to_string(),
            authority: Authority::Admin,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn kind(&self) -> &'static str {
        self.kind
    }

    pub(crate) fn id(&self) -> Option<i64> {
        self.id
    }

    /// Users, groups, memberships, package groups, keys, tokens, extensions' settings, and what
    /// reveals secrets (keys, tokens) or the history (the audit log).
    pub(crate) fn require_admin(&self) -> ServiceResult<()> {
        match &self.authority {
            Authority::Admin => Ok(()),
            Authority::Token(scope) => Err(ServiceError::Forbidden(format!(
                "token {:?} ({} scope) may not change users, groups or keys: use an admin token",
                self.name,
                scope.name()
            ))),
            Authority::Own(_) => Err(ServiceError::Forbidden(
                "an account may change only its own keys".into(),
            )),
        }
    }

    /// Releases of `extension`: upload, publish, yank, notes, deleting a draft.
    pub(crate) fn require_publish(&self, extension: &str, what: &str) -> ServiceResult<()> {
        let allowed = match &self.authority {
            Authority::Admin => true,
            Authority::Token(Scope::Publish(None)) => true,
            Authority::Token(Scope::Publish(Some(list))) => list.iter().any(|e| e == extension),
            Authority::Token(_) | Authority::Own(_) => false,
        };
        if allowed {
            return Ok(());
        }
        Err(ServiceError::Forbidden(format!(
            "token {:?} may not {what} {extension}",
            self.name
        )))
    }

    /// People's data: users, their memberships, the download log (client addresses and user
    /// agents). An admin or a `read` token; a `publish` token is for its extensions only.
    pub(crate) fn require_reader(&self) -> ServiceResult<()> {
        match &self.authority {
            Authority::Admin | Authority::Token(Scope::Read) => Ok(()),
            Authority::Token(scope) => Err(ServiceError::Forbidden(format!(
                "token {:?} ({} scope) may not read customers, memberships or the download \
                 log: use a read or an admin token",
                self.name,
                scope.name()
            ))),
            Authority::Own(_) => Err(ServiceError::Forbidden(
                "an account may read only its own data".into(),
            )),
        }
    }

    /// One user's data: the user themselves (on the account pages), or a reader.
    pub(crate) fn require_user_reader(&self, user_id: i64) -> ServiceResult<()> {
        match self.authority {
            Authority::Own(own) if own == user_id => Ok(()),
            Authority::Own(_) => Err(ServiceError::NotFound { what: "user" }),
            _ => self.require_reader(),
        }
    }

    /// Whether the catalogue entry of `extension` is the actor's to see: everyone's, except for
    /// a `publish` token limited to other extensions.
    pub(crate) fn may_see_extension(&self, extension: &str) -> bool {
        match &self.authority {
            Authority::Token(Scope::Publish(Some(list))) => list.iter().any(|e| e == extension),
            _ => true,
        }
    }

    pub(crate) fn require_catalogue(&self, extension: &str) -> ServiceResult<()> {
        if self.may_see_extension(extension) {
            return Ok(());
        }
        Err(ServiceError::Forbidden(format!(
            "token {:?} may not read {extension}: it is limited to other extensions",
            self.name
        )))
    }

    /// A user's own keys: the user themselves (on the account pages) or an administrator.
    pub(crate) fn require_user(&self, user_id: i64) -> ServiceResult<()> {
        match self.authority {
            Authority::Own(own) if own == user_id => Ok(()),
            // Another customer's key looks like a key that does not exist.
            Authority::Own(_) => Err(ServiceError::NotFound {
                what: "download key",
            }),
            _ => self.require_admin(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(scope: Scope) -> Actor {
        Actor::token(&Principal {
            token_id: 1,
            name: "ci".into(),
            scope,
        })
    }

    #[test]
    fn each_authority_allows_what_it_says_and_no_more() {
        let admin = token(Scope::Admin);
        let all = token(Scope::Publish(None));
        let one = token(Scope::Publish(Some(vec!["com_a".into()])));
        let read = token(Scope::Read);
        let customer = Actor::customer(7, "c@example.com");
        for actor in [
            &admin,
            &Actor::console_user(1, "a@x.org"),
            &Actor::system("test"),
        ] {
            assert!(actor.require_admin().is_ok());
            assert!(actor.require_publish("com_b", "publish").is_ok());
            assert!(actor.require_user(7).is_ok());
        }
        for actor in [&all, &one, &read, &customer] {
            assert!(actor.require_admin().is_err());
        }
        assert!(all.require_publish("com_b", "publish").is_ok());
        assert!(one.require_publish("com_a", "publish").is_ok());
        assert!(one.require_publish("com_b", "publish").is_err());
        assert!(read.require_publish("com_a", "publish").is_err());
        assert!(customer.require_publish("com_a", "publish").is_err());
        assert!(customer.require_user(7).is_ok());
        // Another customer's key looks like no key at all.
        assert!(matches!(
            customer.require_user(8),
            Err(ServiceError::NotFound { .. })
        ));
        assert!(one.require_user(7).is_err());
    }

    #[test]
    fn the_audit_log_names_each_kind_of_actor() {
        let t = token(Scope::Read);
        assert_eq!((t.kind(), t.id(), t.name()), ("token", Some(1), "ci"));
        let u = Actor::console_user(4, "a@example.com");
        assert_eq!(
            (u.kind(), u.id(), u.name()),
            ("user", Some(4), "a@example.com")
        );
        let c = Actor::customer(7, "c@example.com");
        assert_eq!(
            (c.kind(), c.id(), c.name()),
            ("user", Some(7), "c@example.com")
        );
        let s = Actor::system("depot import");
        assert_eq!(
            (s.kind(), s.id(), s.name()),
            ("system", None, "depot import")
        );
    }
}
