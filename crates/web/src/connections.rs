//! Who may hold a connection, and for how long.
//!
//! depot is meant to face the internet directly, where a client can open connections and send
//! nothing (or a header a byte at a time) until the file descriptors run out. Three rules keep
//! one client from starving the others:
//! - a connection must deliver its first complete request head within `header_timeout` of being
//!   accepted, and its next one within `idle_timeout` of its previous response; a connection with
//!   a request in flight (a 100 MiB download to a slow reader) is never timed out, since it is
//!   working, not idle. The deadline counts complete request heads, not bytes, so trickling a
//!   header does not extend it, and it covers HTTP/1.1 and HTTP/2 alike (hyper's own header
//!   timeout starts only after the protocol is known);
//! - at most `max_per_client` connections per client address (addresses of trusted proxies,
//!   which carry everyone's requests, are exempt);
//! - at most `max_connections` in all.
//!
//! A connection over a limit is answered `503` with `Retry-After` and closed at once, rather than
//! left in the kernel's accept queue where it would wait unanswered.

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, HttpBody};
use bytes::Bytes;
use tokio::time::Instant;

/// The connection rules of a server.
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub max_per_client: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    /// Addresses the per-client limit does not apply to (the trusted proxies).
    pub exempt: Vec<ipnet::IpNet>,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 16_384,
            max_per_client: 128,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            exempt: Vec::new(),
        }
    }
}

/// Why a connection was not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    ServerFull,
    ClientFull,
}

/// Counts the open connections, in all and per client address.
pub struct Admission {
    limits: ConnectionLimits,
    total: AtomicUsize,
    per_client: Mutex<HashMap<IpAddr, usize>>,
    refused: AtomicU64,
    last_warning: Mutex<Option<Instant>>,
}

/// One admitted connection; dropping it gives its place back.
pub struct Ticket {
    admission: Arc<Admission>,
    client: Option<IpAddr>,
}

impl Admission {
    pub fn new(limits: ConnectionLimits) -> Arc<Admission> {
        Arc::new(Admission {
            limits,
            total: AtomicUsize::new(0),
            per_client: Mutex::new(HashMap::new()),
            refused: AtomicU64::new(0),
            last_warning: Mutex::new(None),
        })
    }

    pub fn limits(&self) -> &ConnectionLimits {
        &self.limits
    }

    /// Admits a connection from `client`, or says which limit it is over.
    pub fn admit(self: &Arc<Self>, client: IpAddr) -> Result<Ticket, Refused> {
        let client = to_canonical(client);
        if self.total.fetch_add(1, Ordering::AcqRel) >= self.limits.max_connections {
            self.total.fetch_sub(1, Ordering::AcqRel);
            return Err(self.refuse(Refused::ServerFull));
        }
        let counted = !self.limits.exempt.iter().any(|net| net.contains(&client));
        if counted {
            let mut per_client = self.per_client.lock().expect("connection counts");
            let open = per_client.entry(client).or_insert(0);
            if *open >= self.limits.max_per_client {
                drop(per_client);
                self.total.fetch_sub(1, Ordering::AcqRel);
                return Err(self.refuse(Refused::ClientFull));
            }
            *open += 1;
        }
        Ok(Ticket {
            admission: self.clone(),
            client: counted.then_some(client),
        })
    }

    /// Open connections now.
    pub fn open(&self) -> usize {
        self.total.load(Ordering::Acquire)
    }

    /// Counts a refusal and says so in the log at most every ten seconds: a flood must not turn
    /// into a flood of log lines.
    fn refuse(&self, why: Refused) -> Refused {
        self.refused.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let mut last = self.last_warning.lock().expect("warning time");
        if last.is_none_or(|at| now.duration_since(at) >= Duration::from_secs(10)) {
            *last = Some(now);
            let refused = self.refused.swap(0, Ordering::Relaxed);
            let limit = match why {
                Refused::ServerFull => "max_connections",
                Refused::ClientFull => "max_connections_per_client",
            };
            tracing::warn!(
                refused,
                open = self.open(),
                limit,
                "connections refused: a limit is reached (see [limits] in the README)"
            );
        }
        why
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(client) = self.client {
            let mut per_client = self.admission.per_client.lock().expect("connection counts");
            if let Some(open) = per_client.get_mut(&client) {
                *open -= 1;
                if *open == 0 {
                    per_client.remove(&client);
                }
            }
        }
        self.admission.total.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An IPv4 client connecting over IPv6 (`::ffff:a.b.c.d`) is the same client.
fn to_canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// What a connection is doing: how many requests are in flight and when it last started or
/// finished one.
pub struct Activity {
    started: Instant,
    in_flight: AtomicUsize,
    served_any: std::sync::atomic::AtomicBool,
    /// Milliseconds after `started` of the last request head or response end.
    last_change_ms: AtomicU64,
}

impl Activity {
    pub fn new() -> Arc<Activity> {
        Arc::new(Activity {
            started: Instant::now(),
            in_flight: AtomicUsize::new(0),
            served_any: std::sync::atomic::AtomicBool::new(false),
            last_change_ms: AtomicU64::new(0),
        })
    }

    fn touch(&self) {
        let ms = self.started.elapsed().as_millis() as u64;
        self.last_change_ms.store(ms, Ordering::Release);
    }

    /// A request head arrived; the request is in flight until its `InFlight` is dropped (with
    /// the response body, once it is sent).
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.served_any.store(true, Ordering::Release);
        self.touch();
        InFlight(self.clone())
    }

    /// When the connection is next due to be looked at, and whether it is idle past its limit
    /// now.
    pub fn deadline(&self, limits: &ConnectionLimits) -> Deadline {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return Deadline::Busy(Instant::now() + limits.idle_timeout);
        }
        let allowed = if self.served_any.load(Ordering::Acquire) {
            limits.idle_timeout
        } else {
            limits.header_timeout
        };
        let last = Duration::from_millis(self.last_change_ms.load(Ordering::Acquire));
        let due = self.started + last + allowed;
        if Instant::now() >= due {
            Deadline::Expired
        } else {
            Deadline::At(due)
        }
    }
}

pub enum Deadline {
    /// A request is in flight: look again at this time.
    Busy(Instant),
    /// Idle: closed at this time unless a request arrives.
    At(Instant),
    Expired,
}

/// A request in flight; dropped when its response has been sent (or abandoned).
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request in flight until it is sent or dropped.
pub struct TrackedBody {
    body: Body,
    _in_flight: InFlight,
}

impl TrackedBody {
    pub fn wrap(body: Body, in_flight: InFlight) -> Body {
        Body::new(TrackedBody {
            body,
            _in_flight: in_flight,
        })
    }
}

impl HttpBody for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The whole answer to a connection over a limit: the client learns why and when to come back.
pub const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\n\
Content-Type: text/plain\r\nContent-Length: 20\r\nConnection: close\r\n\r\ntoo many connections";

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total: usize, per_client: usize) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: total,
            max_per_client: per_client,
            exempt: vec!["10.0.0.0/8".parse().unwrap()],
            ..ConnectionLimits::default()
        }
    }

    #[test]
    fn limits_per_client_and_in_all_and_places_come_back() {
        let admission = Admission::new(limits(4, 2));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let a_mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        let first = admission.admit(a).unwrap();
        let _second = admission.admit(a_mapped).unwrap();
        assert_eq!(admission.admit(a).err(), Some(Refused::ClientFull));
        let _proxied = [admission.admit(proxy).unwrap()];
        let _b = admission.admit(b).unwrap();
        assert_eq!(admission.open(), 4);
        assert_eq!(admission.admit(b).err(), Some(Refused::ServerFull));
        drop(first);
        assert_eq!(admission.open(), 3);
        let _again = admission.admit(a).unwrap();
        assert_eq!(admission.open(), 4);
    }

    #[test]
    fn exempt_addresses_are_not_limited_per_client() {
        let admission = Admission::new(limits(10, 1));
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        let tickets: Vec<_> = (0..5).map(|_| admission.admit(proxy).unwrap()).collect();
        assert_eq!(admission.open(), 5);
        drop(tickets);
        assert_eq!(admission.open(), 0);
        assert!(admission.per_client.lock().unwrap().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn idle_connections_expire_busy_ones_do_not() {
        let limits = ConnectionLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            ..ConnectionLimits::default()
        };
        let activity = Activity::new();
        assert!(matches!(activity.deadline(&limits), Deadline::At(_)));
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(matches!(activity.deadline(&limits), Deadline::Expired));

        let activity = Activity::new();
        let request = activity.begin();
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert!(matches!(activity.deadline(&limits), Deadline::Busy(_)));
        drop(request);
        // After a response, the idle timeout applies, not the (shorter) header timeout.
        tokio::time::advance(Duration::from_secs(29)).await;
        assert!(matches!(activity.deadline(&limits), Deadline::At(_)));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(matches!(activity.deadline(&limits), Deadline::Expired));
    }
}
