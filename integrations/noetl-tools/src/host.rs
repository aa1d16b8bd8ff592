//! One host per worker process: the plugins compiled once, one backend (one kube client and
//! one watch per namespace on Kubernetes; the local backend's image and probe caches), shared
//! by every concurrent call. A call adds only what is its own: its secrets, the redactor
//! that removes them, and its rendered config.

use std::path::Path;

use noetl_host::backend::kubernetes::KubeOptions;
use noetl_host::capability::Capabilities;
use noetl_host::embed;
use noetl_host::execute::{ExecError, Executor, Planned, PlannedJob};
use noetl_host::policy::Policy;
use noetl_host::redact::Redactor;
use noetl_tools::{ExecutionContext, ToolConfig, ToolError, ToolResult};
use serde_json::{Value, json};

use crate::response::{tool_error, tool_result};
use crate::{request, secrets};

/// The host a worker shares between all its calls. Build it once and hand an `Arc` of it
/// to [`crate::register`].
pub struct WorkerHost {
    executor: Executor,
    /// Every secret any call was given, for the worker's log writer ([`WorkerHost::log_redactor`]).
    log_redactor: Redactor,
}

impl WorkerHost {
    /// Jobs run on this machine, sandboxed (no cluster needed).
    pub async fn local(policy: Policy) -> anyhow::Result<Self> {
        Ok(Self::from_executor(embed::local_executor(policy).await?))
    }

    /// Jobs run on the cluster `options` names (kubectl's rules when they name none).
    pub async fn kubernetes(policy: Policy, options: KubeOptions) -> anyhow::Result<Self> {
        Ok(Self::from_executor(
            embed::kubernetes_executor(policy, options).await?,
        ))
    }

    /// The policy at `path` (`None`: the built-in default policy) on the local backend, or
    /// on Kubernetes when the policy says `backend: kubernetes`.
    pub async fn from_policy_file(path: Option<&Path>) -> anyhow::Result<Self> {
        let policy = match path {
            Some(path) => Policy::load(path)?,
            None => Policy::default_policy(),
        };
        match policy.backend {
            noetl_host::policy::BackendChoice::Kubernetes => {
                Self::kubernetes(policy, KubeOptions::default()).await
            }
            noetl_host::policy::BackendChoice::Local => Self::local(policy).await,
        }
    }

    /// A host around an executor the caller built (its own backend or providers).
    pub fn from_executor(executor: Executor) -> Self {
        WorkerHost {
            executor,
            log_redactor: Redactor::new(),
        }
    }

    /// A redactor that knows every secret value any call of this host was given. Wrap the
    /// worker's tracing writer with it (`noetl_host::log_writer::RedactingWriter`): libraries
    /// logging at debug level (a sandbox printing a process's environment) are outside any
    /// one call's reach. It grows by each distinct secret value, once.
    pub fn log_redactor(&self) -> Redactor {
        self.log_redactor.clone()
    }

    /// Whether one of this host's plugins serves `kind`.
    pub fn serves(&self, kind: &str) -> bool {
        self.executor.plugins.tool(kind).is_ok()
    }

    /// Run one call to its end (the trait's blocking path).
    pub async fn execute(
        &self,
        config: &ToolConfig,
        ctx: &ExecutionContext,
    ) -> Result<ToolResult, ToolError> {
        let call = self.prepare(config, ctx).await?;
        match call
            .executor
            .execute(&call.step, &call.plan_context, None)
            .await
        {
            Ok(response) => Ok(tool_result(response, &call.redactor)),
            Err(error) => Err(tool_error(&error, &call.redactor)),
        }
    }

    /// Plan the call and create its job, without waiting: the result has
    /// `pending_callback: true` and `data` names the job (`status: submitted`, `job_name`,
    /// `namespace`, `uid`, `backend`, `execution_id`, `step`). A tool that needs no job
    /// answers at once, as `execute` would. Needs a backend whose jobs outlive the call
    /// (Kubernetes).
    pub async fn submit(
        &self,
        config: &ToolConfig,
        ctx: &ExecutionContext,
    ) -> Result<ToolResult, ToolError> {
        let (call, job) = match self.prepare_job(config, ctx).await? {
            Ok(planned) => planned,
            Err(answered) => return Ok(answered),
        };
        let reference = call
            .executor
            .submit(&job)
            .await
            .map_err(|e| tool_error(&e, &call.redactor))?;
        let mut data = json!(reference);
        data["status"] = json!("submitted");
        data["execution_id"] = call.plan_context["execution_id"].clone();
        data["step"] = json!(ctx.step);
        Ok(ToolResult::success(call.redactor.redact_json(data)).with_pending_callback(true))
    }

    /// Reattach to the job a [`WorkerHost::submit`] created for `ctx`'s execution and step
    /// (found by its labels, so from a host started after a restart too), wait for it, and
    /// return its result. Give the same config and context as to `submit`. Never creates a
    /// job: when there is none, the error says so.
    pub async fn resume(
        &self,
        config: &ToolConfig,
        ctx: &ExecutionContext,
    ) -> Result<ToolResult, ToolError> {
        let (call, job) = match self.prepare_job(config, ctx).await? {
            Ok(planned) => planned,
            Err(answered) => return Ok(answered),
        };
        match call.executor.resume(&job).await {
            Ok(Some(response)) => Ok(tool_result(response, &call.redactor)),
            Ok(None) => Err(ToolError::ExecutionFailed(call.redactor.redact(&format!(
                "no Job of execution {} step `{}` exists in namespace `{}`: it was never submitted, or it ended and \
                 Kubernetes removed it after its TTL (job.ttl_seconds_after_finished); submit the step again",
                ctx.execution_id, ctx.step, job.bundle.namespace
            )).into_owned())),
            Err(error) => Err(tool_error(&error, &call.redactor)),
        }
    }

    /// The call and the job its plugin planned (`Ok(Ok(..))`), or the plugin's answer when
    /// it needed no job (`Ok(Err(result))`): what `submit` and `resume` both start from.
    async fn prepare_job(
        &self,
        config: &ToolConfig,
        ctx: &ExecutionContext,
    ) -> Result<Result<(Call, PlannedJob), ToolResult>, ToolError> {
        let call = self.prepare(config, ctx).await?;
        Ok(call.plan().await?.map(|job| (call, job)))
    }

    /// The call's own pieces: its secrets and redactor, and its config mapped and rendered.
    async fn prepare(
        &self,
        config: &ToolConfig,
        ctx: &ExecutionContext,
    ) -> Result<Call, ToolError> {
        let secrets = secrets::for_call(ctx, &self.log_redactor);
        let redactor = secrets.redactor().clone();
        let (step, warnings) = request::step_config(config).map_err(|errors| {
            tool_error(
                &ExecError::InvalidConfig {
                    tool: config.kind.clone(),
                    errors,
                },
                &redactor,
            )
        })?;
        for warning in warnings {
            tracing::warn!(tool = %config.kind, step = %ctx.step, "{warning}");
        }
        let plugins = &self.executor.plugins;
        let renderer = embed::renderer(plugins, &self.executor.policy, &secrets, false)
            .map_err(|e| ToolError::Configuration(format!("{e:#}")))?;
        let step = renderer
            .render_tool(
                &ctx.step,
                &step,
                false,
                plugins.typed_values(&config.kind),
                &request::template_context(ctx),
            )
            .await
            .map_err(|e| ToolError::Template(redactor.redact(&format!("{e:#}")).into_owned()))?;
        let executor = Executor {
            providers: Capabilities {
                redactor: redactor.clone(),
                ..self.executor.providers.clone()
            },
            ..self.executor.clone()
        };
        Ok(Call {
            executor,
            step,
            plan_context: request::plan_context(ctx),
            redactor,
        })
    }
}

/// One call's view of the shared host.
struct Call {
    /// The shared host's plugins and backend, with this call's redactor.
    executor: Executor,
    /// The rendered step config.
    step: Value,
    plan_context: Value,
    redactor: Redactor,
}

impl Call {
    /// The job the plugin planned (`Ok(Ok(job))`), or its answer when it needed none
    /// (`Ok(Err(result))`).
    async fn plan(&self) -> Result<Result<PlannedJob, ToolResult>, ToolError> {
        match self
            .executor
            .plan(&self.step, &self.plan_context, None)
            .await
        {
            Ok(Planned::Done(response)) => Ok(Err(tool_result(response, &self.redactor))),
            Ok(Planned::Job(job)) => Ok(Ok(job)),
            Err(error) => Err(tool_error(&error, &self.redactor)),
        }
    }
}
