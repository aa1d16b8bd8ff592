//! `s3://` through `HostFetcher` against moto's S3 server on 127.0.0.1 (installed by
//! tests/servers/setup.sh): objects, missing keys and buckets, size cap, credentials.

#[path = "fetch_support/processes.rs"]
mod processes;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;

use noetl_host::bindings::types::CapabilityError;
use noetl_host::fetch::{FetchOptions, HostFetcher};
use processes::ServerProcess;

const SCRIPT: &str = "print('hello from s3')\n";
const SECRET_KEY: &str = "canary-s3-secret-key";

fn start_moto() -> ServerProcess {
    let port = processes::free_port();
    let mut command = Command::new(processes::require_binary("moto_server"));
    command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    ServerProcess::start(command, port)
}

/// One unsigned path-style request to moto (it does not check signatures); the status code.
fn s3_put(port: u16, path: &str, body: &str) -> u16 {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let request = format!(
        "PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or_else(|| panic!("no status in {response:?}"))
}

/// A moto server with bucket `scripts` holding `jobs/hello.py`.
fn moto_with_object() -> ServerProcess {
    let moto = start_moto();
    assert_eq!(s3_put(moto.port, "/scripts", ""), 200, "create bucket");
    assert_eq!(s3_put(moto.port, "/scripts/jobs/hello.py", SCRIPT), 200, "put object");
    moto
}

fn fetcher(port: u16, extra: &[(&str, &str)]) -> HostFetcher {
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut vars = vec![("NOETL_S3_ENDPOINT", endpoint.as_str()), ("AWS_REGION", "us-east-1")];
    vars.extend_from_slice(extra);
    HostFetcher::new(FetchOptions::with_environment(vars))
}

fn with_keys(port: u16) -> HostFetcher {
    fetcher(port, &[("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", SECRET_KEY)])
}

fn assert_contains(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
    }
    assert!(!text.contains(SECRET_KEY), "secret key in error: {text}");
}

#[tokio::test]
async fn objects_are_fetched_and_missing_ones_are_not_found() {
    let moto = moto_with_object();
    let fetcher = with_keys(moto.port);
    assert_eq!(fetcher.fetch("s3://scripts/jobs/hello.py", 1 << 20).await.unwrap(), SCRIPT.as_bytes());

    match fetcher.fetch("s3://scripts/jobs/absent.py", 1 << 20).await {
        Err(CapabilityError::NotFound(message)) => {
            assert_contains(&message, &["s3://scripts/jobs/absent.py", "no object `jobs/absent.py` in bucket `scripts`"])
        }
        other => panic!("expected not-found, got {other:?}"),
    }
    match fetcher.fetch("s3://no-such-bucket/jobs/hello.py", 1 << 20).await {
        Err(CapabilityError::NotFound(message)) => {
            assert_contains(&message, &["s3://no-such-bucket/jobs/hello.py", "bucket `no-such-bucket` does not exist"])
        }
        other => panic!("expected not-found, got {other:?}"),
    }
    match fetcher.fetch("s3://scripts/", 1 << 20).await {
        Err(CapabilityError::Failed(message)) => assert_contains(&message, &["names a bucket but no object key"]),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn objects_over_the_limit_are_refused() {
    let moto = moto_with_object();
    match with_keys(moto.port).fetch("s3://scripts/jobs/hello.py", 5).await {
        Err(CapabilityError::TooLarge(message)) => {
            assert_contains(&message, &["s3://scripts/jobs/hello.py", &format!("is {} bytes", SCRIPT.len()), "limit of 5 bytes"])
        }
        other => panic!("expected too-large, got {other:?}"),
    }
}

#[tokio::test]
async fn missing_credentials_say_what_was_looked_for() {
    let moto = moto_with_object();
    // No keys and instance metadata switched off: nothing to sign with.
    match fetcher(moto.port, &[("AWS_EC2_METADATA_DISABLED", "true")]).fetch("s3://scripts/jobs/hello.py", 1 << 20).await {
        Err(CapabilityError::Failed(message)) => assert_contains(
            &message,
            &["s3://scripts/jobs/hello.py", "no AWS credentials", "AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY", "AWS_WEB_IDENTITY_TOKEN_FILE"],
        ),
        other => panic!("expected a credentials failure, got {other:?}"),
    }
    // No keys, and the instance-metadata endpoint (here a closed loopback port) fails:
    // the error names the source that was tried.
    let closed = processes::free_port();
    let metadata = format!("http://127.0.0.1:{closed}");
    match fetcher(moto.port, &[("AWS_METADATA_ENDPOINT", &metadata)]).fetch("s3://scripts/jobs/hello.py", 1 << 20).await {
        Err(CapabilityError::Failed(message)) => assert_contains(
            &message,
            &["s3://scripts/jobs/hello.py", "bucket `scripts`", "key `jobs/hello.py`", &format!("EC2 instance metadata at {metadata}")],
        ),
        other => panic!("expected a credentials failure, got {other:?}"),
    }
}
