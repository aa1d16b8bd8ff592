//! Planning shell steps natively: golden manifests, the generated script, bad configs
//! refused with the field and a fix, and responses in upstream's shape.
//! (Regenerate the golden files with `UPDATE_GOLDEN=1 cargo test -p noetl-plugin-shell --test plan`.)

use noetl_plugin_script::{JobOutcome, JobStatus, PlanContext, PlanError};
use noetl_plugin_shell::{finish, plan};
use serde_json::{Value, json};

#[path = "../../script/tests/common/golden.rs"]
mod golden;

fn context() -> PlanContext {
    PlanContext::new("exec-123", "list-files").with_seed(42)
}

#[test]
fn steps_plan_to_the_golden_manifests() {
    let line = json!({"kind": "shell", "command": "ls -l /tmp | wc -l", "shell": "bash", "env": {"TOKEN": "t"}, "cwd": "/tmp", "timeout_seconds": 20});
    golden::assert_matches("line", &plan(&line, &context()).unwrap());
    let argv = json!({"kind": "shell", "command": ["echo", "it's", "$HOME"]});
    let bundle = plan(&argv, &context()).unwrap();
    golden::assert_matches("argv", &bundle);
    let script = bundle.manifests[0].body["data"]["script.sh"]
        .as_str()
        .unwrap();
    assert!(
        script.ends_with("exec 'echo' 'it'\\''s' '$HOME'\n"),
        "{script}"
    );
    let job = &bundle.job().unwrap().body;
    assert_eq!(job["metadata"]["labels"]["noetl.io/tool"], "shell");
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["command"][0],
        "sh"
    );
    assert_eq!(job["spec"]["backoffLimit"], 0);
}

fn errors_of(config: Value) -> Vec<(String, String)> {
    match plan(&config, &context()) {
        Err(PlanError::InvalidConfig(errors)) => errors
            .into_iter()
            .map(|e| (e.field, format!("{} / {}", e.message, e.fix)))
            .collect(),
        other => panic!("expected field errors for {config}, got {other:?}"),
    }
}

#[test]
fn bad_configs_name_the_field_and_the_fix() {
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"kind": "shell"}), "tool.command", "add command"),
        (
            json!({"kind": "shell", "command": 5}),
            "tool.command",
            "a string or a list",
        ),
        (
            json!({"kind": "shell", "command": []}),
            "tool.command",
            "empty",
        ),
        (
            json!({"kind": "shell", "command": ["ls", {"all": true}]}),
            "tool.command[1]",
            "write a string",
        ),
        (
            json!({"kind": "shell", "command": ["ls"], "shell": "bash"}),
            "tool.shell",
            "without a shell",
        ),
        (
            json!({"kind": "shell", "command": "ls", "shell": "bash -x"}),
            "tool.shell",
            "sh or bash",
        ),
        (
            json!({"kind": "shell", "command": "ls", "capture": "yes"}),
            "tool.capture",
            "true or false",
        ),
        (
            json!({"kind": "shell", "command": "ls", "cwd": "rel"}),
            "tool.cwd",
            "absolute path",
        ),
        (
            json!({"kind": "shell", "command": "ls", "timeout_seconds": -1}),
            "tool.timeout_seconds",
            "between 1",
        ),
        (
            json!({"kind": "shell", "command": "ls", "env": {"NOETL_ARGS": "x"}}),
            "tool.env.NOETL_ARGS",
            "reserved",
        ),
        (
            json!({"kind": "shell", "command": "ls", "commnd": "x"}),
            "tool.commnd",
            "did you mean `command`?",
        ),
        (
            json!({"kind": "shell", "command": "ls", "job": {"timeout": 5}}),
            "tool.job.timeout",
            "tool.timeout_seconds",
        ),
    ];
    for (config, field, text) in cases {
        let errors = errors_of(config.clone());
        assert!(
            errors.iter().any(|(f, t)| f == field && t.contains(text)),
            "{config}: no {field} error containing {text:?} in {errors:?}"
        );
    }
}

fn outcome(status: JobStatus, exit_code: Option<i32>) -> JobOutcome {
    JobOutcome {
        status,
        job_name: "j".into(),
        namespace: "noetl".into(),
        pod_name: None,
        execution_seconds: 1.0,
        succeeded: 0,
        failed: 0,
        exit_code,
        reason: None,
        message: None,
        output: "out\n".into(),
        stderr: Some("err\n".into()),
        output_truncated: false,
    }
}

#[test]
fn responses_have_upstream_shape() {
    let config = json!({"kind": "shell", "command": "x", "timeout_seconds": 9});
    assert_eq!(
        finish(&config, &outcome(JobStatus::Completed, Some(0))),
        json!({"status": "success", "data": {"exit_code": 0, "stdout": "out\n", "stderr": "err\n"}, "stdout": "out\n", "stderr": "err\n", "exit_code": 0})
    );
    let failed = finish(&config, &outcome(JobStatus::Failed, Some(2)));
    assert_eq!(
        (failed["status"].as_str(), failed["error"].as_str()),
        (Some("error"), Some("Command exited with code 2"))
    );
    assert_eq!(failed["data"]["exit_code"], 2);
    let timed_out = finish(&config, &outcome(JobStatus::Timeout, None));
    assert_eq!(timed_out["error"], "Execution timed out after 9 seconds");
    let quiet = finish(
        &json!({"kind": "shell", "command": "x", "capture": false}),
        &outcome(JobStatus::Completed, Some(0)),
    );
    assert_eq!(
        quiet["data"],
        json!({"exit_code": 0, "stdout": "", "stderr": ""})
    );
}
