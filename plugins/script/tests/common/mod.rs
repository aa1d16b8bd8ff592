//! Shared helpers for the integration tests: fixtures and injected script sources.

#![allow(dead_code)] // each test binary uses a different subset

pub mod golden;

use std::collections::BTreeMap;
use std::path::PathBuf;

use noetl_plugin_script::{PlanContext, ScriptSources, SourceError};
use serde_json::Value;

pub const EXECUTION_ID: &str = "exec-123";
pub const SEED: u64 = 42;

/// The script served for the http example (its real URL is not reachable from tests).
pub const REMOTE_SCRIPT: &str = "import json, sys\nargs = json.loads(sys.argv[1])\nprint(json.dumps({\"read\": args[\"input_file\"]}))\n";

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The six spec examples: (file stem, step name, tool config).
pub fn examples() -> Vec<(String, String, Value)> {
    let mut files: Vec<_> = std::fs::read_dir(manifest_dir().join("tests/fixtures"))
        .expect("fixtures dir")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let doc: Value =
                serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let step = &doc["workflow"][0];
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            (
                stem,
                step["step"].as_str().unwrap().to_owned(),
                step["tool"].clone(),
            )
        })
        .collect()
}

pub fn context(step: &str) -> PlanContext {
    PlanContext::new(EXECUTION_ID, step).with_seed(SEED)
}

/// Sources backed by in-memory maps; anything else is `NotFound`.
#[derive(Default)]
pub struct FakeSources {
    pub files: BTreeMap<String, Vec<u8>>,
    pub urls: BTreeMap<String, Result<Vec<u8>, SourceError>>,
}

impl FakeSources {
    pub fn with_url(mut self, uri: &str, body: &[u8]) -> Self {
        self.urls.insert(uri.into(), Ok(body.to_vec()));
        self
    }
    pub fn with_url_error(mut self, uri: &str, error: SourceError) -> Self {
        self.urls.insert(uri.into(), Err(error));
        self
    }
    pub fn with_file(mut self, path: &str, body: &[u8]) -> Self {
        self.files.insert(path.into(), body.to_vec());
        self
    }
    /// Serves the http example's URL.
    pub fn examples() -> Self {
        FakeSources::default().with_url(
            "https://raw.githubusercontent.com/org/repo/main/scripts/process.py",
            REMOTE_SCRIPT.as_bytes(),
        )
    }
}

impl ScriptSources for FakeSources {
    fn read_file(&self, path: &str, max_bytes: u64) -> Result<Vec<u8>, SourceError> {
        let body = self
            .files
            .get(path)
            .cloned()
            .ok_or_else(|| SourceError::NotFound(format!("no file {path}")))?;
        cap(body, max_bytes)
    }
    fn fetch(&self, uri: &str, max_bytes: u64) -> Result<Vec<u8>, SourceError> {
        let body = self
            .urls
            .get(uri)
            .cloned()
            .unwrap_or_else(|| Err(SourceError::NotFound(format!("404 for {uri}"))))?;
        cap(body, max_bytes)
    }
}

/// The host's capabilities refuse bodies over `max_bytes`; the fake does the same.
fn cap(body: Vec<u8>, max_bytes: u64) -> Result<Vec<u8>, SourceError> {
    if body.len() as u64 > max_bytes {
        return Err(SourceError::TooLarge(format!(
            "{} bytes > {max_bytes}",
            body.len()
        )));
    }
    Ok(body)
}
