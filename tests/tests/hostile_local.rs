//! Hostile steps and playbooks on the local backend, through the real `noetl-host` binary:
//! a playbook that names its step after a granted one gets no network (the grant is pinned
//! to the granted file's SHA-256), nor does `exec` whatever its context claims; a step
//! filling `/dev/shm` under the rlimit fallback stops at its share of the memory limit; and
//! a secret leaves no trace in its ASCII-escaped JSON form or in a basic-auth header a
//! server echoes back.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use noetl_tests::http::TestServer;
use noetl_tests::local::{loopback_listener, network_grant, report, run, shared_cache, write_policy};
use serde_json::{Value, json};

fn write(dir: &Path, name: &str, yaml: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, yaml).unwrap();
    path
}

/// The report, after checking the run's exit code.
fn finished(output: &Output, code: i32) -> Value {
    let report = report(output);
    assert_eq!(output.status.code(), Some(code), "{report:#}\nstderr: {}", String::from_utf8_lossy(&output.stderr));
    report
}

/// The `data` of step `name` (the first call of it).
fn data<'a>(report: &'a Value, name: &str) -> &'a Value {
    let steps = report["steps"].as_array().unwrap();
    &steps.iter().find(|s| s["step"] == name).unwrap_or_else(|| panic!("no step {name}: {report:#}"))["response"]["data"]
}

/// A python step `name` that connects to the host's loopback `port`; its result is
/// `connected` or the error.
fn connect_step(name: &str, port: u16, note: &str) -> String {
    format!(
        "  - step: {name}\n    tool:\n      kind: python\n      args: {{port: {port}}}\n      code: |\n        # {note}\n        import socket\n        try:\n            socket.create_connection((\"127.0.0.1\", port), timeout=5).close()\n            result = \"connected\"\n        except OSError as error:\n            result = str(error)\n"
    )
}

fn assert_no_connection(connections: &Receiver<()>, what: &str) {
    assert!(connections.try_recv().is_err(), "{what} reached the host's loopback");
}

/// The grant names a step of one file. Another playbook with a step of the same name (the
/// author picks step names) gets loopback only; so does an unlisted step of the granted
/// file; the granted step of the granted file connects.
#[test]
fn the_network_grant_is_pinned_to_the_playbook_file_not_the_step_name() {
    let (port, connections) = loopback_listener();
    let dir = tempfile::tempdir().unwrap();
    let granted = write(
        dir.path(),
        "granted.yaml",
        &format!("workflow:\n{}{}", connect_step("call_api", port, "the granted file"), connect_step("other", port, "not listed")),
    );
    let impostor = write(dir.path(), "impostor.yaml", &format!("workflow:\n{}", connect_step("call_api", port, "same name, other file")));
    let policy = write_policy(
        dir.path(),
        &format!("plugins:\n  template: {{secrets: {{names: [\"*\"]}}}}\n{}", network_grant(&granted, &["call_api"])),
    );
    let policy = ["--policy", policy.to_str().unwrap()];

    let report = finished(&run(&impostor, &policy, &[]), 0);
    assert!(data(&report, "call_api").as_str().unwrap_or_default().contains("Network is unreachable"), "{report:#}");
    assert_no_connection(&connections, "a step named like a granted one in another file");

    let report = finished(&run(&granted, &policy, &[]), 0);
    assert!(data(&report, "other").as_str().unwrap_or_default().contains("Network is unreachable"), "{report:#}");
    assert_eq!(data(&report, "call_api"), "connected", "{report:#}");
    connections.recv_timeout(Duration::from_secs(10)).expect("the granted step connected");
    assert_no_connection(&connections, "the unlisted step");
}

/// A grant of every step of a file (no `steps`) does not reach into a playbook it calls:
/// the child's steps come from another file, with its own SHA-256.
#[test]
fn a_whole_file_grant_does_not_extend_to_the_playbooks_it_calls() {
    let (port, connections) = loopback_listener();
    let dir = tempfile::tempdir().unwrap();
    let child = write(dir.path(), "child.yaml", &format!("workflow:\n{}", connect_step("call_api", port, "the child")));
    let parent = write(
        dir.path(),
        "parent.yaml",
        &format!("workflow:\n{}  - step: run_child\n    tool: {{kind: playbook, path: child.yaml}}\n", connect_step("own", port, "the parent")),
    );
    let policy = write_policy(dir.path(), &format!("plugins:\n  template: {{secrets: {{names: [\"*\"]}}}}\n{}", network_grant(&parent, &[])));
    let report = finished(&run(&parent, &["--policy", policy.to_str().unwrap()], &[]), 0);
    assert_eq!(data(&report, "own"), "connected", "{report:#}");
    connections.recv_timeout(Duration::from_secs(10)).expect("the parent's step connected");
    let child_result = &data(&report, "run_child")["steps"]["call_api"];
    assert!(child_result.as_str().unwrap_or_default().contains("Network is unreachable"), "{report:#}");
    assert_no_connection(&connections, "the child playbook's step");
    // Pinning the child's file grants it.
    let policy = write_policy(dir.path(), &format!("plugins:\n  template: {{secrets: {{names: [\"*\"]}}}}\n{}", network_grant(&child, &[])));
    let report = finished(&run(&parent, &["--policy", policy.to_str().unwrap()], &[]), 0);
    assert_eq!(data(&report, "run_child")["steps"]["call_api"], "connected", "{report:#}");
}

/// `exec` has no playbook file: a context claiming a granted file's SHA-256 and step name
/// grants nothing.
#[test]
fn exec_gets_no_network_whatever_its_context_claims() {
    let (port, connections) = loopback_listener();
    let dir = tempfile::tempdir().unwrap();
    let granted = write(dir.path(), "granted.yaml", &format!("workflow:\n{}", connect_step("call_api", port, "granted")));
    let sha256 = noetl_host::execute::sha256_hex(&std::fs::read(&granted).unwrap());
    let policy = write_policy(dir.path(), &network_grant(&granted, &["call_api"]));
    let code = "import socket\ntry:\n    socket.create_connection(('127.0.0.1', port), timeout=5).close()\n    result = 'connected'\nexcept OSError as error:\n    result = str(error)\n";
    let request = json!({
        "config": {"code": code, "args": {"port": port}},
        "context": {"execution_id": "e1", "step": "call_api", "playbook_sha256": sha256, "noetl.io/playbook-sha256": sha256},
    });
    let output = noetl_tests::cli::run(
        &["--policy", policy.to_str().unwrap(), "exec", "--tool", "python"],
        &request.to_string(),
        &shared_cache().join("noetl-host"),
    );
    let response = noetl_tests::cli::json_stdout(&output);
    assert!(response["data"].as_str().unwrap_or_default().contains("Network is unreachable"), "{response:#}");
    assert_no_connection(&connections, "an exec call");
}

/// Under the rlimit fallback nothing counts tmpfs pages, so `/dev/shm`, `/tmp` and `/dev`
/// are sized to add up to the memory limit at most. A 256Mi shell step writing 2 GiB into
/// `/dev/shm` stops at its eighth of the limit (ENOSPC), `/tmp` at the rest, `/dev` itself
/// takes nothing, and the host's `/dev/shm` gets nothing.
#[test]
fn under_the_fallback_dev_shm_and_tmp_together_stay_within_the_memory_limit() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("noetl-hostile-shm-{}", std::process::id());
    let yaml = format!(
        r#"
workflow:
  - step: fill
    tool:
      kind: shell
      job: {{resources: {{limits: {{memory: 256Mi}}}}}}
      command: |
        dd if=/dev/zero of=/dev/shm/{name} bs=1M count=2048 2>&1 | grep -o 'No space left on device' | head -n 1
        echo "shm $(stat -c %s /dev/shm/{name})"
        dd if=/dev/zero of=/tmp/fill bs=1M count=2048 2>&1 | grep -o 'No space left on device' | head -n 1
        echo "tmp $(stat -c %s /tmp/fill)"
        if dd if=/dev/zero of=/dev/fill bs=1M count=1 2>/dev/null; then echo "dev writable"; else echo "dev refused"; fi
"#
    );
    let playbook = write(dir.path(), "fill.yaml", &yaml);
    let policy = write_policy(dir.path(), "local:\n  cgroups: false\n");
    let report = finished(&run(&playbook, &["--policy", policy.to_str().unwrap()], &[]), 0);
    let stdout = data(&report, "fill")["stdout"].as_str().unwrap_or_default().to_string();
    let size = |what: &str| -> u64 {
        let line = stdout.lines().find_map(|l| l.strip_prefix(&format!("{what} "))).unwrap_or_else(|| panic!("no {what} line: {report:#}"));
        line.trim().parse().unwrap_or_else(|_| panic!("{what}: {line:?}: {report:#}"))
    };
    let limit = 256u64 << 20;
    assert_eq!(stdout.matches("No space left on device").count(), 2, "both writes hit their size: {report:#}");
    assert!(size("shm") <= limit / 8, "/dev/shm holds at most an eighth of the limit: {report:#}");
    assert!(size("shm") + size("tmp") <= limit, "together at most the limit: {report:#}");
    assert!(size("tmp") >= limit / 2, "/tmp keeps most of the limit: {report:#}");
    assert!(stdout.contains("dev refused"), "/dev itself is read-only: {report:#}");
    assert!(!Path::new("/dev/shm").join(&name).exists(), "the host's /dev/shm got the file");
}

fn all_output(output: &Output, events: &Path) -> String {
    format!(
        "{}\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        std::fs::read_to_string(events).unwrap_or_default()
    )
}

/// Python's `json.dumps` writes a non-ASCII secret as `\uXXXX` escapes; that form is
/// redacted from the report, the log and the events like the value itself.
#[test]
fn a_non_ascii_secret_printed_by_json_dumps_is_redacted() {
    let canary = "pässwörd-CANARY-é🔑";
    let dir = tempfile::tempdir().unwrap();
    let yaml = r#"
workflow:
  - step: dump
    tool:
      kind: python
      env: {PW: "{{ secrets.PW_UNICODE }}"}
      code: |
        import json, os
        pw = os.environ["PW"]
        print(json.dumps(pw))
        print(json.dumps({"pw": pw}))
        result = {"dumped": json.dumps(pw), "length": len(pw)}
"#;
    let playbook = write(dir.path(), "dump.yaml", yaml);
    let events = dir.path().join("events.jsonl");
    let output = run(&playbook, &["--events", events.to_str().unwrap()], &[("NOETL_SECRET_PW_UNICODE", canary), ("NOETL_LOG", "debug")]);
    let report = finished(&output, 0);
    assert_eq!(data(&report, "dump")["length"], canary.chars().count(), "the step got the secret: {report:#}");
    let escaped = r"p\u00e4ssw\u00f6rd-CANARY-\u00e9\ud83d\udd11";
    let text = all_output(&output, &events);
    assert!(text.contains("<redacted>"), "{text}");
    for form in [canary, escaped, "CANARY"] {
        assert!(!text.contains(form), "{form:?} leaked:\n{text}");
    }
}

/// `auth: {type: basic}` sends `Basic base64("svc:<secret>")`; a server that echoes request
/// headers hands it back. The host remembered the header it sent, so neither the secret
/// nor its encodings reach the report, the log or the events.
#[test]
fn a_basic_auth_header_echoed_by_the_server_is_redacted() {
    let canary = "canary-basic-9f3e71";
    let server = TestServer::start(|_, headers| {
        let echo: serde_json::Map<String, Value> = headers.iter().map(|(n, v)| (n.clone(), json!(v))).collect();
        (200, json!({"headers": echo}).to_string())
    });
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "workflow:\n  - step: echo\n    tool:\n      kind: http\n      url: \"{}/echo\"\n      auth: {{type: basic, username: svc, password: \"{{{{ secrets.HTTP_PW }}}}\"}}\n",
        server.url()
    );
    let playbook = write(dir.path(), "echo.yaml", &yaml);
    let policy = write_policy(dir.path(), "plugins:\n  http:\n    http: {hosts: [\"127.0.0.1\"]}\n  template:\n    secrets: {names: [\"*\"]}\n");
    let events = dir.path().join("events.jsonl");
    let output = run(
        &playbook,
        &["--policy", policy.to_str().unwrap(), "--events", events.to_str().unwrap()],
        &[("NOETL_SECRET_HTTP_PW", canary), ("NOETL_LOG", "debug")],
    );
    let report = finished(&output, 0);
    let sent = server.seen_headers.lock().unwrap()[0].iter().find(|(n, _)| n == "authorization").map(|(_, v)| v.clone());
    let token = base64_standard(&format!("svc:{canary}"));
    assert_eq!(sent, Some(format!("Basic {token}")), "the server got the credential");
    let echoed = serde_json::to_string(&data(&report, "echo")).unwrap();
    assert!(echoed.contains("<redacted>"), "the echoed header is redacted: {report:#}");
    let text = all_output(&output, &events);
    for form in [canary, token.as_str(), token.trim_end_matches('=')] {
        assert!(!text.contains(form), "{form:?} leaked:\n{text}");
    }
}

/// Standard, padded base64 (the tests crate has no base64 dependency of its own).
fn base64_standard(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
