//! Who may download a paid release (docs/product.md §1).
//!
//! A user may download when they are not disabled and hold a membership, in one of the package
//! group's allowed groups, that is active now. A package group may opt into "keep what you paid
//! for": a membership that has ended still grants releases published before it ended.

/// One membership in an allowed group; times in milliseconds since the epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Membership {
    pub valid_from: i64,
    /// `None`: open-ended.
    pub valid_until: Option<i64>,
}

impl Membership {
    fn active_at(&self, t: i64) -> bool {
        self.valid_from <= t && self.valid_until.is_none_or(|until| t < until)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// The seed's rule: an active membership only.
    Active,
    /// Keep what you paid for: releases published before the membership ended stay available.
    KeepReleased,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Active => "active",
            Policy::KeepReleased => "keep-released",
        }
    }

    pub fn parse(s: &str) -> Option<Policy> {
        match s.trim() {
            "active" => Some(Policy::Active),
            "keep-released" => Some(Policy::KeepReleased),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// `REL_NAU`: no membership in an allowed group (or the user is disabled).
    NotAuthorised,
    /// `REL_EXP`: there was a membership, it ended at `ended_at` (the latest end).
    Expired {
        ended_at: i64,
    },
}

/// Decides for one user and one release. `memberships` are those in the package group's
/// allowed groups.
pub fn decide(
    now: i64,
    user_disabled: bool,
    memberships: &[Membership],
    policy: Policy,
    release_published_at: i64,
) -> Decision {
    if user_disabled {
        return Decision::NotAuthorised;
    }
    if memberships.iter().any(|m| m.active_at(now)) {
        return Decision::Allowed;
    }
    let ended: Vec<i64> = memberships
        .iter()
        .filter(|m| m.valid_from <= now)
        .filter_map(|m| m.valid_until)
        .filter(|&until| until <= now)
        .collect();
    if policy == Policy::KeepReleased && ended.iter().any(|&until| release_published_at < until) {
        return Decision::Allowed;
    }
    match ended.into_iter().max() {
        Some(ended_at) => Decision::Expired { ended_at },
        None => Decision::NotAuthorised,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;
    const NOW: i64 = 1_000 * DAY;

    fn m(from: i64, until: Option<i64>) -> Membership {
        Membership {
            valid_from: from,
            valid_until: until,
        }
    }

    #[test]
    fn active_membership_allows() {
        for ms in [
            vec![m(NOW - DAY, None)],
            vec![m(NOW - DAY, Some(NOW + 1))],
            vec![m(NOW, None)],
        ] {
            assert_eq!(
                decide(NOW, false, &ms, Policy::Active, NOW),
                Decision::Allowed
            );
        }
    }

    #[test]
    fn nothing_or_future_or_disabled_is_not_authorised() {
        assert_eq!(
            decide(NOW, false, &[], Policy::Active, NOW),
            Decision::NotAuthorised
        );
        let future = [m(NOW + DAY, None)];
        assert_eq!(
            decide(NOW, false, &future, Policy::KeepReleased, NOW),
            Decision::NotAuthorised
        );
        let active = [m(0, None)];
        assert_eq!(
            decide(NOW, true, &active, Policy::Active, NOW),
            Decision::NotAuthorised
        );
    }

    #[test]
    fn ended_membership_expires_and_names_the_date() {
        let ended = [m(0, Some(NOW - 10 * DAY)), m(0, Some(NOW - 5 * DAY))];
        assert_eq!(
            decide(NOW, false, &ended, Policy::Active, NOW - 20 * DAY),
            Decision::Expired {
                ended_at: NOW - 5 * DAY
            }
        );
        // The end is exclusive: at the instant it ends, the membership no longer grants.
        let ends_now = [m(0, Some(NOW))];
        assert_eq!(
            decide(NOW, false, &ends_now, Policy::Active, 0),
            Decision::Expired { ended_at: NOW }
        );
    }

    #[test]
    fn keep_released_grants_what_was_published_before_the_end() {
        let ended = [m(0, Some(NOW - 5 * DAY))];
        let policy = Policy::KeepReleased;
        assert_eq!(
            decide(NOW, false, &ended, policy, NOW - 6 * DAY),
            Decision::Allowed
        );
        assert_eq!(
            decide(NOW, false, &ended, policy, NOW - 5 * DAY),
            Decision::Expired {
                ended_at: NOW - 5 * DAY
            }
        );
        assert_eq!(
            decide(NOW, false, &ended, policy, NOW - DAY),
            Decision::Expired {
                ended_at: NOW - 5 * DAY
            }
        );
        assert_eq!(Policy::parse("keep-released"), Some(policy));
        assert_eq!(Policy::parse(policy.as_str()), Some(policy));
        assert_eq!(Policy::parse("forever"), None);
    }

    #[test]
    fn policies_parse_from_their_names() {
        for p in [Policy::Active, Policy::KeepReleased] {
            assert_eq!(Policy::parse(p.as_str()), Some(p));
            assert_eq!(Policy::parse(&format!(" {} ", p.as_str())), Some(p));
        }
        assert_eq!(Policy::parse("keep"), None);
    }
}
