//! depot's own webhooks: which events a vendor's endpoint can subscribe to, which audited
//! change is which event, and the signature receivers check.
//!
//! The signature is Stripe's scheme, which receivers' libraries already know: the header
//! `Depot-Signature: t={unix seconds},v1={hex HMAC-SHA256 of "{t}.{body}" with the endpoint's
//! secret}`. A receiver recomputes it over the raw body, compares in constant time and refuses
//! a timestamp far from its clock.

use crate::sales::sign_hex;

/// The header a delivery's signature travels in.
pub const SIGNATURE_HEADER: &str = "Depot-Signature";

/// Every event type an endpoint can subscribe to.
pub const EVENT_TYPES: [&str; 10] = [
    "release.published",
    "release.yanked",
    "membership.started",
    "membership.extended",
    "membership.ended",
    "user.created",
    "key.created",
    "key.revoked",
    "download.refused",
    "key.suspected_shared",
];

/// The event an audited change is, if it is one.
pub fn event_for_audit(action: &str) -> Option<&'static str> {
    Some(match action {
        "release.publish" => "release.published",
        "release.yank" => "release.yanked",
        "membership.add" => "membership.started",
        "membership.extend" => "membership.extended",
        "membership.end" => "membership.ended",
        "user.create" => "user.created",
        "download_key.create" => "key.created",
        "download_key.revoke" => "key.revoked",
        "key.suspected_shared" => "key.suspected_shared",
        _ => return None,
    })
}

/// An endpoint's subscription as typed: `*` (everything) or a comma-separated list of event
/// types. Returns the normalised list (`*`, or the types in [`EVENT_TYPES`] order).
pub fn parse_event_types(text: &str) -> Result<String, String> {
    let wanted: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    if wanted.is_empty() {
        return Err("name at least one event type, or * for all".into());
    }
    if wanted.contains(&"*") {
        return Ok("*".into());
    }
    if let Some(unknown) = wanted.iter().find(|t| !EVENT_TYPES.contains(t)) {
        return Err(format!(
            "{unknown:?} is not an event type: {}",
            EVENT_TYPES.join(", ")
        ));
    }
    Ok(EVENT_TYPES
        .iter()
        .filter(|t| wanted.contains(t))
        .copied()
        .collect::<Vec<_>>()
        .join(","))
}

/// Whether a subscription (as [`parse_event_types`] made it) includes `event_type`.
pub fn subscribes(subscription: &str, event_type: &str) -> bool {
    subscription == "*" || subscription.split(',').any(|t| t == event_type)
}

/// The `Depot-Signature` value of `body` sent at `timestamp`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", sign_hex(secret, timestamp, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_are_checked_and_normalised() {
        assert_eq!(parse_event_types(" * ").as_deref(), Ok("*"));
        assert_eq!(
            parse_event_types("user.created, release.published").as_deref(),
            Ok("release.published,user.created")
        );
        assert!(parse_event_types("release.published,nope").is_err());
        assert!(parse_event_types(" , ").is_err());
        assert!(subscribes("*", "key.created"));
        assert!(subscribes("key.created,key.revoked", "key.revoked"));
        assert!(!subscribes("key.created", "key.revoked"));
    }

    #[test]
    fn every_mapped_action_is_an_event_type() {
        for action in [
            "release.publish",
            "release.yank",
            "membership.add",
            "membership.extend",
            "membership.end",
            "user.create",
            "download_key.create",
            "download_key.revoke",
            "key.suspected_shared",
        ] {
            let event = event_for_audit(action).unwrap();
            assert!(EVENT_TYPES.contains(&event), "{event}");
        }
        assert_eq!(event_for_audit("token.create"), None);
    }

    #[test]
    fn the_signature_is_stripes_scheme() {
        // Pinned: receivers verify with this exact construction.
        assert_eq!(
            signature(b"whsec_abc", 1_700_000_000, b"{}"),
            format!(
                "t=1700000000,v1={}",
                sign_hex(b"whsec_abc", 1_700_000_000, b"{}")
            )
        );
        assert_eq!(
            sign_hex(b"key", 1, b"body"),
            "91b5374b153842ad05b2c4eab9349b8321b14703165bd3fb8b034dfb8be98ae5"
        );
    }
}
