//! A NoETL worker's tool dispatch, reduced to one step: upstream's
//! `create_default_registry()`, our `script` registered over upstream's, and the step's
//! `tool:` config (YAML or JSON file) run through `ToolRegistry::execute_from_config`, as
//! upstream's worker runs every command.
//!
//! `noetl-worker TOOL.yaml [POLICY.yaml]`. Secrets for `{{ secrets.NAME }}` come from
//! `NOETL_WORKER_SECRET_<NAME>` variables (a real worker gets them from its keychain).
//! Prints the `ToolResult` as JSON; exit code 0 success, 1 the tool reported an error or a
//! timeout, 2 the config was refused, 3 any other failure.

use std::sync::Arc;

use noetl_host::log_writer::RedactingWriter;
use noetl_host_tools::noetl_tools::{
    ExecutionContext, ToolConfig, ToolError, tools::create_default_registry,
};
use noetl_host_tools::{DEFAULT_KINDS, WorkerHost, register};
use serde_json::{Value, json};

const SECRET_PREFIX: &str = "NOETL_WORKER_SECRET_";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(step_file) = args.next() else {
        anyhow::bail!("usage: noetl-worker TOOL.yaml [POLICY.yaml]");
    };
    let policy = args.next().map(std::path::PathBuf::from);

    // One host per process, shared by every call.
    let host = Arc::new(WorkerHost::from_policy_file(policy.as_deref()).await?);
    // Logs go through the host's redactor: no secret reaches stderr, whatever logs it.
    tracing_subscriber::fmt()
        .with_writer(RedactingWriter::new(host.log_redactor(), std::io::stderr))
        .init();
    let mut registry = create_default_registry();
    register(&mut registry, &host, DEFAULT_KINDS)?;

    let tool: Value = serde_yaml::from_str(&std::fs::read_to_string(&step_file)?)?;
    let config: ToolConfig = serde_json::from_value(tool)?;
    let mut ctx = ExecutionContext::new(1, "example", "http://localhost:8082")
        .with_worker_id("noetl-worker-example");
    for (name, value) in
        std::env::vars().filter_map(|(k, v)| Some((k.strip_prefix(SECRET_PREFIX)?.to_string(), v)))
    {
        ctx.set_secret(name, value);
    }

    let (output, code) = match registry.execute_from_config(&config, &ctx).await {
        Ok(result) => {
            let code = if result.is_success() { 0 } else { 1 };
            (serde_json::to_value(&result)?, code)
        }
        Err(error @ ToolError::Configuration(_)) => {
            (json!({"status": "error", "error": error.to_string()}), 2)
        }
        Err(error) => (json!({"status": "error", "error": error.to_string()}), 3),
    };
    println!("{output}");
    std::process::exit(code);
}
