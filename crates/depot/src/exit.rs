//! The command line's exit codes, by class of failure, so that a script can tell "fix the
//! command" from "fix the token" from "try again later" (README, "Exit codes"):
//!
//! | code | class |
//! |---|---|
//! | 0 | success |
//! | 1 | any other failure: a local file, the configuration, the database |
//! | 2 | usage: a wrong argument, or a request the server refused as invalid (400, 413, 422) |
//! | 3 | authentication or permission: no token, a refused token, a scope that does not allow it (401, 403) |
//! | 4 | not found (404) |
//! | 5 | conflict: it exists already, or contradicts what exists (409) |
//! | 6 | the server or the network: unreachable, a timeout, a 5xx, a rate limit (429) |

use std::fmt;

pub const SUCCESS: u8 = 0;
pub const FAILURE: u8 = 1;

/// A failure's class, and its exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Usage = 2,
    Auth = 3,
    NotFound = 4,
    Conflict = 5,
    Unavailable = 6,
}

impl Class {
    /// The class of an HTTP refusal; `None` for a status that is no failure's.
    pub fn of_status(status: u16) -> Option<Class> {
        match status {
            400 | 413 | 415 | 422 => Some(Class::Usage),
            401 | 403 => Some(Class::Auth),
            404 | 410 => Some(Class::NotFound),
            409 => Some(Class::Conflict),
            429 | 500..=599 => Some(Class::Unavailable),
            _ => None,
        }
    }
}

/// An error that knows its class; the message is the whole story, for the person reading it.
#[derive(Debug)]
pub struct Classified {
    pub class: Class,
    pub message: String,
}

impl fmt::Display for Classified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Classified {}

/// An error of class `class`.
pub fn failure(class: Class, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Classified {
        class,
        message: message.into(),
    })
}

/// The exit code for `e`: the class of the first classified error in its chain, else 1.
pub fn code(e: &anyhow::Error) -> u8 {
    e.chain()
        .find_map(|c| c.downcast_ref::<Classified>())
        .map_or(FAILURE, |c| c.class as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_class_survives_context() {
        let e = failure(Class::Conflict, "taken").context("publishing");
        assert_eq!(code(&e), 5);
        assert_eq!(code(&anyhow::anyhow!("a local file")), 1);
        assert_eq!(Class::of_status(403), Some(Class::Auth));
        assert_eq!(Class::of_status(503), Some(Class::Unavailable));
        assert_eq!(Class::of_status(302), None);
    }
}
