//! `noetl-host exec --tool KIND`: the JSON-over-stdio interface a NoETL worker in any
//! language can call. Reads `{"config": {...}, "context": {...}}` on stdin; writes the
//! tool response (the spec's `status`/`data`/`error`/`duration_ms` object) on stdout.
//! A worker reads stdout, so every failure the command can describe is written there as an
//! error response too; every failure is on stderr as well, for a person (a failure before
//! the call by `main`, one inside it here); the exit code says which kind it was.

use std::io::Read;
use std::path::PathBuf;

use serde_json::{Value, json};

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
    match call(global, args).await {
        Ok(code) => Ok(code),
        Err(failure) => {
            // The tool call never started, so it took no time (`duration_ms` is the call's).
            let response = json!({"status": "error", "error": global.redactor.redact(&failure.message), "duration_ms": 0});
            println!("{response}");
            Err(failure)
        }
    }
}

/// Reads the request, builds the host and runs the call; the response is printed here.
/// An `Err` is a failure before the tool call started.
async fn call(global: &GlobalArgs, args: ExecArgs) -> Result<u8, Failure> {
    let (config, context) = read_request(&args.tool)?;
    let base_dir = args.base_dir.or_else(|| std::env::current_dir().ok());
    let loaded = setup::load(global).await?;
    let secrets = setup::secrets(global, &loaded).await?;
    let executor = setup::executor(global, &loaded, &secrets).await?;
    let (response, error) = executor.respond(&config, &context, base_dir).await;
    let code = match &error {
        Some(error) => error.exit_code() as u8,
        None if response.get("status").and_then(Value::as_str) == Some("success") => 0,
        None => 1,
    };
    let response = secrets.redactor().redact_json(response);
    println!("{response}");
    if code != 0 {
        eprintln!("error: {}", failure_message(&response));
    }
    Ok(code)
}

/// What a person reads on stderr when the call failed: the response's `error` (already
/// redacted), else its status.
fn failure_message(response: &Value) -> String {
    match response.get("error") {
        Some(Value::String(message)) if !message.is_empty() => message.clone(),
        Some(error) if !error.is_null() => error.to_string(),
        _ => format!("the tool answered status `{}` without an error message", response.get("status").and_then(Value::as_str).unwrap_or("?")),
    }
}

/// `config` (with `kind` filled from `--tool`) and `context` from stdin.
fn read_request(tool: &str) -> Result<(Value, Value), Failure> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).map_err(|e| Failure::new(2, format!("reading stdin: {e}")))?;
    let request: Value = serde_json::from_str(&input)
        .map_err(|e| Failure::new(2, format!("stdin is not JSON ({e}); send {{\"config\": {{...}}, \"context\": {{...}}}}")))?;
    let mut config = request.get("config").cloned().unwrap_or(Value::Null);
    let Some(object) = config.as_object_mut() else {
        return Err(Failure::new(2, "stdin JSON has no `config` object; send {\"config\": {...}, \"context\": {...}}"));
    };
    let kind = object.entry("kind").or_insert_with(|| Value::String(tool.to_string()));
    if kind.as_str() != Some(tool) {
        return Err(Failure::new(2, format!("config.kind is {kind} but --tool is `{tool}`; make them agree")));
    }
    let context = request.get("context").cloned().unwrap_or_else(|| json!({}));
    Ok((config, context))
}
