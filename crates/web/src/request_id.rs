//! Every request has an id in `x-request-id`: the one a client or proxy sent, else
//! `<process>-<n>`; the response carries it back, and the access line names it.
//!
//! One layer instead of tower-http's `SetRequestId` and `PropagateRequestId`: those also put the
//! id into the request's and the response's extensions, three allocations per request that
//! nothing in depot reads (measured with callgrind, bench/README.md).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};

use axum::http::{HeaderName, HeaderValue, Request, Response};
use pin_project_lite::pin_project;

pub(crate) const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Request ids `<process>-<n>`: unique across instances (a random process part) without a call
/// to the system's random source on every request, as a UUID per request would make.
#[derive(Clone)]
pub struct RequestIds {
    process: Arc<str>,
    next: Arc<AtomicU64>,
}

impl RequestIds {
    pub(crate) fn new() -> Self {
        let process: [u8; 6] = rand::random();
        RequestIds {
            process: process
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
                .into(),
            next: Default::default(),
        }
    }

    fn next_id(&self) -> HeaderValue {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut number = itoa::Buffer::new();
        let id = [&*self.process, "-", number.format(n)].concat();
        // Hex, a dash and digits: always a valid header value; handed over without a copy.
        HeaderValue::from_maybe_shared(bytes::Bytes::from(id))
            .unwrap_or_else(|_| HeaderValue::from_static("0"))
    }
}

impl<S> tower::Layer<S> for RequestIds {
    type Service = WithRequestId<S>;

    fn layer(&self, inner: S) -> WithRequestId<S> {
        WithRequestId {
            inner,
            ids: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct WithRequestId<S> {
    inner: S,
    ids: RequestIds,
}

impl<S, B, R> tower::Service<Request<B>> for WithRequestId<S>
where
    S: tower::Service<Request<B>, Response = Response<R>>,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = RequestIdFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let id = match req.headers().get(X_REQUEST_ID) {
            Some(sent) => sent.clone(),
            None => {
                let id = self.ids.next_id();
                req.headers_mut().insert(X_REQUEST_ID, id.clone());
                id
            }
        };
        RequestIdFuture {
            inner: self.inner.call(req),
            id: Some(id),
        }
    }
}

pin_project! {
    /// The inner response, with the request's id unless it already has one.
    pub struct RequestIdFuture<F> {
        #[pin]
        inner: F,
        id: Option<HeaderValue>,
    }
}

impl<F, R, E> Future for RequestIdFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    type Output = Result<Response<R>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut result = ready!(this.inner.poll(cx));
        if let (Ok(response), Some(id)) = (&mut result, this.id.take()) {
            response.headers_mut().entry(X_REQUEST_ID).or_insert(id);
        }
        Poll::Ready(result)
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use axum::http::{Request, Response};
    use tower::{Layer, Service, ServiceExt};

    use super::*;

    /// Answers with the id the request arrived with, in the body.
    fn echo() -> impl Service<Request<()>, Response = Response<String>, Error = Infallible> + Clone
    {
        tower::service_fn(|req: Request<()>| async move {
            let seen = req.headers()[X_REQUEST_ID].to_str().unwrap().to_string();
            Ok::<_, Infallible>(Response::new(seen))
        })
    }

    #[tokio::test]
    async fn ids_are_made_kept_and_returned() {
        let ids = RequestIds::new();
        let service = ids.layer(echo());
        let first = service.clone().oneshot(Request::new(())).await.unwrap();
        let second = service.clone().oneshot(Request::new(())).await.unwrap();
        let id = |r: &Response<String>| r.headers()[X_REQUEST_ID].to_str().unwrap().to_string();
        // The handler saw the id the response carries, and ids differ by their counter.
        assert_eq!(&id(&first), first.body());
        let (process, n) = id(&first)
            .rsplit_once('-')
            .map(|(p, n)| (p.to_string(), n.to_string()))
            .unwrap();
        assert_eq!(process.len(), 12);
        assert_eq!(
            id(&second),
            format!("{process}-{}", n.parse::<u64>().unwrap() + 1)
        );
        // A client's (or a proxy's) own id is kept end to end.
        let sent = Request::builder()
            .header(X_REQUEST_ID, "from-the-proxy")
            .body(())
            .unwrap();
        let answered = service.oneshot(sent).await.unwrap();
        assert_eq!(id(&answered), "from-the-proxy");
        assert_eq!(answered.body(), "from-the-proxy");
    }
}
