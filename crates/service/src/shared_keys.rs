//! Keys that look shared: one subscription's key downloading from more client addresses than
//! one site would use. Flagged for the vendor to look at (the console, `GET
//! /api/v1/reports/shared-keys`, and a `key.suspected_shared` audit entry that other parts can
//! act on); never blocked. An address is what depot sees as the client (after
//! `trusted_proxies`): an IPv4 address, or an IPv6 /64, since one site's IPv6 address changes
//! within its network's /64.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::time::Duration;

use depot_store::AuditFilter;
use serde_json::json;

use crate::input::rfc3339;
use crate::{Actor, Depot, ServiceResult};

pub use depot_api::{SharedKey, SharedKeyQuery};

/// The defaults of `[keys]`.
#[derive(Clone, Debug)]
pub struct SharedKeySettings {
    /// More distinct addresses than this in `window` flag a key.
    pub addresses: u32,
    pub window: Duration,
    /// The admin's opt-in: a flagged key downloads only from the addresses it was flagged
    /// with, until it drops below the threshold.
    pub block: bool,
}

impl Default for SharedKeySettings {
    fn default() -> Self {
        SharedKeySettings {
            addresses: 5,
            window: Duration::from_secs(24 * 3600),
            block: false,
        }
    }
}

/// The flagged keys with the addresses each was seen from, as the last look found them (only
/// kept when blocking is on).
pub(crate) type Flagged = std::sync::RwLock<HashMap<(i64, Option<i64>), BTreeSet<String>>>;

/// How often an instance looks for newly shared keys.
const WATCH_EVERY: Duration = Duration::from_secs(600);

/// The address a download counts under.
fn counted_address(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map(|v4| v4.to_string())
            .unwrap_or_default(),
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_string(),
    }
}

fn subject(key: &SharedKey) -> String {
    match key.key_id {
        Some(id) => format!("download key {id}"),
        None => format!("jBackend key of {}", key.email),
    }
}

impl Depot {
    /// The keys used from more than `addresses` addresses in the last `hours` (the
    /// configuration's defaults when not given), most addresses first.
    pub async fn shared_keys(
        &self,
        actor: &Actor,
        q: SharedKeyQuery,
    ) -> ServiceResult<Vec<SharedKey>> {
        actor.require_reader()?;
        let defaults = &self.settings().shared_keys;
        let addresses = q.addresses.unwrap_or(defaults.addresses);
        let window = q.hours.map_or(defaults.window, |h| {
            Duration::from_secs(u64::from(h) * 3600)
        });
        self.suspected_shared_keys(addresses, window).await
    }

    async fn suspected_shared_keys(
        &self,
        addresses: u32,
        window: Duration,
    ) -> ServiceResult<Vec<SharedKey>> {
        Ok(self
            .suspects(addresses, window)
            .await?
            .into_iter()
            .map(|(key, _)| key)
            .collect())
    }

    /// The suspects with the addresses each was used from.
    async fn suspects(
        &self,
        addresses: u32,
        window: Duration,
    ) -> ServiceResult<Vec<(SharedKey, BTreeSet<String>)>> {
        let since = self.now_ms() - window.as_millis() as i64;
        #[derive(Default)]
        struct Seen {
            addresses: BTreeSet<String>,
            downloads: i64,
            last_at: i64,
        }
        let mut by_key: HashMap<(i64, Option<i64>), Seen> = HashMap::new();
        for row in self.store().key_addresses(since).await? {
            let seen = by_key.entry((row.user_id, row.key_id)).or_default();
            seen.addresses.insert(counted_address(&row.ip));
            seen.downloads += row.downloads;
            seen.last_at = seen.last_at.max(row.last_at);
        }
        let mut out = Vec::new();
        for ((user_id, key_id), seen) in by_key {
            if seen.addresses.len() <= addresses as usize {
                continue;
            }
            let Some(user) = self.store().user(user_id).await? else {
                continue;
            };
            let label = match key_id {
                Some(id) => self.store().download_key(id).await?.map(|k| k.label),
                None => None,
            };
            let key = SharedKey {
                user_id,
                email: user.email,
                key_id,
                label,
                addresses: seen.addresses.len() as u64,
                downloads: seen.downloads.max(0) as u64,
                last_at: rfc3339(seen.last_at),
            };
            out.push((key, seen.addresses));
        }
        out.sort_by(|(a, _), (b, _)| {
            b.addresses
                .cmp(&a.addresses)
                .then(a.user_id.cmp(&b.user_id))
        });
        Ok(out)
    }

    /// Writes a `key.suspected_shared` audit entry for each key newly over the threshold (one
    /// per key per window; two instances looking at the same moment may both write one: the
    /// entry is a notice, not a state), and, with blocking on, remembers the flagged keys and
    /// their addresses. Returns how many were newly flagged.
    pub async fn flag_shared_keys(&self) -> ServiceResult<usize> {
        let settings = self.settings().shared_keys.clone();
        let since = self.now_ms() - settings.window.as_millis() as i64;
        let actor = Actor::system("shared-key watch");
        let mut flagged = 0;
        let suspects = self.suspects(settings.addresses, settings.window).await?;
        self.remember_flagged(&suspects);
        for (key, _) in suspects {
            let subject = subject(&key);
            let filter = AuditFilter {
                action: Some("key.suspected_shared".into()),
                subject: Some(subject.clone()),
                from: Some(since),
                ..AuditFilter::default()
            };
            if !self.store().audit_log(&filter, 1).await?.is_empty() {
                continue;
            }
            self.audit(
                &actor,
                "key.suspected_shared",
                &subject,
                json!({
                    "user": key.email,
                    "addresses": key.addresses,
                    "downloads": key.downloads,
                    "window_hours": settings.window.as_secs() / 3600,
                }),
            )
            .await?;
            // Ids only: the subject of a jBackend key names the customer's e-mail address.
            tracing::warn!(
                user_id = key.user_id,
                key_id = key.key_id,
                addresses = key.addresses,
                "a key looks shared"
            );
            flagged += 1;
        }
        Ok(flagged)
    }
}

impl Depot {
    /// With blocking on, keeps the flagged keys and their addresses for `refuse_if_shared`.
    fn remember_flagged(&self, suspects: &[(SharedKey, BTreeSet<String>)]) {
        if self.settings().shared_keys.block {
            *self.inner.flagged_keys.write().expect("flagged keys") = suspects
                .iter()
                .map(|(k, addresses)| ((k.user_id, k.key_id), addresses.clone()))
                .collect();
        }
    }

    /// With blocking on: a flagged key from an address it was not flagged with is refused.
    pub(crate) fn refuse_if_shared(
        &self,
        grant: Option<crate::Grant>,
        ip: Option<&str>,
    ) -> ServiceResult<Option<crate::Grant>> {
        let Some(g) = grant.filter(|_| self.settings().shared_keys.block) else {
            return Ok(grant);
        };
        let flagged = self.inner.flagged_keys.read().expect("flagged keys");
        match (flagged.get(&(g.user_id, g.key_id)), ip) {
            (Some(known), Some(ip)) if !known.contains(&counted_address(ip)) => {
                Err(crate::ServiceError::Denied {
                    refusal: depot_core::Refusal::InvalidKey,
                    description: "This key is used from more places than one subscription \
                                  allows: ask the vendor for a new one"
                        .into(),
                })
            }
            _ => Ok(grant),
        }
    }
}

/// Looks for newly shared keys every ten minutes. At start it only restores what blocking
/// needs: notices wait for the first look, so a restart (or a test's own look) never races
/// a second one for the same key.
pub(crate) async fn watch(depot: Depot) {
    let settings = depot.settings().shared_keys.clone();
    if settings.block {
        match depot.suspects(settings.addresses, settings.window).await {
            Ok(suspects) => depot.remember_flagged(&suspects),
            Err(e) => tracing::warn!(error = %e, "could not look for shared keys"),
        }
    }
    let first = tokio::time::Instant::now() + WATCH_EVERY;
    let mut tick = tokio::time::interval_at(first, WATCH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = depot.flag_shared_keys().await {
            tracing::warn!(error = %e, "could not look for shared keys");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_count_as_one_site_would_use_them() {
        use super::counted_address as a;
        assert_eq!(a("192.0.2.7"), "192.0.2.7");
        assert_eq!(a("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(a("2001:db8:1:2:aaaa::1"), a("2001:db8:1:2:bbbb::9"));
        assert_ne!(a("2001:db8:1:2::1"), a("2001:db8:1:3::1"));
    }
}
