//! Runs a playbook's steps in order (following `next`), rendering each step's templates
//! first and feeding earlier steps' results to later ones.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{Playbook, Step, StepRenderer};
use crate::execute::Executor;

/// What happened to one step.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub step: String,
    pub tool: String,
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
    pub steps: Vec<StepReport>,
}

impl RunReport {
    pub fn succeeded(&self) -> bool {
        self.status == "success"
    }
}

/// Progress notifications for a terminal or a log.
pub trait Progress: Send + Sync {
    fn step_started(&self, step: &Step);
    fn step_finished(&self, report: &StepReport, elapsed: Duration);
}

pub struct Runner<'a> {
    pub executor: &'a Executor,
    pub renderer: &'a StepRenderer,
    pub execution_id: String,
    /// The playbook's directory (for `script.type: local` paths).
    pub base_dir: Option<PathBuf>,
    pub redactor: crate::redact::Redactor,
    pub progress: &'a dyn Progress,
}

impl Runner<'_> {
    pub async fn run(&self, playbook: &Playbook) -> anyhow::Result<RunReport> {
        let mut results = Map::new();
        let mut reports = Vec::new();
        let mut visited = BTreeSet::new();
        let mut current = playbook.steps.first();
        while let Some(step) = current {
            if !visited.insert(step.name.clone()) {
                anyhow::bail!("step `{}` would run a second time; loops are not supported by this runner", step.name);
            }
            self.progress.step_started(step);
            let started = Instant::now();
            let report = self.run_step(playbook, step, &results).await;
            self.progress.step_finished(&report, started.elapsed());
            results.insert(step.name.clone(), report.response.get("data").cloned().unwrap_or(Value::Null));
            let failed = report.status != "success";
            reports.push(report);
            if failed {
                break;
            }
            current = match step.next.first().map(String::as_str) {
                Some("end") => None,
                Some(next) => playbook.step(next),
                None => playbook.steps.iter().skip_while(|s| s.name != step.name).nth(1),
            };
        }
        let ok = reports.iter().all(|r| r.status == "success");
        Ok(RunReport {
            playbook: playbook.name.clone(),
            execution_id: self.execution_id.clone(),
            status: if ok { "success" } else { "error" }.into(),
            steps: reports,
        })
    }

    async fn run_step(&self, playbook: &Playbook, step: &Step, results: &Map<String, Value>) -> StepReport {
        let started = Instant::now();
        let tool = step.tool.get("kind").and_then(Value::as_str).unwrap_or("?").to_string();
        let mut context = Value::Object(results.clone());
        context["workload"] = playbook.workload.clone();
        context["execution_id"] = json!(self.execution_id);
        context["step"] = json!(step.name);
        let call_context = json!({
            "execution_id": self.execution_id,
            "step": step.name,
            "playbook": playbook.name,
            "playbook_dir": self.base_dir.as_ref().map(|d| d.display().to_string()),
        });
        let typed_values = self.executor.plugins.typed_values(&tool);
        let response = match self.renderer.render_tool(step, &context, typed_values).await {
            Err(error) => json!({"status": "error", "error": format!("{error:#}")}),
            Ok(config) => match self.executor.execute(&config, &call_context, self.base_dir.clone()).await {
                Ok(response) => response,
                Err(error) => error.to_response(started.elapsed().as_millis()),
            },
        };
        let response = self.redactor.redact_json(response);
        StepReport {
            step: step.name.clone(),
            tool,
            status: response.get("status").and_then(Value::as_str).unwrap_or("error").to_string(),
            duration_ms: started.elapsed().as_millis(),
            response,
        }
    }
}
