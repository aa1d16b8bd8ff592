//! Every spec example (examples/playbooks) through upstream's own
//! `ToolRegistry::execute_from_config`, with our `script` registered over upstream's, on the
//! local backend. The scripts really run (sandboxed processes, dependencies from PyPI, cached
//! in the tests crate's shared cache).

mod support;

use std::sync::Arc;

use noetl_host_tools::WorkerHost;
use noetl_tests::http::TestServer;
use noetl_tools::ToolStatus;
use serde_json::{Value, json};
use support::*;

/// `ToolResult.data.result` of a successful call, after checking the mapping of the rest.
async fn run_example(
    name: &str,
    policy: &str,
    edits: &[(&str, &str)],
    secrets: &[(&str, &str)],
) -> Value {
    run_example_on(local_host(policy).await, name, edits, secrets).await
}

async fn run_example_on(
    host: Arc<WorkerHost>,
    name: &str,
    edits: &[(&str, &str)],
    secrets: &[(&str, &str)],
) -> Value {
    let (step, mut tool) = example(name);
    let mut text = tool.to_string();
    for (from, to) in edits {
        assert!(text.contains(from), "{name} no longer contains `{from}`");
        text = text.replace(from, to);
    }
    tool = serde_json::from_str(&text).unwrap();
    let registry = registry(&host);
    let config = tool_config(&tool, None);
    let ctx = context(execution_id(), &step, json!({}), secrets);
    let result = registry
        .execute_from_config(&config, &ctx)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(result.status, ToolStatus::Success, "{name}: {result:#?}");
    let data = result.data.clone().unwrap();
    assert_eq!(data["status"], "completed", "{name}: {data:#}");
    assert_eq!(result.exit_code, Some(0));
    assert_eq!(
        result.stdout.as_deref(),
        data["output"].as_str(),
        "stdout is the job's output"
    );
    assert!(
        result
            .duration_ms
            .is_some_and(|ms| ms as f64 >= data["execution_time"].as_f64().unwrap() * 1000.0 - 1.0)
    );
    data["result"].clone()
}

#[tokio::test]
async fn example_01_basic_python() {
    let result = run_example("01-basic-python.yaml", "", &[], &[]).await;
    assert_eq!(
        result,
        json!({"input": {"items": [1, 2, 3, 4, 5]}, "processed": true, "count": 5})
    );
}

#[tokio::test]
async fn example_02_dependencies() {
    let result = run_example("02-dependencies.yaml", "", &[], &[]).await;
    assert_eq!(result["rows"], 2);
    assert_eq!(result["columns"], json!(["name", "age"]));
}

#[tokio::test]
async fn example_03_the_secret_comes_from_the_execution_context() {
    let canary = "canary-ctx-7d21b9e4";
    let expected = format!("Bearer {canary}");
    let server = TestServer::start(move |path, headers| {
        let authorized = headers
            .iter()
            .any(|(n, v)| n == "authorization" && *v == expected);
        match (path, authorized) {
            ("/data", true) => (200, r#"{"items": [1, 2], "source": "test-api"}"#.into()),
            _ => (401, r#"{"error": "bad token"}"#.into()),
        }
    });
    // A policy file replaces the default one, so it also grants the template its secret.
    // The adapter's calls have no playbook file, so no `local.network` grant can match
    // them: the worker's own code gives its scripts the network.
    let policy = "plugins:\n  template: {secrets: {names: [EXTERNAL_API_KEY]}}\n";
    let url = server.url();
    let result = run_example_on(
        local_host_with(policy, true).await,
        "03-env-secrets.yaml",
        &[("https://api.example.com", &url)],
        &[("EXTERNAL_API_KEY", canary)],
    )
    .await;
    assert_eq!(result, json!({"items": [1, 2], "source": "test-api"}));
    assert_eq!(
        server.seen_headers.lock().unwrap().len(),
        1,
        "the script called the API once"
    );
}

#[tokio::test]
async fn example_04_http_source() {
    let server = TestServer::start(|path, _| {
        match path {
        "/scripts/process.py" => (200, "import json, sys\nprint(json.dumps({'fetched': True, 'args': json.loads(sys.argv[1])}))\n".into()),
        _ => (404, "{}".into()),
    }
    });
    let uri = format!("{}/scripts/process.py", server.url());
    let policy = "plugins:\n  script:\n    fetch: {hosts: [127.0.0.1]}\n";
    let result = run_example(
        "04-http-source.yaml",
        policy,
        &[(
            "https://raw.githubusercontent.com/org/repo/main/scripts/process.py",
            &uri,
        )],
        &[],
    )
    .await;
    assert_eq!(
        result,
        json!({"fetched": true, "args": {"input_file": "/data/input.json", "output_file": "/data/output.json"}})
    );
}

#[tokio::test]
async fn example_05_node() {
    let result = run_example("05-node.yaml", "", &[], &[]).await;
    assert_eq!(result["processed"], true);
    assert_eq!(result["input"]["message"], "Hello from Node.js");
}

/// The spec's 10000x10000 SVD takes minutes on the 2-core reference machine; as in the tests
/// crate, a 1000x1000 matrix with every job field kept.
#[tokio::test]
async fn example_06_resource_limits_with_a_smaller_matrix() {
    let (step, tool) = example("06-resource-limits.yaml");
    let tool: Value = serde_json::from_str(
        &tool
            .to_string()
            .replace("randn(10000, 10000)", "randn(1000, 1000)"),
    )
    .unwrap();
    let host = local_host("").await;
    let result = registry(&host)
        .execute_from_config(
            &tool_config(&tool, None),
            &context(execution_id(), &step, json!({}), &[]),
        )
        .await
        .unwrap();
    assert_eq!(result.status, ToolStatus::Success, "{result:#?}");
    assert_eq!(
        result.stdout.as_deref(),
        Some("Computation complete: (1000,)\n")
    );
}

#[tokio::test]
async fn the_step_input_the_worker_injects_reaches_the_script_as_args() {
    let (step, mut tool) = example("01-basic-python.yaml");
    tool.as_object_mut().unwrap().remove("args");
    let host = local_host("").await;
    let config = tool_config(&tool, Some(&json!({"items": [7]})));
    let result = registry(&host)
        .execute_from_config(&config, &context(execution_id(), &step, json!({}), &[]))
        .await
        .unwrap();
    assert_eq!(
        result.data.unwrap()["result"]["input"],
        json!({"items": [7]})
    );
}

#[tokio::test]
async fn a_script_exit_code_and_its_stderr_reach_the_tool_result() {
    let tool = json!({"kind": "script", "script": {"type": "inline", "content": "import sys\nprint('partial')\nsys.stderr.write('boom\\n')\nsys.exit(7)\n"},
        "job": {"image": "python:3.11-slim", "backoff_limit": 0}});
    let host = local_host("").await;
    let result = registry(&host)
        .execute_from_config(
            &tool_config(&tool, None),
            &context(execution_id(), "fails", json!({}), &[]),
        )
        .await
        .unwrap();
    assert_eq!(result.status, ToolStatus::Error, "{result:#?}");
    assert_eq!(result.exit_code, Some(7));
    assert_eq!(result.stdout.as_deref(), Some("partial\n"));
    assert!(
        result.stderr.as_deref().is_some_and(|e| e.contains("boom")),
        "{result:#?}"
    );
    assert_eq!(result.data.unwrap()["status"], "failed");
}

#[tokio::test]
async fn a_job_timeout_is_a_timeout_status() {
    let tool = json!({"kind": "script", "script": {"type": "inline", "content": "import time\ntime.sleep(30)\n"}, "job": {"image": "python:3.11-slim"}, "timeout": 1});
    let host = local_host("").await;
    let result = registry(&host)
        .execute_from_config(
            &tool_config(&tool, None),
            &context(execution_id(), "slow", json!({}), &[]),
        )
        .await
        .unwrap();
    assert_eq!(result.status, ToolStatus::Timeout, "{result:#?}");
    assert_eq!(result.data.unwrap()["status"], "timeout");
}

#[tokio::test]
async fn templates_render_against_the_context_variables() {
    let tool = json!({"kind": "script", "script": {"type": "inline", "content": "import json, sys\nprint(json.dumps(json.loads(sys.argv[1])))\n"},
        "args": {"n": "{{ count }}", "who": "{{ workload.name }}", "step": "{{ step }}"}, "job": {"image": "python:3.11-slim"}});
    let host = local_host("").await;
    let ctx = context(41, "render", json!({"count": 3, "name": "ada"}), &[]);
    let result = registry(&host)
        .execute_from_config(&tool_config(&tool, None), &ctx)
        .await
        .unwrap();
    assert_eq!(
        result.data.unwrap()["result"],
        json!({"n": 3, "who": "ada", "step": "render"})
    );
}

#[tokio::test]
async fn a_misspelt_field_is_a_configuration_error_naming_it() {
    let (step, tool) = example("01-basic-python.yaml");
    let text = tool.to_string().replace("\"timeout\"", "\"timeuot\"");
    let host = local_host("").await;
    let error = registry(&host)
        .execute_from_config(
            &tool_config(&serde_json::from_str(&text).unwrap(), None),
            &context(execution_id(), &step, json!({}), &[]),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, noetl_tools::ToolError::Configuration(_)),
        "{error}"
    );
    assert!(error.to_string().contains("tool.job.timeuot"), "{error}");
}

#[tokio::test]
async fn concurrent_calls_share_one_host() {
    let (step, tool) = example("01-basic-python.yaml");
    let host = local_host("").await;
    let registry = registry(&host);
    let calls = (0..3).map(|i| {
        let config = tool_config(
            &serde_json::from_str(&tool.to_string().replace("[1,2,3,4,5]", &format!("[{i}]")))
                .unwrap(),
            None,
        );
        let ctx = context(execution_id() + i, &step, json!({}), &[]);
        let registry = &registry;
        async move { registry.execute_from_config(&config, &ctx).await.unwrap() }
    });
    let results = futures::future::join_all(calls).await;
    for (i, result) in results.iter().enumerate() {
        assert_eq!(
            result.data.as_ref().unwrap()["result"]["input"]["items"],
            json!([i]),
            "{result:#?}"
        );
    }
}

#[tokio::test]
async fn submit_on_the_local_backend_is_refused_with_the_reason() {
    let (step, tool) = example("01-basic-python.yaml");
    let host = local_host("").await;
    let error = host
        .submit(
            &tool_config(&tool, None),
            &context(execution_id(), &step, json!({}), &[]),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("cannot run a job detached") && error.contains("kubernetes backend"),
        "{error}"
    );
}
