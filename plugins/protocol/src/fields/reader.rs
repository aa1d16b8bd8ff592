//! Typed reading of the untyped config JSON. Every getter records a field error (with the
//! dotted path) instead of stopping, so `plan` reports all problems at once.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{Errors, did_you_mean};

/// `tool.job` + `timeout` → `tool.job.timeout`.
pub fn join(path: &str, key: &str) -> String {
    format!("{path}.{key}")
}

/// `tool.job.install_dependencies` + 2 → `tool.job.install_dependencies[2]`.
pub fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// How a JSON value's type is named in messages ("found a number (8080)").
pub fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("a boolean ({b})"),
        Value::Number(n) => format!("a number ({n})"),
        Value::String(s) => format!("a string ({})", shorten(s)),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() <= MAX {
        format!("{text:?}")
    } else {
        format!("{:?}…", text.chars().take(MAX).collect::<String>())
    }
}

/// A JSON object whose keys were checked against the known ones (unknown keys reported
/// with a did-you-mean). Absent keys and `null` values read as "not given".
pub struct ObjectReader<'a> {
    path: String,
    map: &'a Map<String, Value>,
}

impl<'a> ObjectReader<'a> {
    /// Open `value` as an object at `path`; `None` (error recorded) when it is not one.
    pub fn open(value: &'a Value, path: &str, known: &[&str], errors: &mut Errors) -> Option<Self> {
        let Some(map) = value.as_object() else {
            errors.push(
                path,
                format!("expected a mapping, found {}", describe(value)),
                format!("write {path} as a mapping of fields: {}", known.join(", ")),
            );
            return None;
        };
        for key in map.keys().filter(|key| !known.contains(&key.as_str())) {
            errors.push(
                &join(path, key),
                format!("unknown field `{key}`"),
                did_you_mean::suggestion(key, known),
            );
        }
        Some(ObjectReader {
            path: path.to_owned(),
            map,
        })
    }

    /// Open a step's `tool` object for the plugin of `kind`: like [`Self::open`] at
    /// `tool`, and a `kind` naming another tool is an error.
    pub fn open_tool(config: &'a Value, kind: &str, known: &[&str], errors: &mut Errors) -> Option<Self> {
        let tool = Self::open(config, "tool", known, errors)?;
        if let Some(given) = tool.string("kind", kind, errors)
            && given != kind
        {
            errors.push(
                "tool.kind",
                format!("this plugin runs `kind: {kind}`, not {given:?}"),
                format!("set tool.kind to {kind}, or use the plugin for that kind"),
            );
        }
        Some(tool)
    }

    pub fn path(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// The value of `key`, unless absent or null.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|value| !value.is_null())
    }

    /// A nested object.
    pub fn object(
        &self,
        key: &str,
        known: &[&str],
        errors: &mut Errors,
    ) -> Option<ObjectReader<'a>> {
        ObjectReader::open(self.get(key)?, &self.path(key), known, errors)
    }

    /// A string field.
    pub fn string(&self, key: &str, example: &str, errors: &mut Errors) -> Option<String> {
        let value = self.get(key)?;
        expect_string(value, &self.path(key), example, errors)
    }

    /// A whole number within `min..=max` (JSON numbers only: `"60"` is refused so a
    /// quoted value is not silently reinterpreted).
    pub fn integer(
        &self,
        key: &str,
        min: i64,
        max: i64,
        unit: &str,
        errors: &mut Errors,
    ) -> Option<i64> {
        let value = self.get(key)?;
        let path = self.path(key);
        let number = match value {
            Value::Number(n) if n.is_i64() || n.is_u64() => n.as_i64(),
            Value::String(s) if s.trim().parse::<i64>().is_ok() => {
                errors.push(
                    &path,
                    format!("expected a whole number, found {}", describe(value)),
                    format!("write {} without quotes", s.trim()),
                );
                return None;
            }
            _ => {
                errors.push(
                    &path,
                    format!("expected a whole number{unit}, found {}", describe(value)),
                    format!("write a whole number between {min} and {max}"),
                );
                return None;
            }
        };
        match number {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                errors.push(
                    &path,
                    format!("{value} is out of range"),
                    format!("write a whole number between {min} and {max}{unit}"),
                );
                None
            }
        }
    }

    /// A boolean field; `default` when absent.
    pub fn boolean(&self, key: &str, default: bool, errors: &mut Errors) -> bool {
        match self.get(key) {
            None => default,
            Some(Value::Bool(value)) => *value,
            Some(other) => {
                errors.push(
                    &self.path(key),
                    format!("expected true or false, found {}", describe(other)),
                    format!("write {key}: true or {key}: false"),
                );
                default
            }
        }
    }

    /// A list of strings, each with its path (`field[i]`), for per-item validation.
    pub fn string_list(
        &self,
        key: &str,
        example: &str,
        errors: &mut Errors,
    ) -> Vec<(String, String)> {
        let Some(value) = self.get(key) else {
            return Vec::new();
        };
        let path = self.path(key);
        let Some(items) = value.as_array() else {
            errors.push(
                &path,
                format!("expected a list of strings, found {}", describe(value)),
                format!("write a list, e.g. [{example}]"),
            );
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let item_path = index(&path, i);
                expect_string(item, &item_path, example, errors).map(|text| (item_path, text))
            })
            .collect()
    }

    /// A mapping of string to string (env, labels). A number or boolean value is taken as
    /// its text ([`scalar_text`]): `PORT: "{{ port }}"` renders to `8080` and is `"8080"`.
    /// With `Echo::Never` a wrong value is described by type only (env values may be secrets).
    pub fn string_map(
        &self,
        key: &str,
        example: &str,
        echo: Echo,
        errors: &mut Errors,
    ) -> BTreeMap<String, String> {
        let Some(value) = self.get(key) else {
            return BTreeMap::new();
        };
        let path = self.path(key);
        let Some(map) = value.as_object() else {
            errors.push(
                &path,
                format!(
                    "expected a mapping of names to strings, found {}",
                    describe(value)
                ),
                format!("write a mapping, e.g. {{{example}}}"),
            );
            return BTreeMap::new();
        };
        map.iter()
            .filter_map(|(name, value)| {
                let field = join(&path, name);
                match (scalar_text(value), echo) {
                    (Some(text), _) => Some((name.clone(), text)),
                    (None, Echo::Never) => {
                        errors.push(&field, "expected a string, found a list, mapping or null (value not shown: it may be a secret)", "write a string (a number or boolean is taken as its text)");
                        None
                    }
                    (None, Echo::Values) => expect_string(value, &field, example, errors).map(|text| (name.clone(), text)),
                }
            })
            .collect()
    }
}

/// Whether error messages may quote a wrong value back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Echo {
    Values,
    Never,
}

/// The text of a value where a field must be text: a string as it is, a number or boolean
/// as its JSON text. Since contract 0.2.0 the host renders a lone `{{ expr }}` to the
/// expression's JSON type, so `"{{ workload.port }}"` arrives as `8080`; a text field
/// turns it back into `"8080"`. Lists, mappings and null have no single text form.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// `value` as text ([`scalar_text`]), or a recorded error with an example.
pub fn expect_string(
    value: &Value,
    path: &str,
    example: &str,
    errors: &mut Errors,
) -> Option<String> {
    let text = scalar_text(value);
    if text.is_none() {
        errors.push(
            path,
            format!("expected a string, found {}", describe(value)),
            format!("write a string, e.g. {example}"),
        );
    }
    text
}

/// Whether a JSON Schema object lists exactly `fields` as its properties (tests keep each
/// plugin's `describe` schema equal to what its parser reads).
pub fn schema_lists(schema: &Value, fields: &[&str]) -> bool {
    let mut listed: Vec<&str> = schema["properties"].as_object().map_or_else(Vec::new, |p| p.keys().map(String::as_str).collect());
    let mut fields = fields.to_vec();
    listed.sort_unstable();
    fields.sort_unstable();
    listed == fields
}
