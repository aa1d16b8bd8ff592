//! Every bad config is refused with the exact field path and a fix a person can act on.

mod common;

use noetl_plugin_script::{FieldError, NoSources, PlanError, plan};
use serde_json::{Value, json};

/// A valid python step; each case edits it.
fn base() -> Value {
    json!({"kind": "script", "script": {"type": "inline", "content": "print(1)"}, "args": {"a": 1}, "job": {"image": "python:3.11-slim"}})
}

/// `base()` with the value at `pointer` (JSON pointer) replaced, or removed when `None`.
fn edit(pointer: &str, value: Option<Value>) -> Value {
    let mut config = base();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let parent = config
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("no {parent}"));
    let map = parent.as_object_mut().unwrap();
    match value {
        Some(value) => map.insert(key.into(), value),
        None => map.remove(key),
    };
    config
}

fn set(pointer: &str, value: Value) -> Value {
    edit(pointer, Some(value))
}

fn errors_of(config: &Value) -> Vec<FieldError> {
    match plan(config, &common::context("s"), &NoSources) {
        Ok(_) => panic!("planned although invalid: {config}"),
        Err(PlanError::InvalidConfig(errors)) => errors,
        Err(other) => panic!("expected field errors, got {other:?}"),
    }
}

#[test]
fn bad_configs_name_the_field_and_the_fix() {
    let mib = 1024 * 1024;
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "tool is not a mapping",
            json!("script"),
            "tool",
            "mapping of fields",
        ),
        (
            "wrong kind",
            set("/kind", json!("http")),
            "tool.kind",
            "set tool.kind to script",
        ),
        (
            "unknown top-level key",
            set("/arg", json!({})),
            "tool.arg",
            "did you mean `args`?",
        ),
        (
            "missing script",
            edit("/script", None),
            "tool.script",
            "add script",
        ),
        (
            "script not a mapping",
            set("/script", json!("print(1)")),
            "tool.script",
            "mapping",
        ),
        (
            "missing type",
            edit("/script/type", None),
            "tool.script.type",
            "add type",
        ),
        (
            "type is a number",
            set("/script/type", json!(5)),
            "tool.script.type",
            "use one of: inline, local, http, gcs, s3",
        ),
        (
            "unknown type",
            set("/script/type", json!("ftp")),
            "tool.script.type",
            "use one of: inline, local, http, gcs, s3",
        ),
        (
            "misspelt type",
            set("/script/type", json!("inlin")),
            "tool.script.type",
            "did you mean `inline`?",
        ),
        (
            "missing content",
            edit("/script/content", None),
            "tool.script.content",
            "add content",
        ),
        (
            "uri on inline",
            set("/script/uri", json!("https://x/y.py")),
            "tool.script.uri",
            "remove uri",
        ),
        (
            "unknown script key",
            set("/script/contnet", json!("x")),
            "tool.script.contnet",
            "did you mean `content`?",
        ),
        (
            "content on http",
            json!({"script": {"type": "http", "uri": "https://x/y.py", "content": "x"}}),
            "tool.script.content",
            "remove content",
        ),
        (
            "http without uri",
            json!({"script": {"type": "http"}}),
            "tool.script.uri",
            "add uri",
        ),
        (
            "gcs with an https uri",
            json!({"script": {"type": "gcs", "uri": "https://x/y.py"}}),
            "tool.script.uri",
            "starting with gs://",
        ),
        (
            "local with both",
            json!({"script": {"type": "local", "content": "x", "path": "a.py"}}),
            "tool.script.path",
            "keep one",
        ),
        (
            "local with neither",
            json!({"script": {"type": "local"}}),
            "tool.script.content",
            "add content",
        ),
        (
            "local path escapes",
            json!({"script": {"type": "local", "path": "../secrets.py"}}),
            "tool.script.path",
            "relative path without '..'",
        ),
        (
            "bad sha256",
            set("/script/sha256", json!("abc")),
            "tool.script.sha256",
            "64 hex characters",
        ),
        (
            "misspelt runtime",
            set("/script/runtime", json!("pyhton")),
            "tool.script.runtime",
            "did you mean `python`?",
        ),
        (
            "image without a known runtime",
            set("/job/image", json!("alpine:3.20")),
            "tool.script.runtime",
            "set tool.script.runtime",
        ),
        (
            "args over the argv limit",
            set("/args", json!({"blob": "x".repeat(130 * 1024)})),
            "tool.args",
            "pass large data by reference",
        ),
        (
            "script over 1 MiB",
            set("/script/content", json!("#".repeat(mib + 1))),
            "tool.script.content",
            "below 1 MiB",
        ),
        (
            "job not a mapping",
            set("/job", json!(["x"])),
            "tool.job",
            "mapping of fields",
        ),
        (
            "misspelt backoff_limit",
            set("/job/backof_limit", json!(2)),
            "tool.job.backof_limit",
            "did you mean `backoff_limit`?",
        ),
        (
            "negative timeout",
            set("/job/timeout", json!(-5)),
            "tool.job.timeout",
            "between 1 and",
        ),
        (
            "zero timeout",
            set("/job/timeout", json!(0)),
            "tool.job.timeout",
            "between 1 and",
        ),
        (
            "quoted timeout",
            set("/job/timeout", json!("60")),
            "tool.job.timeout",
            "write 60 without quotes",
        ),
        (
            "fractional timeout",
            set("/job/timeout", json!(1.5)),
            "tool.job.timeout",
            "whole number",
        ),
        (
            "negative backoff",
            set("/job/backoff_limit", json!(-1)),
            "tool.job.backoff_limit",
            "between 0 and",
        ),
        (
            "ttl is text",
            set("/job/ttl_seconds_after_finished", json!("soon")),
            "tool.job.ttl_seconds_after_finished",
            "whole number",
        ),
        (
            "bad image",
            set("/job/image", json!("Python:3")),
            "tool.job.image",
            "image reference such as",
        ),
        (
            "image with a space",
            set("/job/image", json!("python:3 slim")),
            "tool.job.image",
            "image reference such as",
        ),
        (
            "bad namespace",
            set("/job/namespace", json!("Data_Team")),
            "tool.job.namespace",
            "\"data-team\"",
        ),
        (
            "namespace too long",
            set("/job/namespace", json!("a".repeat(64))),
            "tool.job.namespace",
            "at most 63",
        ),
        (
            "pull policy case",
            set("/job/image_pull_policy", json!("always")),
            "tool.job.image_pull_policy",
            "did you mean `Always`?",
        ),
        (
            "pull policy unknown",
            set("/job/image_pull_policy", json!("Sometimes")),
            "tool.job.image_pull_policy",
            "use one of: Always, IfNotPresent, Never",
        ),
        (
            "memory 1Gb",
            set("/job/resources", json!({"limits": {"memory": "1Gb"}})),
            "tool.job.resources.limits.memory",
            "use 1Gi (binary) or 1G (decimal)",
        ),
        (
            "cpu lots",
            set("/job/resources", json!({"requests": {"cpu": "lots"}})),
            "tool.job.resources.requests.cpu",
            "millicores such as 500m",
        ),
        (
            "memory in millibytes",
            set("/job/resources", json!({"requests": {"memory": "256m"}})),
            "tool.job.resources.requests.memory",
            "use 256Mi",
        ),
        (
            "cpu is a boolean",
            set("/job/resources", json!({"limits": {"cpu": true}})),
            "tool.job.resources.limits.cpu",
            "quantity such as",
        ),
        (
            "request above limit",
            set(
                "/job/resources",
                json!({"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}),
            ),
            "tool.job.resources.requests.memory",
            "raise tool.job.resources.limits.memory",
        ),
        (
            "misspelt requests",
            set("/job/resources", json!({"requets": {"cpu": "1"}})),
            "tool.job.resources.requets",
            "did you mean `requests`?",
        ),
        (
            "unknown resource",
            set("/job/resources", json!({"limits": {"memroy": "1Gi"}})),
            "tool.job.resources.limits.memroy",
            "did you mean `memory`?",
        ),
        (
            "env name 1BAD",
            set("/job/env", json!({"1BAD": "x"})),
            "tool.job.env.1BAD",
            "start with a letter or '_'",
        ),
        (
            "env value a list",
            set("/job/env", json!({"PORT": [8080]})),
            "tool.job.env.PORT",
            "write a string (a number or boolean is taken as its text)",
        ),
        (
            "env reserved name",
            set("/job/env", json!({"NOETL_ARGS": "x"})),
            "tool.job.env.NOETL_ARGS",
            "reserved",
        ),
        (
            "env is a list",
            set("/job/env", json!(["A=1"])),
            "tool.job.env",
            "write a mapping",
        ),
        (
            "dependency option",
            set("/job/install_dependencies", json!(["--index-url=x"])),
            "tool.job.install_dependencies[0]",
            "installer options such as --index-url are not supported",
        ),
        (
            "dependency with newline",
            set(
                "/job/install_dependencies",
                json!(["pandas", "numpy\nrequests"]),
            ),
            "tool.job.install_dependencies[1]",
            "one package per list item",
        ),
        (
            "dependency url",
            set("/job/install_dependencies", json!(["git+https://evil/x"])),
            "tool.job.install_dependencies[0]",
            "e.g. pandas",
        ),
        (
            "dependency a mapping",
            set("/job/install_dependencies", json!(["pandas", {"numpy": 2}])),
            "tool.job.install_dependencies[1]",
            "write a string, e.g. pandas==2.2.3",
        ),
        (
            "dependencies a string",
            set("/job/install_dependencies", json!("pandas")),
            "tool.job.install_dependencies",
            "write a list",
        ),
        (
            "npm dep with pip syntax",
            json!({"script": {"type": "inline", "content": "1"}, "job": {"image": "node:20-slim", "install_dependencies": ["lodash>=4"]}}),
            "tool.job.install_dependencies[0]",
            "name@range",
        ),
        (
            "shell with dependencies",
            json!({"script": {"type": "inline", "content": "echo", "runtime": "bash"}, "job": {"image": "bash:5", "install_dependencies": ["jq"]}}),
            "tool.job.install_dependencies[0]",
            "remove install_dependencies",
        ),
        (
            "label value with space",
            set("/job/labels", json!({"team": "data team"})),
            "tool.job.labels.team",
            "at most 63 letters",
        ),
        (
            "label key invalid",
            set("/job/labels", json!({"Team Name": "x"})),
            "tool.job.labels.Team Name",
            "prefix/name",
        ),
        (
            "label key reserved",
            set("/job/labels", json!({"noetl.io/step": "x"})),
            "tool.job.labels.noetl.io/step",
            "outside noetl.io/",
        ),
        (
            "annotation key invalid",
            set("/job/annotations", json!({"UPPER.com/x": "y"})),
            "tool.job.annotations.UPPER.com/x",
            "lowercase DNS name",
        ),
        (
            "node selector value",
            set("/job/node_selector", json!({"disk": "-ssd"})),
            "tool.job.node_selector.disk",
            "starting and ending with a letter or digit",
        ),
        (
            "bad service account",
            set("/job/service_account", json!("Admin!")),
            "tool.job.service_account",
            "lowercase letters",
        ),
        (
            "bad pull secret",
            set("/job/image_pull_secrets", json!(["ok", "Not OK"])),
            "tool.job.image_pull_secrets[1]",
            "lowercase letters",
        ),
        (
            "toleration operator",
            set(
                "/job/tolerations",
                json!([{"key": "a", "operator": "Equals", "value": "b"}]),
            ),
            "tool.job.tolerations[0].operator",
            "did you mean `Equal`?",
        ),
        (
            "toleration exists with value",
            set(
                "/job/tolerations",
                json!([{"key": "a", "operator": "Exists", "value": "b"}]),
            ),
            "tool.job.tolerations[0].value",
            "remove value",
        ),
        (
            "toleration unknown key",
            set(
                "/job/tolerations",
                json!([{"key": "a", "efect": "NoSchedule"}]),
            ),
            "tool.job.tolerations[0].efect",
            "did you mean `effect`?",
        ),
        (
            "toleration effect",
            set("/job/tolerations", json!([{"key": "a", "effect": "NoRun"}])),
            "tool.job.tolerations[0].effect",
            "use one of: NoSchedule",
        ),
        (
            "toleration seconds without NoExecute",
            set(
                "/job/tolerations",
                json!([{"key": "a", "effect": "NoSchedule", "tolerationSeconds": 5}]),
            ),
            "tool.job.tolerations[0].tolerationSeconds",
            "NoExecute",
        ),
        (
            "toleration without key",
            set("/job/tolerations", json!([{"value": "x"}])),
            "tool.job.tolerations[0].operator",
            "operator: Exists",
        ),
        (
            "tolerations not a list",
            set("/job/tolerations", json!({"key": "a"})),
            "tool.job.tolerations",
            "write a list",
        ),
    ];
    assert!(cases.len() >= 40);
    let mut failures = Vec::new();
    for (name, config, field, fix) in &cases {
        let errors = errors_of(config);
        match errors.iter().find(|e| e.field == *field) {
            Some(error) if error.fix.contains(fix) => {}
            Some(error) => failures.push(format!(
                "{name}: fix {:?} does not contain {fix:?}",
                error.fix
            )),
            None => failures.push(format!("{name}: no error for {field}; got {errors:?}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn all_errors_are_reported_at_once() {
    let config = json!({
        "kind": "script",
        "script": {"type": "inline", "content": "x", "uri": "https://x"},
        "job": {"timeout": -1, "backof_limit": 1, "resources": {"limits": {"memory": "1Gb", "cpu": "lots"}}, "env": {"1BAD": "v"}}
    });
    let fields: Vec<String> = errors_of(&config).into_iter().map(|e| e.field).collect();
    for expected in [
        "tool.script.uri",
        "tool.job.timeout",
        "tool.job.backof_limit",
        "tool.job.resources.limits.memory",
        "tool.job.resources.limits.cpu",
        "tool.job.env.1BAD",
    ] {
        assert!(
            fields.iter().any(|f| f == expected),
            "{expected} missing from {fields:?}"
        );
    }
}

#[test]
fn env_values_never_appear_in_errors() {
    let canary = "CANARY-sekr3t-value";
    let config = set(
        "/job/env",
        json!({"API_KEY": canary, "PORT": [31337], "bad name": canary}),
    );
    let config = {
        let mut config = config;
        config["job"]["timeout"] = json!(-1);
        config
    };
    let errors = errors_of(&config);
    assert!(errors.len() >= 3, "{errors:?}");
    let text = format!("{errors:?}");
    assert!(!text.contains(canary) && !text.contains("31337"), "{text}");
}

#[test]
fn an_invalid_config_never_reads_the_script() {
    struct Panicking;
    impl noetl_plugin_script::ScriptSources for Panicking {
        fn read_file(&self, _: &str, _: u64) -> Result<Vec<u8>, noetl_plugin_script::SourceError> {
            panic!("read although the config is invalid")
        }
        fn fetch(&self, _: &str, _: u64) -> Result<Vec<u8>, noetl_plugin_script::SourceError> {
            panic!("fetched although the config is invalid")
        }
    }
    let config =
        json!({"script": {"type": "http", "uri": "https://x/y.py"}, "job": {"timeout": 0}});
    assert!(plan(&config, &common::context("s"), &Panicking).is_err());
}
