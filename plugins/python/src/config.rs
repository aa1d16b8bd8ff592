//! The python step's `tool` object, with upstream NoETL's field names: `code:` or
//! `script:` (upstream's `{uri, source: {type, code, endpoint, method, timeout}}`), `args`
//! (alias `input`), `env`, `timeout_seconds`, `cwd`, `python`, plus `dependencies` (pip
//! specs) and `job` (the script tool's job fields: image, namespace, resources, ...).

use serde_json::{Value, json};

use noetl_plugin_script::config::{RemoteKind, ScriptConfig, ScriptSource};
use noetl_plugin_script::generated::{self, JobFields};
use noetl_protocol::fields::reader::{ObjectReader, describe};
use noetl_protocol::fields::{Errors, FieldError, did_you_mean};

pub(crate) const FIELDS: [&str; 11] = [
    "kind",
    "code",
    "script",
    "args",
    "input",
    "env",
    "timeout_seconds",
    "dependencies",
    "cwd",
    "python",
    "job",
];
pub(crate) const SCRIPT_FIELDS: [&str; 2] = ["uri", "source"];
pub(crate) const SOURCE_FIELDS: [&str; 6] =
    ["type", "code", "endpoint", "method", "timeout", "auth"];
const SOURCE_TYPES: [&str; 5] = ["inline", "file", "gcs", "s3", "http"];
/// Interpreter names upstream playbooks write; the sandbox's interpreter comes from the image.
const PYTHON_NAMES: [&str; 2] = ["python3", "python"];

/// A checked python step.
#[derive(Debug, Clone)]
pub struct PythonStep<'a> {
    /// Where the code is, as the script tool reads it (inline text, file, URL).
    pub source: ScriptConfig,
    /// The field the code came from, for errors about it.
    pub source_field: &'static str,
    /// The args mapping the code receives.
    pub args: Value,
    pub args_field: &'static str,
    pub cwd: Option<String>,
    pub fields: JobFields<'a>,
}

pub fn parse(config: &Value) -> Result<PythonStep<'_>, Vec<FieldError>> {
    let mut errors = Errors::default();
    let Some(tool) = ObjectReader::open_tool(config, "python", &FIELDS, &mut errors) else {
        return Err(errors.into_vec());
    };
    let source = read_source(&tool, &mut errors);
    let (args, args_field) = read_args(&tool, &mut errors);
    let cwd = generated::working_dir(&tool, &mut errors);
    if let Some(python) = tool.string("python", "python3", &mut errors)
        && !PYTHON_NAMES.contains(&python.as_str())
    {
        errors.push(
            "tool.python",
            format!("the interpreter is the job image's python3, not {python:?}"),
            "remove python, and pick the Python version with job.image (e.g. python:3.12-slim)",
        );
    }
    let fields = JobFields {
        env: tool.get("env"),
        timeout_seconds: tool.get("timeout_seconds"),
        dependencies: tool.get("dependencies"),
        job: tool.get("job"),
    };
    match source {
        Some((source, source_field)) if errors.is_empty() => Ok(PythonStep {
            source,
            source_field,
            args,
            args_field,
            cwd,
            fields,
        }),
        _ => Err(errors.into_vec()),
    }
}

/// `args` or its alias `input` (a mapping; absent means `{}`).
fn read_args(tool: &ObjectReader, errors: &mut Errors) -> (Value, &'static str) {
    let (value, field) = match (tool.get("args"), tool.get("input")) {
        (Some(_), Some(_)) => {
            errors.push(
                "tool.input",
                "both `args` and its alias `input` are given",
                "keep one of them",
            );
            return (json!({}), "tool.args");
        }
        (Some(args), None) => (args, "tool.args"),
        (None, Some(input)) => (input, "tool.input"),
        (None, None) => return (json!({}), "tool.args"),
    };
    if !value.is_object() {
        errors.push(
            field,
            format!(
                "expected a mapping of names to values, found {}",
                describe(value)
            ),
            "write a mapping, e.g. {items: [1, 2, 3]}; each name is also a global of the code",
        );
    }
    (value.clone(), field)
}

/// `code:` or `script:`; exactly one.
fn read_source(tool: &ObjectReader, errors: &mut Errors) -> Option<(ScriptConfig, &'static str)> {
    let code = tool.string("code", "\"result = 1\"", errors);
    let script = tool.get("script");
    let source = match (code, script) {
        (Some(_), Some(_)) => {
            errors.push(
                "tool.script",
                "both `code` and `script` are given",
                "keep one: code (the text) or script (where to read it)",
            );
            None
        }
        (Some(code), None) => Some((ScriptSource::Content(code), "tool.code")),
        (None, Some(_)) => read_script(tool, errors),
        (None, None) => {
            if tool.get("code").is_none() {
                errors.push(
                    "tool.code",
                    "missing field `code`",
                    "add code: the Python text (or script: {uri: ..., source: {type: file}})",
                );
            }
            None
        }
    }?;
    Some((
        ScriptConfig {
            source: source.0,
            sha256: None,
            runtime: None,
        },
        source.1,
    ))
}

/// Upstream's `script: {uri, source: {type, code, endpoint, method, timeout}}`.
fn read_script(tool: &ObjectReader, errors: &mut Errors) -> Option<(ScriptSource, &'static str)> {
    let script = tool.object("script", &SCRIPT_FIELDS, errors)?;
    let uri = script.string("uri", "scripts/step.py", errors);
    let source = script.object("source", &SOURCE_FIELDS, errors);
    let text = |key: &str, example: &str, errors: &mut Errors| {
        source
            .as_ref()
            .and_then(|source| source.string(key, example, errors))
    };
    let kind = text("type", "inline", errors).unwrap_or_else(|| "inline".into());
    let code = text("code", "\"result = 1\"", errors);
    let endpoint = text("endpoint", "https://example.com/step.py", errors);
    if let Some(method) = text("method", "GET", errors)
        && !method.eq_ignore_ascii_case("GET")
    {
        errors.push(
            "tool.script.source.method",
            format!("scripts are fetched with GET, not {method}"),
            "remove method (GET is the default)",
        );
    }
    if source
        .as_ref()
        .is_some_and(|source| source.get("auth").is_some())
    {
        errors.push(
            "tool.script.source.auth",
            "credentials for fetching a script come from the host, not from the step",
            "remove auth; the host's fetch capability uses its own credentials for gs:// and s3:// and the policy's host grant",
        );
    }
    let remote = |kind: RemoteKind, scheme: &str, uri: Option<String>, errors: &mut Errors| {
        let uri = uri.filter(|uri| {
            let ok = uri.starts_with(scheme) && uri.len() > scheme.len();
            if !ok {
                errors.push(
                    "tool.script.uri",
                    format!("{uri:?} is not a {scheme} location"),
                    format!("write a URI starting with {scheme}"),
                );
            }
            ok
        });
        if uri.is_none() && script.get("uri").is_none() {
            errors.push(
                "tool.script.uri",
                "missing field `uri`",
                format!("add uri: {scheme}..."),
            );
        }
        uri.map(|uri| (ScriptSource::Remote(kind, uri), "tool.script.uri"))
    };
    match kind.as_str() {
        // Upstream examples write `uri: inline` next to inline code; it names nothing.
        "inline" => match code {
            Some(code) => Some((ScriptSource::Content(code), "tool.script.source.code")),
            None => {
                errors.push(
                    "tool.script.source.code",
                    "source type inline needs `code`",
                    "add code: the Python text",
                );
                None
            }
        },
        "file" => match uri {
            Some(path) => Some((ScriptSource::LocalFile(path), "tool.script.uri")),
            None => {
                errors.push(
                    "tool.script.uri",
                    "source type file needs `uri`: the file's path",
                    "add uri: a path relative to the playbook's directory, e.g. scripts/step.py",
                );
                None
            }
        },
        "gcs" => remote(RemoteKind::Gcs, "gs://", uri, errors),
        "s3" => remote(RemoteKind::S3, "s3://", uri, errors),
        "http" => {
            let location = endpoint.or(uri);
            let scheme = if location
                .as_deref()
                .is_some_and(|l| l.starts_with("http://"))
            {
                "http://"
            } else {
                "https://"
            };
            remote(RemoteKind::Http, scheme, location, errors)
        }
        other => {
            errors.push(
                "tool.script.source.type",
                format!("unknown source type {other:?}"),
                did_you_mean::suggestion(other, &SOURCE_TYPES),
            );
            None
        }
    }
}
