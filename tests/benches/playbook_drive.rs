//! The playbook runner's own overhead per step (issue 13): orchestration in upstream's
//! core, rendering in the sandboxed template plugin, and the tool plugin's `plan`, with no
//! job. Every step is the third-party `json-transform` plugin, which answers from `plan`.
//! - a linear playbook of 100 steps, each reading the previous step's result;
//! - one loop step over 100 and over 1,000 items, sequential (flat per item is the goal).
//!
//! - routing alone (issue 23), replaying the events of the linear and the 1,000-item runs:
//!   upstream's core in process (the runner before issue 23), the sandboxed router with one
//!   instance per execution (the runner now), and a fresh router instance per evaluation
//!   with the state carried across as JSON (the alternative).
//!
//! Run: `cargo bench -p noetl-tests --bench playbook_drive`
//!
//! Besides wall-clock time it prints the CPU time the process spent (all its threads, from
//! Linux `schedstat`): on a machine shared with other work, wall-clock time also counts
//! the time the runner waited for a core.

use std::sync::Arc;
use std::time::{Duration, Instant};

use noetl_host::backend::local::LocalBackend;
use noetl_orchestrate_core::event::Event;
use noetl_orchestrate_core::orchestrator::WorkflowOrchestrator;
use noetl_orchestrate_core::state::WorkflowState;
use noetl_host::cache::ArtifactCache;
use noetl_host::capability::Capabilities;
use noetl_host::engine::HostEngine;
use noetl_host::execute::Executor;
use noetl_host::playbook::{Document, Progress, Runner, StepRenderer, StepReport};
use noetl_host::plugin::{CallEnv, PluginRuntime, PluginSet};
use noetl_host::policy::Policy;
use noetl_host::redact::Redactor;
use noetl_host::secrets::SecretResolver;
use noetl_tests::guests;

struct Silent;

impl Progress for Silent {
    fn step_started(&self, _step: &str, _tool: &str, _iteration: Option<(usize, usize)>) {}
    fn step_finished(&self, _report: &StepReport, _elapsed: Duration) {}
}

const HEADER: &str = "apiVersion: noetl.io/v2\nkind: Playbook\nmetadata: {name: bench}\n";

fn linear(steps: usize) -> String {
    let mut text = format!("{HEADER}workflow:\n  - step: start\n    tool: {{kind: json-transform, input: {{i: 0}}}}\n    next: s1\n");
    for i in 1..steps {
        let next = if i + 1 < steps { format!("\n    next: s{}", i + 1) } else { String::new() };
        let previous = if i == 1 { "start".to_string() } else { format!("s{}", i - 1) };
        text.push_str(&format!(
            "  - step: s{i}\n    tool: {{kind: json-transform, input: {{i: {i}, previous: \"{{{{ {previous}.i }}}}\"}}}}{next}\n"
        ));
    }
    text
}

fn looped(items: usize) -> String {
    let list: Vec<String> = (0..items).map(|i| i.to_string()).collect();
    format!(
        "{HEADER}workload: {{items: [{}]}}\nworkflow:\n  - step: start\n    tool: {{kind: json-transform, input: {{go: true}}}}\n    next: each\n  - step: each\n    loop: {{in: \"{{{{ workload.items }}}}\", iterator: item}}\n    tool: {{kind: json-transform, input: {{item: \"{{{{ item }}}}\", index: \"{{{{ loop.index }}}}\"}}}}\n",
        list.join(", ")
    )
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let policy = Arc::new(Policy::default_policy());
    let runtime = PluginRuntime::new(HostEngine::new().unwrap(), ArtifactCache::new(cache_dir.path())).unwrap();
    let plugins = Arc::new(rt.block_on(PluginSet::discover(&runtime, &policy, &[], &[guests::JSON_TRANSFORM.into()])).unwrap());
    let redactor = Redactor::new();
    let secrets = Arc::new(SecretResolver::standard(redactor.clone(), None, None));
    let template = plugins.template_engine().unwrap().clone();
    let mut env = CallEnv::from_policy(&policy, &template);
    env.caps = Arc::new(Capabilities { secrets: Some(secrets.clone()), redactor: redactor.clone(), ..(*env.caps).clone() });
    let renderer = StepRenderer { plugin: template, env, strict: false };
    let backend = LocalBackend::new(noetl_host::embed::local_config(&policy)).unwrap();
    let executor = Executor {
        plugins,
        policy: policy.clone(),
        backend: Arc::new(backend),
        providers: Capabilities { redactor: redactor.clone(), ..Capabilities::default() },
        fetcher: None,
    };
    let runner = Runner {
        executor: &executor,
        renderer: &renderer,
        secrets: &secrets,
        execution_id: "bench".into(),
        base_dir: None,
        playbook_sha256: None,
        redactor,
        progress: &Silent,
        keep_events: false,
        catalog_roots: Default::default(),
        depth: 0,
    };
    let cases = [("linear, 100 steps", linear(100), 100), ("loop, 100 items", looped(100), 101), ("loop, 1,000 items", looped(1000), 1001)];
    for (label, text, calls) in cases {
        let document = Document::parse(&text, "bench").unwrap();
        let mut samples = Vec::new();
        let mut cpu_samples = Vec::new();
        for _ in 0..3 {
            let (started, cpu_started) = (Instant::now(), process_cpu());
            let (report, _) = rt.block_on(runner.run(&document)).unwrap();
            samples.push(started.elapsed());
            cpu_samples.push(process_cpu().saturating_sub(cpu_started));
            assert!(report.succeeded(), "{:?}", report.error);
            assert_eq!(report.steps.len(), calls);
        }
        let (median, cpu) = (median(samples), median(cpu_samples));
        println!(
            "{label}: {calls} tool calls in {:.1} ms (median of 3): {:.0} µs per call; CPU {:.1} ms: {:.0} µs per call",
            median.as_secs_f64() * 1e3,
            median.as_secs_f64() * 1e6 / calls as f64,
            cpu.as_secs_f64() * 1e3,
            cpu.as_secs_f64() * 1e6 / calls as f64
        );
        if label != "loop, 100 items" {
            let recording = Runner { keep_events: true, execution_id: runner.execution_id.clone(), redactor: runner.redactor.clone(), base_dir: None, playbook_sha256: None, catalog_roots: Default::default(), ..runner };
            let (_, log) = rt.block_on(recording.run(&document)).unwrap();
            rt.block_on(router_modes(label, &executor, &policy, &document, &log.to_json_lines()));
        }
    }
}

/// The run's events in the evaluations the runner made: each group ends with the event
/// that triggered an evaluation (`playbook_started`, `command.completed`, `command.failed`).
/// `held`: the runner held every plain step's result from the core (no routing template
/// reads one, as in the linear playbook), so its `call.done` / `command.completed` reached
/// the core without a result; the kept log has them whole, so they are stripped here.
fn evaluations(events: &str, held: bool) -> Vec<(Vec<Event>, String)> {
    let mut groups = Vec::new();
    let mut group = Vec::new();
    for line in events.lines() {
        let mut event: Event = serde_json::from_str(line).unwrap();
        if held && matches!(event.event_type.as_str(), "call.done" | "command.completed") {
            event.result = None;
        }
        let kind = event.event_type.clone();
        group.push(event);
        if matches!(kind.as_str(), "playbook_started" | "command.completed" | "command.failed") {
            groups.push((std::mem::take(&mut group), kind));
        }
    }
    groups
}

/// Routing alone, three ways, over the same evaluations: upstream's core in process (what
/// the runner did before issue 23), the router with one instance per execution (what it
/// does now: events cross as JSON), and a fresh router instance per evaluation that is
/// handed the state as JSON and hands it back (the alternative issue 23 weighed).
async fn router_modes(label: &str, executor: &Executor, policy: &Policy, document: &Document, events: &str) {
    let router = executor.plugins.router().unwrap();
    let groups = evaluations(events, label.starts_with("linear"));
    let as_json = |group: &[Event]| group.iter().map(|e| serde_json::to_string(e).unwrap()).collect::<Vec<_>>();
    let (mut native, mut per_execution, mut carried) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        let started = process_cpu();
        let (orchestrator, mut state) = (WorkflowOrchestrator::new(), WorkflowState::new(1, 0));
        for (group, trigger) in &groups {
            group.iter().for_each(|event| state.apply_event(event));
            orchestrator.evaluate_state(&mut state, None, &document.core, Some(trigger)).unwrap();
        }
        native.push(process_cpu().saturating_sub(started));
        let started = process_cpu();
        let mut session = router.open(policy, &document.core_json, 1, None).await.unwrap();
        for (group, trigger) in &groups {
            session.advance(&as_json(group), None, Some(trigger)).await.unwrap().unwrap();
        }
        per_execution.push(process_cpu().saturating_sub(started));
        let started = process_cpu();
        let mut state: Option<String> = None;
        for (group, trigger) in &groups {
            let mut session = router.open(policy, &document.core_json, 1, state.as_deref()).await.unwrap();
            session.advance(&as_json(group), None, Some(trigger)).await.unwrap().unwrap();
            state = Some(session.state().await.unwrap());
        }
        carried.push(process_cpu().saturating_sub(started));
    }
    let (native, one, fresh) = (median(native), median(per_execution), median(carried));
    let per = |d: Duration| d.as_secs_f64() * 1e6 / groups.len() as f64;
    println!(
        "{label}, routing only, {} evaluations (median of 3), CPU per evaluation: core in process {:.0} µs; router, one instance per execution {:.0} µs; router, fresh instance per evaluation with the state as JSON {:.0} µs",
        groups.len(),
        per(native),
        per(one),
        per(fresh)
    );
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// CPU time the process's threads have run so far (zero where `/proc` has no `schedstat`).
fn process_cpu() -> Duration {
    let nanos = std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}
