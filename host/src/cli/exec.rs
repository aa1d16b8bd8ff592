//! `noetl-host exec --tool KIND`: the JSON-over-stdio interface a NoETL worker in any
//! language can call. Reads `{"config": {...}, "context": {...}}` on stdin; writes the
//! tool response (the spec's `status`/`data`/`error`/`duration_ms` object) on stdout.

use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

use serde_json::Value;

use super::{Failure, GlobalArgs, setup};

#[derive(clap::Args)]
pub struct ExecArgs {
    /// The tool kind (`script`, or a third-party plugin's kind); fills `config.kind` when absent.
    #[arg(long)]
    tool: String,
    /// Directory that relative file references resolve against (default: current directory).
    #[arg(long)]
    base_dir: Option<PathBuf>,
}

pub async fn run(global: &GlobalArgs, args: ExecArgs) -> Result<u8, Failure> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).map_err(|e| Failure::new(2, format!("reading stdin: {e}")))?;
    let request: Value = serde_json::from_str(&input)
        .map_err(|e| Failure::new(2, format!("stdin is not JSON ({e}); send {{\"config\": {{...}}, \"context\": {{...}}}}")))?;
    let mut config = request.get("config").cloned().unwrap_or(Value::Null);
    let Some(object) = config.as_object_mut() else {
        return Err(Failure::new(2, "stdin JSON has no `config` object; send {\"config\": {...}, \"context\": {...}}"));
    };
    let kind = object.entry("kind").or_insert_with(|| Value::String(args.tool.clone()));
    if kind.as_str() != Some(args.tool.as_str()) {
        return Err(Failure::new(2, format!("config.kind is {kind} but --tool is `{}`; make them agree", args.tool)));
    }
    let context = request.get("context").cloned().unwrap_or_else(|| serde_json::json!({}));
    let base_dir = args.base_dir.or_else(|| std::env::current_dir().ok());

    let started = Instant::now();
    let loaded = setup::load(global).await?;
    let secrets = setup::secrets(global, &loaded).await?;
    let executor = setup::executor(global, &loaded, &secrets).await?;
    let (response, code) = match executor.execute(&config, &context, base_dir).await {
        Ok(response) => {
            let ok = response.get("status").and_then(Value::as_str) == Some("success");
            (response, if ok { 0 } else { 1 })
        }
        Err(error) => (error.to_response(started.elapsed().as_millis()), error.exit_code() as u8),
    };
    let response = secrets.redactor().redact_json(response);
    println!("{response}");
    Ok(code)
}
