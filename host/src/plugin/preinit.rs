//! Pre-initialisation: a plugin that exports the optional `init` is run once, when the
//! host first loads it, and snapshotted (Wizer) right after `init` returns. Every call then
//! instantiates the snapshot, so what `init` built (a template environment, tables,
//! parsed static data) is already in memory instead of being rebuilt by every call. The
//! snapshot is cached with the compiled artifacts, so this happens once per plugin file.
//!
//! What keeps a snapshot from carrying anything of a call or a secret:
//! - `init` takes no argument and runs with no import but a constant hash-map seed: every
//!   other WASI function and every capability traps, so nothing it stores can come from a
//!   config, a secret, a file, the environment, the clock or randomness;
//! - the snapshot is taken before any call; each call still gets a fresh instance of it,
//!   and whatever a call writes dies with that instance (the hostile tests check both);
//! - `init` runs under the CPU, memory and wall-clock limits `describe` gets.

use std::sync::Arc;

use wasmtime::component::{Component, Instance, Lift, Linker, WasmList};
use wasmtime::{Engine, Store};
use wasmtime_wizer::{ComponentInstanceState, Wizer};

use super::state::HostState;
use super::{CallEnv, PluginError, fault, meter, new_store, wall};
use crate::capability::Capabilities;
use crate::policy::Limits;

/// The cache form a snapshot is stored under, next to the component it was made from.
pub(super) const CACHE_FORM: &str = "preinit";

/// Run `init` of the component `bytes` (built for contract `version`) and return the
/// component with the memory and globals `init` left, as a new component.
pub(super) async fn snapshot(
    engine: &Engine,
    bytes: &[u8],
    version: &semver::Version,
    origin: &str,
    limits: &Limits,
) -> Result<Vec<u8>, PluginError> {
    let unusable = |what: &str, error: wasmtime::Error| {
        PluginError::Load(format!(
            "{origin} exports `init`, but the host could not pre-initialise it ({what}: {error:#}); \
             rebuild the plugin without the `init` export, or report this with the file"
        ))
    };
    let mut wizer = Wizer::new();
    // Without it the rewritten component is invalid: its export list still names `init`.
    wizer.keep_init_func(true);
    let (context, instrumented) = wizer.instrument_component(bytes).map_err(|e| unusable("instrumenting", e))?;
    let component = Component::new(engine, &instrumented).map_err(|e| unusable("compiling", e))?;
    let linker = init_linker(engine, &component).map_err(|e| unusable("linking", e))?;

    let env = CallEnv { caps: Arc::new(Capabilities::none(origin)), limits: limits.clone() };
    let mut store = new_store(engine, &env);
    let clock = store.data().cpu.clone();
    let interface = format!("noetl:plugin/init@{version}");
    let ran = meter::bounded(&clock, wall(&env), async {
        let instance = linker.instantiate_async(&mut store, &component).await?;
        let init = instance
            .get_export_index(&mut store, None, &interface)
            .and_then(|index| instance.get_export_index(&mut store, Some(&index), "init"))
            .ok_or_else(|| wasmtime::format_err!("it has no `{interface}#init` function"))?;
        instance.get_typed_func::<(), ()>(&mut store, init)?.call_async(&mut store, ()).await?;
        Ok(instance)
    })
    .await;
    let instance = fault::settle_as(origin, "", "init", &store, ran).map_err(explain_import_trap)?;

    let mut state = SnapshotReader { store: &mut store, instance, failure: None };
    let snapshot = wizer.snapshot_component(&context, &mut state).await.map_err(|e| unusable("snapshotting", e))?;
    match state.failure {
        Some(error) => Err(unusable("reading its state", error)),
        None => Ok(snapshot),
    }
}

/// The hash-map seed `init` gets instead of the host's randomness. Rust's `HashMap` asks
/// for one (`wasi:random/insecure-seed`, which WASI defines as a guard against collision
/// attacks, not as a secret) the first time a map is built, and libraries build maps in
/// constructors (minijinja's `Environment::new` does). A constant keeps the snapshot the
/// same on every host and every load and carries nothing of the machine. (The maps calls
/// build afterwards derive their keys from it as well; a call's CPU limit is what bounds
/// an input crafted to collide.)
const INIT_HASH_SEED: (u64, u64) = (0x6e6f_6574_6c2d_696e, 0x6974_2d73_6565_6421);

/// Every import of `component` traps, except the constant hash seed.
fn init_linker(engine: &Engine, component: &Component) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::<HostState>::new(engine);
    let imports: Vec<String> = component.component_type().imports(engine).map(|(name, _)| name.to_string()).collect();
    // Defined under the exact name imported (`@0.2.9`, ...): the trapping stubs below would
    // otherwise be added for that version next to ours.
    for name in imports.iter().filter(|name| name.starts_with("wasi:random/insecure-seed@")) {
        linker.instance(name)?.func_wrap("insecure-seed", |_, ()| Ok((INIT_HASH_SEED,)))?;
    }
    linker.define_unknown_imports_as_traps(component)?;
    Ok(linker)
}

/// A trap from an import `init` called names the import; say why that is refused.
fn explain_import_trap(error: PluginError) -> PluginError {
    match error {
        PluginError::Fault { plugin, function, reason, stderr, limit } if reason.contains("unknown import") => {
            PluginError::Fault {
                plugin,
                function,
                reason: format!(
                    "{reason}. `init` may not call WASI or any capability: what it builds is shared by \
                     every call, so it must not depend on files, the environment, the clock, \
                     randomness, a config or a secret; move that work into the call"
                ),
                stderr,
                limit,
            }
        }
        other => other,
    }
}

/// Reads the state Wizer's instrumentation exports (memories and globals, through
/// `wasmtime:wizer/access` functions). Those functions are generated by Wizer, not the
/// plugin, and only copy state out; should one fail anyway, the first error is kept and
/// the snapshot refused.
struct SnapshotReader<'a> {
    store: &'a mut Store<HostState>,
    instance: Instance,
    failure: Option<wasmtime::Error>,
}

impl SnapshotReader<'_> {
    async fn call<R: Lift + Send + Sync + 'static>(&mut self, interface: &str, function: &str) -> Option<R> {
        if self.failure.is_some() {
            return None;
        }
        let store = &mut *self.store;
        let instance = self.instance;
        let called = async {
            let index = instance
                .get_export_index(&mut *store, None, interface)
                .and_then(|index| instance.get_export_index(&mut *store, Some(&index), function))
                .ok_or_else(|| wasmtime::format_err!("no export `{interface}#{function}`"))?;
            let (value,) = instance.get_typed_func::<(), (R,)>(&mut *store, index)?.call_async(&mut *store, ()).await?;
            Ok::<R, wasmtime::Error>(value)
        };
        called.await.map_err(|error| self.failure = Some(error)).ok()
    }
}

impl ComponentInstanceState for SnapshotReader<'_> {
    async fn call_func_ret_list_u8(&mut self, instance: &str, func: &str, contents: impl FnOnce(&[u8]) + Send) {
        match self.call::<WasmList<u8>>(instance, func).await {
            Some(list) => contents(list.as_le_slice(&*self.store)),
            None => contents(&[]),
        }
    }

    async fn call_func_ret_s32(&mut self, instance: &str, func: &str) -> i32 {
        self.call(instance, func).await.unwrap_or_default()
    }

    async fn call_func_ret_s64(&mut self, instance: &str, func: &str) -> i64 {
        self.call(instance, func).await.unwrap_or_default()
    }

    async fn call_func_ret_f32(&mut self, instance: &str, func: &str) -> u32 {
        self.call::<f32>(instance, func).await.unwrap_or_default().to_bits()
    }

    async fn call_func_ret_f64(&mut self, instance: &str, func: &str) -> u64 {
        self.call::<f64>(instance, func).await.unwrap_or_default().to_bits()
    }
}
