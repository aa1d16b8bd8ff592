//! Per-call resource accounting: guest CPU time (excluding time spent in host calls) and
//! linear-memory growth. Both record *why* a call was stopped so the error can say so.

use std::time::{Duration, Instant};

use wasmtime::ResourceLimiter;

/// Guest CPU clock for one call. Wall time since the call began minus the time spent
/// inside host capability calls: a plugin waiting for the Kubernetes API is not burning
/// its budget. Checked on every epoch tick by the store's deadline callback.
#[derive(Debug)]
pub struct CpuClock {
    started: Instant,
    in_host: Duration,
    budget: Duration,
}

impl CpuClock {
    pub fn new(budget: Duration) -> Self {
        CpuClock { started: Instant::now(), in_host: Duration::ZERO, budget }
    }

    /// Record time the guest spent waiting on a host call.
    pub fn add_host_time(&mut self, spent: Duration) {
        self.in_host += spent;
    }

    pub fn guest_time(&self) -> Duration {
        self.started.elapsed().saturating_sub(self.in_host)
    }

    pub fn exceeded(&self) -> bool {
        self.guest_time() > self.budget
    }

    pub fn budget(&self) -> Duration {
        self.budget
    }
}

/// Raised from the epoch callback when a call used up its CPU budget.
#[derive(Debug, thiserror::Error)]
#[error("used more than its CPU budget of {budget_ms} ms")]
pub struct CpuBudgetExceeded {
    pub budget_ms: u128,
}

/// Caps linear memory (and table) growth of one plugin instance. Growth past the cap is
/// refused (the guest sees an allocation failure, which aborts a Rust guest) and remembered,
/// so the host can report the memory limit rather than a bare `unreachable` trap.
#[derive(Debug)]
pub struct MemoryLimiter {
    limit: usize,
    refused: Option<usize>,
}

/// Tables hold function references; a million is far beyond any real plugin.
const MAX_TABLE_ELEMENTS: usize = 1_000_000;

impl MemoryLimiter {
    pub fn new(limit_bytes: u64) -> Self {
        MemoryLimiter { limit: usize::try_from(limit_bytes).unwrap_or(usize::MAX), refused: None }
    }

    /// The size (bytes) of the first growth that was refused, if any.
    pub fn refused(&self) -> Option<usize> {
        self.refused
    }

    pub fn limit(&self) -> usize {
        self.limit
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.refused.get_or_insert(desired);
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_time_is_not_guest_time() {
        let mut clock = CpuClock::new(Duration::from_millis(50));
        std::thread::sleep(Duration::from_millis(80));
        assert!(clock.exceeded());
        clock.add_host_time(Duration::from_millis(80));
        assert!(!clock.exceeded(), "time spent in host calls must not count");
    }

    #[test]
    fn memory_growth_past_the_limit_is_refused_and_remembered() {
        let mut limiter = MemoryLimiter::new(1 << 20);
        assert!(limiter.memory_growing(0, 1 << 20, None).unwrap());
        assert!(!limiter.memory_growing(1 << 20, 2 << 20, None).unwrap());
        assert_eq!(limiter.refused(), Some(2 << 20));
    }
}
