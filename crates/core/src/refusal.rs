//! Why a download or a jBackend key request was refused: the `REL_…` codes of `docs/product.md`
//! §4, each with its HTTP status and default description in this one place. Installed sites and
//! vendors' scripts match on the codes, so their spelling is a public contract.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// `REL_ENS`: no e-mail (or no credentials at all).
    EmailNotSpecified,
    /// `REL_KNS`: an e-mail without a key.
    KeyNotSpecified,
    /// `REL_BRQ`: malformed input (bad e-mail syntax, oversized or undecodable parameters).
    BadRequest,
    /// `REL_INK`: a key that is unknown, revoked, or not the e-mail's.
    InvalidKey,
    /// `REL_AUF`: `keybyauth` with a wrong password or an unknown account.
    AuthenticationFailed,
    /// `REL_NAU`: no membership in an allowed group.
    NotAuthorised,
    /// `REL_EXP`: the subscription ended before this release.
    Expired,
    /// `REL_PNF`: no such package (or not published).
    PackageNotFound,
    /// `REL_GNF`: no such package group.
    GroupNotFound,
    /// `REL_RLM`: too many requests; the answer carries `Retry-After`.
    RateLimited,
    /// `REL_ERR`: the server failed; the cause is in its log, not in the answer.
    Internal,
    /// `REL_UNA`: the database is away for a moment (an outage, a full disk); the answer carries
    /// `Retry-After`. An extension of the contract's table: Joomla shows the description.
    Unavailable,
}

impl Refusal {
    pub const ALL: [Refusal; 12] = [
        Refusal::EmailNotSpecified,
        Refusal::KeyNotSpecified,
        Refusal::BadRequest,
        Refusal::InvalidKey,
        Refusal::AuthenticationFailed,
        Refusal::NotAuthorised,
        Refusal::Expired,
        Refusal::PackageNotFound,
        Refusal::GroupNotFound,
        Refusal::RateLimited,
        Refusal::Internal,
        Refusal::Unavailable,
    ];

    /// The code clients match on.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::EmailNotSpecified => "REL_ENS",
            Refusal::KeyNotSpecified => "REL_KNS",
            Refusal::BadRequest => "REL_BRQ",
            Refusal::InvalidKey => "REL_INK",
            Refusal::AuthenticationFailed => "REL_AUF",
            Refusal::NotAuthorised => "REL_NAU",
            Refusal::Expired => "REL_EXP",
            Refusal::PackageNotFound => "REL_PNF",
            Refusal::GroupNotFound => "REL_GNF",
            Refusal::RateLimited => "REL_RLM",
            Refusal::Internal => "REL_ERR",
            Refusal::Unavailable => "REL_UNA",
        }
    }

    /// The HTTP status the refusal is answered with; never 200, or Joomla would save the JSON
    /// as the package.
    pub fn http_status(self) -> u16 {
        match self {
            Refusal::EmailNotSpecified | Refusal::KeyNotSpecified | Refusal::BadRequest => 400,
            Refusal::InvalidKey | Refusal::AuthenticationFailed => 401,
            Refusal::NotAuthorised | Refusal::Expired => 403,
            Refusal::PackageNotFound | Refusal::GroupNotFound => 404,
            Refusal::RateLimited => 429,
            Refusal::Internal => 500,
            Refusal::Unavailable => 503,
        }
    }

    /// The description given when the use case has nothing more specific to say.
    pub fn description(self) -> &'static str {
        match self {
            Refusal::EmailNotSpecified => "Email not specified",
            Refusal::KeyNotSpecified => "Key not specified",
            Refusal::BadRequest => "Malformed request",
            Refusal::InvalidKey => "Invalid key",
            Refusal::AuthenticationFailed => "Authentication failed",
            Refusal::NotAuthorised => "Not authorised",
            Refusal::Expired => "Subscription expired",
            Refusal::PackageNotFound => "Package not found",
            Refusal::GroupNotFound => "Package group not found",
            Refusal::RateLimited => "Too many requests",
            Refusal::Internal => "Internal error",
            Refusal::Unavailable => "Temporarily unavailable; try again in a few seconds",
        }
    }

    /// The refusal a stored code names (the download log keeps codes as text).
    pub fn from_code(code: &str) -> Option<Refusal> {
        Refusal::ALL.into_iter().find(|r| r.code() == code)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::Refusal;

    /// The contract's table (docs/product.md §4), written out rather than derived, so that a changed
    /// code or status fails here.
    #[test]
    fn codes_and_statuses_are_the_contract() {
        let table = [
            ("REL_ENS", 400),
            ("REL_KNS", 400),
            ("REL_BRQ", 400),
            ("REL_INK", 401),
            ("REL_AUF", 401),
            ("REL_NAU", 403),
            ("REL_EXP", 403),
            ("REL_PNF", 404),
            ("REL_GNF", 404),
            ("REL_RLM", 429),
            ("REL_ERR", 500),
            ("REL_UNA", 503),
        ];
        assert_eq!(table.len(), Refusal::ALL.len());
        for (code, status) in table {
            let refusal = Refusal::from_code(code).expect(code);
            assert_eq!(refusal.code(), code);
            assert_eq!(refusal.http_status(), status, "{code}");
            assert_eq!(refusal.to_string(), code);
        }
        assert_eq!(Refusal::from_code("REL_XYZ"), None);
        assert_eq!(
            Refusal::EmailNotSpecified.description(),
            "Email not specified"
        );
    }
}
