//! What a feed request's `User-Agent` says about the site that sent it.

/// The Joomla version in a updater's user agent (`Mozilla/5.0 Joomla!/5.2.1 Joomla`), reduced to
/// digits and dots so that a hostile header cannot grow the statistics table.
/// Borrowed from the header: this runs on every feed request.
pub fn joomla_version(user_agent: &str) -> Option<&str> {
    let start = user_agent.find("Joomla!/")? + "Joomla!/".len();
    let rest = &user_agent[start..];
    let len = rest
        .bytes()
        .take(16)
        .take_while(|b| b.is_ascii_digit() || *b == b'.')
        .count();
    let v = rest[..len].trim_end_matches('.');
    (!v.is_empty() && v.starts_with(|c: char| c.is_ascii_digit())).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_updaters_user_agent() {
        assert_eq!(
            joomla_version("Mozilla/5.0 Joomla!/5.2.1 Joomla"),
            Some("5.2.1")
        );
        assert_eq!(
            joomla_version("Mozilla/5.0 Joomla!/4.4.14-dev Joomla"),
            Some("4.4.14")
        );
        assert_eq!(joomla_version("curl/8.0"), None);
        assert_eq!(joomla_version("Joomla!/"), None);
        assert_eq!(joomla_version("Joomla!/.5"), None);
        assert_eq!(
            joomla_version(&format!("Joomla!/{}", "9".repeat(100))).map(|v| v.len()),
            Some(16)
        );
    }
}
