//! Type preservation, one-pass rendering, skip paths, undefined handling, error paths.

mod common;

use common::*;
use noetl_plugin_template::{RenderOptions, render};
use serde_json::json;

fn typed() -> RenderOptions {
    RenderOptions {
        typed_values: true,
        ..RenderOptions::default()
    }
}

fn render_typed(
    tree: serde_json::Value,
) -> Result<serde_json::Value, noetl_plugin_template::RenderError> {
    render_with(tree, &typed(), RecordingSecrets::new(&[]))
}

#[test]
fn a_lone_expression_keeps_its_json_type() {
    let out = render_typed(json!({
        "port": "{{ workload.port }}",
        "spaced": "  {{ workload.port }}\n",
        "enabled": "{{ workload.enabled }}",
        "ratio": "{{ workload.ratio }}",
        "items": "{{ workload.items }}",
        "sum": "{{ workload.items | sum }}",
        "nothing": "{{ none }}",
        "rows": "{{ fetch_data.data.rows }}",
        "name": "{{ workload.name }}",
    }))
    .unwrap();
    assert_eq!(
        out,
        json!({"port": 8080, "spaced": 8080, "enabled": true, "ratio": 0.5, "items": [1, 2, 3],
               "sum": 6, "nothing": null, "rows": 3, "name": "Alice"})
    );
}

#[test]
fn a_map_becomes_a_json_object_never_python_repr() {
    let out = render_typed(
        json!({"data": "{{ fetch_data.data }}", "literal": "{{ {'a': 1, 'b': none} }}"}),
    )
    .unwrap();
    assert_eq!(out["data"], json!({"rows": 3, "output": "{\"a\": [1, 2]}"}));
    assert_eq!(out["literal"], json!({"a": 1, "b": null}));
    // Inside text a map is still rendered, but never as a JSON object.
    let text = render_typed(json!("data: {{ fetch_data.data }}")).unwrap();
    assert!(text.is_string(), "{text}");
}

#[test]
fn any_other_string_stays_a_string_and_plain_text_is_never_reinterpreted() {
    let out = render_typed(json!({
        "text": "port {{ workload.port }}",
        "two": "{{ workload.port }}{{ workload.port }}",
        "block": "{% if workload.enabled %}{{ workload.port }}{% endif %}",
        "code": "007",
        "number_text": "8080",
        "quoted": "{{ '007' }}",
        "true_text": "true",
    }))
    .unwrap();
    assert_eq!(
        out,
        json!({"text": "port 8080", "two": "80808080", "block": "8080", "code": "007",
               "number_text": "8080", "quoted": "007", "true_text": "true"})
    );
}

#[test]
fn without_typed_values_every_rendered_string_stays_a_string() {
    // The 0.1.0 rule, still used for tools built for 0.1.x.
    let out = render_lenient(
        json!({"env": {"PORT": "{{ workload.port }}"}, "all": "{{ workload.items }}"}),
    )
    .unwrap();
    assert_eq!(out, json!({"env": {"PORT": "8080"}, "all": "[1, 2, 3]"}));
}

#[test]
fn typed_undefined_is_empty_when_lenient_and_an_error_when_strict() {
    assert_eq!(
        render_typed(json!({"x": "{{ not_run_yet.data.rows }}"})).unwrap(),
        json!({"x": ""})
    );
    let strict_typed = RenderOptions {
        strict_undefined: true,
        ..typed()
    };
    let error = render_with(
        json!({"tool": {"x": "{{ workload.typo }}"}}),
        &strict_typed,
        RecordingSecrets::new(&[]),
    )
    .unwrap_err();
    assert_eq!(error.path, "tool.x");
    assert!(error.message.contains("undefined"), "{}", error.message);
}

#[test]
fn typed_syntax_errors_describe_what_the_author_wrote() {
    let error = render_typed(json!({"args": ["{{ 1 + }}"]})).unwrap_err();
    assert_eq!(error.path, "args[0]");
    assert!(error.message.contains("syntax error"), "{}", error.message);
    assert!(!error.message.contains("__noetl"), "{}", error.message);
}

#[test]
fn non_string_values_are_untouched() {
    let tree = json!({"n": 42, "f": 1.5, "b": false, "z": null, "list": [1, true, null, {"x": 2}]});
    assert_eq!(render_lenient(tree.clone()).unwrap(), tree);
}

#[test]
fn object_keys_are_not_rendered() {
    let out = render_lenient(json!({"{{ workload.name }}": "{{ workload.name }}"})).unwrap();
    assert_eq!(out, json!({"{{ workload.name }}": "Alice"}));
}

#[test]
fn output_is_never_rendered_again() {
    let context = json!({"workload": {"text": "{{ secrets.TOKEN }} and {% raw %}"}});
    let secrets = RecordingSecrets::new(&[("TOKEN", "canary-should-not-appear")]);
    let out = render(
        &json!("value: {{ workload.text }}"),
        &context,
        &RenderOptions::default(),
        secrets.clone(),
    )
    .unwrap()
    .value;
    assert_eq!(out, json!("value: {{ secrets.TOKEN }} and {% raw %}"));
    assert!(
        secrets.requested().is_empty(),
        "a value's content was evaluated: {:?}",
        secrets.requested()
    );
}

#[test]
fn skip_paths_pass_script_content_through_verbatim() {
    let script = "print('{{ not a template }}')\n{% weird %}\n";
    let tree = json!({"tool": {"script": {"content": script, "type": "{{ workload.name }}"}}});
    let options = RenderOptions {
        skip_paths: vec!["tool.script.content".into()],
        ..RenderOptions::default()
    };
    let out = render_with(tree, &options, RecordingSecrets::new(&[])).unwrap();
    assert_eq!(
        out,
        json!({"tool": {"script": {"content": script, "type": "Alice"}}})
    );
}

#[test]
fn skip_paths_cover_array_items_and_whole_subtrees() {
    let tree = json!({"args": {"items": ["{{ a b }}", "{{ workload.name }}"]}, "raw": {"x": ["{{ c d }}"]}});
    let options = RenderOptions {
        skip_paths: vec!["args.items[0]".into(), "raw".into()],
        ..RenderOptions::default()
    };
    let out = render_with(tree, &options, RecordingSecrets::new(&[])).unwrap();
    assert_eq!(
        out,
        json!({"args": {"items": ["{{ a b }}", "Alice"]}, "raw": {"x": ["{{ c d }}"]}})
    );
}

#[test]
fn trailing_newline_of_a_templated_string_is_kept() {
    assert_eq!(
        render_str("name={{ workload.name }}\n").unwrap(),
        "name=Alice\n"
    );
}

#[test]
fn context_variables_are_available() {
    let out = render_str(
        "{{ execution_id }}/{{ step }}/{{ fetch_data.data.rows }}/{{ workload.items[1] }}",
    )
    .unwrap();
    assert_eq!(out, "exec-123/run_analysis/3/2");
}

#[test]
fn lenient_undefined_renders_empty_even_when_chained() {
    assert_eq!(
        render_str("[{{ workload.missing }}][{{ not_run_yet.data.rows }}]").unwrap(),
        "[][]"
    );
}

#[test]
fn strict_undefined_fails_with_the_path_of_the_string() {
    let tree = json!({"tool": {"job": {"env": {"OK": "{{ workload.name }}", "BAD": "{{ workload.typo }}"}}}});
    let error = render_with(tree, &strict(), RecordingSecrets::new(&[])).unwrap_err();
    assert_eq!(error.path, "tool.job.env.BAD");
    assert!(error.message.contains("undefined"), "{}", error.message);
}

#[test]
fn strict_undefined_also_fails_inside_filters_and_conditions() {
    for template in [
        "{{ nope | b64encode }}",
        "{% if nope %}x{% endif %}",
        "{{ nope.a }}",
    ] {
        let result = render_with(json!(template), &strict(), RecordingSecrets::new(&[]));
        assert!(result.is_err(), "{template} rendered {result:?}");
    }
}

#[test]
fn errors_in_arrays_name_the_index() {
    let error = render_lenient(json!({"args": {"items": ["ok", "{{ 1 + }}"]}})).unwrap_err();
    assert_eq!(error.path, "args.items[1]");
    assert!(error.message.contains("syntax error"), "{}", error.message);
}

#[test]
fn errors_report_the_template_line() {
    let error =
        render_lenient(json!({"script": "line one\nline two {{ workload.name | nosuchfilter }}"}))
            .unwrap_err();
    assert_eq!(error.path, "script");
    assert!(
        error.message.contains("nosuchfilter") || error.message.contains("unknown filter"),
        "{}",
        error.message
    );
    assert!(error.message.contains("line 2"), "{}", error.message);
}

#[test]
fn a_context_that_is_not_an_object_is_refused() {
    let error = render(
        &json!("x"),
        &json!([1]),
        &RenderOptions::default(),
        RecordingSecrets::new(&[]),
    )
    .unwrap_err();
    assert_eq!(error.path, "context");
    assert!(
        error.message.contains("must be a JSON object"),
        "{}",
        error.message
    );
}

#[test]
fn includes_and_imports_find_nothing() {
    let error = render_str("{% include 'other' %}").unwrap_err();
    assert!(
        error.message.contains("not found") || error.message.contains("template"),
        "{}",
        error.message
    );
}

#[test]
fn reports_how_many_templates_ran_and_the_fuel_used() {
    // Typed or not, a lone expression and a text template count and cost alike.
    let tree = json!({"a": "{{ workload.name }}", "b": "plain", "c": ["{{ step }}/{{ step }}"]});
    for options in [RenderOptions::default(), typed()] {
        let rendered = render(&tree, &context(), &options, RecordingSecrets::new(&[])).unwrap();
        assert_eq!(rendered.templates, 2);
        assert!(
            rendered.fuel_consumed > 0 && rendered.fuel_consumed < 100,
            "{}",
            rendered.fuel_consumed
        );
    }
}
