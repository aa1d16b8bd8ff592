//! `gs://` through `HostFetcher` against fake-gcs-server on 127.0.0.1 (built by
//! tests/servers/setup.sh), reached the way Google's libraries reach an emulator:
//! `STORAGE_EMULATOR_HOST`.

#[path = "fetch_support/processes.rs"]
mod processes;

use std::process::Command;

use noetl_host::bindings::types::CapabilityError;
use noetl_host::fetch::{FetchOptions, HostFetcher};
use processes::ServerProcess;

const SCRIPT: &str = "print('hello from gcs')\n";

/// fake-gcs-server, in memory, preloaded with bucket `scripts` holding `jobs/hello.py`.
fn start_fake_gcs(data: &std::path::Path) -> ServerProcess {
    std::fs::create_dir_all(data.join("scripts/jobs")).unwrap();
    std::fs::write(data.join("scripts/jobs/hello.py"), SCRIPT).unwrap();
    let port = processes::free_port();
    let mut command = Command::new(processes::require_binary("fake-gcs-server"));
    command.args(["-scheme", "http", "-host", "127.0.0.1", "-port", &port.to_string(), "-public-host", "127.0.0.1", "-backend", "memory", "-data"]);
    command.arg(data);
    ServerProcess::start(command, port)
}

fn assert_contains(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
    }
}

#[tokio::test]
async fn objects_are_fetched_and_missing_ones_are_not_found() {
    let data = tempfile::tempdir().unwrap();
    let server = start_fake_gcs(data.path());
    let emulator = format!("127.0.0.1:{}", server.port);
    let fetcher = HostFetcher::new(FetchOptions::with_environment([("STORAGE_EMULATOR_HOST", emulator.as_str())]));

    assert_eq!(fetcher.fetch("gs://scripts/jobs/hello.py", 1 << 20).await.unwrap(), SCRIPT.as_bytes());

    match fetcher.fetch("gs://scripts/jobs/absent.py", 1 << 20).await {
        Err(CapabilityError::NotFound(message)) => {
            assert_contains(&message, &["gs://scripts/jobs/absent.py", "no object `jobs/absent.py` in bucket `scripts`"])
        }
        other => panic!("expected not-found, got {other:?}"),
    }
    match fetcher.fetch("gs://scripts/jobs/hello.py", 4).await {
        Err(CapabilityError::TooLarge(message)) => assert_contains(&message, &["gs://scripts/jobs/hello.py", "limit of 4 bytes"]),
        other => panic!("expected too-large, got {other:?}"),
    }
}
