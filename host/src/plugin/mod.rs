//! Loading plugins and calling them: one `InstancePre` per plugin, a fresh `Store` per
//! call, wall-clock, CPU and memory bounds per call, and failures turned into errors a
//! person can act on.

mod contract;
pub mod convert;
mod fault;
mod meter;
mod output;
mod preinit;
mod rejections;
mod router;
mod set;
mod state;

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Store, UpdateDeadline};

pub use contract::{ContractInfo, HOST_CONTRACT, Role};
pub use fault::PluginError;
pub use router::{LoadedRouter, ROUTER, RouterSession};
pub use set::{PluginSet, Rejected};
pub use state::HostState;

use crate::bindings::template_engine::{TemplateEngine, TemplateEnginePre};
use crate::bindings::tool::{Tool, ToolPre};
use crate::bindings::tool_0_1::{Tool as Tool01, ToolPre as ToolPre01};
use crate::bindings::types::{PlanResult, ToolError, ToolInfo};
use crate::cache::{ArtifactCache, CacheOutcome, ContentHash, EntryKey};
use crate::capability::Capabilities;
use crate::engine::HostEngine;
use crate::policy::{Limits, Policy, PluginSource};
use meter::CpuBudgetExceeded;
use rejections::RejectionMemory;

pub use crate::bindings::template_engine::exports::noetl::plugin::renderer::{RenderError, RenderOptions};

/// Compiles, caches and links plugins. One per host process.
pub struct PluginRuntime {
    engine: HostEngine,
    cache: ArtifactCache,
    rejections: RejectionMemory,
    tool_linker: Linker<HostState>,
    template_linker: Linker<HostState>,
    router_linker: Linker<HostState>,
    /// Snapshot plugins that export `init` (see `preinit`); off only to measure the difference.
    preinit: bool,
}

enum Pre {
    Tool(ToolPre<HostState>),
    /// A tool built for contract 0.1.x: called through its own (0.1.0) export bindings.
    Tool01(ToolPre01<HostState>),
    Template(TemplateEnginePre<HostState>),
}

/// An instantiated tool of either contract version. Both versions' `handler` functions
/// take and return the same Rust types (the 0.1.0 `types` are mapped onto 0.2.0's), so a
/// call is written once and `handler!` picks the version's export.
enum ToolInstance {
    Current(Tool),
    V01(Tool01),
}

macro_rules! handler {
    ($instance:expr, |$handler:ident| $call:expr) => {
        match $instance {
            ToolInstance::Current(tool) => {
                let $handler = tool.noetl_plugin_handler();
                $call
            }
            ToolInstance::V01(tool) => {
                let $handler = tool.noetl_plugin_handler();
                $call
            }
        }
    };
}

/// A plugin ready to be called.
pub struct LoadedPlugin {
    /// Tool kind (`script`), or `template` for the template engine: the name the policy uses.
    pub name: String,
    /// Where it came from: a path, or `built-in`.
    pub origin: String,
    pub contract: ContractInfo,
    /// `describe()` of a tool plugin.
    pub info: Option<ToolInfo>,
    pub cache: CacheOutcome,
    /// Built into the host, or a plugin file: the built-in defaults follow this, not the name.
    pub(crate) source: PluginSource,
    /// SHA-256 of the component file (hex), what `plugins.NAME.sha256` pins.
    pub(crate) sha256: String,
    pre: Pre,
}

impl LoadedPlugin {
    /// Built into the host, or loaded from a file.
    pub fn source(&self) -> PluginSource {
        self.source
    }

    /// SHA-256 of the component (64 lowercase hex digits).
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

/// What a plugin may use during one call.
#[derive(Clone)]
pub struct CallEnv {
    pub caps: Arc<Capabilities>,
    pub limits: Limits,
}

impl CallEnv {
    /// The grant and limits the policy gives `plugin` (by its name and source), with no
    /// providers attached.
    pub fn from_policy(policy: &Policy, plugin: &LoadedPlugin) -> Self {
        let name = plugin.name.as_str();
        CallEnv {
            caps: Arc::new(Capabilities { plugin: name.into(), grant: policy.grant(name, plugin.source), ..Default::default() }),
            limits: policy.limits(name),
        }
    }
}

impl PluginRuntime {
    pub fn new(engine: HostEngine, cache: ArtifactCache) -> anyhow::Result<Self> {
        // Both contract versions' imports in one linker: their names differ by version
        // (`noetl:plugin/log@0.1.0`, `...@0.2.0`), and 0.1.0's delegate to 0.2.0's.
        let mut tool_linker = Linker::new(&engine.engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut tool_linker)?;
        Tool::add_to_linker::<_, HasSelf<HostState>>(&mut tool_linker, |state| state)?;
        Tool01::add_to_linker::<_, HasSelf<HostState>>(&mut tool_linker, |state| state)?;
        let mut template_linker = Linker::new(&engine.engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut template_linker)?;
        TemplateEngine::add_to_linker::<_, HasSelf<HostState>>(&mut template_linker, |state| state)?;
        let router_linker = router::linker(&engine.engine)?;
        let rejections = RejectionMemory::beside(cache.dir());
        Ok(PluginRuntime { engine, cache, rejections, tool_linker, template_linker, router_linker, preinit: true })
    }

    /// Load plugins that export `init` as they are, without running it and snapshotting
    /// them: each call then does the work `init` would have done (benchmarks compare both).
    pub fn without_preinit(mut self) -> Self {
        self.preinit = false;
        self
    }

    pub fn engine(&self) -> &HostEngine {
        &self.engine
    }

    /// Compile (or load from cache), check the contract, link, and `describe` a plugin.
    /// A file whose `describe` hit a limit before is refused without running it again.
    pub async fn load(&self, bytes: &[u8], origin: &str, policy: &Policy) -> Result<LoadedPlugin, PluginError> {
        // `describe` runs before the kind is known, so under the `defaults` limits.
        let limits = policy.limits(origin);
        let content = ContentHash::of(bytes);
        if let Some(reason) = self.rejections.recall(&content, &limits) {
            return Err(PluginError::Load(reason));
        }
        let (component, cache, contract) = self.compiled(bytes, &content, origin, &limits).await.inspect_err(|error| {
            if error.limit_hit().is_some() {
                self.rejections.remember(&content, &limits, &error.to_string());
            }
        })?;
        let sha256 = content.as_str().to_string();
        let link_error = |e: wasmtime::Error| {
            PluginError::Load(format!("{origin} cannot be linked against this host's contract: {e:#}"))
        };
        let mut plugin = match contract.role {
            Role::Tool => {
                let instance_pre = self.tool_linker.instantiate_pre(&component).map_err(link_error)?;
                let pre = if contract.is_legacy() {
                    Pre::Tool01(ToolPre01::new(instance_pre).map_err(link_error)?)
                } else {
                    Pre::Tool(ToolPre::new(instance_pre).map_err(link_error)?)
                };
                LoadedPlugin { name: String::new(), origin: origin.into(), contract, info: None, cache, source: PluginSource::File, sha256, pre }
            }
            Role::TemplateEngine => {
                let instance_pre = self.template_linker.instantiate_pre(&component).map_err(link_error)?;
                let pre = TemplateEnginePre::new(instance_pre).map_err(link_error)?;
                LoadedPlugin {
                    name: "template".into(),
                    origin: origin.into(),
                    contract,
                    info: None,
                    cache,
                    source: PluginSource::File,
                    sha256,
                    pre: Pre::Template(pre),
                }
            }
        };
        if plugin.contract.role == Role::Tool {
            let env = CallEnv { caps: Arc::new(Capabilities::none(origin)), limits };
            let info = plugin.describe(&env).await.inspect_err(|error| {
                if error.limit_hit().is_some() {
                    self.rejections.remember(&content, &limits, &error.to_string());
                }
            })?;
            validate_kind(&info.kind, origin)?;
            plugin.name = info.kind.clone();
            plugin.info = Some(info);
        }
        Ok(plugin)
    }

    /// Load the built-in plugin `name` ([`crate::builtin::PLUGINS`]), listed with origin
    /// `built-in NAME plugin`: the only plugin the policy's built-in defaults apply to.
    pub async fn load_built_in(&self, name: &str, policy: &Policy) -> Result<LoadedPlugin, PluginError> {
        let (_, bytes) = crate::builtin::PLUGINS
            .iter()
            .find(|(built_in, _)| *built_in == name)
            .ok_or_else(|| PluginError::Load(format!("no built-in plugin is named `{name}`")))?;
        let mut plugin = self.load(bytes, &format!("built-in {name} plugin"), policy).await?;
        plugin.source = PluginSource::BuiltIn;
        Ok(plugin)
    }

    /// The component to instantiate for `bytes` and its contract: compiled (or loaded from
    /// the cache), and when it exports `init`, its pre-initialised snapshot (made once, then
    /// cached; it keeps the original's exports, `init` included, so its contract is the same).
    async fn compiled(
        &self,
        bytes: &[u8],
        content: &ContentHash,
        origin: &str,
        limits: &Limits,
    ) -> Result<(Component, CacheOutcome, ContractInfo), PluginError> {
        let engine = &self.engine.engine;
        let inspect = |component: &Component| contract::inspect(engine, component, origin).map_err(PluginError::Load);
        let key = EntryKey::new(engine, content);
        if self.preinit
            && let Some(snapshot) = self.cache.lookup_form(engine, &key, preinit::CACHE_FORM)
        {
            let contract = inspect(&snapshot)?;
            return Ok((snapshot, CacheOutcome::Hit, contract));
        }
        let (component, cache) = self
            .cache
            .load_keyed(engine, &key, bytes)
            .map_err(|e| PluginError::Load(format!("{origin} is not a valid WebAssembly component: {e:#}")))?;
        let contract = inspect(&component)?;
        if !(contract.init && self.preinit) {
            return Ok((component, cache, contract));
        }
        let snapshot = preinit::snapshot(engine, bytes, &contract.version, origin, limits).await?;
        let component = self.cache.store_form(engine, &key, preinit::CACHE_FORM, &snapshot).map_err(|e| {
            PluginError::Load(format!("the pre-initialised snapshot of {origin} does not compile ({e:#}); report this with the file"))
        })?;
        Ok((component, cache, contract))
    }
}

/// The wall-clock limit of one call.
fn wall(env: &CallEnv) -> Duration {
    Duration::from_millis(env.limits.wall_ms)
}

fn validate_kind(kind: &str, origin: &str) -> Result<(), PluginError> {
    let valid = !kind.is_empty()
        && kind.len() <= 63
        && kind.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(PluginError::Load(format!(
            "{origin} describes its tool kind as `{kind}`; a kind must be 1-63 lowercase letters, digits, `-` or `_`"
        )))
    }
}

/// A fresh store for one call (or one `init`): memory limiter, CPU budget, captured output.
fn new_store(engine: &wasmtime::Engine, env: &CallEnv) -> Store<HostState> {
    let mut store = Store::new(engine, HostState::new(env.caps.clone(), &env.limits));
    store.limiter(|state| &mut state.memory);
    // Checked every epoch tick: stop the guest once its own CPU time (not time spent
    // in host calls) exceeds the budget; otherwise yield so other calls progress.
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|ctx| {
        let cpu = &ctx.data().cpu;
        if cpu.exceeded() {
            return Err(wasmtime::Error::new(CpuBudgetExceeded { budget_ms: cpu.budget().as_millis() }));
        }
        Ok(UpdateDeadline::Yield(1))
    });
    store
}

impl LoadedPlugin {
    /// A fresh store and a fresh instance of this tool (of whichever contract version).
    /// A fresh store for one call, on the engine this plugin was compiled for.
    fn call_store(&self, env: &CallEnv) -> Store<HostState> {
        let engine = match &self.pre {
            Pre::Tool(pre) => pre.engine(),
            Pre::Tool01(pre) => pre.engine(),
            Pre::Template(pre) => pre.engine(),
        };
        new_store(engine, env)
    }

    /// A fresh, never-called instance of this tool, through the export bindings of the
    /// contract version it was built for.
    async fn instantiate_tool(&self, store: &mut Store<HostState>) -> wasmtime::Result<ToolInstance> {
        match &self.pre {
            Pre::Tool(pre) => pre.instantiate_async(store).await.map(ToolInstance::Current),
            Pre::Tool01(pre) => pre.instantiate_async(store).await.map(ToolInstance::V01),
            Pre::Template(_) => unreachable!("callers check the role"),
        }
    }

    fn expect_role(&self, role: Role, function: &str) -> Result<(), PluginError> {
        if self.contract.role == role {
            Ok(())
        } else {
            Err(PluginError::Load(format!("plugin `{}` ({}) has no `{function}` export", self.name, self.origin)))
        }
    }

    async fn describe(&self, env: &CallEnv) -> Result<ToolInfo, PluginError> {
        self.expect_role(Role::Tool, "describe")?;
        let mut store = self.call_store(env);
        let clock = store.data().cpu.clone();
        let result = meter::bounded(&clock, wall(env), async {
            let tool = self.instantiate_tool(&mut store).await?;
            handler!(tool, |handler| handler.call_describe(&mut store).await)
        })
        .await;
        let info = fault::settle(self, "describe", &store, result)?;
        fault::check_size(self, "describe", &env.limits, info.config_schema.len())?;
        Ok(info)
    }

    /// `handler.plan`: validate a step's `tool` config and decide what to run.
    pub async fn plan(&self, env: &CallEnv, config: &str, context: &str) -> Result<Result<PlanResult, ToolError>, PluginError> {
        self.expect_role(Role::Tool, "plan")?;
        let (config, context) = (config.to_owned(), context.to_owned());
        let mut store = self.call_store(env);
        let clock = store.data().cpu.clone();
        let result = meter::bounded(&clock, wall(env), async {
            let tool = self.instantiate_tool(&mut store).await?;
            handler!(tool, |handler| handler.call_plan(&mut store, &config, &context).await)
        })
        .await;
        let planned = fault::settle(self, "plan", &store, result)?;
        fault::check_size(self, "plan", &env.limits, convert::plan_size(&planned))?;
        Ok(planned)
    }

    /// `handler.finish`: shape the response from a job outcome.
    pub async fn finish(
        &self,
        env: &CallEnv,
        config: &str,
        context: &str,
        outcome: &crate::backend::JobOutcome,
    ) -> Result<Result<String, ToolError>, PluginError> {
        self.expect_role(Role::Tool, "finish")?;
        let outcome = convert::outcome_to_wit(outcome);
        let (config, context) = (config.to_owned(), context.to_owned());
        let mut store = self.call_store(env);
        let clock = store.data().cpu.clone();
        let result = meter::bounded(&clock, wall(env), async {
            let tool = self.instantiate_tool(&mut store).await?;
            handler!(tool, |handler| handler.call_finish(&mut store, &config, &context, &outcome).await)
        })
        .await;
        let response = fault::settle(self, "finish", &store, result)?;
        fault::check_size(self, "finish", &env.limits, response.as_ref().map_or(0, String::len))?;
        Ok(response)
    }

    /// `renderer.render`: render a JSON tree of templates (template engine only).
    pub async fn render(
        &self,
        env: &CallEnv,
        tree: &str,
        context: &str,
        options: &RenderOptions,
    ) -> Result<Result<String, RenderError>, PluginError> {
        self.expect_role(Role::TemplateEngine, "render")?;
        let Pre::Template(pre) = &self.pre else { unreachable!("role checked above") };
        let mut store = self.call_store(env);
        let clock = store.data().cpu.clone();
        let result = meter::bounded(&clock, wall(env), async {
            let engine = pre.instantiate_async(&mut store).await?;
            engine.noetl_plugin_renderer().call_render(&mut store, &tree.to_owned(), &context.to_owned(), options).await
        })
        .await;
        let rendered = fault::settle(self, "render", &store, result)?;
        fault::check_size(self, "render", &env.limits, rendered.as_ref().map_or(0, String::len))?;
        Ok(rendered)
    }
}
