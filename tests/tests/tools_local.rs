//! The python and shell tools through the real `noetl-host run` binary on the default
//! local backend: every way python returns a value, failures, timeouts, a secret canary,
//! and the sandbox (no network unless the policy grants the step of that playbook file, no
//! host home).

use std::path::{Path, PathBuf};
use std::process::Output;

use noetl_tests::local::{loopback_listener, network_grant, report, run, write_policy};
use serde_json::{Value, json};

fn playbook(dir: &Path, yaml: &str) -> PathBuf {
    let path = dir.join("playbook.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

/// The report, after checking the run's exit code.
fn finished(output: &Output, code: i32) -> Value {
    let report = report(output);
    assert_eq!(
        output.status.code(),
        Some(code),
        "{report:#}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    report
}

/// The response of step `name`.
fn response<'a>(report: &'a Value, name: &str) -> &'a Value {
    let steps = report["steps"].as_array().unwrap();
    &steps
        .iter()
        .find(|s| s["step"] == name)
        .unwrap_or_else(|| panic!("no step {name}: {report:#}"))["response"]
}

/// One step's failing run: its response.
fn failing_step(yaml: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let report = finished(&run(&playbook(dir.path(), yaml), &[], &[]), 1);
    report["steps"][0]["response"].clone()
}

#[test]
fn python_returns_a_value_every_upstream_way() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = r#"
workflow:
  - step: global
    tool:
      kind: python
      args: {items: [1, 2, 3]}
      code: |
        result = {"total": sum(items), "via_args": len(args["items"]), "via_input": len(input_data["items"])}
  - step: main_function
    tool:
      kind: python
      input: {a: 2, b: 5, extra: true}
      code: |
        def main(a, b, **rest):
            print("adding")
            return {"sum": a + b, "rest": sorted(rest)}
  - step: top_level_return
    tool:
      kind: python
      args: {n: 4}
      code: |
        squared = args["n"] ** 2
        if squared > 10:
            return {"squared": squared}
        return None
  - step: async_main
    tool:
      kind: python
      code: |
        import asyncio
        async def main():
            await asyncio.sleep(0)
            return "awaited"
  - step: no_value
    tool:
      kind: python
      code: |
        print("only output")
"#;
    let report = finished(&run(&playbook(dir.path(), yaml), &[], &[]), 0);
    assert_eq!(
        response(&report, "global")["data"],
        json!({"total": 6, "via_args": 3, "via_input": 3})
    );
    let main = response(&report, "main_function");
    assert_eq!(main["data"], json!({"sum": 7, "rest": ["extra"]}));
    assert_eq!(main["stdout"], "adding\n");
    assert_eq!(main["exit_code"], 0);
    assert_eq!(
        response(&report, "top_level_return")["data"],
        json!({"squared": 16})
    );
    assert_eq!(response(&report, "async_main")["data"], "awaited");
    assert_eq!(
        response(&report, "no_value")["data"],
        json!({"stdout": "only output\n", "stderr": ""})
    );
}

#[test]
fn a_python_exception_is_the_step_error_with_its_last_line_first() {
    let response = failing_step(
        "workflow:\n  - step: divide\n    tool:\n      kind: python\n      code: |\n        x = 1\n        y = x / 0\n",
    );
    let error = response["error"].as_str().unwrap();
    assert!(
        error
            .starts_with("ZeroDivisionError: division by zero\nTraceback (most recent call last):"),
        "{error}"
    );
    assert!(
        error.contains("line 2") && error.contains("y = x / 0"),
        "the traceback shows the step's line: {error}"
    );
    assert!(
        !error.contains("/scripts/script.py"),
        "the runner's frames are left out: {error}"
    );
    assert_eq!(response["exit_code"], 1);

    let syntax = failing_step(
        "workflow:\n  - step: typo\n    tool:\n      kind: python\n      code: \"def f(:\\n  pass\"\n",
    );
    assert!(
        syntax["error"]
            .as_str()
            .unwrap()
            .starts_with("SyntaxError: "),
        "{syntax:#}"
    );
}

#[test]
fn non_zero_exits_are_step_errors() {
    let python = failing_step(
        "workflow:\n  - step: quit\n    tool:\n      kind: python\n      code: |\n        import sys\n        print('bye')\n        sys.exit(3)\n",
    );
    assert_eq!(python["error"], "Python script exited with code 3");
    assert_eq!(
        (python["exit_code"].as_i64(), python["stdout"].as_str()),
        (Some(3), Some("bye\n"))
    );

    let shell = failing_step(
        "workflow:\n  - step: fail\n    tool:\n      kind: shell\n      command: \"echo out; echo err >&2; exit 4\"\n",
    );
    assert_eq!(shell["error"], "Command exited with code 4");
    assert_eq!(
        shell["data"],
        json!({"exit_code": 4, "stdout": "out\n", "stderr": "err\n"})
    );
}

#[test]
fn timeouts_stop_the_step() {
    let python = failing_step(
        "workflow:\n  - step: slow\n    tool:\n      kind: python\n      timeout_seconds: 1\n      code: \"import time\\ntime.sleep(60)\"\n",
    );
    assert_eq!(python["error"], "Execution timed out after 1 seconds");
    let shell = failing_step(
        "workflow:\n  - step: slow\n    tool:\n      kind: shell\n      timeout_seconds: 1\n      command: sleep 60\n",
    );
    assert_eq!(shell["error"], "Execution timed out after 1 seconds");
}

#[test]
fn shell_runs_lines_and_argv_with_env_and_cwd() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = r#"
workflow:
  - step: line
    tool:
      kind: shell
      shell: bash
      cwd: /tmp
      env: {GREETING: hello}
      command: |
        echo "$GREETING from $(pwd)" | tr a-z A-Z
        [[ -n "$BASH_VERSION" ]] && echo bash
  - step: argv
    tool:
      kind: shell
      command: [printf, "%s|", "a b", "$HOME"]
"#;
    let report = finished(&run(&playbook(dir.path(), yaml), &[], &[]), 0);
    let line = response(&report, "line");
    assert_eq!(
        line["data"],
        json!({"exit_code": 0, "stdout": "HELLO FROM /TMP\nbash\n", "stderr": ""})
    );
    assert_eq!(
        response(&report, "argv")["stdout"],
        "a b|$HOME|",
        "argv words reach the program unexpanded"
    );
}

#[test]
fn a_secret_reaches_the_step_but_never_the_report_or_the_log() {
    let canary = "canary-7e3b2a91-tools";
    let dir = tempfile::tempdir().unwrap();
    let yaml = r#"
workflow:
  - step: py
    tool:
      kind: python
      env: {TOKEN: "{{ secrets.TOOLS_CANARY }}"}
      code: |
        import os
        token = os.environ["TOKEN"]
        print("token is", token)
        result = {"length": len(token), "prefix": token[:7], "echo": token}
  - step: sh
    tool:
      kind: shell
      env: {TOKEN: "{{ secrets.TOOLS_CANARY }}"}
      command: echo "shell sees $TOKEN"
"#;
    let output = run(
        &playbook(dir.path(), yaml),
        &[],
        &[
            ("NOETL_SECRET_TOOLS_CANARY", canary),
            ("NOETL_LOG", "debug"),
        ],
    );
    let report = finished(&output, 0);
    let py = response(&report, "py");
    assert_eq!(
        (py["data"]["length"].as_u64(), py["data"]["prefix"].as_str()),
        (Some(canary.len() as u64), Some("canary-"))
    );
    assert_eq!(py["data"]["echo"], "<redacted>");
    assert_eq!(response(&report, "sh")["stdout"], "shell sees <redacted>\n");
    for (stream, text) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        assert!(
            !String::from_utf8_lossy(text).contains(canary),
            "the secret leaked on {stream}"
        );
    }
}

const CONNECT: &str = r#"
      code: |
        import socket
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            result = "connected"
        except OSError as error:
            result = str(error)"#;

#[test]
fn steps_have_no_network_unless_the_policy_opts_them_in() {
    let (port, connections) = loopback_listener();
    let dir = tempfile::tempdir().unwrap();
    let python_step = format!(
        "workflow:\n  - step: call_api\n    tool:\n      kind: python\n      args: {{port: {port}}}{CONNECT}\n"
    );
    let shell_step = format!(
        "  - step: shell_call\n    tool:\n      kind: shell\n      shell: bash\n      command: \"exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected\"\n"
    );
    let both = playbook(dir.path(), &format!("{python_step}{shell_step}"));
    let report = finished(&run(&both, &[], &[]), 1);
    let python = response(&report, "call_api")["data"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(python.contains("Network is unreachable"), "{report:#}");
    assert_ne!(
        response(&report, "shell_call")["data"]["exit_code"],
        0,
        "{report:#}"
    );
    assert!(
        connections.try_recv().is_err(),
        "a sandboxed step reached the host's loopback"
    );

    let python_only = playbook(dir.path(), &python_step);
    let policy = write_policy(
        dir.path(),
        &format!(
            "plugins:\n  template: {{secrets: {{names: [\"*\"]}}}}\n{}",
            network_grant(&python_only, &["call_api"])
        ),
    );
    let opted_in = finished(
        &run(&python_only, &["--policy", policy.to_str().unwrap()], &[]),
        0,
    );
    assert_eq!(response(&opted_in, "call_api")["data"], "connected");
    connections
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the opted-in step connected");
}

/// A file in the host user's home directory, removed when dropped.
struct HomeFile(PathBuf);

impl Drop for HomeFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn steps_cannot_read_the_host_home_directory() {
    let home = PathBuf::from(std::env::var_os("HOME").expect("HOME is set"));
    let file = HomeFile(home.join(format!(".noetl-tools-test-{}", std::process::id())));
    std::fs::write(&file.0, "home-secret-5c2d").unwrap();
    let path = file.0.display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        r#"
workflow:
  - step: py
    tool:
      kind: python
      args: {{path: "{path}"}}
      code: |
        import os
        try:
            result = open(path).read()
        except OSError as error:
            result = {{"denied": type(error).__name__, "home": os.environ["HOME"]}}
  - step: sh
    tool:
      kind: shell
      command: "cat '{path}' 2>/dev/null || echo denied"
"#
    );
    let report = finished(&run(&playbook(dir.path(), &yaml), &[], &[]), 0);
    let py = &response(&report, "py")["data"];
    assert_eq!(py["home"], "/tmp", "{report:#}");
    assert!(
        py["denied"].is_string(),
        "the python step read the host home: {report:#}"
    );
    assert_eq!(response(&report, "sh")["stdout"], "denied\n", "{report:#}");
}
