//! Shared helpers of the integration tests: where the test components and the host
//! binary are, and a host built the way the CLI builds it.

use std::path::PathBuf;

/// Components built from this workspace by `build.rs`.
pub mod guests {
    pub const JSON_TRANSFORM: &str = env!("JSON_TRANSFORM_WASM");
    pub const HOSTILE: &str = env!("HOSTILE_PLUGIN_WASM");
    pub const FUTURE_CONTRACT: &str = env!("FUTURE_CONTRACT_PLUGIN_WASM");
    pub const SLOW_DESCRIBE: &str = env!("SLOW_DESCRIBE_PLUGIN_WASM");
    pub const LEGACY_CONTRACT: &str = env!("LEGACY_CONTRACT_PLUGIN_WASM");
    pub const PREINIT: &str = env!("PREINIT_PLUGIN_WASM");
    pub const IMPURE_INIT: &str = env!("IMPURE_INIT_PLUGIN_WASM");
}

/// The `noetl-host` binary of this build. Cargo builds it for `cargo test` because the
/// host package has integration tests of its own; the README's test command also builds
/// it explicitly first.
pub fn host_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> → target/<profile>/noetl-host
    let bin = exe.parent().and_then(|deps| deps.parent()).expect("target layout").join("noetl-host");
    assert!(bin.exists(), "{} is missing: run `cargo test` (it builds the binary for the host package's integration tests)", bin.display());
    bin
}

/// The repository root (for example playbooks).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// Running the real `noetl-host` binary, as a worker or a person does.
pub mod cli {
    use std::io::Write;
    use std::path::Path;
    use std::process::{Command, Output, Stdio};

    /// `noetl-host ARGS` with `stdin` written to it and its own compiled-plugin cache.
    pub fn run(args: &[&str], stdin: &str, cache: &Path) -> Output {
        let mut child = Command::new(super::host_bin())
            .args(args)
            .env("NOETL_CACHE_DIR", cache)
            .env_remove("NOETL_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Stdout parsed as one JSON document; the panic message shows both streams.
    pub fn json_stdout(output: &Output) -> serde_json::Value {
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {}\nstderr: {}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        })
    }

    pub fn stderr(output: &Output) -> String {
        String::from_utf8_lossy(&output.stderr).into_owned()
    }
}

/// Running playbooks through the real `noetl-host run` on the local backend.
pub mod local {
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};

    use serde_json::Value;

    /// `<target>/local-examples-cache`: fixed, so dependency installs are reused across
    /// tests and runs.
    pub fn shared_cache() -> PathBuf {
        let exe = std::env::current_exe().expect("test executable path");
        // target/<profile>/deps/<test> → target
        let target = exe.ancestors().nth(3).expect("target layout").to_path_buf();
        let dir = target.join("local-examples-cache");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// `noetl-host run FILE --output json ARGS...` with `envs` added to the environment.
    pub fn run(playbook: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
        Command::new(super::host_bin())
            .arg("run")
            .arg(playbook)
            .args(["--output", "json"])
            .args(args)
            .env("XDG_CACHE_HOME", shared_cache())
            .envs(envs.iter().copied())
            .output()
            .unwrap()
    }

    /// The run's JSON report (stdout).
    pub fn report(output: &Output) -> Value {
        super::cli::json_stdout(output)
    }

    /// A policy's `local:` section granting the host network to `steps` of the playbook file
    /// at `playbook` (pinned by its SHA-256; no steps: every step of that file).
    pub fn network_grant(playbook: &Path, steps: &[&str]) -> String {
        let sha256 = noetl_host::execute::sha256_hex(&std::fs::read(playbook).unwrap());
        let steps = if steps.is_empty() { String::new() } else { format!(", steps: [{}]", steps.join(", ")) };
        format!("local:\n  network:\n    - {{playbook_sha256: {sha256}{steps}}}\n")
    }

    pub fn write_policy(dir: &Path, yaml: &str) -> PathBuf {
        let path = dir.join("policy.yaml");
        std::fs::write(&path, yaml).unwrap();
        path
    }

    /// A TCP listener on the host's loopback that reports each connection: a local step
    /// that reaches it had the host network.
    pub fn loopback_listener() -> (u16, std::sync::mpsc::Receiver<()>) {
        use std::io::Read;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.read(&mut [0; 16]);
                let _ = tx.send(());
            }
        });
        (port, rx)
    }
}

/// A loopback HTTP server for tests whose scripts, sources or APIs it plays.
pub mod http {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    /// Header lines of one request: (lower-cased name, value).
    pub type Headers = Vec<(String, String)>;

    /// A one-route-per-call HTTP/1.1 server on 127.0.0.1 (host network namespace). `respond`
    /// gets the request path and headers (lower-cased names) and returns status and body.
    pub struct TestServer {
        port: u16,
        pub seen_headers: Arc<Mutex<Vec<Headers>>>,
    }

    impl TestServer {
        pub fn start(respond: impl Fn(&str, &Headers) -> (u16, String) + Send + 'static) -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let seen_headers = Arc::new(Mutex::new(Vec::new()));
            let seen = seen_headers.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(mut stream) = stream else { continue };
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).is_err() {
                        continue;
                    }
                    let path = request_line.split_whitespace().nth(1).unwrap_or("").to_string();
                    let mut headers = Vec::new();
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                            break;
                        }
                        if let Some((name, value)) = line.trim_end().split_once(':') {
                            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
                        }
                    }
                    let (status, body) = respond(&path, &headers);
                    seen.lock().unwrap().push(headers);
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {status} Status\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                }
            });
            Self { port, seen_headers }
        }

        pub fn url(&self) -> String {
            format!("http://127.0.0.1:{}", self.port)
        }
    }
}

/// Benchmarks: a host built without the `bench-knobs` feature ignores the pool's reset
/// overrides; say so when one is set, so that a sweep does not silently measure the
/// defaults (BENCHMARKS.md, "Benchmark-only knobs").
pub fn warn_if_bench_knobs_ignored() {
    if noetl_host::engine::BENCH_KNOBS {
        return;
    }
    for name in ["NOETL_KEEP_RESIDENT_KIB", "NOETL_PAGEMAP_SCAN"] {
        if std::env::var_os(name).is_some() {
            eprintln!("{name} is ignored: build the bench with `--features bench-knobs` to use it");
        }
    }
}
