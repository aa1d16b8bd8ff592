//! A NoETL worker embedding the host: runs one step's `tool` object on the local backend
//! and prints the response a worker would hand back to the NoETL server.
//!
//! `noetl-worker-example [TOOL.yaml]`: the step's `tool:` mapping (YAML or JSON); without
//! an argument, a small inline Python step. Exit code as `noetl-host exec` (0 ok, 2 invalid
//! step, 3 tool failure, 4 host failure).

use noetl_host::{embed, policy::Policy};
use serde_json::{Value, json};

const DEFAULT_STEP: &str = r#"{"kind": "script", "args": {"name": "worker"}, "job": {"image": "python:3.11-slim"},
  "script": {"type": "inline", "content": "import json, sys\nprint(json.dumps({'hello': json.loads(sys.argv[1])['name']}))"}}"#;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let tool: Value = match std::env::args().nth(1) {
        Some(path) => serde_yaml::from_str(&std::fs::read_to_string(path)?)?,
        None => serde_json::from_str(DEFAULT_STEP)?,
    };
    let executor = embed::local_executor(Policy::default_policy()).await?;
    let context = json!({"execution_id": "worker-example", "step": "hello"});
    match executor.execute(&tool, &context, None).await {
        Ok(response) => println!("{response}"),
        Err(error) => {
            println!("{}", error.to_response(0));
            std::process::exit(error.exit_code());
        }
    }
    Ok(())
}
