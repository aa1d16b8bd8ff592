//! NoETL dialect filters that minijinja does not ship.
//!
//! minijinja's builtins already provide the rest of what NoETL playbooks use: `tojson`,
//! `default`/`d`, `int`, `float`, `lower`, `upper`, `replace`, `length`, `trim`, `join`,
//! `string`, `round`, `split`, `first`, `last`, `items`, `dictsort`, `list`, `map`,
//! `select`, `unique`, `sum`, `min`, `max`, `abs`, `bool`, `indent`, `title`, `capitalize`,
//! `urlencode`, ...

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use minijinja::value::Serde;
use minijinja::{Environment, Error, ErrorKind, State, UndefinedBehavior, Value};

/// Register the dialect filters on `env`.
pub(crate) fn register(env: &mut Environment<'_>) {
    env.add_filter("fromjson", fromjson);
    env.add_filter("b64encode", b64encode);
    env.add_filter("b64decode", b64decode);
}

/// Parse JSON text into a value: `{{ (step.output | fromjson).rows }}`.
fn fromjson(text: &str) -> Result<Value, Error> {
    serde_json::from_str::<serde_json::Value>(text)
        .map(|json| Value::from(Serde(&json)))
        .map_err(|e| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("fromjson: the text is not valid JSON: {e}"),
            )
        })
}

/// Standard base64 (with padding) of a string's UTF-8 bytes; other values are encoded as
/// their string form, as upstream NoETL does (`str(value)`).
fn b64encode(state: &State, value: Value) -> Result<String, Error> {
    if value.is_undefined() {
        // Strict mode must not let an undefined variable through as the encoding of "";
        // lenient mode renders it empty, as it would without the filter.
        if state.undefined_behavior() == UndefinedBehavior::Strict {
            return Err(Error::new(
                ErrorKind::UndefinedError,
                "b64encode got an undefined value",
            ));
        }
        return Ok(String::new());
    }
    Ok(match value.as_bytes() {
        Some(bytes) => STANDARD.encode(bytes),
        None => STANDARD.encode(value.to_string()),
    })
}

/// Decode base64 into UTF-8 text. Accepts the standard and URL-safe alphabets, with or
/// without padding, since both appear in Kubernetes manifests and tokens.
fn b64decode(text: &str) -> Result<String, Error> {
    let text = text.trim();
    let bytes = [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                "b64decode: the text is not base64 (standard or URL-safe alphabet)",
            )
        })?;
    String::from_utf8(bytes).map_err(|_| {
        Error::new(
            ErrorKind::InvalidOperation,
            "b64decode: the decoded bytes are not UTF-8 text",
        )
    })
}
