//! Connection limits and timeouts over real sockets: clients that open connections and send
//! nothing, or a header a byte at a time, cannot starve the others, and are closed on time.
//!
//! Loopback is all of 127.0.0.0/8, so each flooding "client" binds its own source address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::helpers::*;

const FEED: &str = "/updates/plg_system_hello.xml";
const DOWNLOAD: &str = "/download/plg_system_hello/1.0.0/plg_system_hello-1.0.0.zip";
const PER_CLIENT: usize = 100;
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
const IDLE_TIMEOUT: Duration = Duration::from_secs(3);

async fn flood_app() -> TestApp {
    TestApp::spawn_with(Db::Sqlite, |s| {
        s.limits.max_connections_per_client = PER_CLIENT;
        s.limits.header_timeout_secs = HEADER_TIMEOUT.as_secs();
        s.limits.idle_timeout_secs = IDLE_TIMEOUT.as_secs();
    })
    .await
}

async fn connect_from(source: Ipv4Addr, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(IpAddr::V4(source), 0))
        .expect("bind a loopback source address");
    socket.connect(to).await.expect("connect")
}

/// Reads until the server closes the connection (or `limit` passes); returns what it sent.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| out)
}

/// Times `n` feed requests and one download from 127.0.0.1; every one must succeed.
async fn timed_requests(app: &TestApp, n: usize, zip: &[u8]) -> Vec<Duration> {
    let mut times = Vec::new();
    for i in 0..n {
        let start = Instant::now();
        let path = if i % 10 == 9 { DOWNLOAD } else { FEED };
        let r = app.get(path).await;
        assert_eq!(r.status(), 200, "{path}");
        let body = r.bytes().await.expect("body");
        if path == DOWNLOAD {
            assert_eq!(body.as_ref(), zip);
        }
        times.push(start.elapsed());
    }
    times.sort();
    times
}

fn p99(times: &[Duration]) -> Duration {
    times[(times.len() * 99 / 100).min(times.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_header_floods_neither_starve_nor_stay() {
    let app = flood_app().await;
    let zip = plugin_zip("1.0.0", "flood");
    app.publish("plg_system_hello", "1.0.0", zip.clone(), "")
        .await;
    let addr = app.server.as_ref().unwrap().addr;
    let before = timed_requests(&app, 50, &zip).await;

    // 40 clients, each holding 50 connections that send nothing and 25 that send a header a
    // byte every 300 ms: 3,000 connections, each client under its limit.
    let flood_started = Instant::now();
    let mut idle = Vec::new();
    let mut slow = Vec::new();
    for client in 0..40u8 {
        let source = Ipv4Addr::new(127, 0, 1, client + 1);
        for _ in 0..50 {
            idle.push(connect_from(source, addr).await);
        }
        let mut streams = Vec::new();
        for _ in 0..25 {
            let mut s = connect_from(source, addr).await;
            s.write_all(b"GET /updates/plg_system_hello.xml HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .await
                .expect("start of a header");
            streams.push(s);
        }
        slow.push(tokio::spawn(async move {
            // Trickles until the server hangs up on every one of them.
            loop {
                let mut open = 0;
                for s in &mut streams {
                    if s.write_all(b"a").await.is_ok() {
                        open += 1;
                    }
                }
                if open == 0 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }));
    }

    // One more client goes past its own limit: the extra connections are told so at once.
    let greedy = Ipv4Addr::new(127, 0, 2, 1);
    let mut held = Vec::new();
    for _ in 0..PER_CLIENT {
        held.push(connect_from(greedy, addr).await);
    }
    for _ in 0..5 {
        let mut extra = connect_from(greedy, addr).await;
        let answer = read_until_closed(&mut extra, Duration::from_secs(1))
            .await
            .expect("a connection over the limit is closed at once");
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 503") && answer.contains("Retry-After: 5"),
            "{answer}"
        );
    }

    // Meanwhile everybody else is served as before.
    let during = timed_requests(&app, 50, &zip).await;
    eprintln!(
        "feed and download p99: {:?} before, {:?} during 3,100 idle and slow connections",
        p99(&before),
        p99(&during)
    );
    assert!(
        p99(&during) <= WITHIN,
        "p99 {:?} under the flood",
        p99(&during)
    );
    assert!(
        flood_started.elapsed() < HEADER_TIMEOUT,
        "the machine took {:?} to set up the flood and measure: the flood was over before",
        flood_started.elapsed()
    );

    // Every idle and slow-header connection is closed by the server within its header timeout
    // (counted from the moment each was accepted) and a margin.
    let closed = futures::future::join_all(
        idle.iter_mut()
            .chain(held.iter_mut())
            .map(|s| read_until_closed(s, HEADER_TIMEOUT + Duration::from_secs(3))),
    )
    .await;
    assert!(
        closed.iter().all(Option::is_some),
        "{} idle connections still open",
        closed.iter().filter(|c| c.is_none()).count()
    );
    for trickler in slow {
        tokio::time::timeout(Duration::from_secs(3), trickler)
            .await
            .expect("slow-header connections closed")
            .unwrap();
    }
    // With the flood gone, the greedy client is welcome again.
    let mut again = connect_from(greedy, addr).await;
    again
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut again, Duration::from_secs(2))
        .await
        .unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_download_is_working_not_idle_and_keep_alive_ends() {
    let app = flood_app().await;
    // 16 MiB that do not compress: more than the socket buffers hold, so the response is still
    // being sent long after the idle timeout.
    let mut noise = vec![0u8; 16 << 20];
    rand::fill(&mut noise[..]);
    let zip = zip_of(&[
        ("hello.xml", plugin_manifest("1.0.0").as_bytes()),
        ("media/noise.bin", &noise),
    ]);
    app.publish("plg_system_hello", "1.0.0", zip.clone(), "")
        .await;
    let addr = app.server.as_ref().unwrap().addr;

    let mut stream = connect_from(Ipv4Addr::LOCALHOST, addr).await;
    stream
        .write_all(format!("GET {DOWNLOAD} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buf = vec![0u8; 256 << 10];
    while received.len() < zip.len() {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed after {} bytes", received.len());
        received.extend_from_slice(&buf[..n]);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let body_start = received.windows(4).position(|w| w == b"\r\n\r\n");
        if body_start.is_some_and(|at| received.len() - at - 4 >= zip.len()) {
            break;
        }
    }
    assert!(
        started.elapsed() > IDLE_TIMEOUT,
        "read too fast to prove anything"
    );
    let at = received.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(&received[at..], zip.as_slice());

    // Kept alive after the response, then closed once idle for the idle timeout.
    assert_eq!(
        read_until_closed(&mut stream, IDLE_TIMEOUT + Duration::from_secs(2)).await,
        Some(Vec::new())
    );
}
