//! Rendering a step's templates in the sandboxed template plugin, in one call per step.

use std::sync::Arc;

use serde_json::Value;

use super::Step;
use crate::plugin::{CallEnv, LoadedPlugin, RenderOptions};

/// Renders steps with the template engine plugin under its own grant and limits.
pub struct StepRenderer {
    pub plugin: Arc<LoadedPlugin>,
    pub env: CallEnv,
    /// Fail on undefined variables (secrets are always strict).
    pub strict: bool,
}

/// The tree sent to the template engine, so error paths read `tool.job.env.X`.
#[derive(serde::Serialize)]
struct ToolTree<'a> {
    tool: &'a Value,
}

/// Where `script.content` sits in the rendered tree; left untouched unless the step opts in.
const SCRIPT_CONTENT: &str = "tool.script.content";

impl StepRenderer {
    /// The step's `tool` object with every template rendered against `context`.
    /// `typed_values`: whether the tool's plugin takes a lone `{{ expr }}` as the
    /// expression's JSON value ([`ContractInfo::typed_values`](crate::plugin::ContractInfo::typed_values)).
    pub async fn render_tool(&self, step: &Step, context: &Value, typed_values: bool) -> anyhow::Result<Value> {
        // `{"tool": ...}` written straight to JSON text: no clone of the tree, and no
        // `Display` (`Value::to_string`), which goes through `fmt::Formatter` and is slower.
        let tree = serde_json::to_string(&ToolTree { tool: &step.tool })?;
        let context = serde_json::to_string(context)?;
        let skip_paths = if step.render_script { Vec::new() } else { vec![SCRIPT_CONTENT.to_string()] };
        let options = RenderOptions { strict_undefined: self.strict, skip_paths, typed_values };
        let rendered = self
            .plugin
            .render(&self.env, &tree, &context, &options)
            .await?
            .map_err(|e| anyhow::anyhow!("step `{}`: template error in {}: {}", step.name, e.path, e.message))?;
        let mut rendered: Value = serde_json::from_str(&rendered)
            .map_err(|e| anyhow::anyhow!("the template engine returned invalid JSON: {e}"))?;
        Ok(rendered["tool"].take())
    }
}
