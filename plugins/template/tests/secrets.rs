//! `secrets`: resolved lazily, once, and always strict.

mod common;

use common::*;
use noetl_plugin_template::{RenderOptions, render};
use serde_json::json;

const CANARY: &str = "canary-7e1d-secret";

#[test]
fn a_referenced_secret_is_resolved() {
    let secrets = RecordingSecrets::new(&[("EXTERNAL_API_KEY", CANARY)]);
    let out = render_with(
        json!({"API_KEY": "{{ secrets.EXTERNAL_API_KEY }}"}),
        &RenderOptions::default(),
        secrets,
    )
    .unwrap();
    assert_eq!(out, json!({"API_KEY": CANARY}));
}

#[test]
fn a_typed_secret_is_its_text() {
    let secrets = RecordingSecrets::new(&[("PORT", "8080")]);
    let options = RenderOptions {
        typed_values: true,
        ..RenderOptions::default()
    };
    let out = render_with(
        json!({"a": "{{ secrets.PORT }}", "b": "{{ secrets.PORT | int }}"}),
        &options,
        secrets,
    )
    .unwrap();
    assert_eq!(out, json!({"a": "8080", "b": 8080}));
}

#[test]
fn only_referenced_secrets_are_requested_and_each_once() {
    let secrets = RecordingSecrets::new(&[("A", "1"), ("B", "2")]);
    let tree = json!({"x": "{{ secrets.A }}", "y": ["{{ secrets.A }}{{ secrets['A'] }}"], "z": "{{ workload.name }}"});
    render_with(tree, &RenderOptions::default(), secrets.clone()).unwrap();
    assert_eq!(secrets.requested(), vec!["A"]);
}

#[test]
fn a_missing_secret_fails_in_lenient_mode_naming_it_and_the_providers() {
    let error = render_with(
        json!({"tool": {"job": {"env": {"API_KEY": "{{ secrets.EXTERNAL_API_KEY }}"}}}}),
        &RenderOptions::default(),
        RecordingSecrets::new(&[]),
    )
    .unwrap_err();
    assert_eq!(error.path, "tool.job.env.API_KEY");
    assert!(
        error.message.contains("secrets.EXTERNAL_API_KEY"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("NOETL_SECRET_EXTERNAL_API_KEY"),
        "{}",
        error.message
    );
}

#[test]
fn a_missing_secret_never_renders_empty_whatever_the_template_does() {
    for template in [
        "{{ secrets.MISSING }}",
        "{{ secrets['MISSING'] }}",
        "{{ secrets.MISSING | default('fallback') }}",
        "{{ secrets.MISSING | d }}",
        "{% if secrets.MISSING is defined %}yes{% endif %}",
        "{% if secrets.MISSING %}yes{% endif %}",
        "{{ secrets.MISSING ~ '' }}",
        "{{ secrets | attr('MISSING') }}",
        "{% set s = secrets %}{{ s.MISSING }}",
        "{% with s = secrets %}{{ s.MISSING | b64encode }}{% endwith %}",
        "{{ secrets.MISSING is undefined }}",
        "{{ [secrets] | map(attribute='MISSING') | list }}",
    ] {
        // Typed values too: a lone `{{ secrets.X ... }}` goes the typed path.
        let typed = |options: RenderOptions| RenderOptions {
            typed_values: true,
            ..options
        };
        for options in [
            RenderOptions::default(),
            strict(),
            typed(RenderOptions::default()),
            typed(strict()),
        ] {
            let result = render_with(json!(template), &options, RecordingSecrets::new(&[]));
            let error = result.expect_err(template);
            assert!(
                error.message.contains("MISSING"),
                "{template}: {}",
                error.message
            );
        }
    }
}

#[test]
fn secrets_have_no_methods() {
    // `secrets.get` is looked up as a secret named `get`, which does not exist.
    let error = render_with(
        json!("{{ secrets.get('A') }}"),
        &RenderOptions::default(),
        RecordingSecrets::new(&[("A", CANARY)]),
    )
    .unwrap_err();
    assert!(error.message.contains("secrets.get"), "{}", error.message);
}

#[test]
fn secrets_cannot_be_listed_or_dumped() {
    let secrets = RecordingSecrets::new(&[("A", CANARY)]);
    let out = render_with(
        json!("{{ secrets }}|{{ secrets | tojson }}"),
        &RenderOptions::default(),
        secrets.clone(),
    )
    .unwrap();
    assert_eq!(out, json!("<secrets>|\"\\u003csecrets\\u003e\""));
    for template in [
        "{% for k in secrets %}{{ k }}{% endfor %}",
        "{{ secrets | list }}",
        "{{ secrets | items }}",
    ] {
        let result = render_with(json!(template), &RenderOptions::default(), secrets.clone());
        assert!(
            result
                .as_ref()
                .map_or(true, |out| !out.to_string().contains(CANARY)),
            "{template}: {result:?}"
        );
    }
    assert!(secrets.requested().is_empty());
}

#[test]
fn a_context_key_named_secrets_cannot_shadow_the_providers() {
    let secrets = RecordingSecrets::new(&[("A", CANARY)]);
    let context = json!({"secrets": {"A": "forged"}});
    let out = render(
        &json!("{{ secrets.A }}"),
        &context,
        &RenderOptions::default(),
        secrets,
    )
    .unwrap()
    .value;
    assert_eq!(out, json!(CANARY));
}
