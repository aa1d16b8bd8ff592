//! Renders every template string of a JSON tree in one environment and one pass.

use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::value::{DynObject, Serde};
use minijinja::{Environment, Value};
use serde_json::Value as Json;

use crate::environment;
use crate::error::RenderError;
use crate::options::RenderOptions;
use crate::secrets::{SecretLookup, SecretsObject};

/// A rendered tree and what rendering it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The input tree with every template string replaced by its output.
    pub value: Json,
    /// How many strings were templates (and so were compiled and rendered).
    pub templates: usize,
    /// Fuel used by the whole render, out of [`RenderOptions::fuel`].
    pub fuel_consumed: u64,
}

/// One string of the tree that needs rendering.
struct Job<'t> {
    /// Dotted path for errors and template names: `tool.job.env.API_KEY`, `args.items[0]`.
    path: String,
    /// JSON pointer to put the output back: `/tool/job/env/API_KEY`.
    pointer: String,
    source: &'t str,
    /// With typed values, for a string that is one lone `{{ expr }}`: the template that
    /// stores the expression's value in [`VALUE_VARIABLE`] instead of printing it.
    value_source: Option<String>,
}

/// The variable a typed-value template assigns; read back from the template's state.
const VALUE_VARIABLE: &str = "__noetl_typed_value";

/// What one string rendered to.
enum Output {
    Text(String),
    Value(Json),
}

/// Render every string of `tree` that contains template syntax, with `context`'s top-level
/// keys as variables (`workload`, `execution_id`, `step`, earlier step results by step
/// name) plus `secrets`, resolved lazily through `secrets`.
///
/// Strings stay strings (with `options.typed_values`, a lone `{{ expr }}` becomes the
/// expression's JSON value), other values and object keys are untouched, subtrees under
/// `options.skip_paths` are copied verbatim, and nothing is rendered twice.
pub fn render(
    tree: &Json,
    context: &Json,
    options: &RenderOptions,
    secrets: Arc<dyn SecretLookup>,
) -> Result<Rendered, RenderError> {
    let secrets = Arc::new(SecretsObject::new(secrets));
    let context = template_context(context, &secrets)?;
    let mut jobs = Vec::new();
    collect(
        tree,
        &mut String::new(),
        &mut String::new(),
        &options.skip_paths,
        &mut jobs,
    );
    if options.typed_values {
        for job in &mut jobs {
            job.value_source = lone_expression(job.source)
                .map(|expression| format!("{{% set {VALUE_VARIABLE} = ({expression}) %}}"));
        }
    }

    let mut env = environment::build(options);
    let mut output = tree.clone();
    let mut fuel_left = options.fuel;
    for job in &jobs {
        // The budget is for the whole tree, so each string gets what the previous left.
        env.set_fuel(Some(fuel_left));
        let rendered = render_string(&env, job, &context, options);
        // A failed secret lookup fails the string even if the template swallowed the error,
        // and its message (naming the secret and the providers tried) wins over minijinja's,
        // which may only describe the invalid value the lookup left behind.
        if let Some(message) = secrets.take_failure() {
            return Err(RenderError::new(
                job.path.clone(),
                format!("undefined value: {message}"),
            ));
        }
        let (rendered, consumed) = rendered?;
        fuel_left = fuel_left.saturating_sub(consumed);
        let slot = output
            .pointer_mut(&job.pointer)
            .expect("the pointer was collected from this tree");
        *slot = match rendered {
            Output::Text(text) => Json::String(text),
            Output::Value(value) => value,
        };
    }
    Ok(Rendered {
        value: output,
        templates: jobs.len(),
        fuel_consumed: options.fuel - fuel_left,
    })
}

fn render_string<'s>(
    env: &Environment<'s>,
    job: &'s Job<'_>,
    context: &Value,
    options: &RenderOptions,
) -> Result<(Output, u64), RenderError> {
    let failed =
        |error: minijinja::Error| RenderError::from_template(&job.path, &error, options.fuel);
    let source = job.value_source.as_deref().unwrap_or(job.source);
    let template = env
        .template_from_named_str(&job.path, source)
        .or_else(|error| match job.value_source {
            // Report a syntax error against what the author wrote, not the `set` around it.
            Some(_) => env.template_from_named_str(&job.path, job.source),
            None => Err(error),
        })
        .map_err(failed)?;
    let captured = template.render_captured(context.clone()).map_err(failed)?;
    let consumed = captured
        .state()
        .fuel_levels()
        .map_or(0, |(consumed, _remaining)| consumed);
    if job.value_source.is_none() {
        return Ok((Output::Text(captured.into_output()), consumed));
    }
    let value = captured
        .state()
        .lookup(VALUE_VARIABLE)
        .unwrap_or(Value::UNDEFINED);
    Ok((Output::Value(typed_value(job, &value, options)?), consumed))
}

/// The JSON value of a lone expression. Undefined is `""` in lenient mode (what the string
/// rule prints) and an error in strict mode: a `set` does not fail on undefined by itself.
fn typed_value(job: &Job<'_>, value: &Value, options: &RenderOptions) -> Result<Json, RenderError> {
    if value.is_undefined() {
        return if options.strict_undefined {
            Err(RenderError::new(
                job.path.clone(),
                format!("undefined value: `{}` is not defined", job.source.trim()),
            ))
        } else {
            Ok(Json::String(String::new()))
        };
    }
    serde_json::to_value(value).map_err(|e| {
        RenderError::new(
            job.path.clone(),
            format!(
                "the value of `{}` cannot be written as JSON ({e}); convert it in the template, \
                 for example with `| string` or `| tojson`",
                job.source.trim()
            ),
        )
    })
}

/// The expression of a string that is exactly one `{{ expr }}` (surrounding whitespace and
/// whitespace-control markers allowed), or `None` for any other string, which renders as text.
fn lone_expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.strip_prefix(['-', '+']).unwrap_or(inner);
    let inner = inner.strip_suffix(['-', '+']).unwrap_or(inner);
    let more_syntax = ["{{", "}}", "{%", "%}", "{#", "#}"]
        .iter()
        .any(|delimiter| inner.contains(delimiter));
    (!more_syntax && !inner.trim().is_empty()).then_some(inner)
}

/// The variables templates see. `secrets` always comes from the host's providers: a
/// context key of that name is replaced, so a caller cannot shadow real secrets.
fn template_context(context: &Json, secrets: &Arc<SecretsObject>) -> Result<Value, RenderError> {
    let Json::Object(map) = context else {
        return Err(RenderError::new(
            "context",
            format!(
                "the render context must be a JSON object whose keys are the template variables \
                 (workload, execution_id, step, earlier step names); got {}",
                json_kind(context)
            ),
        ));
    };
    let mut variables: BTreeMap<String, Value> = map
        .iter()
        .map(|(name, value)| (name.clone(), Value::from(Serde(value))))
        .collect();
    variables.insert(
        "secrets".to_string(),
        Value::from_dyn_object(DynObject::new(secrets.clone())),
    );
    Ok(Value::from(variables))
}

/// Depth-first walk collecting the template strings outside skipped subtrees, in document
/// order (so the first failing string in the document is the one reported).
fn collect<'t>(
    value: &'t Json,
    path: &mut String,
    pointer: &mut String,
    skip: &[String],
    jobs: &mut Vec<Job<'t>>,
) {
    if is_skipped(path, skip) {
        return;
    }
    match value {
        Json::String(text) if is_template(text) => {
            jobs.push(Job {
                path: path.clone(),
                pointer: pointer.clone(),
                source: text,
                value_source: None,
            });
        }
        Json::Object(map) => {
            for (key, child) in map {
                let (path_len, pointer_len) = (path.len(), pointer.len());
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                collect(child, path, pointer, skip, jobs);
                path.truncate(path_len);
                pointer.truncate(pointer_len);
            }
        }
        Json::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                let (path_len, pointer_len) = (path.len(), pointer.len());
                path.push_str(&format!("[{index}]"));
                pointer.push_str(&format!("/{index}"));
                collect(child, path, pointer, skip, jobs);
                path.truncate(path_len);
                pointer.truncate(pointer_len);
            }
        }
        _ => {}
    }
}

/// A string without template syntax renders to itself; skipping it saves a compile.
fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// `path` is skipped when it is a skip path or lies below one.
fn is_skipped(path: &str, skip: &[String]) -> bool {
    skip.iter().any(|skip_path| {
        path.strip_prefix(skip_path.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
    })
}

fn json_kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(tree: &Json, skip: &[&str]) -> Vec<(String, String)> {
        let skip: Vec<String> = skip.iter().map(|s| s.to_string()).collect();
        let mut jobs = Vec::new();
        collect(
            tree,
            &mut String::new(),
            &mut String::new(),
            &skip,
            &mut jobs,
        );
        jobs.into_iter()
            .map(|job| (job.path, job.pointer))
            .collect()
    }

    #[test]
    fn collects_template_strings_with_dotted_paths_and_pointers() {
        let tree = serde_json::json!({
            "tool": {"job": {"env": {"API_KEY": "{{ secrets.K }}", "PLAIN": "x"}}},
            "args": {"items": ["{{ a }}", 1, "b"]},
            "a/b~c": "{% if x %}y{% endif %}",
        });
        assert_eq!(
            paths(&tree, &[]),
            // Document order (JSON maps keep insertion order in this workspace).
            vec![
                (
                    "tool.job.env.API_KEY".to_string(),
                    "/tool/job/env/API_KEY".to_string()
                ),
                ("args.items[0]".to_string(), "/args/items/0".to_string()),
                ("a/b~c".to_string(), "/a~1b~0c".to_string()),
            ]
        );
    }

    #[test]
    fn only_a_lone_expression_is_typed() {
        assert_eq!(
            lone_expression("{{ workload.port }}"),
            Some(" workload.port ")
        );
        assert_eq!(lone_expression("  {{- x -}}\n"), Some(" x "));
        assert_eq!(lone_expression("{{ -1 }}"), Some(" -1 "));
        for text in [
            "port {{ x }}",
            "{{ a }}{{ b }}",
            "{{ a }} and {{ b }}",
            "{% if a %}{{ a }}{% endif %}",
            "{{ '}}' }}",
            "{{ }}",
            "007",
        ] {
            assert_eq!(lone_expression(text), None, "{text}");
        }
    }

    #[test]
    fn skip_paths_cover_their_subtree_but_not_siblings_with_the_same_prefix() {
        let tree = serde_json::json!({
            "script": {"content": "{{ a }}", "content_type": "{{ b }}"},
            "list": ["{{ c }}", {"x": "{{ d }}"}],
        });
        assert_eq!(
            paths(&tree, &["script.content", "list"]),
            vec![(
                "script.content_type".to_string(),
                "/script/content_type".to_string()
            )]
        );
    }
}
