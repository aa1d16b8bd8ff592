//! Drives a playbook on upstream's orchestrator core: the core routes (`next` arcs and
//! their `when`, `set`, loops, `end`), the runner runs each command the core issues
//! through our plugins and backends and reports back with events, until the core says
//! the execution is complete.
//!
//! The loop, per upstream's own event protocol: `playbook_started`; then for each command
//! `command.issued`, the tool call, `call.done` + `command.completed` (or
//! `command.failed`); after each completion `evaluate_state` with that trigger. State is
//! advanced event by event ([`EventLog`]), never rebuilt from the whole history.
//!
//! The core runs in the sandbox: the built-in router component (`plugins/router`) holds
//! this execution's state and evaluates every routing template (`when`, `set`, `loop.in`)
//! under `plugins.router.limits`. A routing template that fails, or a router call that
//! hits a bound, stops routing: commands still running are waited for, nothing new starts,
//! and the execution fails naming the step whose completion was being routed.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::future::LocalBoxFuture;
use futures::stream::FuturesUnordered;
use anyhow::Context as _;
use noetl_orchestrate_core::commands::Command;
use noetl_orchestrate_core::orchestrator::OrchestrationResult;
use noetl_orchestrate_core::playbook::LoopMode;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::context::{self, Mentions, with_data_accessor};
use super::core_view::{HeldResults, ResultView};
use super::document::{Document, ENTRY_STEP, Step, Task};
use super::events::{EventLog, call_done_result, command_meta};
use super::{StepRenderer, keychain};
use crate::execute::{CallOrigin, Executor};
use crate::plugin::RouterSession;
use crate::secrets::SecretResolver;

/// What happened to one tool call (one step, or one loop item of a step).
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub step: String,
    pub tool: String,
    /// The loop item's index, for a step with `loop:`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iteration: Option<usize>,
    /// `success` or `error`.
    pub status: String,
    pub duration_ms: u128,
    /// The tool's response (secrets redacted).
    pub response: Value,
}

/// What happened to the whole playbook.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub playbook: String,
    pub execution_id: String,
    pub status: String,
    /// Why the execution failed, when no single step's response says it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub steps: Vec<StepReport>,
}

impl RunReport {
    pub fn succeeded(&self) -> bool {
        self.status == "success"
    }
}

/// Progress notifications for a terminal or a log.
pub trait Progress: Send + Sync {
    /// `iteration`: (index, total) of a loop item.
    fn step_started(&self, step: &str, tool: &str, iteration: Option<(usize, usize)>);
    fn step_finished(&self, report: &StepReport, elapsed: Duration);
}

pub struct Runner<'a> {
    pub executor: &'a Executor,
    pub renderer: &'a StepRenderer,
    /// Resolves `keychain` references (and remembers the values for redaction).
    pub secrets: &'a SecretResolver,
    pub execution_id: String,
    /// The playbook's directory (for `script.type: local` paths).
    pub base_dir: Option<PathBuf>,
    /// SHA-256 of the bytes of the playbook file this runner runs (`None`: not from a file),
    /// stamped on its jobs for the policy's `local.network` grants ([`CallOrigin`]).
    pub playbook_sha256: Option<String>,
    pub redactor: crate::redact::Redactor,
    pub progress: &'a dyn Progress,
    /// Keep every event for `--events`.
    pub keep_events: bool,
    /// Where `kind: playbook` files may be read from (the entry playbook's directory tree and
    /// the `--catalog` directories); children get the same roots, never their own.
    pub catalog_roots: super::CatalogRoots,
    /// How many playbooks up the call chain (0 for the one the user ran).
    pub depth: usize,
}

/// A finished command, as the drive loop records it.
struct Outcome {
    command_id: u64,
    step: String,
    iteration: Option<usize>,
    /// The tool's data, or the error that ends the step.
    result: Result<Value, String>,
    /// Step `vars`, rendered against the result.
    vars: Option<Map<String, Value>>,
    /// `None` for the synthetic entry step (no plugin call, nothing to report).
    report: Option<StepReport>,
}

impl Runner<'_> {
    /// Run `doc` to completion. The event log is returned too (for `--events`).
    pub async fn run(&self, doc: &Document) -> anyhow::Result<(RunReport, EventLog)> {
        let mut log = EventLog::new(numeric_id(&self.execution_id), self.keep_events);
        let mut router = self
            .executor
            .plugins
            .router()?
            .open(&self.executor.policy, &doc.core_json, log.execution_id(), None)
            .await
            .with_context(|| format!("starting the router for playbook `{}`", doc.name))?;
        log.append("playbook_started", None, "STARTED", Some(json!({"workload": doc.workload})), None, None);
        let mut vars = self.playbook_vars(doc).await?;
        if !vars.is_empty() {
            log.append("ctx.updated", None, "CONTEXT", Some(json!({"values": {"vars": vars}})), None, None);
        }

        let mut view = ResultView::new(doc);
        let mut reports = Vec::new();
        let mut pending: VecDeque<Issued> = VecDeque::new();
        let mut running = FuturesUnordered::new();
        let mut running_per_step: BTreeMap<String, usize> = BTreeMap::new();
        let mut next_command_id = 0u64;
        let mut trigger = ("playbook_started", None::<String>);
        let mut failure: Option<String> = None;
        let completion = loop {
            match route(&mut router, &mut log, trigger.0).await {
                Ok(evaluated) => {
                    for event in evaluated.events_to_emit {
                        log.append_emitted(event);
                    }
                    if evaluated.should_complete {
                        break evaluated.completion_status;
                    }
                    for command in evaluated.commands {
                        next_command_id += 1;
                        log.append("command.issued", Some(&command.step_name), "ISSUED", None, None, Some(command_meta(next_command_id)));
                        pending.push_back(Issued { id: next_command_id, command, held: view.held() });
                    }
                }
                // A template error in a `when`, `set` or `loop.in`, or a bound the router
                // hit, stops routing; commands still running are waited for, nothing new
                // starts.
                Err(error) => {
                    failure.get_or_insert_with(|| match &trigger.1 {
                        Some(step) => format!("step `{step}`: routing after it finished {error}"),
                        None => format!("routing the entry step {error}"),
                    });
                }
            }
            if failure.is_none() {
                self.start_allowed(doc, &mut log, &mut pending, &mut running, &mut running_per_step);
            }
            let Some(outcome) = running.next().await else {
                break None;
            };
            if let Some(count) = running_per_step.get_mut(&outcome.step) {
                *count -= 1;
            }
            reports.extend(outcome.report);
            let meta = Some(command_meta(outcome.command_id));
            match outcome.result {
                Ok(data) => {
                    if let Some(step_vars) = outcome.vars {
                        vars.extend(step_vars);
                        log.append("ctx.updated", None, "CONTEXT", Some(json!({"values": {"vars": vars}})), None, None);
                    }
                    // A loop item's completion carries its data: the core collects them,
                    // in arrival order, as the loop step's result.
                    if outcome.iteration.is_some() {
                        log.append("call.done", Some(&outcome.step), "COMPLETED", None, Some(call_done_result(&data)), meta.clone());
                        log.append("command.completed", Some(&outcome.step), "COMPLETED", None, Some(data), meta);
                    } else {
                        self.complete_step(&mut view, &mut log, &outcome.step, data, meta);
                    }
                    trigger = ("command.completed", Some(outcome.step));
                }
                Err(error) => {
                    log.append("command.failed", Some(&outcome.step), "FAILED", None, Some(json!({"error": error})), meta);
                    failure.get_or_insert(format!("step `{}` failed: {error}", outcome.step));
                    trigger = ("command.failed", Some(outcome.step));
                }
            }
        };

        let ok = failure.is_none() && completion.as_ref().is_some_and(|c| c.status == "COMPLETED");
        let error = match (&failure, &completion) {
            (Some(failure), _) => Some(failure.clone()),
            (None, Some(c)) if c.status != "COMPLETED" => Some(c.error.clone().unwrap_or_else(|| format!("the execution ended {}", c.status))),
            (None, None) => Some(format!(
                "the execution stopped before reaching its end: no step is running and the core issued no command (steps so far: {})",
                steps_so_far(&reports)
            )),
            _ => None,
        };
        let report = RunReport {
            playbook: doc.name.clone(),
            execution_id: self.execution_id.clone(),
            status: if ok { "success" } else { "error" }.into(),
            error: error.map(|e| self.redactor.redact(&e).into_owned()),
            steps: reports,
        };
        Ok((report, log))
    }

    /// Report a plain step's result to the core, or hold it from the core when no routing
    /// template can read it ([`ResultView`]).
    fn complete_step(&self, view: &mut ResultView, log: &mut EventLog, step: &str, data: Value, meta: Option<Value>) {
        // The core applies a result's `_context_updates` to its whole context: from then
        // on it must see everything, the results held so far included.
        if data.get("_context_updates").is_some_and(Value::is_object) {
            for (held_step, result) in view.give_all() {
                log.show_late(&held_step, result);
            }
        }
        let completed = json!({"status": "COMPLETED"});
        if view.admit(step, &data) {
            log.append("call.done", Some(step), "COMPLETED", None, Some(call_done_result(&data)), meta.clone());
            log.append("command.completed", Some(step), "COMPLETED", None, Some(completed), meta);
        } else {
            log.append_unshown("call.done", step, "COMPLETED", call_done_result(&data), meta.clone());
            log.append_unshown("command.completed", step, "COMPLETED", completed, meta);
        }
    }

    /// Start every pending command its step's concurrency allows: one at a time for a
    /// sequential loop (the core issues them so anyway), `max_in_flight` for a parallel
    /// one, no limit otherwise.
    fn start_allowed<'s>(
        &'s self,
        doc: &'s Document,
        log: &mut EventLog,
        pending: &mut VecDeque<Issued>,
        running: &mut Running<'s>,
        running_per_step: &mut BTreeMap<String, usize>,
    ) {
        let mut blocked = VecDeque::new();
        while let Some(issued) = pending.pop_front() {
            let in_flight = running_per_step.entry(issued.command.step_name.clone()).or_default();
            if *in_flight >= concurrency(doc, &issued.command.step_name) {
                blocked.push_back(issued);
                continue;
            }
            *in_flight += 1;
            log.append("command.started", Some(&issued.command.step_name), "STARTED", None, None, Some(command_meta(issued.id)));
            running.push(Box::pin(self.run_command(doc, issued)));
        }
        *pending = blocked;
    }

    /// One command: the synthetic entry completes at once; any other step renders and
    /// runs its tool (or its tool list).
    async fn run_command(&self, doc: &Document, issued: Issued) -> Outcome {
        let Issued { id: command_id, command, held } = issued;
        let iteration = command.iterator.as_ref().map(|i| i.index);
        let name = command.step_name.clone();
        let Some(step) = doc.step(&name).filter(|_| !(doc.synthetic_entry && name == ENTRY_STEP)) else {
            return Outcome { command_id, step: name, iteration, result: Ok(json!({})), vars: None, report: None };
        };
        let tool = step.tool_label();
        self.progress.step_started(&name, &tool, command.iterator.as_ref().map(|i| (i.index, i.total)));
        let started = Instant::now();
        let response = match self.call(doc, step, &command, &held).await {
            Ok(response) => response,
            Err(error) => json!({"status": "error", "error": format!("{error:#}")}),
        };
        let response = self.redactor.redact_json(response);
        let status = response.get("status").and_then(Value::as_str).unwrap_or("error").to_string();
        let result = if status == "success" {
            Ok(response.get("data").cloned().unwrap_or(Value::Null))
        } else {
            Err(response.get("error").and_then(Value::as_str).unwrap_or("the tool reported an error").to_string())
        };
        let (result, vars) = match (result, &step.vars) {
            (Ok(data), Some(step_vars)) => match self.step_vars(step, step_vars, &command, &held, &data).await {
                Ok(vars) => (Ok(data), Some(vars)),
                Err(error) => (Err(format!("{error:#}")), None),
            },
            (result, _) => (result, None),
        };
        let report = StepReport { step: name.clone(), tool, iteration, status, duration_ms: started.elapsed().as_millis(), response };
        self.progress.step_finished(&report, started.elapsed());
        Outcome { command_id, step: name, iteration, result, vars, report: Some(report) }
    }

    /// The step's tool call(s): one tool, or a tool list run in order where each task's
    /// result is visible to the next as `{{ label }}` / `{{ label.data.x }}`.
    async fn call(&self, doc: &Document, step: &Step, command: &Command, held: &HeldResults) -> anyhow::Result<Value> {
        let configs = Value::Array(step.tasks.iter().map(|t| t.config.clone()).collect());
        let keychain = keychain::resolve(&keychain::references(&configs), &doc.keychain, self.secrets).await?;
        let null = Value::Null;
        let item = command.iterator.as_ref().map_or(&null, |i| &i.item);
        let mentions = Mentions::of(&[&configs, step.args.as_ref().unwrap_or(&null), item]);
        let mut context = context::for_command(command, held, &self.execution_id, keychain, &mentions);
        if !step.is_sequence {
            return self.call_task(doc, step, &step.tasks[0], command, &context).await;
        }
        let mut results = Map::new();
        for task in &step.tasks {
            let response = self.call_task(doc, step, task, command, &context).await?;
            if response.get("status").and_then(Value::as_str) != Some("success") {
                let error = response.get("error").and_then(Value::as_str).unwrap_or("the tool reported an error");
                return Ok(json!({"status": "error", "error": format!("task `{}`: {error}", task.label), "data": results}));
            }
            let data = response.get("data").cloned().unwrap_or(Value::Null);
            context.insert(task.label.clone(), with_data_accessor(&data));
            results.insert(task.label.clone(), data);
        }
        Ok(json!({"status": "success", "data": results}))
    }

    async fn call_task(&self, doc: &Document, step: &Step, task: &Task, command: &Command, context: &Map<String, Value>) -> anyhow::Result<Value> {
        let mut config = task.config.clone();
        if let (Some(args), Some(object)) = (&step.args, config.as_object_mut()) {
            object.entry("args").or_insert_with(|| args.clone());
        }
        // Upstream hands a loop item to the tool's `args` too (where the tool has them).
        if let (Some(iterator), Some(args)) = (&command.iterator, config.get_mut("args").and_then(Value::as_object_mut)) {
            args.insert(iterator.item_var.clone(), iterator.item.clone());
            args.insert("_index".into(), json!(iterator.index));
            args.insert("_total".into(), json!(iterator.total));
        }
        let started = Instant::now();
        let typed_values = self.executor.plugins.typed_values(config["kind"].as_str().unwrap_or_default());
        let config = self.renderer.render_tool(&step.name, &config, step.render_script, typed_values, context).await?;
        if config.get("kind").and_then(Value::as_str) == Some(super::PLAYBOOK_KIND) {
            return self.call_playbook(&step.name, &config).await;
        }
        let call_context = json!({
            "execution_id": self.execution_id,
            "step": step.name,
            "playbook": doc.name,
            "playbook_dir": self.base_dir.as_ref().map(|d| d.display().to_string()),
        });
        let origin = CallOrigin { base_dir: self.base_dir.clone(), playbook_sha256: self.playbook_sha256.clone() };
        Ok(match self.executor.execute_from(&config, &call_context, &origin).await {
            Ok(response) => response,
            Err(error) => error.to_response(started.elapsed().as_millis()),
        })
    }

    /// A step's `vars`, rendered against its result (`result`, `output`) and the context.
    async fn step_vars(
        &self,
        step: &Step,
        vars: &Map<String, Value>,
        command: &Command,
        held: &HeldResults,
        data: &Value,
    ) -> anyhow::Result<Map<String, Value>> {
        let vars = Value::Object(vars.clone());
        let mut context = context::for_command(command, held, &self.execution_id, None, &Mentions::of(&[&vars]));
        context.insert("result".into(), with_data_accessor(data));
        context.insert("output".into(), with_data_accessor(data));
        context.insert(step.name.clone(), with_data_accessor(data));
        let rendered = self.renderer.render(&step.name, "vars", &vars, &context, Vec::new(), true).await?;
        self.refuse_secrets(&step.name, &rendered)?;
        Ok(rendered.as_object().cloned().unwrap_or_default())
    }

    /// Playbook-level `vars`, rendered once against the workload.
    async fn playbook_vars(&self, doc: &Document) -> anyhow::Result<Map<String, Value>> {
        if doc.vars.is_empty() {
            return Ok(Map::new());
        }
        let mut context = Map::new();
        if let Value::Object(workload) = &doc.workload {
            context.extend(workload.clone());
        }
        context.insert("workload".into(), doc.workload.clone());
        context.insert("execution_id".into(), json!(self.execution_id));
        let rendered = self.renderer.render("playbook", "vars", &Value::Object(doc.vars.clone()), &context, Vec::new(), true).await?;
        self.refuse_secrets("playbook", &rendered)?;
        Ok(rendered.as_object().cloned().unwrap_or_default())
    }

    /// `vars` and `set` values reach the core's context: a secret must not.
    fn refuse_secrets(&self, step: &str, value: &Value) -> anyhow::Result<()> {
        let text = value.to_string();
        if self.redactor.redact(&text) != text {
            anyhow::bail!(
                "step `{step}`: `vars` would carry a secret value into the routing context; keep secrets in tool configs (`{{{{ keychain.ALIAS.FIELD }}}}`)"
            );
        }
        Ok(())
    }
}

type Running<'s> = FuturesUnordered<LocalBoxFuture<'s, Outcome>>;

/// Give the router the events appended since its last evaluation and evaluate for
/// `trigger`. The error completes "routing ... {error}": it says whether the core failed (a
/// routing template) or the router was stopped (a bound, with its policy key).
async fn route(router: &mut RouterSession, log: &mut EventLog, trigger: &str) -> Result<OrchestrationResult, String> {
    let latest = log.latest().map(|time| time.to_rfc3339());
    let events = log.take_unrouted();
    match router.advance(&events, latest.as_deref(), Some(trigger)).await {
        Ok(Ok(result)) => serde_json::from_str(&result).map_err(|e| format!("failed: the router's answer is not the core's result ({e})")),
        Ok(Err(error)) => Err(format!("failed in the core: {error}")),
        Err(stopped) => Err(format!("was stopped: {stopped}")),
    }
}

/// A command the core issued, waiting for its step's concurrency to allow it.
struct Issued {
    id: u64,
    command: Command,
    /// The results held from the core when it issued the command.
    held: HeldResults,
}

/// How many commands of `step` may run at once.
fn concurrency(doc: &Document, step: &str) -> usize {
    match doc.core.get_step(step).and_then(|s| s.r#loop.as_ref()) {
        Some(looped) if looped.mode() == LoopMode::Parallel => {
            looped.spec.as_ref().and_then(|s| s.max_in_flight).filter(|n| *n > 0).map_or(usize::MAX, |n| n as usize)
        }
        Some(_) => 1,
        None => usize::MAX,
    }
}

/// The core numbers executions; ours are strings. A stable 63-bit FNV-1a hash of ours.
fn numeric_id(execution_id: &str) -> i64 {
    let hash = execution_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    (hash >> 1) as i64
}

fn steps_so_far(reports: &[StepReport]) -> String {
    let names: Vec<&str> = reports.iter().map(|r| r.step.as_str()).collect();
    if names.is_empty() { "none".into() } else { names.join(", ") }
}
