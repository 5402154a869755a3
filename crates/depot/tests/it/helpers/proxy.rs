//! A TCP proxy in front of a test service that a test can cut and restore, for outages that
//! hit only its own server.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::task::AbortHandle;

pub struct TcpProxy {
    addr: SocketAddr,
    state: Arc<State>,
    accept: AbortHandle,
}

#[derive(Default)]
struct State {
    cut: AtomicBool,
    links: Mutex<Vec<AbortHandle>>,
}

impl TcpProxy {
    /// Listens on a free loopback port and forwards every connection to `upstream`.
    pub async fn start(upstream: &str) -> TcpProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(State::default());
        let upstream = upstream.to_string();
        let accept = tokio::spawn({
            let state = state.clone();
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if state.cut.load(Ordering::SeqCst) {
                        // The service is down: the connection is closed as soon as it opens.
                        drop(client);
                        continue;
                    }
                    let upstream = upstream.clone();
                    let link = tokio::spawn(async move {
                        if let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    state.links.lock().unwrap().push(link.abort_handle());
                }
            }
        })
        .abort_handle();
        TcpProxy {
            addr,
            state,
            accept,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The outage: every open connection is dropped, and new ones are closed at once.
    pub fn cut(&self) {
        self.state.cut.store(true, Ordering::SeqCst);
        for link in self.state.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    /// The service is back.
    pub fn restore(&self) {
        self.state.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}
