//! A secret handed over in `ExecutionContext.secrets` reaches the script, and never the
//! `ToolResult`, an error, or a log line: neither the host's own events (captured raw) nor
//! everything at debug level written through the host's `log_redactor`.

mod support;

use noetl_host::log_writer::RedactingWriter;
use serde_json::json;
use support::*;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Layer};

const CANARY: &str = "canary-adapter-5be1c07f93";

#[tokio::test]
async fn the_canary_reaches_the_script_and_nothing_the_call_returns_or_logs() {
    let host = local_host("").await;
    let (raw, debug) = (Capture::default(), Capture::default());
    let quiet_libraries = "debug,cranelift_codegen=off,cranelift_frontend=off,wasmtime=off,wasmtime_cranelift=off,hyper=off,h2=off,rustls=off";
    let subscriber = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(raw.clone())
                .with_filter(EnvFilter::new("noetl=debug")),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(RedactingWriter::new(host.log_redactor(), debug.clone()))
                .with_filter(EnvFilter::new(quiet_libraries)),
        );
    // Global, so events from every thread the host uses are captured (one test per binary).
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let registry = registry(&host);
    let script = "import hashlib, json, os, sys\nv = os.environ['API_KEY']\n\
                  print(json.dumps({'sha': hashlib.sha256(v.encode()).hexdigest(), 'echo': v, 'arg': json.loads(sys.argv[1])['k']}))\n\
                  sys.stderr.write('stderr has ' + v + '\\n')\nsys.exit(3)\n";
    let tool = json!({"kind": "script", "script": {"type": "inline", "content": script},
        "args": {"k": "{{ secrets.API_KEY }}"},
        "job": {"image": "python:3.11-slim", "backoff_limit": 0, "env": {"API_KEY": "{{ secrets.API_KEY }}"}}});
    let ctx = context(execution_id(), "canary", json!({}), &[("API_KEY", CANARY)]);
    let result = registry
        .execute_from_config(&tool_config(&tool, None), &ctx)
        .await
        .unwrap();

    let data = result.data.clone().unwrap();
    assert_eq!(result.exit_code, Some(3), "{result:#?}");
    let printed: serde_json::Value =
        serde_json::from_str(result.stdout.as_deref().unwrap().trim()).unwrap();
    assert_eq!(
        printed["sha"],
        sha256_hex(CANARY),
        "the script got the secret through job.env"
    );
    assert_eq!(printed["echo"], "<redacted>");
    assert_eq!(
        printed["arg"], "<redacted>",
        "the secret also reached args, redacted on the way back"
    );
    assert!(
        result
            .stderr
            .as_deref()
            .unwrap()
            .contains("stderr has <redacted>"),
        "{result:#?}"
    );
    assert_eq!(data["status"], "failed");

    // A config error quoting the secret: the image field is refused with its value.
    let bad = json!({"kind": "script", "script": {"type": "inline", "content": "print(1)"}, "job": {"image": "{{ secrets.API_KEY }} bad"}});
    let error = registry
        .execute_from_config(&tool_config(&bad, None), &ctx)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("tool.job.image"), "{error}");

    // A secret the call was not given: the error names the provider, and no value.
    let missing = json!({"kind": "script", "script": {"type": "inline", "content": "print(1)"}, "job": {"env": {"X": "{{ secrets.OTHER }}"}}});
    let missing_error = registry
        .execute_from_config(&tool_config(&missing, None), &ctx)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        missing_error.contains("ExecutionContext.secrets"),
        "{missing_error}"
    );

    let (raw, debug) = (raw.text(), debug.text());
    for (place, text) in [
        ("result", format!("{result:?}")),
        ("config error", error),
        ("missing secret error", missing_error),
        ("host log", raw),
        ("debug log", debug),
    ] {
        assert!(
            !text.contains(CANARY),
            "the canary leaked into the {place}:\n{text}"
        );
    }
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}
