//! Instantiation and teardown off a call's critical path (issue 15, lever 4).
//!
//! Each plugin keeps one fresh, never-called instance ready: its *spare*. A call takes it
//! (or instantiates one itself when there is none), and a background task makes the next.
//! Every call still runs in an instance nothing ran in before:
//! - a spare's store holds no capability and no call's data: it is made with
//!   `Capabilities::none` and only the plugin's limits;
//! - instantiating a component runs no guest code unless a core module has a start
//!   function; one that has runs bounded by the plugin's CPU and wall-clock limits, still
//!   with nothing granted and no call's input to see;
//! - the call's capabilities, grant, limits, fresh meters and output capture are attached
//!   when it is taken ([`HostState::attach`]), and a spare whose memory is already over the
//!   call's memory limit is thrown away, so the call instantiates under its own limiter and
//!   gets the usual memory error.
//!
//! Used stores are dropped on a thread of their own ([`retire`]): dropping one resets its
//! pooled memory slot, which is work the caller need not wait for. At most a few wait for
//! that thread; past that the caller drops its own, so retired stores never hold more than
//! a handful of the pool's slots.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};

use wasmtime::Store;

use super::CallEnv;
use super::state::HostState;

/// A fresh instance in its own store. `I` is the instance type of the plugin's role.
pub(super) struct Ready<I> {
    pub store: Store<HostState>,
    pub instance: I,
}

/// One plugin's spare instance slot.
pub(super) struct Spare<I> {
    ready: Mutex<Option<Ready<I>>>,
    /// A refill is under way (at most one per plugin).
    filling: AtomicBool,
    /// Calls that ran on a spare (for tests and benchmarks).
    served: AtomicU64,
}

impl<I: Send + 'static> Spare<I> {
    pub fn new() -> Arc<Self> {
        Arc::new(Spare { ready: Mutex::new(None), filling: AtomicBool::new(false), served: AtomicU64::new(0) })
    }

    /// The spare, made ready for a call under `env`; `None` when there is none, or when it
    /// does not fit `env`'s memory limit (then it is retired).
    pub fn take(&self, env: &CallEnv) -> Option<Ready<I>> {
        let mut ready = self.ready.lock().unwrap_or_else(|p| p.into_inner()).take()?;
        if ready.store.data().memory.granted() as u64 > env.limits.memory_bytes {
            retire(ready.store);
            return None;
        }
        ready.store.data_mut().attach(env);
        // The deadline counts from now, not from when the spare was made.
        ready.store.set_epoch_deadline(1);
        self.served.fetch_add(1, Ordering::Relaxed);
        Some(ready)
    }

    /// Makes the next spare on the current tokio runtime unless one is ready or being made.
    /// `make` instantiates (bounded by the plugin's limits); a failure leaves the slot
    /// empty, and the next call instantiates for itself and reports the error.
    pub fn refill<F>(self: &Arc<Self>, make: F)
    where
        F: Future<Output = wasmtime::Result<Ready<I>>> + Send + 'static,
    {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        if self.is_ready() || self.filling.swap(true, Ordering::AcqRel) {
            return;
        }
        let slot = Arc::clone(self);
        runtime.spawn(async move {
            if let Ok(ready) = make.await {
                *slot.ready.lock().unwrap_or_else(|p| p.into_inner()) = Some(ready);
            }
            slot.filling.store(false, Ordering::Release);
        });
    }

    pub fn is_ready(&self) -> bool {
        self.ready.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }
}

/// How many used stores may wait for the dropping thread. Each holds its pooled slots
/// until it is dropped, so the queue must stay short: when calls come faster than the
/// thread drops, the caller drops its store itself (the pool would run out otherwise).
const RETIRE_QUEUE: usize = 8;

/// Drops a used store off the caller's path, on the host's store-dropping thread; inline
/// when that thread is behind by [`RETIRE_QUEUE`] stores or could not be started.
pub(super) fn retire(store: Store<HostState>) {
    static DROPPER: OnceLock<Option<mpsc::SyncSender<Store<HostState>>>> = OnceLock::new();
    let dropper = DROPPER.get_or_init(|| {
        let (send, receive) = mpsc::sync_channel::<Store<HostState>>(RETIRE_QUEUE);
        std::thread::Builder::new()
            .name("noetl-store-drop".into())
            .spawn(move || receive.into_iter().for_each(drop))
            .ok()
            .map(|_| send)
    });
    match dropper {
        Some(send) => {
            if let Err(mpsc::TrySendError::Full(store) | mpsc::TrySendError::Disconnected(store)) = send.try_send(store) {
                drop(store);
            }
        }
        None => drop(store),
    }
}
