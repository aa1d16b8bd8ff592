//! Usage errors of the `noetl-host` binary end with exit code 2 and say what is wrong.
//! (Having an integration test here also makes `cargo test` build the binary that the
//! workspace's end-to-end tests in `tests/` run.)

use std::process::Command;

#[test]
fn unknown_subcommand_is_a_usage_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_noetl-host")).arg("frobnicate").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unrecognized subcommand 'frobnicate'"));
}

#[test]
fn bad_policy_file_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, "plugins:\n  script:\n    limits: {cpu_ms: 0}\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_noetl-host"))
        .args(["plugins", "list", "--policy", policy.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("plugins.script.limits.cpu_ms") && stderr.contains("policy.yaml"), "{stderr}");
}
