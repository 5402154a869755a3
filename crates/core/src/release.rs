//! Where a release stands: a draft (invisible), published (in feeds and downloads) or yanked
//! (withdrawn from both, but never deleted, since sites may have it installed).

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReleaseState {
    Draft,
    Published,
    Yanked,
}

impl ReleaseState {
    pub const ALL: [ReleaseState; 3] = [
        ReleaseState::Draft,
        ReleaseState::Published,
        ReleaseState::Yanked,
    ];

    /// The word in the database, the API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseState::Draft => "draft",
            ReleaseState::Published => "published",
            ReleaseState::Yanked => "yanked",
        }
    }

    /// What a change of state is recorded as in the audit log, or why it is refused. A published
    /// release never becomes a draft again (sites may have installed it), and a draft is
    /// published or deleted, not yanked.
    pub fn transition(self, to: ReleaseState) -> Result<Option<&'static str>, TransitionError> {
        match (self, to) {
            (from, to) if from == to => Ok(None),
            (ReleaseState::Draft | ReleaseState::Yanked, ReleaseState::Published) => {
                Ok(Some("release.publish"))
            }
            (ReleaseState::Published, ReleaseState::Yanked) => Ok(Some("release.yank")),
            (_, ReleaseState::Draft) => Err(TransitionError::BackToDraft),
            (ReleaseState::Draft, ReleaseState::Yanked) => Err(TransitionError::YankDraft),
            _ => unreachable!("every other pair is equal"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error(
        "a release that has been published cannot become a draft again (sites may have it); \
         yank it or publish a new version"
    )]
    BackToDraft,
    #[error("only a published release can be yanked")]
    YankDraft,
}

impl fmt::Display for ReleaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown release state {0:?}: use draft, published or yanked")]
pub struct UnknownState(pub String);

impl FromStr for ReleaseState {
    type Err = UnknownState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReleaseState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownState(s.to_string()))
    }
}

impl TryFrom<String> for ReleaseState {
    type Error = UnknownState;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::ReleaseState::{Draft, Published, Yanked};
    use super::*;

    #[test]
    fn words_round_trip() {
        for (state, word) in [
            (Draft, "draft"),
            (Published, "published"),
            (Yanked, "yanked"),
        ] {
            assert_eq!(state.as_str(), word);
            assert_eq!(word.parse::<ReleaseState>(), Ok(state));
        }
        assert!("Published".parse::<ReleaseState>().is_err());
    }

    #[test]
    fn transitions() {
        assert_eq!(Draft.transition(Published), Ok(Some("release.publish")));
        assert_eq!(Yanked.transition(Published), Ok(Some("release.publish")));
        assert_eq!(Published.transition(Yanked), Ok(Some("release.yank")));
        assert_eq!(Published.transition(Published), Ok(None));
        assert_eq!(Draft.transition(Draft), Ok(None));
        assert_eq!(
            Published.transition(Draft),
            Err(TransitionError::BackToDraft)
        );
        assert_eq!(Yanked.transition(Draft), Err(TransitionError::BackToDraft));
        assert_eq!(Draft.transition(Yanked), Err(TransitionError::YankDraft));
    }

    #[test]
    fn display_is_the_stored_word() {
        for state in [
            ReleaseState::Draft,
            ReleaseState::Published,
            ReleaseState::Yanked,
        ] {
            assert_eq!(state.to_string(), state.as_str());
        }
        assert_eq!(ReleaseState::Yanked.to_string(), "yanked");
    }
}
