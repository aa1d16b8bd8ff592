//! The router component (`plugins/router`, built in): upstream's orchestrator core in the
//! sandbox, so every routing template of a playbook (`when`, `set`, `loop.in`) is
//! rendered under the same CPU, memory and wall-clock bounds as a plugin call, never in
//! the host process.
//!
//! Unlike a tool, the router keeps state between calls: one instance per execution holds
//! the core's `WorkflowState`, advanced by the events the runner appends. An instance is
//! opened for one execution and dropped with it; it is never shared between executions,
//! so no execution sees another's memory; within an execution nothing is secret from the
//! routing that produced it. The alternative, a fresh instance per evaluation handed the
//! state as JSON, parses and writes the whole state at every step: measured side by side
//! (`tests/benches/playbook_drive.rs`, run `tests/benches/runs/2026-12-08-issue23-router.md`)
//! it cost 6525 against 5130 µs of CPU per evaluation on a 100-step playbook and 2425
//! against 967 µs on a 1,000-item loop, where the state grows with every item.
//!
//! Each call gets the policy's `plugins.router.limits` anew (CPU, wall clock, the response
//! cap); the memory limit bounds the instance as a whole. A call that hits a bound, traps
//! or returns too much stops the router for the rest of the execution.

use std::sync::Arc;

use wasmtime::Store;
use wasmtime::component::Linker;

use super::fault::{self, PluginError};
use super::meter::{self, CpuClock};
use super::state::HostState;
use super::{CallEnv, PluginRuntime, new_store, wall};
use crate::bindings::router::{Router, RouterPre};
use crate::cache::{ContentHash, EntryKey};
use crate::capability::Capabilities;
use crate::policy::Policy;

/// The router's name in the policy (`plugins.router.limits`) and in its errors.
pub const ROUTER: &str = "router";

/// What the router was loaded from, for messages.
const ORIGIN: &str = "built-in router";

/// The compiled router, ready to open executions.
pub struct LoadedRouter {
    pre: RouterPre<HostState>,
}

/// A linker for the router's imports: WASI only (the core logs through `tracing`, which
/// has no subscriber in the guest, and reads no file, socket or variable).
pub(super) fn linker(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    Ok(linker)
}

impl PluginRuntime {
    /// Compile (or load from the cache) and link the router component `bytes`.
    pub fn load_router(&self, bytes: &[u8]) -> Result<LoadedRouter, PluginError> {
        let engine = &self.engine.engine;
        let key = EntryKey::new(engine, &ContentHash::of(bytes));
        let (component, _) = self
            .cache
            .load_keyed(engine, &key, bytes)
            .map_err(|e| PluginError::Load(format!("the {ORIGIN} does not compile (a build problem): {e:#}")))?;
        let link = |e: wasmtime::Error| PluginError::Load(format!("the {ORIGIN} cannot be linked (a build problem): {e:#}"));
        let instance_pre = self.router_linker.instantiate_pre(&component).map_err(link)?;
        Ok(LoadedRouter { pre: RouterPre::new(instance_pre).map_err(link)? })
    }
}

impl LoadedRouter {
    /// A fresh instance routing `playbook` (the core's `Playbook` JSON) for execution
    /// `execution_id`, from the start or from `state` (see [`RouterSession::state`]), under
    /// the policy's `plugins.router.limits`. It imports no capability, so it has no grant.
    pub async fn open(&self, policy: &Policy, playbook: &str, execution_id: i64, state: Option<&str>) -> Result<RouterSession, PluginError> {
        let env = &CallEnv { caps: Arc::new(Capabilities::none(ROUTER)), limits: policy.limits(ROUTER) };
        let mut store = new_store(self.pre.engine(), env);
        let mut stopped = None;
        let (playbook, state) = (playbook.to_owned(), state.map(str::to_owned));
        let clock = begin(&mut store, env, &stopped)?;
        let result = meter::bounded(&clock, wall(env), async {
            let router = self.pre.instantiate_async(&mut store).await?;
            let opened = router.noetl_router_routing().call_open(&mut store, &playbook, execution_id, state.as_ref()).await?;
            Ok((router, opened))
        })
        .await;
        match settle(&store, &mut stopped, "open", result)? {
            (router, Ok(())) => Ok(RouterSession { store, router, env: env.clone(), stopped }),
            (_, Err(message)) => Err(PluginError::Load(format!("the {ORIGIN} refused the playbook (a host bug): {message}"))),
        }
    }
}

/// One execution's router instance.
pub struct RouterSession {
    store: Store<HostState>,
    router: Router,
    env: CallEnv,
    /// Why the router stopped, once a call failed: it is not called again.
    stopped: Option<String>,
}

impl RouterSession {
    /// Apply `events` (the core's `Event`s as JSON) and evaluate for `trigger`: the core's
    /// `OrchestrationResult` JSON, or (inner error) the core's own error, such as a routing
    /// template that does not render.
    pub async fn advance(&mut self, events: &[String], latest: Option<&str>, trigger: Option<&str>) -> Result<Result<String, String>, PluginError> {
        let clock = begin(&mut self.store, &self.env, &self.stopped)?;
        let call = self.router.noetl_router_routing().call_advance(&mut self.store, events, latest, trigger);
        let result = meter::bounded(&clock, wall(&self.env), call).await;
        let routed = settle(&self.store, &mut self.stopped, "advance", result)?;
        let size = routed.as_ref().map_or_else(String::len, String::len);
        fault::check_size_as(ORIGIN, ROUTER, "advance", &self.env.limits, size).inspect_err(|error| self.stopped = Some(error.to_string()))?;
        Ok(routed)
    }

    /// The state as JSON, for [`LoadedRouter::open`] on a fresh instance.
    pub async fn state(&mut self) -> Result<String, PluginError> {
        let clock = begin(&mut self.store, &self.env, &self.stopped)?;
        let call = self.router.noetl_router_routing().call_state(&mut self.store);
        let result = meter::bounded(&clock, wall(&self.env), call).await;
        settle(&self.store, &mut self.stopped, "state", result)
    }
}

/// Before a call: refuse once the router has stopped; otherwise a fresh CPU budget (the
/// clock the call is metered on) and a fresh epoch deadline.
fn begin(store: &mut Store<HostState>, env: &CallEnv, stopped: &Option<String>) -> Result<CpuClock, PluginError> {
    if let Some(reason) = stopped {
        return Err(PluginError::Load(format!("the router stopped earlier in this execution: {reason}")));
    }
    let clock = CpuClock::new(std::time::Duration::from_millis(env.limits.cpu_ms));
    store.data_mut().cpu = clock.clone();
    store.set_epoch_deadline(1);
    Ok(clock)
}

/// After a call: its value, or the failure explained with the store's meters, which also
/// stops the router (a trapped or cancelled instance is not entered again).
fn settle<T>(store: &Store<HostState>, stopped: &mut Option<String>, function: &str, result: wasmtime::Result<T>) -> Result<T, PluginError> {
    fault::settle_as(ORIGIN, ROUTER, function, store, result).inspect_err(|error| *stopped = Some(error.to_string()))
}
