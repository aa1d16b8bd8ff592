//! The step's `tool` object as typed Rust: read once, checked fully, defaults applied.

mod job;
mod script;

use serde_json::Value;

#[cfg(test)]
pub(crate) use job::FIELDS as JOB_FIELDS;
pub use job::{JobConfig, Resources, TIMEOUT_GRACE_SECONDS};
#[cfg(test)]
pub(crate) use script::FIELDS as SCRIPT_FIELDS;
pub use script::{RemoteKind, ScriptConfig, ScriptSource};

use noetl_protocol::fields::{did_you_mean, reader};

use crate::error::{Errors, FieldError};
use crate::runtime::Runtime;
use reader::{ObjectReader, index};

/// A validated `tool` config.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolConfig {
    pub script: ScriptConfig,
    /// `args` as compact JSON text (`{}` when absent): what the script gets as argv.
    pub args_json: String,
    pub job: JobConfig,
    /// `script.runtime`, or the runtime inferred from `job.image`.
    pub runtime: Runtime,
}

pub(crate) const TOOL_FIELDS: [&str; 4] = ["kind", "script", "args", "job"];

/// Read and check the whole `tool` object; every problem found is returned.
pub fn parse(config: &Value) -> Result<ToolConfig, Vec<FieldError>> {
    let mut errors = Errors::default();
    let Some(tool) = ObjectReader::open_tool(config, "script", &TOOL_FIELDS, &mut errors) else {
        return Err(errors.into_vec());
    };
    let script = match tool.get("script") {
        Some(value) => script::parse(value, "tool.script", &mut errors),
        None => {
            errors.push(
                "tool.script",
                "missing field `script`",
                "add script: {type: inline, content: \"...\"}",
            );
            None
        }
    };
    let args_json = tool
        .get("args")
        .map_or_else(|| "{}".to_owned(), Value::to_string);
    check_args_size(&args_json, &mut errors);
    let job = match tool.get("job") {
        Some(value) => job::parse(value, "tool.job", &mut errors),
        None => Some(JobConfig::default()),
    };
    let runtime = resolve_runtime(script.as_ref(), job.as_ref(), &mut errors);
    if let (Some(runtime), Some(job)) = (runtime, &job) {
        for (i, spec) in job.install_dependencies.iter().enumerate() {
            errors.check(
                &index("tool.job.install_dependencies", i),
                runtime.check_dependency(spec),
            );
        }
    }
    match (script, job, runtime) {
        (Some(script), Some(job), Some(runtime)) if errors.is_empty() => Ok(ToolConfig {
            script,
            args_json,
            job,
            runtime,
        }),
        _ => Err(errors.into_vec()),
    }
}

/// Linux refuses to start a process with any single argv or env string over 128 KiB
/// (`MAX_ARG_STRLEN`, counting the NUL). The args reach the script as one argv item and as
/// the env var `NOETL_ARGS=...`, so larger args would fail at container start; refuse them
/// now, while nothing exists yet.
pub const MAX_ARGS_BYTES: usize = 128 * 1024 - "NOETL_ARGS=".len() - 1;

fn check_args_size(args_json: &str, errors: &mut Errors) {
    if args_json.len() > MAX_ARGS_BYTES {
        errors.push(
            "tool.args",
            format!(
                "args are {} bytes as JSON; a process argument can be at most {MAX_ARGS_BYTES} bytes",
                args_json.len()
            ),
            "pass large data by reference: put it in object storage or a file and give its location in args",
        );
    }
}

/// `script.runtime` wins; otherwise the image must say which interpreter it has.
fn resolve_runtime(
    script: Option<&ScriptConfig>,
    job: Option<&JobConfig>,
    errors: &mut Errors,
) -> Option<Runtime> {
    if let Some(runtime) = script.and_then(|script| script.runtime) {
        return Some(runtime);
    }
    let job = job?;
    let inferred = Runtime::infer(&job.image);
    if inferred.is_none() && script.is_some() {
        errors.push(
            "tool.script.runtime",
            format!("cannot tell which interpreter image {:?} provides", job.image),
            format!("set tool.script.runtime to one of {} (only python and node images are recognised by name)", Runtime::NAMES.join(", ")),
        );
    }
    inferred
}
