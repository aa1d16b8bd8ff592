//! The six spec examples' steps rendered the way the host renders a step before planning.

mod common;

use std::path::PathBuf;

use common::RecordingSecrets;
use noetl_plugin_template::{RenderOptions, render};
use serde_json::{Value, json};

const CANARY: &str = "canary-external-api-key-42";

fn examples() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/spec-examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        6,
        "expected the six spec examples in {}",
        dir.display()
    );
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                serde_yaml::from_str(&text).unwrap(),
            )
        })
        .collect()
}

fn render_step(
    step: &Value,
    secrets: std::sync::Arc<RecordingSecrets>,
) -> Result<noetl_plugin_template::Rendered, noetl_plugin_template::RenderError> {
    let context = json!({"workload": {}, "execution_id": "exec-1", "step": step["step"]});
    let options = RenderOptions {
        skip_paths: vec!["tool.script.content".into()],
        // What the host asks for a tool built for contract 0.2.x (the script plugin).
        typed_values: true,
        ..RenderOptions::default()
    };
    render(step, &context, &options, secrets)
}

#[test]
fn every_example_renders_unchanged_except_its_secret() {
    for (file, playbook) in examples() {
        for step in playbook["workflow"].as_array().unwrap() {
            let secrets = RecordingSecrets::new(&[("EXTERNAL_API_KEY", CANARY)]);
            let rendered =
                render_step(step, secrets.clone()).unwrap_or_else(|e| panic!("{file}: {e}"));
            let mut expected = step.clone();
            if file.starts_with("03") {
                expected["tool"]["job"]["env"]["API_KEY"] = json!(CANARY);
                assert_eq!(secrets.requested(), vec!["EXTERNAL_API_KEY"]);
                assert_eq!(rendered.templates, 1);
            } else {
                assert!(secrets.requested().is_empty(), "{file}");
                assert_eq!(rendered.templates, 0, "{file}");
            }
            assert_eq!(rendered.value, expected, "{file}");
            assert!(
                rendered.fuel_consumed < 100,
                "{file}: {}",
                rendered.fuel_consumed
            );
        }
    }
}

#[test]
fn example_03_without_its_secret_fails_at_the_env_path() {
    let (_, playbook) = examples()
        .into_iter()
        .find(|(file, _)| file.starts_with("03"))
        .unwrap();
    let error = render_step(&playbook["workflow"][0], RecordingSecrets::new(&[])).unwrap_err();
    assert_eq!(error.path, "tool.job.env.API_KEY");
    assert!(
        error.message.contains("EXTERNAL_API_KEY"),
        "{}",
        error.message
    );
}

#[test]
fn script_content_with_template_syntax_reaches_the_pod_intact() {
    let (_, playbook) = examples()
        .into_iter()
        .find(|(file, _)| file.starts_with("01"))
        .unwrap();
    let mut step = playbook["workflow"][0].clone();
    let content = "print('{{ literal }}')\n{% not jinja %}\n";
    step["tool"]["script"]["content"] = json!(content);
    let rendered = render_step(&step, RecordingSecrets::new(&[])).unwrap();
    assert_eq!(rendered.value["tool"]["script"]["content"], json!(content));
}
