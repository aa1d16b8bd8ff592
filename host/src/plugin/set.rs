//! The plugins a host serves: the built-in ones, then those found in plugin directories
//! and explicit paths. A plugin that cannot be loaded is listed as rejected with its
//! reason; it never stops the host from serving the others.
//!
//! Names are trusted only as far as the policy says:
//! - the built-in names ([`crate::builtin::PLUGINS`]: `script`, `python`, `shell`, `http`,
//!   `noop`, `template`) are reserved: a plugin file that describes itself by one of them is
//!   refused unless the policy pins that very file, `plugins.NAME.sha256: <its SHA-256>`;
//!   a pinned file replaces the built-in and gets only the grants the policy writes for it
//!   (the built-in defaults follow [`PluginSource`], never the name);
//! - `plugins.NAME.sha256` pins any plugin name: a plugin file of that name with another
//!   digest is refused. The pin applies to plugin files only; the built-in plugin itself is
//!   never checked against it (a pin names the file meant to replace it).
//!
//! Refusals and replacements of built-ins are logged at `warn`, which the CLI shows at its
//! default verbosity.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use noetl_protocol::did_you_mean;

use super::{LoadedPlugin, LoadedRouter, PluginError, PluginRuntime, Role};
use crate::policy::{Policy, PluginSource};

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
    /// The built-in router, which routes playbooks in the sandbox.
    router: Option<Arc<LoadedRouter>>,
    /// Built-in tools left unloaded because the caller said it needs only other kinds.
    unloaded_builtins: Vec<&'static str>,
    pub rejected: Vec<Rejected>,
}

impl PluginSet {
    /// Load the built-in plugins, then every `*.wasm` in `dirs`, then `paths`. A plugin file
    /// pinned by the policy may replace a built-in of its name (see the module comment); of
    /// two files with one tool kind the later one is served and the earlier listed as rejected.
    pub async fn discover(runtime: &PluginRuntime, policy: &Policy, dirs: &[PathBuf], paths: &[PathBuf]) -> anyhow::Result<Self> {
        Self::discover_for(runtime, policy, dirs, paths, None).await
    }

    /// [`PluginSet::discover`], loading of the built-in tools only the `kinds` given (all
    /// when `None`); the template engine always. Each built-in costs a few milliseconds to
    /// load, and a playbook typically uses one or two of them.
    pub async fn discover_for(
        runtime: &PluginRuntime,
        policy: &Policy,
        dirs: &[PathBuf],
        paths: &[PathBuf],
        kinds: Option<&BTreeSet<String>>,
    ) -> anyhow::Result<Self> {
        let mut set = PluginSet::default();
        for (name, _) in crate::builtin::PLUGINS {
            if *name != TEMPLATE_ENGINE && kinds.is_some_and(|kinds| !kinds.contains(*name)) {
                set.unloaded_builtins.push(name);
                continue;
            }
            let plugin = runtime
                .load_built_in(name, policy)
                .await
                .map_err(|e| anyhow::anyhow!("the built-in {name} plugin failed to load (a build problem): {e}"))?;
            set.insert(plugin);
        }
        let router = runtime.load_router(crate::builtin::ROUTER).map_err(|e| anyhow::anyhow!("the built-in router failed to load: {e}"))?;
        set.router = Some(Arc::new(router));
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
            Ok(bytes) => match check_header(&bytes, &origin) {
                Ok(()) => runtime.load(&bytes, &origin, policy).await,
                Err(error) => Err(error),
            },
            Err(e) => Err(PluginError::Load(format!("cannot read plugin {origin}: {e}"))),
        };
        let loaded = loaded.and_then(|plugin| admit_name(plugin, policy));
        match loaded {
            Ok(plugin) => {
                let kind = plugin.name.clone();
                if is_reserved(&kind) {
                    tracing::warn!(
                        "{origin} replaces the built-in {kind} plugin (pinned by plugins.{kind}.sha256); it gets only the grants \
                         the policy writes under plugins.{kind}, none of the built-in's defaults"
                    );
                }
                if let Some(unused) = self.insert(plugin).filter(|previous| !is_builtin(previous)) {
                    let reason = format!(
                        "not used: {origin} provides the same tool kind `{kind}` and was loaded after it (directories in \
                         the order given, files by name, then --plugin); remove or rename one of the two"
                    );
                    tracing::warn!("{}: {reason}", unused.origin);
                    self.rejected.push(Rejected { origin: unused.origin.clone(), reason });
                }
            }
            Err(error) => {
                tracing::warn!("{error}");
                self.rejected.push(Rejected { origin, reason: error.to_string() });
            }
        }
    }

    /// Serve `plugin`; returns the plugin it replaces (same tool kind, or the template engine).
    /// No name check here: plugin files found by [`PluginSet::discover`] pass the policy's
    /// reserved names and pins before they get here.
    pub fn insert(&mut self, plugin: LoadedPlugin) -> Option<Arc<LoadedPlugin>> {
        let plugin = Arc::new(plugin);
        let previous = match plugin.contract.role {
            Role::Tool => self.tools.insert(plugin.name.clone(), plugin.clone()),
            Role::TemplateEngine => self.template.replace(plugin.clone()),
        };
        if let Some(previous) = &previous {
            tracing::info!(plugin = %plugin.name, "{} replaces {}", plugin.origin, previous.origin);
        }
        previous
    }

    /// Every tool kind this set provides: loaded, or built in and left unloaded.
    pub fn kinds(&self) -> Vec<&str> {
        let loaded = self.tools.keys().map(String::as_str);
        let mut kinds: Vec<&str> = loaded.chain(self.unloaded_builtins.iter().copied()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        kinds
    }

    /// The tool plugin for `kind`, or an error listing what is available.
    pub fn tool(&self, kind: &str) -> anyhow::Result<&Arc<LoadedPlugin>> {
        self.tools.get(kind).ok_or_else(|| {
            let known = self.kinds();
            let mut message = if self.unloaded_builtins.contains(&kind) {
                format!("tool kind `{kind}` is built in but was not loaded: this command loaded only the kinds its playbook names")
            } else {
                format!(
                    "no plugin provides tool kind `{kind}`; available kinds: {}",
                    if known.is_empty() { "none".into() } else { known.join(", ") }
                )
            };
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

    /// The router that routes playbooks (upstream's core, in the sandbox).
    pub fn router(&self) -> anyhow::Result<&Arc<LoadedRouter>> {
        self.router.as_ref().ok_or_else(|| anyhow::anyhow!("no router is loaded: this plugin set cannot run playbooks"))
    }

    pub fn template_engine(&self) -> anyhow::Result<&Arc<LoadedPlugin>> {
        self.template.as_ref().ok_or_else(|| anyhow::anyhow!("no template engine plugin is loaded"))
    }

    /// One warning per plugin the policy grants something to but no loaded plugin is named:
    /// a typo there silently leaves the intended plugin with nothing granted.
    pub fn policy_warnings(&self, policy: &Policy) -> Vec<String> {
        let mut loaded: Vec<&str> = self.all().map(|p| p.name.as_str()).collect();
        loaded.extend(self.unloaded_builtins.iter().copied());
        // `plugins.router.limits` bounds the router, which is not a tool.
        loaded.extend(self.router.iter().map(|_| super::ROUTER));
        policy
            .plugins
            .keys()
            .filter(|name| !loaded.contains(&name.as_str()))
            .map(|name| {
                format!(
                    "the policy grants plugins.{name}, but no loaded plugin is named `{name}` (loaded: {}); {}",
                    loaded.join(", "),
                    match did_you_mean::closest(name, &loaded) {
                        Some(close) => format!("did you mean `{close}`? Rename the key to plugins.{close}"),
                        None => "load the plugin (--plugin or --plugin-dir) or remove the key".to_string(),
                    }
                )
            })
            .collect()
    }

    /// Every loaded plugin, tools first (by kind), then the template engine.
    pub fn all(&self) -> impl Iterator<Item = &Arc<LoadedPlugin>> {
        self.tools.values().chain(self.template.iter())
    }
}

/// Says what a file is when it is not a component, in words: the compiler's own error for
/// these cases is a dump of the header bytes.
fn check_header(bytes: &[u8], origin: &str) -> Result<(), PluginError> {
    const MAGIC: &[u8] = b"\0asm";
    const CORE_MODULE_VERSION: &[u8] = &[1, 0, 0, 0];
    let problem = if bytes.is_empty() {
        "is empty (0 bytes)"
    } else if !bytes.starts_with(MAGIC) {
        "is not a WebAssembly file (it does not start with the `\\0asm` header)"
    } else if bytes.get(4..8) == Some(CORE_MODULE_VERSION) {
        "is a core WebAssembly module, not a component"
    } else {
        return Ok(());
    };
    Err(PluginError::Load(format!(
        "{origin} {problem}; a plugin is a WebAssembly component: build it with `cargo build --target wasm32-wasip2` \
         (or wrap a module with `wasm-tools component new`)"
    )))
}

/// The built-in plugin every command loads: templates are rendered whatever the tools.
const TEMPLATE_ENGINE: &str = "template";

/// Whether `name` is the name of a built-in plugin (reserved for it).
pub fn is_reserved(name: &str) -> bool {
    crate::builtin::PLUGINS.iter().any(|(built_in, _)| *built_in == name)
}

/// A plugin file, once its name passes the policy: refused when `plugins.NAME.sha256` pins
/// another digest, or when it takes a built-in's name without a pin.
fn admit_name(plugin: LoadedPlugin, policy: &Policy) -> Result<LoadedPlugin, PluginError> {
    let (name, origin, digest) = (&plugin.name, &plugin.origin, &plugin.sha256);
    if name == super::ROUTER {
        // `plugins.router` configures the host's router, which no file replaces.
        return Err(PluginError::Load(format!(
            "{origin} was refused: it provides `{name}`, the name of the host's built-in router (policy key plugins.{name}),              which no plugin file replaces; give the tool another kind"
        )));
    }
    match policy.pinned_sha256(name) {
        Some(pinned) if pinned != *digest => Err(PluginError::Load(format!(
            "{origin} was refused: it provides `{name}`, and the policy pins plugins.{name}.sha256 to {pinned}, but this \
             file's SHA-256 is {digest}; load the pinned file, or update plugins.{name}.sha256 if this file is the one you mean"
        ))),
        None if is_reserved(name) => Err(PluginError::Load(format!(
            "{origin} was refused: it provides `{name}`, a name reserved for the built-in {name} plugin; to replace the \
             built-in with this file, pin it in the policy file: plugins.{name}.sha256: {digest} (it then gets only the \
             grants written under plugins.{name}, none of the built-in's defaults)"
        ))),
        _ => Ok(plugin),
    }
}

/// Built-in plugins may be replaced by a pinned plugin file of the same kind; two files of
/// one kind are a mistake.
fn is_builtin(plugin: &LoadedPlugin) -> bool {
    plugin.source == PluginSource::BuiltIn
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
