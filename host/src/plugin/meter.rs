//! Per-call resource accounting: guest CPU time, the call's wall-clock limit and
//! linear-memory growth. Each records *why* a call was stopped so the error can say so.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use wasmtime::ResourceLimiter;

/// Guest CPU clock for one call: the time the call's future spends being polled (running
/// guest code), minus the polled time spent inside granted capability calls. A call that
/// is suspended, because the guest waits on a WASI clock (`sleep`) or a capability call
/// awaits the Kubernetes API or an HTTP fetch, is not polled and uses none of its budget;
/// the wall-clock limit bounds those waits. Checked on every epoch tick by the store's
/// deadline callback; shared (cheaply cloned) between the store and the call's future.
#[derive(Debug, Clone)]
pub struct CpuClock {
    state: Arc<Mutex<ClockState>>,
    budget: Duration,
}

#[derive(Debug, Default)]
struct ClockState {
    /// Polled time of finished polls.
    polled: Duration,
    /// Start of the poll in progress, if any.
    polling_since: Option<Instant>,
    /// Polled time spent inside capability calls.
    in_host: Duration,
}

impl ClockState {
    fn polled_now(&self) -> Duration {
        self.polled + self.polling_since.map_or(Duration::ZERO, |since| since.elapsed())
    }
}

/// Where a capability call began on the guest's clock (see [`CpuClock::host_call_started`]).
#[derive(Debug, Clone, Copy)]
pub struct HostCallStart(Duration);

impl CpuClock {
    pub fn new(budget: Duration) -> Self {
        CpuClock { state: Arc::default(), budget }
    }

    fn state(&self) -> MutexGuard<'_, ClockState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `call`, counting the time spent polling it.
    pub async fn meter<F: Future>(&self, call: F) -> F::Output {
        let mut call = std::pin::pin!(call);
        std::future::poll_fn(|cx| {
            self.state().polling_since = Some(Instant::now());
            let poll = call.as_mut().poll(cx);
            let mut state = self.state();
            if let Some(since) = state.polling_since.take() {
                state.polled += since.elapsed();
            }
            poll
        })
        .await
    }

    pub fn host_call_started(&self) -> HostCallStart {
        HostCallStart(self.state().polled_now())
    }

    /// The polled part of a capability call does not count as guest time.
    pub fn host_call_ended(&self, started: HostCallStart) {
        let mut state = self.state();
        let spent = state.polled_now().saturating_sub(started.0);
        state.in_host += spent;
    }

    pub fn guest_time(&self) -> Duration {
        let state = self.state();
        state.polled_now().saturating_sub(state.in_host)
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
#[error("used more than its CPU budget of {budget_ms} ms of guest execution")]
pub struct CpuBudgetExceeded {
    pub budget_ms: u128,
}

/// Raised when a call is still not done at its wall-clock limit.
#[derive(Debug, thiserror::Error)]
#[error(
    "was still running at its wall-clock limit of {wall_ms} ms (it had used {cpu_ms} ms of its {budget_ms} ms CPU \
     budget; the rest was waiting: a sleep, a clock or a capability call)"
)]
pub struct WallClockExceeded {
    pub wall_ms: u64,
    pub cpu_ms: u128,
    pub budget_ms: u128,
}

/// Runs one call under its wall-clock limit, metering its CPU time on `clock`. At the limit
/// the call's future is dropped wherever it is (guest code, a WASI wait, a capability
/// call), which cancels it; the store it ran in must not be reused.
pub async fn bounded<T>(clock: &CpuClock, wall: Duration, call: impl Future<Output = wasmtime::Result<T>>) -> wasmtime::Result<T> {
    match tokio::time::timeout(wall, clock.meter(call)).await {
        Ok(result) => result,
        Err(_) => Err(wasmtime::Error::new(WallClockExceeded {
            wall_ms: u64::try_from(wall.as_millis()).unwrap_or(u64::MAX),
            cpu_ms: clock.guest_time().as_millis(),
            budget_ms: clock.budget().as_millis(),
        })),
    }
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

    /// A future that is polled for `busy` and then pending until `idle` has passed.
    async fn busy_then_idle(busy: Duration, idle: Duration) {
        let started = Instant::now();
        while started.elapsed() < busy {
            std::hint::spin_loop();
        }
        tokio::time::sleep(idle).await;
    }

    #[tokio::test]
    async fn waiting_is_not_guest_time() {
        let clock = CpuClock::new(Duration::from_millis(300));
        clock.meter(busy_then_idle(Duration::from_millis(1), Duration::from_millis(600))).await;
        assert!(!clock.exceeded(), "a suspended call must not use CPU budget: {:?}", clock.guest_time());
        clock.meter(busy_then_idle(Duration::from_millis(320), Duration::ZERO)).await;
        assert!(clock.exceeded(), "polled time must count: {:?}", clock.guest_time());
    }

    #[tokio::test]
    async fn host_call_time_is_not_guest_time() {
        let clock = CpuClock::new(Duration::from_millis(50));
        let inner = clock.clone();
        clock
            .meter(async move {
                let started = inner.host_call_started();
                busy_then_idle(Duration::from_millis(80), Duration::ZERO).await;
                inner.host_call_ended(started);
            })
            .await;
        assert!(!clock.exceeded(), "time spent in host calls must not count: {:?}", clock.guest_time());
    }

    #[tokio::test]
    async fn the_wall_clock_limit_stops_a_waiting_call_and_says_so() {
        let clock = CpuClock::new(Duration::from_millis(2000));
        let forever = async {
            tokio::time::sleep(Duration::from_secs(900)).await;
            Ok(())
        };
        let error = bounded(&clock, Duration::from_millis(100), forever).await.unwrap_err();
        let wall = error.downcast_ref::<WallClockExceeded>().expect("a wall-clock error");
        assert_eq!((wall.wall_ms, wall.budget_ms), (100, 2000));
        assert!(error.to_string().contains("wall-clock limit of 100 ms"), "{error}");
    }

    #[test]
    fn memory_growth_past_the_limit_is_refused_and_remembered() {
        let mut limiter = MemoryLimiter::new(1 << 20);
        assert!(limiter.memory_growing(0, 1 << 20, None).unwrap());
        assert!(!limiter.memory_growing(1 << 20, 2 << 20, None).unwrap());
        assert_eq!(limiter.refused(), Some(2 << 20));
    }
}
