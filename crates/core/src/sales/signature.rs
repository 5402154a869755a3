//! Webhook signatures in the style Stripe made common: a header with a Unix timestamp and one
//! or more hex HMAC-SHA256 signatures over `timestamp` + separator + raw body. Stripe writes
//! `t=…,v1=…` (`.` before the body), Paddle `ts=…;h1=…` (`:`); depot's own outgoing webhooks
//! use Stripe's form.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Why a signature was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the signature header is missing or malformed")]
    Malformed,
    #[error("the signature's timestamp is {0} s away from now, more than allowed")]
    Stale(i64),
    #[error("no signature matches the body")]
    Mismatch,
}

/// How one provider writes its header.
pub(super) struct Scheme {
    pair_separator: char,
    timestamp: &'static str,
    signature: &'static str,
    body_separator: &'static [u8],
}

impl Scheme {
    pub(super) const STRIPE: Scheme = Scheme {
        pair_separator: ',',
        timestamp: "t",
        signature: "v1",
        body_separator: b".",
    };
    pub(super) const PADDLE: Scheme = Scheme {
        pair_separator: ';',
        timestamp: "ts",
        signature: "h1",
        body_separator: b":",
    };

    pub(super) fn verify(
        &self,
        header: &str,
        body: &[u8],
        secret: &[u8],
        now_secs: i64,
        tolerance_secs: i64,
    ) -> Result<(), SignatureError> {
        let mut timestamp = None;
        let mut signatures = Vec::new();
        for pair in header.split(self.pair_separator) {
            let Some((k, v)) = pair.trim().split_once('=') else {
                continue;
            };
            if k == self.timestamp {
                timestamp = Some(v);
            } else if k == self.signature {
                // Several during a secret's rotation; an unreadable one matches nothing.
                if let Ok(sig) = hex::decode(v) {
                    signatures.push(sig);
                }
            }
        }
        let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
        let at: i64 = timestamp.parse().map_err(|_| SignatureError::Malformed)?;
        if signatures.is_empty() {
            return Err(SignatureError::Malformed);
        }
        let expected = mac(secret, &[timestamp.as_bytes(), self.body_separator, body]);
        // Every candidate is compared in constant time; which one matched does not matter.
        let matched = signatures.iter().fold(subtle::Choice::from(0), |any, sig| {
            any | expected.ct_eq(sig)
        });
        if !bool::from(matched) {
            return Err(SignatureError::Mismatch);
        }
        let skew = now_secs.saturating_sub(at).saturating_abs();
        if skew > tolerance_secs {
            return Err(SignatureError::Stale(skew));
        }
        Ok(())
    }
}

fn mac(secret: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

/// The hex HMAC-SHA256 of `timestamp.body` with `secret`: the `v1` of a Stripe-style header
/// (`t={timestamp},v1={this}`).
pub fn sign_hex(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    hex::encode(mac(secret, &[timestamp.to_string().as_bytes(), b".", body]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test";

    #[test]
    fn stripe_headers_verify() {
        let body = br#"{"id":"evt_1"}"#;
        let sig = sign_hex(SECRET, 1_700_000_000, body);
        let header = format!("t=1700000000,v1={sig},v0=ignored");
        let check = |h: &str, b: &[u8], now| Scheme::STRIPE.verify(h, b, SECRET, now, 300);
        assert_eq!(check(&header, body, 1_700_000_100), Ok(()));
        // Rotation: an old signature beside the right one.
        let two = format!("t=1700000000,v1={},v1={sig}", "00".repeat(32));
        assert_eq!(check(&two, body, 1_700_000_000), Ok(()));
        assert_eq!(
            check(&header, b"{\"id\":\"evt_2\"}", 1_700_000_000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(&header, body, 1_700_000_301),
            Err(SignatureError::Stale(301))
        );
        for bad in ["", "t=x,v1=00", "v1=00", "t=1700000000", "garbage"] {
            assert_eq!(
                check(bad, body, 1_700_000_000),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn paddle_headers_verify() {
        let body = br#"{"event_id":"evt_1"}"#;
        let sig = hex::encode(mac(SECRET, &[b"1700000000", b":", body]));
        let header = format!("ts=1700000000;h1={sig}");
        let check = |h: &str, now| Scheme::PADDLE.verify(h, body, SECRET, now, 5);
        assert_eq!(check(&header, 1_700_000_004), Ok(()));
        assert_eq!(check(&header, 1_700_000_006), Err(SignatureError::Stale(6)));
        // Stripe's separator is not Paddle's.
        let stripe = format!("ts=1700000000;h1={}", sign_hex(SECRET, 1_700_000_000, body));
        assert_eq!(check(&stripe, 1_700_000_000), Err(SignatureError::Mismatch));
    }
}
