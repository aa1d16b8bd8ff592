//! Shared helpers of the integration tests: where the test components and the host
//! binary are, and a host built the way the CLI builds it.

use std::path::PathBuf;

/// Components built from this workspace by `build.rs`.
pub mod guests {
    pub const JSON_TRANSFORM: &str = env!("JSON_TRANSFORM_WASM");
    pub const HOSTILE: &str = env!("HOSTILE_PLUGIN_WASM");
    pub const FUTURE_CONTRACT: &str = env!("FUTURE_CONTRACT_PLUGIN_WASM");
    pub const LEGACY_CONTRACT: &str = env!("LEGACY_CONTRACT_PLUGIN_WASM");
    pub const PREINIT: &str = env!("PREINIT_PLUGIN_WASM");
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

/// Run the host binary with `args`, `stdin` as its input and its own component cache
/// (`NOETL_CACHE_DIR`), as a worker or a person runs it.
pub fn run_host(args: &[&str], stdin: &str, cache: &std::path::Path) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(host_bin())
        .args(args)
        .env("NOETL_CACHE_DIR", cache)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// The repository root (for example playbooks).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}
