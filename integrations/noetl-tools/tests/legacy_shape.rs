//! Upstream's only script end-to-end fixture (noetl/e2e
//! fixtures/playbooks/script_execution/k8s_job_python_gcs.yaml), step
//! `run_script_as_k8s_job`, in its legacy shape, with the script served over HTTP on
//! loopback instead of GCS. The config is what upstream's worker hands the tool: keychain
//! templates already resolved, `input:` and camelCase job keys as written.

mod support;

use noetl_tests::http::TestServer;
use noetl_tools::ToolStatus;
use serde_json::{Value, json};
use support::*;

const SCRIPT: &str = "import json, os, sys\nimport google.auth\nargs = json.loads(sys.argv[1])\n\
sa = json.loads(os.environ['GCP_SERVICE_ACCOUNT_JSON'])\n\
print(json.dumps({'args': args, 'bucket': os.environ['GCS_BUCKET'], 'project': os.environ['GCP_PROJECT'], 'sa_fields': sorted(sa)}))\n";

const SA_KEY: &str = "-----BEGIN PRIVATE KEY-----canary-legacy-0c9e-----END PRIVATE KEY-----";

/// The fixture's step, with the worker's keychain rendering done and the URI on loopback.
fn legacy_step(script_uri: &str, service_account: &Value) -> Value {
    let yaml = format!(
        r#"
kind: script
script:
  uri: "{script_uri}"
  source:
    type: http
    auth: "{{{{ gcp_credential }}}}"
input:
  input_file: "{{{{ input_data }}}}"
  output_bucket: "{{{{ output_bucket }}}}"
  mode: "batch"
job:
  image: python:3.11-slim
  namespace: noetl
  ttlSecondsAfterFinished: 300
  backoffLimit: 3
  install_dependencies: [google-auth, requests]
  resources:
    requests: {{memory: "256Mi", cpu: "500m"}}
    limits: {{memory: "512Mi", cpu: "1000m"}}
  env:
    GCP_SERVICE_ACCOUNT_JSON: {sa}
    GCS_BUCKET: "{{{{ output_bucket }}}}"
    GCP_PROJECT: noetl-demo-19700101
"#,
        sa = json!(service_account.to_string())
    );
    serde_yaml::from_str(&yaml).unwrap()
}

#[tokio::test]
async fn the_legacy_fixture_step_runs_with_a_warning_per_legacy_key() {
    let warnings = Capture::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_writer(warnings.clone())
        .init();
    let server = TestServer::start(|path, _| match path {
        "/scripts/data_processor.py" => (200, SCRIPT.into()),
        _ => (404, "{}".into()),
    });
    let service_account =
        json!({"type": "service_account", "project_id": "sa-project-a1", "private_key": SA_KEY});
    let workload = json!({
        "gcs_script_uri": format!("{}/scripts/data_processor.py", server.url()),
        "gcp_credential": "gcs_service_account",
        "input_data": "sample_dataset.csv",
        "output_bucket": "noetl-demo-output",
        "keychain": {"gcp_sa": {"service_account_json": service_account}},
    });
    let tool = legacy_step(
        workload["gcs_script_uri"].as_str().unwrap(),
        &workload["keychain"]["gcp_sa"]["service_account_json"],
    );
    let host = local_host("plugins:\n  script:\n    fetch: {hosts: [127.0.0.1]}\n").await;
    let ctx = context(execution_id(), "run_script_as_k8s_job", workload, &[]);
    let result = registry(&host)
        .execute_from_config(&tool_config(&tool, None), &ctx)
        .await
        .unwrap();

    assert_eq!(result.status, ToolStatus::Success, "{result:#?}");
    let data = result.data.clone().unwrap();
    assert_eq!(data["status"], "completed");
    assert_eq!(
        data["result"],
        json!({"args": {"input_file": "sample_dataset.csv", "output_bucket": "noetl-demo-output", "mode": "batch"},
               "bucket": "noetl-demo-output", "project": "noetl-demo-19700101", "sa_fields": ["private_key", "project_id", "type"]})
    );
    assert!(
        !format!("{result:?}").contains("canary-legacy"),
        "the keychain credential leaked: {result:#?}"
    );
    let warnings = warnings.text();
    for canonical in [
        "write `args`",
        "write script.type",
        "its own credentials",
        "write tool.job.ttl_seconds_after_finished",
        "write tool.job.backoff_limit",
    ] {
        assert!(
            warnings.contains(canonical),
            "no warning says `{canonical}`:\n{warnings}"
        );
    }
}

#[tokio::test]
async fn a_legacy_key_given_with_its_canonical_twin_is_refused_naming_the_canonical_key() {
    let mut tool = legacy_step("http://127.0.0.1:9/none.py", &json!({}));
    tool["job"]["backoff_limit"] = json!(1);
    let host = local_host("").await;
    let error = registry(&host)
        .execute_from_config(
            &tool_config(&tool, None),
            &context(execution_id(), "twin", json!({}), &[]),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, noetl_tools::ToolError::Configuration(_)),
        "{error}"
    );
    let text = error.to_string();
    assert!(
        text.contains("tool.job.backoffLimit") && text.contains("keep only tool.job.backoff_limit"),
        "{text}"
    );
}
