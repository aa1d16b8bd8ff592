//! The process-wide wasmtime engine: component model, async, epoch interruption for CPU
//! deadlines, and the pooling allocator when the address space allows it.

use std::time::Duration;

use anyhow::Context as _;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances. A plugin's CPU budget is checked at this granularity.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// The largest linear memory any plugin may be granted (policy caps are checked against it).
pub const MAX_PLUGIN_MEMORY_BYTES: u64 = 4 << 30;

/// Bytes of each pooled linear memory kept resident between calls: none. Kept pages are
/// reset by copying (`memset` / `memcpy` from the image), and without userfaultfd
/// write-protection the kernel's page-map scan reports every private page still mapped as
/// written, so a page once touched in a slot is rewritten on every later reset; the pages a
/// call wrote are decommitted instead and fault in again, zeroed, when the next call
/// touches them.
///
/// Measured side by side with one binary, settings interleaved (2026-11-30, release,
/// criterion medians; `bbf19db` is that code with these defaults): the trivial guest's
/// `plan` took 129.1 / 117.9 µs at 2 MiB with the scan on (the old default), 85.5 / 76.8 µs
/// at 256 KiB, 80.7 / 47.0 / 52.1 µs at 0 with the scan off. Keep-resident 0 is the
/// clearest win for the trivial guest (about −45 %), helps the script plan (about −20 %)
/// and is neutral to slightly better for the template render.
/// Run: `tests/benches/runs/2026-11-30-issue15-second-pass.md`.
const KEEP_RESIDENT_BYTES: usize = 0;

/// The pool's reset does not use the kernel's page-map scan (`PAGEMAP_SCAN`, Linux 6.7+),
/// so every reset takes wasmtime's plain path: the kept bytes are rewritten and everything
/// else is decommitted. The scan selects pages by the kernel's "written" flag, which is only
/// meaningful in ranges registered for userfaultfd write-protection, and wasmtime registers
/// none. Outside such ranges, kernels so far report every present page as written (correct,
/// but no cheaper: see [`KEEP_RESIDENT_BYTES`]); after the 2026 change "mm/pagemap: add
/// PAGE_IS_ACCESSED for RWP tracking" they report none, which would leave a call's pages
/// unreset for the next call in the slot. (On wasmtime 48 it was off for another gap,
/// swapped-out pages; wasmtime 50 fixed that one.)
///
/// Measured with keep-resident 0 (2026-11-30, release, same runs as above): no measurable
/// difference on or off; the trivial guest's `plan` took 74.9 / 60.4 / 73.5 / 57.0 / 55.3 µs
/// with the scan on, 80.7 / 47.0 / 52.1 µs with it off.
/// Run: `tests/benches/runs/2026-11-30-issue15-second-pass.md`.
const PAGEMAP_SCAN: Enabled = Enabled::No;

/// Benchmark-only overrides of the pool's reset settings, read once when the engine is
/// built so that a benchmark can compare settings with one binary in one run:
/// `NOETL_KEEP_RESIDENT_KIB` (KiB kept resident; default [`KEEP_RESIDENT_BYTES`]) and
/// `NOETL_PAGEMAP_SCAN` (`1` turns the scan on; default [`PAGEMAP_SCAN`]). Only in builds
/// with the `bench-knobs` feature (off by default); otherwise the environment is not read.
/// How to run a sweep: `BENCHMARKS.md`, "Benchmark-only knobs".
#[cfg(feature = "bench-knobs")]
const KEEP_RESIDENT_ENV: &str = "NOETL_KEEP_RESIDENT_KIB";
#[cfg(feature = "bench-knobs")]
const PAGEMAP_SCAN_ENV: &str = "NOETL_PAGEMAP_SCAN";

/// Whether this build reads the benchmark-only overrides above (the `bench-knobs` feature).
pub const BENCH_KNOBS: bool = cfg!(feature = "bench-knobs");

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
        .linear_memory_keep_resident(keep_resident_bytes())
        .table_keep_resident(64 << 10)
        .async_stack_keep_resident(64 << 10)
        .pagemap_scan(pagemap_scan());
    pool
}

fn keep_resident_bytes() -> usize {
    #[cfg(feature = "bench-knobs")]
    if let Some(kib) = std::env::var(KEEP_RESIDENT_ENV).ok().and_then(|kib| kib.parse::<usize>().ok()) {
        return kib << 10;
    }
    KEEP_RESIDENT_BYTES
}

fn pagemap_scan() -> Enabled {
    #[cfg(feature = "bench-knobs")]
    if let Ok(scan) = std::env::var(PAGEMAP_SCAN_ENV) {
        return if scan == "1" { Enabled::Auto } else { Enabled::No };
    }
    PAGEMAP_SCAN
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
