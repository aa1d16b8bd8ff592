//! Type preservation, one-pass rendering, skip paths, undefined handling, error paths.

mod common;

use common::*;
use noetl_plugin_template::{RenderOptions, render};
use serde_json::json;

#[test]
fn a_templated_number_stays_a_string() {
    let out = render_lenient(json!({"env": {"PORT": "{{ workload.port }}"}})).unwrap();
    assert_eq!(out, json!({"env": {"PORT": "8080"}}));
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
    let tree = json!({"a": "{{ workload.name }}", "b": "plain", "c": ["{{ step }}"]});
    let rendered = render(
        &tree,
        &context(),
        &RenderOptions::default(),
        RecordingSecrets::new(&[]),
    )
    .unwrap();
    assert_eq!(rendered.templates, 2);
    assert!(
        rendered.fuel_consumed > 0 && rendered.fuel_consumed < 100,
        "{}",
        rendered.fuel_consumed
    );
}
