//! The http step's `tool` object, read into the request the host sends.

use base64::Engine as _;
use serde_json::Value;

use noetl_protocol::fields::reader::{ObjectReader, describe, join};
use noetl_protocol::fields::{Errors, FieldError, did_you_mean};

use crate::encode;

pub(crate) const FIELDS: [&str; 13] = [
    "kind",
    "url",
    "method",
    "headers",
    "params",
    "body",
    "json",
    "form",
    "auth",
    "timeout_seconds",
    "follow_redirects",
    "response_type",
    "max_response_bytes",
];
pub(crate) const AUTH_FIELDS: [&str; 5] = ["type", "token", "username", "password", "header"];
pub(crate) const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
pub(crate) const RESPONSE_TYPES: [&str; 3] = ["json", "text", "binary"];
const AUTH_TYPES: [&str; 4] = ["bearer", "basic", "api_key", "none"];
/// The body a response may have unless the step says otherwise; the policy's
/// `max_response_mib` caps it further.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 16 << 20;

/// The request as the host's `http` capability takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub timeout_ms: Option<u32>,
    pub follow_redirects: bool,
    pub max_response_bytes: u64,
}

/// Read and check the whole `tool` object; every problem found is returned.
pub fn request(config: &Value) -> Result<HttpRequest, Vec<FieldError>> {
    let mut errors = Errors::default();
    let Some(tool) = ObjectReader::open_tool(config, "http", &FIELDS, &mut errors) else {
        return Err(errors.into_vec());
    };
    let url = read_url(&tool, &mut errors);
    let method = tool
        .string("method", "POST", &mut errors)
        .map(|m| m.to_ascii_uppercase())
        .unwrap_or_else(|| "GET".into());
    if !METHODS.contains(&method.as_str()) {
        errors.push(
            "tool.method",
            format!("unknown HTTP method {method:?}"),
            did_you_mean::suggestion(&method, &METHODS),
        );
    }
    let mut headers = scalar_map(&tool, "headers", &mut errors);
    let params = scalar_map(&tool, "params", &mut errors);
    let body = read_body(&tool, &mut headers, &mut errors);
    read_auth(&tool, &mut headers, &mut errors);
    let timeout_ms = tool
        .integer(
            "timeout_seconds",
            1,
            i64::from(u32::MAX / 1000),
            " of seconds",
            &mut errors,
        )
        .map(|seconds| seconds as u32 * 1000);
    let follow_redirects = tool.boolean("follow_redirects", true, &mut errors);
    read_response_type(config, &mut errors);
    let max_response_bytes = tool
        .integer("max_response_bytes", 1, i64::MAX, " of bytes", &mut errors)
        .map_or(DEFAULT_MAX_RESPONSE_BYTES, |bytes| bytes as u64);
    match url {
        Some(url) if errors.is_empty() => Ok(HttpRequest {
            method,
            url: encode::with_query(&url, &encode::pairs(&params)),
            headers,
            body,
            timeout_ms,
            follow_redirects,
            max_response_bytes,
        }),
        _ => Err(errors.into_vec()),
    }
}

/// `response_type` (json, the default; text; binary).
pub fn read_response_type(config: &Value, errors: &mut Errors) -> String {
    match config.get("response_type") {
        None | Some(Value::Null) => "json".into(),
        Some(Value::String(kind)) if RESPONSE_TYPES.contains(&kind.as_str()) => kind.clone(),
        Some(Value::String(kind)) => {
            errors.push(
                "tool.response_type",
                format!("unknown response type {kind:?}"),
                did_you_mean::suggestion(kind, &RESPONSE_TYPES),
            );
            "json".into()
        }
        Some(other) => {
            errors.push(
                "tool.response_type",
                format!("expected a string, found {}", describe(other)),
                "write one of json, text, binary",
            );
            "json".into()
        }
    }
}

fn read_url(tool: &ObjectReader, errors: &mut Errors) -> Option<String> {
    let Some(url) = tool.string("url", "https://api.example.com/items", errors) else {
        if tool.get("url").is_none() {
            errors.push(
                "tool.url",
                "missing field `url`",
                "add url: the http:// or https:// address to call",
            );
        }
        return None;
    };
    let host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    if host.is_none_or(|rest| rest.is_empty() || rest.starts_with('/')) {
        errors.push(
            "tool.url",
            format!("{url:?} is not an http:// or https:// URL with a host"),
            "write a full URL, e.g. https://api.example.com/items",
        );
        return None;
    }
    Some(url)
}

/// `body` (a string is sent as is, anything else as JSON), `json` or `form`: at most one.
fn read_body(
    tool: &ObjectReader,
    headers: &mut Vec<(String, String)>,
    errors: &mut Errors,
) -> Option<Vec<u8>> {
    let given: Vec<&str> = ["body", "json", "form"]
        .into_iter()
        .filter(|field| tool.get(field).is_some())
        .collect();
    if let [first, second, ..] = given.as_slice() {
        errors.push(
            &format!("tool.{second}"),
            format!("both `{first}` and `{second}` are given; a request has one body"),
            format!("keep one of {first} and {second}"),
        );
        return None;
    }
    let (body, content_type) = match given.first().copied() {
        None => return None,
        Some("form") => (
            encode::pairs(&scalar_map(tool, "form", errors)).into_bytes(),
            "application/x-www-form-urlencoded",
        ),
        Some(field) => match tool.get(field) {
            Some(Value::String(text)) if field == "body" => return Some(text.clone().into_bytes()),
            Some(value) => (value.to_string().into_bytes(), "application/json"),
            None => return None,
        },
    };
    if !has_header(headers, "content-type") {
        headers.push(("Content-Type".into(), content_type.into()));
    }
    Some(body)
}

/// `auth: {type: bearer, token}`, `{type: basic, username, password}` or
/// `{type: api_key, header, token}`; values come from `{{ secrets.NAME }}` templates, so
/// they are never quoted back in an error.
fn read_auth(tool: &ObjectReader, headers: &mut Vec<(String, String)>, errors: &mut Errors) {
    let Some(auth) = tool.object("auth", &AUTH_FIELDS, errors) else {
        return;
    };
    let kind = auth.string("type", "bearer", errors).unwrap_or_default();
    let secret = |field: &str, errors: &mut Errors| -> Option<String> {
        match auth.get(field) {
            Some(Value::String(text)) => Some(text.clone()),
            Some(_) => {
                errors.push(
                    &auth.path(field),
                    "expected a string, found another type (value not shown: it may be a secret)",
                    "write a string, e.g. \"{{ secrets.API_TOKEN }}\"",
                );
                None
            }
            None => {
                errors.push(
                    &auth.path(field),
                    format!("auth type {kind} needs `{field}`"),
                    format!("add {field}: \"{{{{ secrets.NAME }}}}\""),
                );
                None
            }
        }
    };
    let header = match kind.as_str() {
        "bearer" => secret("token", errors)
            .map(|token| ("Authorization".to_owned(), format!("Bearer {token}"))),
        "basic" => match (secret("username", errors), secret("password", errors)) {
            (Some(user), Some(password)) => {
                let encoded =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                Some(("Authorization".to_owned(), format!("Basic {encoded}")))
            }
            _ => None,
        },
        "api_key" => {
            let name = auth
                .string("header", "X-API-Key", errors)
                .unwrap_or_else(|| "X-API-Key".into());
            secret("token", errors).map(|token| (name, token))
        }
        "none" => None,
        "" => {
            if auth.get("type").is_none() {
                errors.push(
                    &auth.path("type"),
                    "missing field `type`",
                    format!("add type: one of {}", AUTH_TYPES.join(", ")),
                );
            }
            None
        }
        other => {
            errors.push(
                &auth.path("type"),
                format!("unknown auth type {other:?}"),
                did_you_mean::suggestion(other, &AUTH_TYPES),
            );
            None
        }
    };
    if let Some((name, value)) = header {
        if has_header(headers, &name) {
            errors.push(
                &join("tool.headers", &name),
                format!("`auth` sets {name} too"),
                format!("remove {name} from headers, or remove auth"),
            );
        }
        headers.push((name, value));
    }
}

fn has_header(headers: &[(String, String)], name: &str) -> bool {
    headers
        .iter()
        .any(|(existing, _)| existing.eq_ignore_ascii_case(name))
}

/// A mapping whose values are strings, numbers or booleans (as text, as upstream does);
/// nulls are left out. Values are never quoted back: headers carry credentials.
fn scalar_map(tool: &ObjectReader, field: &str, errors: &mut Errors) -> Vec<(String, String)> {
    let Some(value) = tool.get(field) else {
        return Vec::new();
    };
    let Some(map) = value.as_object() else {
        errors.push(
            &tool.path(field),
            format!(
                "expected a mapping of names to values, found {}",
                describe(value)
            ),
            format!("write {field} as a mapping, e.g. {{name: value}}"),
        );
        return Vec::new();
    };
    map.iter()
        .filter_map(|(name, value)| match value {
            Value::Null => None,
            Value::String(text) => Some((name.clone(), text.clone())),
            Value::Number(_) | Value::Bool(_) => Some((name.clone(), value.to_string())),
            Value::Array(_) | Value::Object(_) => {
                errors.push(
                    &join(&tool.path(field), name),
                    "expected a string, number or boolean, found a list or mapping",
                    "write one value; join lists yourself, e.g. \"a,b\"",
                );
                None
            }
        })
        .collect()
}
