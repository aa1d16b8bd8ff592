//! The plugins a host serves: the built-in ones, then those found in plugin directories
//! and explicit paths. A plugin that cannot be loaded is listed as rejected with its
//! reason; it never stops the host from serving the others.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{LoadedPlugin, PluginError, PluginRuntime, Role};
use crate::policy::Policy;

/// A plugin file that was not loaded, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rejected {
    pub origin: String,
    pub reason: String,
}

#[derive(Default)]
pub struct PluginSet {
    tools: BTreeMap<String, Arc<LoadedPlugin>>,
    template: Option<Arc<LoadedPlugin>>,
    pub rejected: Vec<Rejected>,
}

impl PluginSet {
    /// Load the built-in plugins, then every `*.wasm` in `dirs`, then `paths`. A later
    /// plugin with the same tool kind replaces an earlier one (so a plugin directory can
    /// override a built-in); the replacement is logged.
    pub async fn discover(runtime: &PluginRuntime, policy: &Policy, dirs: &[PathBuf], paths: &[PathBuf]) -> anyhow::Result<Self> {
        let mut set = PluginSet::default();
        for (name, bytes) in crate::builtin::PLUGINS {
            let plugin = runtime
                .load(bytes, &format!("built-in {name} plugin"), policy)
                .await
                .map_err(|e| anyhow::anyhow!("the built-in {name} plugin failed to load (a build problem): {e}"))?;
            set.insert(plugin);
        }
        for dir in dirs {
            for path in wasm_files(dir)? {
                set.load_file(runtime, policy, &path).await;
            }
        }
        for path in paths {
            set.load_file(runtime, policy, path).await;
        }
        Ok(set)
    }

    async fn load_file(&mut self, runtime: &PluginRuntime, policy: &Policy, path: &Path) {
        let origin = path.display().to_string();
        let loaded = match std::fs::read(path) {
            Ok(bytes) => runtime.load(&bytes, &origin, policy).await,
            Err(e) => Err(PluginError::Load(format!("cannot read plugin {origin}: {e}"))),
        };
        match loaded {
            Ok(plugin) => self.insert(plugin),
            Err(error) => {
                tracing::warn!("{error}");
                self.rejected.push(Rejected { origin, reason: error.to_string() });
            }
        }
    }

    pub fn insert(&mut self, plugin: LoadedPlugin) {
        let plugin = Arc::new(plugin);
        let previous = match plugin.contract.role {
            Role::Tool => self.tools.insert(plugin.name.clone(), plugin.clone()),
            Role::TemplateEngine => self.template.replace(plugin.clone()),
        };
        if let Some(previous) = previous {
            tracing::info!(plugin = %plugin.name, "{} replaces {}", plugin.origin, previous.origin);
        }
    }

    /// The tool plugin for `kind`, or an error listing what is available.
    pub fn tool(&self, kind: &str) -> anyhow::Result<&Arc<LoadedPlugin>> {
        self.tools.get(kind).ok_or_else(|| {
            let known: Vec<&str> = self.tools.keys().map(String::as_str).collect();
            let mut message = format!(
                "no plugin provides tool kind `{kind}`; available kinds: {}",
                if known.is_empty() { "none".into() } else { known.join(", ") }
            );
            for rejected in &self.rejected {
                message.push_str(&format!("\n  (not loaded: {})", rejected.reason));
            }
            anyhow::anyhow!(message)
        })
    }

    /// Whether steps of tool kind `kind` are rendered with typed values: yes unless its
    /// plugin was built for contract 0.1.x. An unknown kind renders typed; running the step
    /// then reports the missing plugin.
    pub fn typed_values(&self, kind: &str) -> bool {
        self.tools.get(kind).is_none_or(|plugin| plugin.contract.typed_values())
    }

    pub fn template_engine(&self) -> anyhow::Result<&Arc<LoadedPlugin>> {
        self.template.as_ref().ok_or_else(|| anyhow::anyhow!("no template engine plugin is loaded"))
    }

    /// Every loaded plugin, tools first (by kind), then the template engine.
    pub fn all(&self) -> impl Iterator<Item = &Arc<LoadedPlugin>> {
        self.tools.values().chain(self.template.iter())
    }
}

fn wasm_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| anyhow::anyhow!("cannot read plugin directory {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
        .collect();
    files.sort();
    Ok(files)
}
