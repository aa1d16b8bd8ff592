//! `HostFetcher` over HTTP against a real server on 127.0.0.1: statuses, redirects and
//! their grant check, size caps, timeouts, and errors that name the URL without secrets.

#[path = "fetch_support/http_server.rs"]
mod http_server;

use std::time::Duration;

use noetl_host::bindings::types::CapabilityError;
use noetl_host::fetch::{FetchOptions, HostFetcher};
use noetl_host::policy::FetchGrant;

fn fetcher() -> HostFetcher {
    HostFetcher::new(FetchOptions::with_environment(Vec::<(String, String)>::new()))
}

fn url(port: u16, path: &str) -> String {
    format!("http://127.0.0.1:{port}{path}")
}

fn assert_contains(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
    }
}

#[tokio::test]
async fn a_2xx_body_is_returned_whole() {
    let port = http_server::start().await;
    let body = fetcher().fetch(&url(port, "/ok"), 1 << 20).await.unwrap();
    assert_eq!(body, http_server::SCRIPT.as_bytes());
}

#[tokio::test]
async fn error_statuses_are_errors_naming_status_and_url_never_documents() {
    let port = http_server::start().await;
    let fetcher = fetcher();
    match fetcher.fetch(&url(port, "/missing"), 1 << 20).await {
        Err(CapabilityError::NotFound(message)) => assert_contains(&message, &[&url(port, "/missing"), "HTTP 404"]),
        other => panic!("expected not-found, got {other:?}"),
    }
    match fetcher.fetch(&url(port, "/error"), 1 << 20).await {
        Err(CapabilityError::Failed(message)) => assert_contains(&message, &[&url(port, "/error"), "HTTP 500"]),
        other => panic!("expected a failure, got {other:?}"),
    }
    // A redirect that ends on a 404 names both ends.
    match fetcher.fetch(&url(port, "/to-missing"), 1 << 20).await {
        Err(CapabilityError::NotFound(message)) => {
            assert_contains(&message, &[&url(port, "/missing"), "HTTP 404", &format!("redirected from {}", url(port, "/to-missing"))])
        }
        other => panic!("expected not-found, got {other:?}"),
    }
}

#[tokio::test]
async fn redirects_are_followed_up_to_the_bound() {
    let port = http_server::start().await;
    let fetcher = fetcher();
    // /hop/4 → /hop/3 → … → /hop/0 → /ok: five redirects, the most allowed.
    let body = fetcher.fetch(&url(port, "/hop/4"), 1 << 20).await.unwrap();
    assert_eq!(body, http_server::SCRIPT.as_bytes());
    match fetcher.fetch(&url(port, "/hop/5"), 1 << 20).await {
        Err(CapabilityError::Failed(message)) => assert_contains(&message, &[&url(port, "/hop/5"), "more than 5 redirects"]),
        other => panic!("expected the redirect bound to stop it, got {other:?}"),
    }
    match fetcher.fetch(&url(port, "/no-location"), 1 << 20).await {
        Err(CapabilityError::Failed(message)) => assert_contains(&message, &["HTTP 302 Found", "without a usable Location"]),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn redirects_to_other_hosts_need_the_grant() {
    let port = http_server::start().await;
    // Without a redirect grant the fetch may not leave the host that was asked for.
    match fetcher().fetch(&url(port, "/to-localhost"), 1 << 20).await {
        Err(CapabilityError::Denied(message)) => assert_contains(
            &message,
            &[&url(port, "/to-localhost"), &format!("http://localhost:{port}/ok"), "host `localhost` is not granted", "fetch.hosts"],
        ),
        other => panic!("expected a denial, got {other:?}"),
    }
    let granted = fetcher().with_redirect_grant(FetchGrant { hosts: vec!["127.0.0.1".into(), "localhost".into()] });
    assert_eq!(granted.fetch(&url(port, "/to-localhost"), 1 << 20).await.unwrap(), http_server::SCRIPT.as_bytes());
    // A grant of other hosts does not make file:// reachable.
    match granted.fetch(&url(port, "/to-file"), 1 << 20).await {
        Err(CapabilityError::Failed(message)) => assert_contains(&message, &["file:///etc/passwd", "not http(s); refused"]),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let port = http_server::start().await;
    let fetcher = fetcher();
    match fetcher.fetch(&url(port, "/big"), 1000).await {
        Err(CapabilityError::TooLarge(message)) => {
            assert_contains(&message, &[&url(port, "/big"), "is 2048 bytes (Content-Length)", "limit of 1000 bytes"])
        }
        other => panic!("expected too-large, got {other:?}"),
    }
    // Chunked: no length up front, refused while counting.
    match fetcher.fetch(&url(port, "/big-chunked"), 3000).await {
        Err(CapabilityError::TooLarge(message)) => assert_contains(&message, &[&url(port, "/big-chunked"), "sent more", "limit of 3000 bytes"]),
        other => panic!("expected too-large, got {other:?}"),
    }
    // Exactly at the limit is fine.
    assert_eq!(fetcher.fetch(&url(port, "/big"), 2048).await.unwrap().len(), 2048);
    assert_eq!(fetcher.fetch(&url(port, "/big-chunked"), 4096).await.unwrap().len(), 4096);
}

#[tokio::test]
async fn a_stalled_body_ends_at_the_total_timeout() {
    let port = http_server::start().await;
    let options = FetchOptions { total_timeout: Duration::from_millis(500), ..FetchOptions::with_environment(Vec::<(String, String)>::new()) };
    let fetcher = HostFetcher::new(options);
    match fetcher.fetch(&url(port, "/slow"), 1 << 20).await {
        Err(CapabilityError::Failed(message)) => {
            assert_contains(&message, &[&url(port, "/slow"), "did not finish within the total timeout", "FetchOptions.total_timeout"])
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn unreachable_hosts_and_bad_urls_are_clear_errors() {
    let fetcher = fetcher();
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    match fetcher.fetch(&url(closed, "/x"), 1024).await {
        Err(CapabilityError::Failed(message)) => assert_contains(&message, &[&url(closed, "/x"), "could not connect"]),
        other => panic!("expected a connect failure, got {other:?}"),
    }
    match fetcher.fetch("ftp://127.0.0.1/x", 1024).await {
        Err(CapabilityError::Failed(message)) => assert_contains(&message, &["unsupported URL scheme `ftp`", "use http, https, gs or s3"]),
        other => panic!("expected a refusal, got {other:?}"),
    }
    match fetcher.fetch("not a url", 1024).await {
        Err(CapabilityError::Failed(message)) => assert_contains(&message, &["`not a url` is not a valid URL"]),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn passwords_and_query_strings_stay_out_of_errors() {
    let port = http_server::start().await;
    let secret_url = format!("http://user:canary-password@127.0.0.1:{port}/missing?token=canary-token");
    match fetcher().fetch(&secret_url, 1024).await {
        Err(CapabilityError::NotFound(message)) => {
            assert_contains(&message, &[&format!("http://user:***@127.0.0.1:{port}/missing?***"), "HTTP 404"]);
            assert!(!message.contains("canary"), "secret in error: {message}");
        }
        other => panic!("expected not-found, got {other:?}"),
    }
}
