//! `noetl-host plugins new NAME --lang rust` writes a project that builds as it is, outside
//! this workspace and against the SDK by path: its own test passes natively, its component
//! builds for wasm32-wasip2, and the host loads it and runs it through `exec`.

use std::path::Path;
use std::process::Command;

use noetl_tests::{cli, host_bin, repo_root};
use serde_json::json;

/// `cargo ARGS` in `project`, with the guest builds' target dir under this checkout's
/// `target/` (kept between runs, so only the first build compiles the dependencies).
fn cargo(project: &Path, args: &[&str]) {
    let target = host_bin().parent().and_then(Path::parent).unwrap().join("plugins-new");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(project)
        .args(args)
        .arg("--offline")
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .unwrap();
    assert!(output.status.success(), "cargo {args:?} in {}:\n{}", project.display(), String::from_utf8_lossy(&output.stderr));
}

#[test]
fn a_new_rust_plugin_builds_tests_loads_and_runs() {
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("greeter");
    let sdk = repo_root().join("plugins/sdk");
    let args = ["plugins", "new", "greeter", "--lang", "rust", "--dir", project.to_str().unwrap(), "--sdk-path", sdk.to_str().unwrap()];
    let output = cli::run(&args, "", work.path());
    assert_eq!(output.status.code(), Some(0), "{}", cli::stderr(&output));
    for file in ["Cargo.toml", "src/lib.rs", "README.md"] {
        assert!(project.join(file).is_file(), "{file} not written");
    }

    cargo(&project, &["test"]);
    cargo(&project, &["build", "--release", "--target", "wasm32-wasip2"]);
    let target = host_bin().parent().and_then(Path::parent).unwrap().join("plugins-new");
    let wasm = target.join("wasm32-wasip2/release/greeter.wasm");
    let readme = std::fs::read_to_string(project.join("README.md")).unwrap();
    assert!(readme.contains("target/wasm32-wasip2/release/greeter.wasm"), "the README names the built file");

    let cache = tempfile::tempdir().unwrap();
    let request = json!({"config": {"message": "hello"}}).to_string();
    let output = cli::run(&["exec", "--tool", "greeter", "--plugin", wasm.to_str().unwrap()], &request, cache.path());
    assert_eq!(output.status.code(), Some(0), "{}", cli::stderr(&output));
    assert_eq!(cli::json_stdout(&output)["data"], json!({"message": "hello", "length": 5}));
}

#[test]
fn a_bad_name_or_an_existing_directory_is_refused_and_nothing_is_written() {
    let work = tempfile::tempdir().unwrap();
    let output = cli::run(&["plugins", "new", "Bad Name", "--lang", "rust", "--dir", work.path().join("x").to_str().unwrap()], "", work.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(cli::stderr(&output).contains("lowercase letters"), "{}", cli::stderr(&output));
    assert!(!work.path().join("x").exists());

    let output = cli::run(&["plugins", "new", "ok", "--lang", "rust", "--dir", work.path().to_str().unwrap()], "", work.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(cli::stderr(&output).contains("already exists"), "{}", cli::stderr(&output));
}
