//! Counts the API requests a kube `Client` sends, by verb and resource, with a tower layer
//! on the client's service stack. The apiserver's own metrics cannot tell one client from
//! another (the controllers, the scheduler and other test sessions share the server).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use http::{Method, Request, Response, Uri};

/// Request counts keyed `"{verb} {resource}"`, e.g. `create jobs`, `get (follow) pods/log`,
/// `watch pods`; non-2xx answers are counted too, under `HTTP {code}: {key}`.
#[derive(Clone, Default)]
pub struct RequestCounts(Arc<Mutex<BTreeMap<String, u64>>>);

impl RequestCounts {
    fn record(&self, key: String) {
        *self.0.lock().unwrap().entry(key).or_default() += 1;
    }

    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().unwrap().clone()
    }
}

/// Counts since `before` (a snapshot taken earlier).
pub fn delta(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(key, n)| (key.clone(), n - before.get(key).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// Whether a key counts a long-lived watch connection rather than a request/response call.
pub fn is_watch(key: &str) -> bool {
    key.starts_with("watch ")
}

pub struct CountingLayer(pub RequestCounts);

impl<S> tower::Layer<S> for CountingLayer {
    type Service = Counting<S>;

    fn layer(&self, inner: S) -> Counting<S> {
        Counting {
            inner,
            counts: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Counting<S> {
    inner: S,
    counts: RequestCounts,
}

impl<S, B, RB> tower::Service<Request<B>> for Counting<S>
where
    S: tower::Service<Request<B>, Response = Response<RB>>,
    S::Future: Send + 'static,
    S::Error: 'static,
    RB: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let key = classify(request.method(), request.uri());
        self.counts.record(key.clone());
        let counts = self.counts.clone();
        let call = self.inner.call(request);
        Box::pin(async move {
            let response = call.await;
            if let Ok(response) = &response
                && !response.status().is_success()
            {
                counts.record(format!("HTTP {}: {key}", response.status().as_u16()));
            }
            response
        })
    }
}

/// `"{verb} {resource}"` of one request, with Kubernetes' verb names.
pub fn classify(method: &Method, uri: &Uri) -> String {
    let query: Vec<&str> = uri.query().unwrap_or_default().split('&').collect();
    let segments: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    let rest = match segments.first() {
        Some(&"api") if segments.len() > 2 => &segments[2..],
        Some(&"apis") if segments.len() > 3 => &segments[3..],
        _ => return format!("{method} {}", uri.path()),
    };
    let rest = match rest {
        ["namespaces", _, resource, more @ ..] => {
            let mut scoped = vec![*resource];
            scoped.extend_from_slice(more);
            scoped
        }
        other => other.to_vec(),
    };
    let resource = match rest.as_slice() {
        [resource, _, sub, ..] => format!("{resource}/{sub}"),
        [resource, ..] => resource.to_string(),
        [] => "?".to_string(),
    };
    let named = rest.len() >= 2;
    let verb = match *method {
        Method::GET if query.contains(&"watch=true") => "watch",
        Method::GET if !named => "list",
        Method::GET if query.contains(&"follow=true") => "get (follow)",
        Method::GET => "get",
        Method::POST => "create",
        Method::PATCH => "patch",
        Method::PUT => "update",
        Method::DELETE => "delete",
        _ => method.as_str(),
    };
    format!("{verb} {resource}")
}
