//! Planning python steps natively: golden manifests, every source, and bad configs
//! refused with the field the author wrote and a fix.
//! (Regenerate the golden files with `UPDATE_GOLDEN=1 cargo test -p noetl-plugin-python --test plan`.)

use noetl_plugin_python::plan;
use noetl_plugin_script::{
    JobBundle, NoSources, PlanContext, PlanError, ScriptSources, SourceError,
};
use serde_json::{Value, json};

#[path = "../../script/tests/common/golden.rs"]
mod golden;

fn context() -> PlanContext {
    PlanContext::new("exec-123", "transform").with_seed(42)
}

/// The script file in the bundle's ConfigMap.
fn script_of(bundle: &JobBundle) -> String {
    bundle.manifests[0].body["data"]["script.py"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn steps_plan_to_the_golden_manifests() {
    let inline =
        json!({"kind": "python", "code": "result = {'n': len(items)}", "args": {"items": [1, 2]}});
    golden::assert_matches("inline", &plan(&inline, &context(), &NoSources).unwrap());
    let full = json!({
        "kind": "python",
        "code": "def main(token_len):\n    return token_len\n",
        "input": {"token_len": 3},
        "env": {"API_TOKEN": "t0k"},
        "timeout_seconds": 30,
        "dependencies": ["requests==2.32.3"],
        "cwd": "/tmp",
        "job": {"namespace": "etl", "resources": {"limits": {"memory": "256Mi"}}}
    });
    golden::assert_matches("full", &plan(&full, &context(), &NoSources).unwrap());
}

#[test]
fn the_code_is_in_the_runner_and_the_args_reach_it_as_argv() {
    let config =
        json!({"kind": "python", "code": "result = 1 # \"quoted\" \\ back", "args": {"a": 1}});
    let bundle = plan(&config, &context(), &NoSources).unwrap();
    let script = script_of(&bundle);
    assert!(
        script.contains(r#"CODE = "result = 1 # \"quoted\" \\ back""#),
        "{script}"
    );
    assert_eq!(bundle.manifests[0].body["data"]["args.json"], r#"{"a":1}"#);
    let job = &bundle.job().unwrap().body;
    assert_eq!(job["metadata"]["labels"]["noetl.io/tool"], "python");
    assert_eq!(
        job["spec"]["backoffLimit"], 0,
        "a failed python step is not retried by default"
    );
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["command"],
        json!(["python3", "/scripts/script.py", "$(NOETL_ARGS)"])
    );
}

/// Files and URLs served from memory; anything else is not found.
struct Sources;

impl ScriptSources for Sources {
    fn read_file(&self, path: &str, _: u64) -> Result<Vec<u8>, SourceError> {
        match path {
            "steps/step.py" => Ok(b"result = 'from file'".to_vec()),
            _ => Err(SourceError::NotFound(format!("no file {path}"))),
        }
    }
    fn fetch(&self, uri: &str, _: u64) -> Result<Vec<u8>, SourceError> {
        match uri {
            "https://example.com/step.py" | "gs://bucket/step.py" | "s3://bucket/step.py" => {
                Ok(format!("result = {uri:?}").into_bytes())
            }
            _ => Err(SourceError::Denied(format!(
                "{uri} is not granted (plugins.python.fetch.hosts)"
            ))),
        }
    }
}

#[test]
fn upstream_script_sources_are_read_through_the_host() {
    let cases = [
        (
            json!({"uri": "inline", "source": {"type": "inline", "code": "result = 'inline'"}}),
            "result = 'inline'",
        ),
        (
            json!({"source": {"code": "result = 'untyped'"}}),
            "result = 'untyped'",
        ),
        (
            json!({"uri": "steps/step.py", "source": {"type": "file"}}),
            "result = 'from file'",
        ),
        (
            json!({"source": {"type": "http", "endpoint": "https://example.com/step.py", "method": "GET", "timeout": 5}}),
            "https://example.com/step.py",
        ),
        (
            json!({"uri": "gs://bucket/step.py", "source": {"type": "gcs"}}),
            "gs://bucket/step.py",
        ),
        (
            json!({"uri": "s3://bucket/step.py", "source": {"type": "s3"}}),
            "s3://bucket/step.py",
        ),
    ];
    for (script, expected) in cases {
        let bundle = plan(
            &json!({"kind": "python", "script": script}),
            &context(),
            &Sources,
        )
        .unwrap();
        let code = Value::from(expected).to_string();
        let text = script_of(&bundle);
        assert!(text.contains(&code[1..code.len() - 1]), "{script}: {text}");
    }
    let missing = plan(
        &json!({"kind": "python", "script": {"uri": "nope.py", "source": {"type": "file"}}}),
        &context(),
        &Sources,
    );
    match missing {
        Err(PlanError::InvalidConfig(errors)) => assert_eq!(errors[0].field, "tool.script.uri"),
        other => panic!("expected a field error, got {other:?}"),
    }
    let denied = plan(
        &json!({"kind": "python", "script": {"uri": "https://evil.example/x.py", "source": {"type": "http"}}}),
        &context(),
        &Sources,
    );
    assert!(
        matches!(denied, Err(PlanError::Capability(SourceError::Denied(m))) if m.contains("plugins.python.fetch.hosts"))
    );
}

fn errors_of(config: Value) -> Vec<(String, String, String)> {
    match plan(&config, &context(), &NoSources) {
        Err(PlanError::InvalidConfig(errors)) => errors
            .into_iter()
            .map(|e| (e.field, e.message, e.fix))
            .collect(),
        other => panic!("expected field errors for {config}, got {other:?}"),
    }
}

#[test]
fn bad_configs_name_the_field_and_the_fix() {
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!("python"), "tool", "mapping of fields"),
        (json!({"kind": "python"}), "tool.code", "add code"),
        (
            json!({"kind": "python", "cod": "x"}),
            "tool.cod",
            "did you mean `code`?",
        ),
        (
            json!({"kind": "python", "code": "x", "script": {"source": {"code": "y"}}}),
            "tool.script",
            "keep one",
        ),
        (
            json!({"kind": "python", "code": ["print(1)"]}),
            "tool.code",
            "write a string",
        ),
        (
            json!({"kind": "python", "code": "x", "args": [1]}),
            "tool.args",
            "write a mapping",
        ),
        (
            json!({"kind": "python", "code": "x", "args": {}, "input": {}}),
            "tool.input",
            "keep one",
        ),
        (
            json!({"kind": "python", "code": "x", "timeout_seconds": "60"}),
            "tool.timeout_seconds",
            "without quotes",
        ),
        (
            json!({"kind": "python", "code": "x", "timeout_seconds": 0}),
            "tool.timeout_seconds",
            "between 1",
        ),
        (
            json!({"kind": "python", "code": "x", "env": {"HOME": "/x"}}),
            "tool.env.HOME",
            "reserved",
        ),
        (
            json!({"kind": "python", "code": "x", "env": {"A": [1]}}),
            "tool.env.A",
            "write a string",
        ),
        (
            json!({"kind": "python", "code": "x", "dependencies": ["-e ."]}),
            "tool.dependencies[0]",
            "",
        ),
        (
            json!({"kind": "python", "code": "x", "job": {"env": {}}}),
            "tool.job.env",
            "move it to tool.env",
        ),
        (
            json!({"kind": "python", "code": "x", "job": {"imagee": "python:3.12"}}),
            "tool.job.imagee",
            "did you mean `image`?",
        ),
        (
            json!({"kind": "python", "code": "x", "cwd": "work"}),
            "tool.cwd",
            "absolute path",
        ),
        (
            json!({"kind": "python", "code": "x", "python": "/usr/bin/python2"}),
            "tool.python",
            "job.image",
        ),
        (
            json!({"kind": "python", "script": {"source": {"type": "ftp"}}}),
            "tool.script.source.type",
            "use one of",
        ),
        (
            json!({"kind": "python", "script": {"source": {"type": "file"}}}),
            "tool.script.uri",
            "add uri",
        ),
        (
            json!({"kind": "python", "script": {"uri": "http://x/a.py", "source": {"type": "gcs"}}}),
            "tool.script.uri",
            "gs://",
        ),
        (
            json!({"kind": "python", "script": {"uri": "https://x/a.py", "source": {"type": "http", "method": "POST"}}}),
            "tool.script.source.method",
            "GET",
        ),
        (
            json!({"kind": "python", "script": {"source": {"type": "inline"}}}),
            "tool.script.source.code",
            "add code",
        ),
        (
            json!({"kind": "python", "code": "x".repeat(1024 * 1024)}),
            "tool.code",
            "1 MiB",
        ),
    ];
    for (config, field, fix) in cases {
        let errors = errors_of(config.clone());
        let found = errors.iter().find(|(f, _, _)| f == field);
        let Some((_, _, got_fix)) = found else {
            panic!("no error at {field} for {config}: {errors:?}")
        };
        assert!(
            got_fix.contains(fix) || errors.iter().any(|(f, m, _)| f == field && m.contains(fix)),
            "{field}: fix {got_fix:?} lacks {fix:?}"
        );
    }
}

#[test]
fn an_env_value_is_never_echoed_in_an_error() {
    let errors =
        errors_of(json!({"kind": "python", "code": "x", "env": {"TOKEN": ["s3cr3t-canary"]}}));
    assert!(
        !format!("{errors:?}").contains("s3cr3t-canary"),
        "{errors:?}"
    );
}
