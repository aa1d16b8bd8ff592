//! `noetl-host render`: render a template string or a YAML/JSON file of templates in the
//! sandboxed template engine, as a step would be rendered. Secret values are redacted.

use std::path::PathBuf;

use serde_json::{Value, json};

use noetl_host::plugin::RenderOptions;

use super::{Failure, GlobalArgs, setup};

#[derive(clap::Args)]
pub struct RenderArgs {
    /// A template (`"{{ workload.x }}"`) or the path of a YAML/JSON file of templates.
    template: String,
    /// Context (YAML/JSON mapping): `workload`, earlier step results, `execution_id`, `step`.
    #[arg(long)]
    context: Option<PathBuf>,
    /// Fail on undefined variables instead of rendering them empty (secrets are always strict).
    #[arg(long)]
    strict: bool,
}

pub async fn run(global: &GlobalArgs, args: RenderArgs) -> Result<u8, Failure> {
    let path = PathBuf::from(&args.template);
    let (tree, from_file) = if path.is_file() {
        let text = std::fs::read_to_string(&path).map_err(|e| Failure::new(2, format!("reading {}: {e}", path.display())))?;
        let tree: Value = serde_yaml::from_str(&text).map_err(|e| Failure::new(2, format!("{} is not YAML/JSON: {e}", path.display())))?;
        (tree, true)
    } else {
        (json!({ "template": args.template }), false)
    };
    let context = match &args.context {
        Some(path) => setup::read_context(path)?,
        None => json!({}),
    };
    let loaded = setup::load(global).await?;
    let secrets = setup::secrets(global, &loaded).await?;
    let renderer = setup::renderer(&loaded, &secrets, args.strict)?;
    // As for a tool built for the current contract: a lone `{{ expr }}` keeps its JSON type.
    let options = RenderOptions { strict_undefined: args.strict, skip_paths: Vec::new(), typed_values: true };
    let rendered = renderer
        .plugin
        .render(&renderer.env, &tree.to_string(), &context.to_string(), &options)
        .await
        .map_err(|e| Failure::new(3, secrets.redactor().redact(&e.to_string()).into_owned()))?
        .map_err(|e| Failure::new(2, secrets.redactor().redact(&format!("template error in {}: {}", e.path, e.message)).into_owned()))?;
    let rendered: Value = serde_json::from_str(&rendered).map_err(|e| Failure::new(3, format!("template engine returned invalid JSON: {e}")))?;
    let rendered = secrets.redactor().redact_json(rendered);
    if from_file {
        print!("{}", serde_yaml::to_string(&rendered).unwrap_or_default());
    } else {
        match &rendered["template"] {
            Value::String(text) => println!("{text}"),
            typed => println!("{typed}"),
        }
    }
    Ok(0)
}
