//! The process-wide wasmtime engine: component model, async, epoch interruption for CPU
//! deadlines, and the pooling allocator when the address space allows it.

use std::time::Duration;

use anyhow::Context as _;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances. A plugin's CPU budget is checked at this granularity.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// The largest linear memory any plugin may be granted (policy caps are checked against it).
pub const MAX_PLUGIN_MEMORY_BYTES: u64 = 4 << 30;

/// Bytes of each pooled linear memory kept resident between calls (see `pool_config`).
const KEEP_RESIDENT_BYTES: usize = 2 << 20;

/// Guest stack limit: deep recursion traps with a stack-overflow error well before it
/// could touch the host's own stack.
const MAX_WASM_STACK: usize = 1 << 20;

/// Which instance allocator the engine ended up with (reported by `plugins list`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocator {
    Pooling,
    OnDemand,
}

/// The engine plus the facts about how it was built.
#[derive(Clone)]
pub struct HostEngine {
    pub engine: Engine,
    pub allocator: Allocator,
}

impl HostEngine {
    /// Build the engine, probing for the pooling allocator first (it reserves a large
    /// virtual-address range up front; where that is refused, e.g. under a low
    /// `ulimit -v`, we fall back to on-demand allocation rather than failing).
    pub fn new() -> anyhow::Result<Self> {
        Self::build(true)
    }

    /// An engine that never uses the pooling allocator (benchmarks compare both).
    pub fn on_demand() -> anyhow::Result<Self> {
        Self::build(false)
    }

    fn build(try_pooling: bool) -> anyhow::Result<Self> {
        let pooled = if try_pooling && std::env::var_os("NOETL_NO_POOLING").is_none() {
            Engine::new(base_config().allocation_strategy(InstanceAllocationStrategy::Pooling(pool_config()))).ok()
        } else {
            None
        };
        let (engine, allocator) = match pooled {
            Some(engine) => (engine, Allocator::Pooling),
            None => (
                Engine::new(&base_config()).map_err(anyhow::Error::from).context("creating the wasmtime engine")?,
                Allocator::OnDemand,
            ),
        };
        start_epoch_ticker(&engine);
        Ok(HostEngine { engine, allocator })
    }
}

fn base_config() -> Config {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .max_wasm_stack(MAX_WASM_STACK)
        .cranelift_opt_level(wasmtime::OptLevel::Speed);
    config
}

/// Slots for concurrently live plugin instances. Each call gets a fresh instance that is
/// dropped when the call ends, so this bounds concurrent calls, not plugins.
fn pool_config() -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(1000)
        .total_core_instances(2000)
        .total_memories(2000)
        .total_tables(2000)
        .max_memories_per_component(4)
        .max_tables_per_component(4)
        .max_core_instances_per_component(20)
        .max_memory_size(MAX_PLUGIN_MEMORY_BYTES as usize)
        // A fresh instance per call would otherwise page-fault its whole initial memory in
        // again and `madvise` it away afterwards (measured: as much kernel time as guest
        // time). Keeping the first pages of a reused slot resident and zeroing them is cheaper.
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(64 << 10)
        .async_stack_keep_resident(64 << 10)
        // On where the kernel has `PAGEMAP_SCAN` (Linux 6.7+): a slot's reset then rewrites only
        // the pages the last call wrote instead of the whole kept-resident prefix (BENCHMARKS.md:
        // drop ~6 µs with the scan, ~19 without). It was off on wasmtime 48 for security: that
        // scan reset only dirty pages that were resident (a swapped-out dirty page kept the
        // previous call's data, secrets included, for the next instance in the slot) and it
        // stopped after 32 dirty regions. wasmtime 50 (its PR 14357, in the 50.0.1 this host
        // pins) scans written pages whether resident or swapped and resumes the scan until the
        // end of memory or the keep-resident budget, decommitting whatever it did not reset.
        .pagemap_scan(Enabled::Auto);
    pool
}

/// Advance the epoch forever from a background thread; the thread ends with the engine.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("noetl-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawning the epoch thread");
}
