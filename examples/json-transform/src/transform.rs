//! The transformation itself: plain functions over `serde_json::Value`.

use noetl_plugin_sdk::{Map, Value, json};

/// A parsed, validated transform.
pub struct Spec {
    input: Value,
    pick: Option<Vec<String>>,
    rename: Vec<(String, String)>,
    drop: Vec<String>,
    filter: Option<Filter>,
}

struct Filter {
    path: String,
    field: String,
    equals: Value,
}

/// (field path, what is wrong, how to fix it)
pub type Problem = (String, String, String);

const KNOWN: &[&str] = &["kind", "input", "pick", "rename", "drop", "where"];

pub fn schema() -> Value {
    json!({
        "type": "object",
        "required": ["input"],
        "properties": {
            "input": {},
            "pick": {"type": "array", "items": {"type": "string"}},
            "rename": {"type": "object", "additionalProperties": {"type": "string"}},
            "drop": {"type": "array", "items": {"type": "string"}},
            "where": {"type": "object", "required": ["path", "field", "equals"]}
        }
    })
}

impl Spec {
    pub fn parse(config: &Value) -> Result<Spec, Vec<Problem>> {
        let mut problems = Vec::new();
        let Some(object) = config.as_object() else {
            return Err(vec![("tool".into(), "the tool config is not an object".into(), "write `tool:` as a mapping".into())]);
        };
        for key in object.keys().filter(|k| !KNOWN.contains(&k.as_str())) {
            problems.push((format!("tool.{key}"), format!("unknown key `{key}`"), format!("use one of {}", KNOWN.join(", "))));
        }
        let input = object.get("input").cloned().unwrap_or_else(|| {
            problems.push(("tool.input".into(), "missing".into(), "give the JSON value to transform".into()));
            Value::Null
        });
        let pick = object.get("pick").map(|v| strings(v, "tool.pick", &mut problems));
        let drop = object.get("drop").map(|v| strings(v, "tool.drop", &mut problems)).unwrap_or_default();
        let rename = match object.get("rename") {
            None => Vec::new(),
            Some(Value::Object(map)) => map
                .iter()
                .filter_map(|(from, to)| match to.as_str() {
                    Some(to) => Some((from.clone(), to.to_string())),
                    None => {
                        problems.push((format!("tool.rename.{from}"), "is not a string".into(), "give the new key name".into()));
                        None
                    }
                })
                .collect(),
            Some(_) => {
                problems.push(("tool.rename".into(), "is not a mapping".into(), "write `rename: {old: new}`".into()));
                Vec::new()
            }
        };
        let filter = object.get("where").and_then(|w| parse_filter(w, &mut problems));
        if problems.is_empty() { Ok(Spec { input, pick, rename, drop, filter }) } else { Err(problems) }
    }

    pub fn apply(self) -> Value {
        let mut value = self.input;
        if let Some(filter) = &self.filter
            && let Some(Value::Array(items)) = lookup_mut(&mut value, &filter.path)
        {
            items.retain(|item| item.get(&filter.field) == Some(&filter.equals));
        }
        if let Some(paths) = &self.pick {
            let mut picked = Map::new();
            for path in paths {
                if let Some(found) = lookup(&value, path) {
                    picked.insert(path.rsplit('.').next().unwrap_or(path).to_string(), found.clone());
                }
            }
            value = Value::Object(picked);
        }
        if let Value::Object(map) = &mut value {
            for key in &self.drop {
                map.remove(key);
            }
            for (from, to) in &self.rename {
                if let Some(found) = map.remove(from) {
                    map.insert(to.clone(), found);
                }
            }
        }
        value
    }
}

fn strings(value: &Value, field: &str, problems: &mut Vec<Problem>) -> Vec<String> {
    match value.as_array().map(|items| items.iter().map(|i| i.as_str().map(str::to_string)).collect::<Option<Vec<_>>>()) {
        Some(Some(list)) => list,
        _ => {
            problems.push((field.into(), "is not a list of strings".into(), format!("write `{}: [a, b.c]`", field.trim_start_matches("tool."))));
            Vec::new()
        }
    }
}

fn parse_filter(value: &Value, problems: &mut Vec<Problem>) -> Option<Filter> {
    let get = |key: &str| value.get(key);
    match (get("path").and_then(Value::as_str), get("field").and_then(Value::as_str), get("equals")) {
        (Some(path), Some(field), Some(equals)) => Some(Filter { path: path.into(), field: field.into(), equals: equals.clone() }),
        _ => {
            problems.push((
                "tool.where".into(),
                "needs `path` (string), `field` (string) and `equals` (any value)".into(),
                "write `where: {path: items, field: status, equals: ok}`".into(),
            ));
            None
        }
    }
}

fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, key| match v {
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => v.get(key),
    })
}

fn lookup_mut<'a>(value: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    path.split('.').try_fold(value, |v, key| match v {
        Value::Array(items) => key.parse::<usize>().ok().and_then(move |i| items.get_mut(i)),
        _ => v.get_mut(key),
    })
}
