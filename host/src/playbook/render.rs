//! Rendering a step's templates in the sandboxed template plugin, in one call per tool.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::plugin::{CallEnv, LoadedPlugin, RenderOptions};

/// Renders steps with the template engine plugin under its own grant and limits.
pub struct StepRenderer {
    pub plugin: Arc<LoadedPlugin>,
    pub env: CallEnv,
    /// Fail on undefined variables (secrets are always strict).
    pub strict: bool,
}

/// Where `script.content` sits in the rendered tree; left untouched unless the step opts in.
const SCRIPT_CONTENT: &str = "tool.script.content";

impl StepRenderer {
    /// A tool config with every template rendered against `context`. `render_script`
    /// opts `script.content` in. `typed_values`: whether the tool's plugin takes a lone
    /// `{{ expr }}` as the expression's JSON value (contract 0.2 and later,
    /// [`PluginSet::typed_values`](crate::plugin::PluginSet::typed_values)).
    pub async fn render_tool(
        &self,
        step: &str,
        tool: &Value,
        render_script: bool,
        typed_values: bool,
        context: &Map<String, Value>,
    ) -> anyhow::Result<Value> {
        let skip = if render_script { Vec::new() } else { vec![SCRIPT_CONTENT.to_string()] };
        self.render(step, "tool", tool, context, skip, typed_values).await
    }

    /// `value` rendered against `context`, with errors pointing at `field` of `step`.
    pub async fn render(
        &self,
        step: &str,
        field: &str,
        value: &Value,
        context: &Map<String, Value>,
        skip_paths: Vec<String>,
        typed_values: bool,
    ) -> anyhow::Result<Value> {
        // `{field: value}` written straight to JSON text (no clone of the tree), so error
        // paths read `tool.job.env.X`.
        let tree = serde_json::to_string(&std::collections::BTreeMap::from([(field, value)]))?;
        let context = serde_json::to_string(context)?;
        let options = RenderOptions { strict_undefined: self.strict, skip_paths, typed_values };
        let rendered = self
            .plugin
            .render(&self.env, &tree, &context, &options)
            .await?
            .map_err(|e| anyhow::anyhow!("step `{step}`: template error in {}: {}", e.path, e.message))?;
        let mut rendered: Value = serde_json::from_str(&rendered).map_err(|e| anyhow::anyhow!("the template engine returned invalid JSON: {e}"))?;
        Ok(rendered[field].take())
    }
}
