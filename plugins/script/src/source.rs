//! Getting the script text: from the step, a file next to the playbook, or a URL. The
//! reading itself is behind [`ScriptSources`] so native callers (tests, benchmarks) can
//! inject content and the component wires the host's capabilities.

use sha2::{Digest, Sha256};

use crate::config::{ScriptConfig, ScriptSource};
use crate::error::{FieldError, PlanError, SourceError};

/// A ConfigMap holds at most 1 MiB; the script and `args.json` share it.
pub const CONFIG_MAP_CAP: usize = 1024 * 1024;

/// How the plugin reads scripts that are not in the step.
pub trait ScriptSources {
    /// A file relative to the playbook directory, at most `max_bytes` long.
    fn read_file(&self, path: &str, max_bytes: u64) -> Result<Vec<u8>, SourceError>;
    /// A document at `uri` (`https://`, `gs://`, `s3://`), at most `max_bytes` long.
    fn fetch(&self, uri: &str, max_bytes: u64) -> Result<Vec<u8>, SourceError>;
}

/// For callers with no host: only scripts given in the step can be planned.
pub struct NoSources;

impl ScriptSources for NoSources {
    fn read_file(&self, path: &str, _: u64) -> Result<Vec<u8>, SourceError> {
        Err(SourceError::NotConfigured(format!(
            "reading {path:?}: this caller provides no file access"
        )))
    }
    fn fetch(&self, uri: &str, _: u64) -> Result<Vec<u8>, SourceError> {
        Err(SourceError::NotConfigured(format!(
            "fetching {uri:?}: this caller provides no fetch capability"
        )))
    }
}

/// The script text, checked against the digest pin and the ConfigMap cap (together with
/// `args_json`). Runs before any object exists, so a refusal leaves nothing behind.
pub fn load(
    script: &ScriptConfig,
    args_json: &str,
    sources: &dyn ScriptSources,
) -> Result<String, PlanError> {
    let (field, bytes) = match &script.source {
        ScriptSource::Content(text) => ("tool.script.content", text.clone().into_bytes()),
        ScriptSource::LocalFile(path) => (
            "tool.script.path",
            read(
                sources.read_file(path, CONFIG_MAP_CAP as u64),
                "tool.script.path",
                path,
            )?,
        ),
        ScriptSource::Remote(_, uri) => (
            "tool.script.uri",
            read(
                sources.fetch(uri, CONFIG_MAP_CAP as u64),
                "tool.script.uri",
                uri,
            )?,
        ),
    };
    let invalid = |message: String, fix: &str| {
        PlanError::InvalidConfig(vec![FieldError::new(field, message, fix)])
    };
    let total = bytes.len() + args_json.len();
    if total > CONFIG_MAP_CAP {
        return Err(invalid(
            format!(
                "the script ({} bytes) and args ({} bytes) exceed the 1 MiB ({CONFIG_MAP_CAP} bytes) a ConfigMap can hold",
                bytes.len(),
                args_json.len()
            ),
            "shrink the script or its args below 1 MiB together, e.g. move data to object storage and pass its location in args",
        ));
    }
    if let Some(pin) = &script.sha256 {
        let actual = hex::encode(Sha256::digest(&bytes));
        if &actual != pin {
            return Err(PlanError::InvalidConfig(vec![FieldError::new(
                "tool.script.sha256",
                format!("the script's SHA-256 is {actual}, not the pinned {pin}"),
                "check that the script is the one you reviewed, then update the pin",
            )]));
        }
    }
    String::from_utf8(bytes).map_err(|e| {
        invalid(
            format!(
                "the script is not UTF-8 text (invalid byte at {})",
                e.utf8_error().valid_up_to()
            ),
            "save the script as UTF-8",
        )
    })
}

/// Capability failures the author can fix in the step (missing file, over the cap) become
/// field errors; policy and network failures stay capability errors for the host to report.
fn read(
    result: Result<Vec<u8>, SourceError>,
    field: &str,
    target: &str,
) -> Result<Vec<u8>, PlanError> {
    result.map_err(|error| match error {
        SourceError::NotFound(message) => PlanError::InvalidConfig(vec![FieldError::new(
            field,
            format!("{target:?} was not found: {message}"),
            "check the location of the script",
        )]),
        SourceError::TooLarge(message) => PlanError::InvalidConfig(vec![FieldError::new(
            field,
            format!("{target:?} is larger than the 1 MiB a ConfigMap can hold: {message}"),
            "shrink the script below 1 MiB",
        )]),
        other => PlanError::Capability(other),
    })
}
