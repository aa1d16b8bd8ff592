//! `tool.script`: where the script text comes from.

use serde_json::Value;

use super::did_you_mean;
use super::reader::ObjectReader;
use crate::error::Errors;
use crate::runtime::Runtime;

/// The remote stores a script can be fetched from (through the host's `fetch` capability).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteKind {
    Http,
    Gcs,
    S3,
}

impl RemoteKind {
    fn schemes(self) -> &'static [&'static str] {
        match self {
            RemoteKind::Http => &["https://", "http://"],
            RemoteKind::Gcs => &["gs://"],
            RemoteKind::S3 => &["s3://"],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptSource {
    /// `type: inline` or `type: local` with `content`: the text is in the step.
    Content(String),
    /// `type: local` with `path`: a file next to the playbook, read by the host.
    LocalFile(String),
    /// `type: http | gcs | s3` with `uri`.
    Remote(RemoteKind, String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptConfig {
    pub source: ScriptSource,
    /// Lowercase hex SHA-256 the script text must have.
    pub sha256: Option<String>,
    pub runtime: Option<Runtime>,
}

pub(crate) const FIELDS: [&str; 6] = ["type", "content", "path", "uri", "sha256", "runtime"];
const TYPES: [&str; 5] = ["inline", "local", "http", "gcs", "s3"];

pub(super) fn parse(value: &Value, path: &str, errors: &mut Errors) -> Option<ScriptConfig> {
    let script = ObjectReader::open(value, path, &FIELDS, errors)?;
    let content = script.string("content", "\"print('hello')\"", errors);
    let file = script.string("path", "scripts/process.py", errors);
    let uri = script.string("uri", "https://example.com/process.py", errors);
    let sha256 = script
        .string("sha256", "a 64-character hex digest", errors)
        .and_then(|digest| check_digest(digest, &script.path("sha256"), errors));
    let runtime = script.string("runtime", "python", errors).and_then(|name| {
        let runtime = Runtime::from_name(&name);
        if runtime.is_none() {
            errors.push(
                &script.path("runtime"),
                format!("unknown runtime {name:?}"),
                did_you_mean::suggestion(&name, &Runtime::NAMES),
            );
        }
        runtime
    });
    let kind = script.string("type", "inline", errors);
    let Some(kind) = kind else {
        if script.get("type").is_none() {
            errors.push(
                &script.path("type"),
                "missing field `type`",
                format!("add type: one of {}", TYPES.join(", ")),
            );
        }
        return None;
    };
    // Fields that belong to another type are refused rather than ignored: a step with
    // `type: http` and `content` is ambiguous about which script the author meant.
    let refuse = |field: &str, given: bool, errors: &mut Errors, fix: &str| {
        if given {
            errors.push(
                &script.path(field),
                format!("`{field}` is not used with type {kind}"),
                fix.to_owned(),
            );
        }
    };
    let source = match kind.as_str() {
        "inline" => {
            refuse(
                "path",
                file.is_some(),
                errors,
                "remove path, or use type: local to read a file",
            );
            refuse(
                "uri",
                uri.is_some(),
                errors,
                "remove uri, or use type: http, gcs or s3 to fetch the script",
            );
            require(
                content.map(ScriptSource::Content),
                &script.path("content"),
                "add content: the script text",
                errors,
            )
        }
        "local" => {
            refuse(
                "uri",
                uri.is_some(),
                errors,
                "remove uri, or use type: http, gcs or s3 to fetch the script",
            );
            match (content, file) {
                (Some(_), Some(_)) => {
                    errors.push(
                        &script.path("path"),
                        "both `content` and `path` are given",
                        "keep one: content (the text) or path (a file next to the playbook)",
                    );
                    None
                }
                (Some(content), None) => Some(ScriptSource::Content(content)),
                (None, Some(file)) => check_relative_path(&file, &script.path("path"), errors)
                    .then_some(ScriptSource::LocalFile(file)),
                (None, None) => {
                    errors.push(
                        &script.path("content"),
                        "type local needs `content` or `path`",
                        "add content: the script text, or path: a file next to the playbook",
                    );
                    None
                }
            }
        }
        "http" | "gcs" | "s3" => {
            let remote = match kind.as_str() {
                "http" => RemoteKind::Http,
                "gcs" => RemoteKind::Gcs,
                _ => RemoteKind::S3,
            };
            refuse(
                "content",
                content.is_some(),
                errors,
                "remove content, or use type: inline to give the text in the step",
            );
            refuse(
                "path",
                file.is_some(),
                errors,
                "remove path, or use type: local to read a file",
            );
            let uri = require(
                uri,
                &script.path("uri"),
                &format!("add uri: {}...", remote.schemes()[0]),
                errors,
            );
            uri.filter(|uri| check_scheme(remote, &kind, uri, &script.path("uri"), errors))
                .map(|uri| ScriptSource::Remote(remote, uri))
        }
        other => {
            errors.push(
                &script.path("type"),
                format!("unknown script type {other:?}"),
                did_you_mean::suggestion(other, &TYPES),
            );
            None
        }
    }?;
    Some(ScriptConfig {
        source,
        sha256,
        runtime,
    })
}

fn require<T>(value: Option<T>, path: &str, fix: &str, errors: &mut Errors) -> Option<T> {
    if value.is_none() {
        let field = path.rsplit('.').next().unwrap_or(path);
        errors.push(path, format!("missing field `{field}`"), fix.to_owned());
    }
    value
}

fn check_scheme(
    remote: RemoteKind,
    kind: &str,
    uri: &str,
    path: &str,
    errors: &mut Errors,
) -> bool {
    let schemes = remote.schemes();
    let ok = schemes
        .iter()
        .any(|scheme| uri.starts_with(scheme) && uri.len() > scheme.len());
    if !ok {
        errors.push(
            path,
            format!("{uri:?} is not a {kind} location"),
            format!("write a URI starting with {}", schemes.join(" or ")),
        );
    }
    ok
}

/// The host confines reads to the playbook directory anyway; refusing escapes here gives
/// the author a field error instead of a capability denial.
fn check_relative_path(file: &str, path: &str, errors: &mut Errors) -> bool {
    let escapes = file.is_empty()
        || file.starts_with('/')
        || file.split(['/', '\\']).any(|part| part == "..");
    if escapes {
        errors.push(
            path,
            format!("{file:?} is not a path inside the playbook's directory"),
            "write a relative path without '..', e.g. scripts/process.py",
        );
    }
    !escapes
}

fn check_digest(digest: String, path: &str, errors: &mut Errors) -> Option<String> {
    if digest.len() == 64 && digest.chars().all(|c| c.is_ascii_hexdigit()) {
        return Some(digest.to_ascii_lowercase());
    }
    errors.push(
        path,
        format!("{digest:?} is not a SHA-256 digest"),
        "write the 64 hex characters printed by `sha256sum <script>`",
    );
    None
}
