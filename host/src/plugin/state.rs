//! The data of one call's `Store`: a minimal WASI context (no files, no network, no
//! environment), captured output, resource meters and the capabilities granted.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::meter::{CpuClock, HostCallStart, MemoryLimiter};
use super::output::TailBuffer;
use crate::capability::Capabilities;
use crate::policy::Limits;

/// How much of a plugin's stderr (and stdout) is kept for error messages.
const CAPTURED_OUTPUT_BYTES: usize = 16 << 10;

pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) cpu: CpuClock,
    pub(crate) memory: MemoryLimiter,
    pub(crate) stderr: TailBuffer,
    pub(crate) caps: Arc<Capabilities>,
    /// The plugin's `max_response_mib`: also the cap on an `http` response body.
    pub(crate) max_response_bytes: u64,
}

impl HostState {
    pub fn new(caps: Arc<Capabilities>, limits: &Limits) -> Self {
        let stderr = TailBuffer::new(CAPTURED_OUTPUT_BYTES);
        // Plugins have no business printing to stdout (it may be our JSON protocol); what
        // they print is kept with stderr for error messages.
        let wasi = WasiCtx::builder().stdout(stderr.clone()).stderr(stderr.clone()).build();
        HostState {
            wasi,
            table: ResourceTable::new(),
            cpu: CpuClock::new(std::time::Duration::from_millis(limits.cpu_ms)),
            memory: MemoryLimiter::new(limits.memory_bytes),
            stderr,
            caps,
            max_response_bytes: limits.max_response_bytes,
        }
    }

    /// What a WASI interface `wasi:package/name` leaves a plugin in the context [`HostState::new`]
    /// builds, when that is less than WASI promises; `None` when it works as WASI defines it
    /// (clocks, random, io, stdout and stderr, which are captured for error messages).
    pub fn wasi_restriction(interface: &str) -> Option<&'static str> {
        // WasiCtx's defaults: every socket address refused, name lookup off, no preopened
        // directory, no environment variables or arguments, empty stdin.
        if interface.starts_with("wasi:sockets/") {
            Some("no network (every address is refused); use the fetch capability")
        } else if interface.starts_with("wasi:filesystem/") {
            Some("no directory is opened; use the files capability")
        } else if interface == "wasi:cli/environment" {
            Some("no environment variables or arguments; read settings from config")
        } else if interface == "wasi:cli/stdin" {
            Some("stdin is empty")
        } else {
            None
        }
    }

    /// Start timing a host call; pass the result to [`HostState::end_host_call`].
    pub(crate) fn begin_host_call(&self) -> HostCallStart {
        self.cpu.host_call_started()
    }

    /// Time spent in a host call does not count against the guest's CPU budget.
    pub(crate) fn end_host_call(&mut self, started: HostCallStart) {
        self.cpu.host_call_ended(started);
    }
}

/// The shared `types` interface has no functions; its host trait is empty.
impl crate::bindings::types::Host for HostState {}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}
