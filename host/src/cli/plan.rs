//! `noetl-host plan FILE`: the Kubernetes manifests each script step would create, as
//! multi-document YAML that `kubectl apply -f -` accepts. Nothing is submitted anywhere.
//! Secret values are shown as `<redacted>`. A bundle the plugin's job grant refuses is
//! refused here as `run` would refuse it; what is shown carries the host's labels.

use std::path::PathBuf;

use serde_json::{Value, json};

use noetl_host::admission::{JobIdentity, admit};
use noetl_host::bindings::types::PlanResult;
use noetl_host::capability::Capabilities;
use noetl_host::execute::{ExecError, call_env};
use noetl_host::playbook::Document;
use noetl_host::plugin::convert;

use super::{Failure, GlobalArgs, setup};

#[derive(clap::Args)]
pub struct PlanArgs {
    /// A playbook (NoETL `Playbook` or a bare `workflow:` list).
    file: PathBuf,
    /// Only this step (default: every step).
    #[arg(long)]
    step: Option<String>,
    /// Execution id used in object names and labels.
    #[arg(long, default_value = "plan")]
    execution_id: String,
    /// Seed for the random name suffix, for reproducible output.
    #[arg(long)]
    seed: Option<u64>,
    /// Render templates with this context (YAML/JSON: `workload`, earlier step results);
    /// without it, templates are left as written.
    #[arg(long)]
    context: Option<PathBuf>,
}

pub async fn run(global: &GlobalArgs, args: PlanArgs) -> Result<u8, Failure> {
    let playbook = Document::load(&args.file).map_err(|e| Failure::new(2, format!("{e:#}")))?;
    let steps: Vec<_> = match &args.step {
        Some(name) => vec![playbook.step(name).ok_or_else(|| {
            let names: Vec<&str> = playbook.order.iter().map(String::as_str).collect();
            Failure::new(2, format!("no step `{name}` in {}; steps: {}", args.file.display(), names.join(", ")))
        })?],
        None => playbook.steps_in_order().collect(),
    };
    let host = setup::load(global).await?;
    let secrets = setup::secrets(global, &host).await?;
    let renderer = match &args.context {
        Some(path) => Some((setup::renderer(&host, &secrets, false)?, setup::read_context(path)?)),
        None => None,
    };
    let base_dir = args.file.parent().map(|d| d.to_path_buf());
    // Planning an `http`/`s3`/`gcs` script fetches it, under the same grant as `run`.
    let fetcher = setup::fetcher();
    for (step, task) in steps.iter().flat_map(|step| step.tasks.iter().map(move |task| (step, task))) {
        let config = match &renderer {
            Some((renderer, context)) => {
                let mut context = context.as_object().cloned().unwrap_or_default();
                context.insert("execution_id".into(), json!(args.execution_id));
                let typed_values = host.plugins.typed_values(task.config["kind"].as_str().unwrap_or_default());
                renderer
                    .render_tool(&step.name, &task.config, step.render_script, typed_values, &context)
                    .await
                    .map_err(|e| Failure::new(2, format!("{e:#}")))?
            }
            None => task.config.clone(),
        };
        let kind = config["kind"].as_str().unwrap_or_default();
        let plugin = host.plugins.tool(kind).map_err(|e| Failure::new(2, e.to_string()))?;
        let env = call_env(&host.policy, plugin, base_dir.clone(), &Capabilities::default(), Some(&fetcher));
        let mut context = json!({"execution_id": args.execution_id, "step": step.name});
        if let Some(seed) = args.seed {
            context["name_seed"] = json!(seed);
        }
        let planned = plugin
            .plan(&env, &config.to_string(), &context.to_string())
            .await
            .map_err(|e| Failure::new(3, e.to_string()))?
            .map_err(|e| {
                let error = ExecError::from_tool_error(kind, e);
                Failure::new(error.exit_code() as u8, secrets.redactor().redact(&error.to_string()).into_owned())
            })?;
        println!("# step: {} (tool: {kind})", step.name);
        match planned {
            PlanResult::Done(_) => println!("# this tool answers directly: it creates no Kubernetes objects"),
            PlanResult::RunJob(bundle) => {
                let bundle = convert::bundle_from_wit(bundle).map_err(|m| Failure::new(3, m))?;
                let identity = JobIdentity::from_context(&plugin.name, &context);
                let grant = host.policy.job_grant(&plugin.name, plugin.source());
                let bundle = admit(&plugin.name, grant.as_ref(), &identity, bundle).map_err(|refusal| {
                    Failure::new(3, secrets.redactor().redact(&refusal.to_string()).into_owned())
                })?;
                for manifest in bundle.manifests {
                    let body = secrets.redactor().redact_json(redact_secret_values(manifest.body));
                    print!("---\n{}", serde_yaml::to_string(&body).map_err(|e| Failure::new(4, e.to_string()))?);
                }
            }
        }
    }
    Ok(0)
}

/// A Secret's values are never printed, rendered or not.
fn redact_secret_values(mut body: Value) -> Value {
    if body["kind"] == "Secret" {
        for field in ["data", "stringData"] {
            if let Some(map) = body.get_mut(field).and_then(Value::as_object_mut) {
                for value in map.values_mut() {
                    *value = json!("<redacted>");
                }
            }
        }
    }
    body
}
