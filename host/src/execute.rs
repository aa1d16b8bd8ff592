//! One tool call, end to end: `plan` in the plugin, the job (if any) on a backend,
//! `finish` in the plugin, and `duration_ms` covering all of it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

use crate::admission::{JobIdentity, Refusal, admit};
use crate::backend::{Backend, JobBundle, JobOutcome, JobRef};
use crate::bindings::types::{CapabilityError, FieldError, PlanResult, ToolError};
use crate::capability::{Capabilities, Fetcher};
use crate::fetch::HostFetcher;
use crate::plugin::{CallEnv, LoadedPlugin, PluginError, PluginSet, convert};
use crate::policy::Policy;

/// Why a tool call produced no response from its plugin.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The step config is invalid; nothing was created anywhere.
    #[error("{}", invalid_config_message(.tool, .errors))]
    InvalidConfig { tool: String, errors: Vec<FieldError> },
    /// The plugin reported a failure (a capability it needed, or its own).
    #[error("tool `{tool}` failed: {message}")]
    Tool { tool: String, message: String },
    /// A capability the plugin needed could not be served by this host: none configured
    /// (no cluster without `--backend kubernetes`), or the cluster or network failed.
    #[error("tool `{tool}` failed: {message}")]
    HostCapability { tool: String, message: String },
    /// No plugin provides the step's tool kind.
    #[error("{0}")]
    UnknownTool(String),
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// The plugin planned a job its policy does not allow; nothing was created.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// No plugin, no backend, or the backend itself failed.
    #[error("{0:#}")]
    Host(#[from] anyhow::Error),
}

fn invalid_config_message(tool: &str, errors: &[FieldError]) -> String {
    let mut message = format!("the `{tool}` step config is invalid:");
    for error in errors {
        message.push_str(&format!("\n  - {}: {}; fix: {}", error.field, error.message, error.fix));
    }
    message
}

impl ExecError {
    /// The response a worker receives for this error (the spec's error shape).
    pub fn to_response(&self, duration_ms: u128) -> Value {
        let mut response = json!({"status": "error", "error": self.to_string(), "duration_ms": duration_ms});
        if let ExecError::InvalidConfig { errors, .. } = self {
            response["errors"] = errors.iter().map(|e| json!({"field": e.field, "message": e.message, "fix": e.fix})).collect();
        }
        response
    }

    /// Process exit code for the CLI (documented in README.md).
    pub fn exit_code(&self) -> i32 {
        match self {
            ExecError::InvalidConfig { .. } | ExecError::UnknownTool(_) => 2,
            ExecError::Tool { .. } | ExecError::Plugin(_) | ExecError::Refused(_) => 3,
            ExecError::HostCapability { .. } | ExecError::Host(_) => 4,
        }
    }
}

/// A capability error as one line, its kind first (`denied: ...`), for messages.
pub(crate) fn capability_message(error: &CapabilityError) -> String {
    match error {
        CapabilityError::Denied(m) => format!("denied: {m}"),
        CapabilityError::NotConfigured(m) => format!("not configured: {m}"),
        CapabilityError::NotFound(m) => format!("not found: {m}"),
        CapabilityError::TooLarge(m) => format!("too large: {m}"),
        CapabilityError::Failed(m) => m.clone(),
    }
}

impl ExecError {
    /// The error for a `tool-error` a plugin returned.
    pub fn from_tool_error(tool: &str, error: ToolError) -> ExecError {
        match error {
            ToolError::InvalidConfig(errors) => ExecError::InvalidConfig { tool: tool.into(), errors },
            // Not configured or failed (network, API, timeout) is the host's side; denied,
            // not found and too large are answers about what the plugin asked for.
            ToolError::Capability(e @ (CapabilityError::NotConfigured(_) | CapabilityError::Failed(_))) => {
                ExecError::HostCapability { tool: tool.into(), message: capability_message(&e) }
            }
            ToolError::Capability(e) => ExecError::Tool { tool: tool.into(), message: capability_message(&e) },
            ToolError::Failed(message) => ExecError::Tool { tool: tool.into(), message },
        }
    }
}

/// What the host itself knows about where a tool call comes from. Never read from the call's
/// context JSON: that is shaped by whoever calls `exec` and passed on to the plugin.
#[derive(Debug, Clone, Default)]
pub struct CallOrigin {
    /// Directory that relative `files` grants resolve against: the playbook's directory.
    pub base_dir: Option<PathBuf>,
    /// SHA-256 (lowercase hex, see [`sha256_hex`]) of the bytes of the playbook file the step
    /// comes from, stamped on its Job as `noetl.io/playbook-sha256`; the policy's
    /// `local.network` grants match it. The playbook runner sets it from the file it read.
    /// `None` (`exec`, the `noetl-tools` adapter) gets no such grant. An embedding worker
    /// that runs a playbook it holds may set it to the SHA-256 of that playbook's bytes.
    pub playbook_sha256: Option<String>,
}

/// SHA-256 of `bytes` as lowercase hex, what `sha256sum` prints.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Everything a tool call needs from the host.
#[derive(Clone)]
pub struct Executor {
    pub plugins: Arc<PluginSet>,
    pub policy: Arc<Policy>,
    pub backend: Arc<dyn Backend>,
    /// Providers handed to plugins with their grant (Kubernetes API, redactor).
    pub providers: Capabilities,
    /// The `fetch` capability's fetcher; scoped per call to the plugin's grant so that
    /// redirects, too, only reach granted hosts.
    pub fetcher: Option<HostFetcher>,
}

impl Executor {
    /// The capabilities `plugin` gets for a step whose playbook lives in `base_dir`.
    fn call_env(&self, plugin: &LoadedPlugin, base_dir: Option<PathBuf>) -> CallEnv {
        call_env(&self.policy, plugin, base_dir, &self.providers, self.fetcher.as_ref())
    }

    /// Run one tool call and answer with a response whatever happens: the plugin's, or the
    /// error shape with the error itself. `duration_ms` in both is measured the same way
    /// (see [`Executor::execute`]).
    pub async fn respond(&self, config: &Value, context: &Value, base_dir: Option<PathBuf>) -> (Value, Option<ExecError>) {
        let started = Instant::now();
        match self.execute(config, context, base_dir).await {
            Ok(response) => (response, None),
            Err(error) => (error.to_response(started.elapsed().as_millis()), Some(error)),
        }
    }

    /// Run one tool call. `config` is the step's rendered `tool` object. The response's
    /// `duration_ms` is the wall-clock time of this call: plugin `plan`, the job (if any)
    /// and `finish`; loading plugins and rendering templates come before it and do not count.
    pub async fn execute(&self, config: &Value, context: &Value, base_dir: Option<PathBuf>) -> Result<Value, ExecError> {
        self.execute_from(config, context, &CallOrigin { base_dir, playbook_sha256: None }).await
    }

    /// [`Executor::execute`] for a call whose origin the host knows more of (its playbook file).
    pub async fn execute_from(&self, config: &Value, context: &Value, origin: &CallOrigin) -> Result<Value, ExecError> {
        let started = Instant::now();
        let mut response = match self.plan_from(config, context, origin).await? {
            Planned::Done(response) => response,
            Planned::Job(job) => {
                let outcome = self.backend.run(&job.bundle, &self.job_log(&job.bundle.job_name)).await?;
                self.finish(&job, &outcome).await?
            }
        };
        response["duration_ms"] = json!(started.elapsed().as_millis());
        Ok(response)
    }

    /// The plugin's `plan` for one call: its response when it needs no job, or the job it
    /// planned, admitted under its policy grant and stamped with the host's labels. Nothing
    /// exists anywhere yet.
    pub async fn plan(&self, config: &Value, context: &Value, base_dir: Option<PathBuf>) -> Result<Planned, ExecError> {
        self.plan_from(config, context, &CallOrigin { base_dir, playbook_sha256: None }).await
    }

    /// [`Executor::plan`] for a call whose origin the host knows more of (its playbook file).
    pub async fn plan_from(&self, config: &Value, context: &Value, origin: &CallOrigin) -> Result<Planned, ExecError> {
        let kind = config.get("kind").and_then(Value::as_str).ok_or_else(|| ExecError::InvalidConfig {
            tool: "?".into(),
            errors: vec![FieldError {
                field: "tool.kind".into(),
                message: "missing or not a string".into(),
                fix: "name the tool, e.g. `kind: script`".into(),
            }],
        })?;
        let plugin = self.plugins.tool(kind).map_err(|e| ExecError::UnknownTool(e.to_string()))?;
        let env = self.call_env(plugin, origin.base_dir.clone());
        let config_text = config.to_string();
        let context_text = context.to_string();
        let planned = plugin.plan(&env, &config_text, &context_text).await?.map_err(|e| ExecError::from_tool_error(kind, e))?;
        Ok(match planned {
            PlanResult::Done(json) => Planned::Done(parse_response(kind, &json)?),
            PlanResult::RunJob(bundle) => {
                let bundle = convert::bundle_from_wit(bundle)
                    .map_err(|m| ExecError::Tool { tool: kind.into(), message: format!("the plugin planned a broken job: {m}") })?;
                let identity = JobIdentity { playbook_sha256: origin.playbook_sha256.clone(), ..JobIdentity::from_context(&plugin.name, context) };
                let bundle = admit(&plugin.name, self.policy.job_grant(&plugin.name, plugin.source()).as_ref(), &identity, bundle)?;
                tracing::info!(tool = kind, job = %bundle.job_name, backend = self.backend.name(), "running job");
                Planned::Job(PlannedJob { kind: kind.into(), plugin: plugin.clone(), env, config: config_text, context: context_text, bundle })
            }
        })
    }

    /// The plugin's `finish`: the response shaped from how the job ended.
    pub async fn finish(&self, job: &PlannedJob, outcome: &JobOutcome) -> Result<Value, ExecError> {
        let json = job.plugin.finish(&job.env, &job.config, &job.context, outcome).await?.map_err(|e| ExecError::from_tool_error(&job.kind, e))?;
        parse_response(&job.kind, &json)
    }

    /// Creates a planned job and returns without waiting for it (or finds the one an earlier
    /// call created for the same execution and step); [`Executor::resume`] waits for it later,
    /// from this host or from another one started after a restart.
    pub async fn submit(&self, job: &PlannedJob) -> Result<JobRef, ExecError> {
        Ok(self.backend.submit(&job.bundle).await?)
    }

    /// Waits for the job an earlier [`Executor::submit`] created for the same execution and
    /// step (found by its labels) and shapes the response; `Ok(None)` when no such job
    /// exists. Never creates one.
    pub async fn resume(&self, job: &PlannedJob) -> Result<Option<Value>, ExecError> {
        let started = Instant::now();
        let Some(outcome) = self.backend.resume(&job.bundle, &self.job_log(&job.bundle.job_name)).await? else {
            return Ok(None);
        };
        let mut response = self.finish(job, &outcome).await?;
        response["duration_ms"] = json!(started.elapsed().as_millis());
        Ok(Some(response))
    }

    /// Where a job's log lines go: tracing, secrets redacted.
    fn job_log(&self, job: &str) -> impl Fn(&str) + Send + Sync + 'static {
        let redactor = self.providers.redactor.clone();
        let job = job.to_string();
        move |line: &str| tracing::info!(target: "noetl::job", job = %job, "{}", redactor.redact(line))
    }
}

/// What a plugin's `plan` decided.
pub enum Planned {
    /// The tool's response; no job was needed.
    Done(Value),
    Job(PlannedJob),
}

/// A job a plugin planned and the policy admitted, with what its `finish` call needs.
pub struct PlannedJob {
    kind: String,
    plugin: Arc<LoadedPlugin>,
    env: CallEnv,
    config: String,
    context: String,
    pub bundle: JobBundle,
}

/// The capabilities `plugin` gets for one call: its grant and limits from `policy` (by its
/// name and source), the `providers`, and `fetcher` scoped to its fetch grant (so redirects,
/// too, only reach granted hosts).
pub fn call_env(
    policy: &Policy,
    plugin: &LoadedPlugin,
    base_dir: Option<PathBuf>,
    providers: &Capabilities,
    fetcher: Option<&HostFetcher>,
) -> CallEnv {
    let name = plugin.name.as_str();
    let grant = policy.grant(name, plugin.source());
    // The `http` capability checks every hop against `grant.http` itself.
    let http = grant.http.as_ref().and(fetcher).cloned();
    let fetcher = match (fetcher, &grant.fetch) {
        (Some(fetcher), Some(hosts)) => Some(Arc::new(fetcher.with_redirect_grant(hosts.clone())) as Arc<dyn Fetcher>),
        _ => None,
    };
    let caps = Capabilities { plugin: name.into(), grant, base_dir, fetcher, http, ..providers.clone() };
    CallEnv { caps: Arc::new(caps), limits: policy.limits(name) }
}

fn parse_response(tool: &str, json: &str) -> Result<Value, ExecError> {
    let value: Value = serde_json::from_str(json)
        .map_err(|e| ExecError::Tool { tool: tool.into(), message: format!("the plugin returned a response that is not JSON: {e}") })?;
    if !value.is_object() {
        return Err(ExecError::Tool { tool: tool.into(), message: "the plugin's response is not a JSON object".into() });
    }
    Ok(value)
}
