//! Turning a failed plugin call into an error that says which plugin, which function, what
//! bound was hit or what the guest said (its captured stderr, where a panic message lands).

use wasmtime::Store;
use wasmtime::Trap;

use super::LoadedPlugin;
use super::meter::{CpuBudgetExceeded, WallClockExceeded};
use super::state::HostState;
use crate::policy::Limits;

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The plugin could not be loaded (not a component, wrong contract, cannot link).
    #[error("{0}")]
    Load(String),
    /// A call trapped, ran out of a bound, or returned too much.
    #[error("plugin `{plugin}` failed in `{function}`: {reason}{}", stderr_note(.stderr))]
    Fault {
        plugin: String,
        function: String,
        reason: String,
        stderr: String,
        /// The policy limit the call hit (`wall_ms`, `cpu_ms`, `memory_mib`, `max_response_mib`), if any.
        limit: Option<&'static str>,
    },
}

impl PluginError {
    /// The policy limit a failed call hit, if that is why it failed.
    pub fn limit_hit(&self) -> Option<&'static str> {
        match self {
            PluginError::Fault { limit, .. } => *limit,
            PluginError::Load(_) => None,
        }
    }
}

/// The plugin's kind, or while it is being loaded (its kind not known yet) its file.
fn who(name: &str, origin: &str) -> String {
    if name.is_empty() { origin.into() } else { name.into() }
}

/// The policy key that raises `limit` for `plugin`. While a file is loaded its kind is not
/// known yet (`describe` says it), and `describe` runs under the `defaults` limits.
fn limit_key(plugin: &str, limit: &str) -> String {
    if plugin.is_empty() { format!("defaults.limits.{limit}") } else { format!("plugins.{plugin}.limits.{limit}") }
}

fn stderr_note(stderr: &str) -> String {
    if stderr.is_empty() { String::new() } else { format!("\nplugin stderr:\n{stderr}") }
}

/// The call's value, or the fault explained with the store's meters and captured output.
pub(super) fn settle<T>(
    plugin: &LoadedPlugin,
    function: &str,
    store: &Store<HostState>,
    result: wasmtime::Result<T>,
) -> Result<T, PluginError> {
    settle_as(&plugin.origin, &plugin.name, function, store, result)
}

/// [`settle`] for the plugin from `origin` whose kind is `name` (empty while it is loaded).
pub(super) fn settle_as<T>(
    origin: &str,
    name: &str,
    function: &str,
    store: &Store<HostState>,
    result: wasmtime::Result<T>,
) -> Result<T, PluginError> {
    let error = match result {
        Ok(value) => return Ok(value),
        Err(error) => error,
    };
    let state = store.data();
    let stderr = state.stderr.text();
    let policy_key = |limit: &str| limit_key(name, limit);
    let limit = if error.is::<WallClockExceeded>() {
        Some("wall_ms")
    } else if error.is::<CpuBudgetExceeded>() {
        Some("cpu_ms")
    } else if state.memory.refused().is_some() {
        Some("memory_mib")
    } else {
        None
    };
    let reason = if let Some(wall) = error.downcast_ref::<WallClockExceeded>() {
        format!("it {wall}; it was stopped (raise {} in the policy file if this is expected)", policy_key("wall_ms"))
    } else if let Some(cpu) = error.downcast_ref::<CpuBudgetExceeded>() {
        format!("it {cpu}; it was stopped (raise {} in the policy file if this work is expected)", policy_key("cpu_ms"))
    } else if let Some(wanted) = state.memory.refused() {
        format!(
            "it tried to grow its memory to {} MiB, over its limit of {} MiB, and was stopped \
             (raise {} in the policy file if this is expected)",
            wanted >> 20,
            state.memory.limit() >> 20,
            policy_key("memory_mib")
        )
    } else if let Some(panic) = panic_message(&stderr) {
        format!("it panicked: {panic}")
    } else if let Some(trap) = error.downcast_ref::<Trap>() {
        describe_trap(*trap)
    } else {
        format!("it failed: {}", first_line(&error))
    };
    Err(PluginError::Fault { plugin: who(name, origin), function: function.into(), reason, stderr, limit })
}

/// Refuse responses over the plugin's `max_response_bytes`.
pub(super) fn check_size(plugin: &LoadedPlugin, function: &str, limits: &Limits, size: usize) -> Result<(), PluginError> {
    check_size_as(&plugin.origin, &plugin.name, function, limits, size)
}

/// [`check_size`] for the plugin from `origin` whose kind is `name`.
pub(super) fn check_size_as(origin: &str, name: &str, function: &str, limits: &Limits, size: usize) -> Result<(), PluginError> {
    if size as u64 <= limits.max_response_bytes {
        return Ok(());
    }
    Err(PluginError::Fault {
        plugin: who(name, origin),
        function: function.into(),
        reason: format!(
            "it returned {} bytes, more than the limit of {} bytes; the result was discarded \
             (raise {} in the policy file if this is expected)",
            size,
            limits.max_response_bytes,
            limit_key(name, "max_response_mib")
        ),
        stderr: String::new(),
        limit: Some("max_response_mib"),
    })
}

/// The message of a Rust panic (`panicked at src/lib.rs:3:5:\nmessage`).
fn panic_message(stderr: &str) -> Option<String> {
    let start = stderr.find("panicked at ")?;
    let mut lines = stderr[start..].lines();
    let location = lines.next()?.trim_start_matches("panicked at ").trim_end_matches(':');
    let message = lines.next().unwrap_or_default();
    Some(format!("{message} (at {location})"))
}

fn describe_trap(trap: Trap) -> String {
    match trap {
        Trap::StackOverflow => "its stack overflowed (unbounded recursion?) and it was stopped".into(),
        // A Rust guest's stack lives in linear memory below its data; running past its
        // bottom is the usual cause of an out-of-bounds access at a wrapped-around address.
        Trap::MemoryOutOfBounds => {
            "it accessed memory out of bounds (typically its stack overflowed: unbounded recursion?) and was stopped".into()
        }
        Trap::UnreachableCodeReached => {
            "it aborted (an `unreachable` instruction: a Rust guest does this after a panic or a failed allocation)".into()
        }
        other => format!("it trapped: {other}"),
    }
}

/// The error's causes on one line, without the wasm backtrace wasmtime attaches to a trap
/// (it is for debugging, and it would push the cause off the first line).
fn first_line(error: &wasmtime::Error) -> String {
    let backtrace = usize::from(error.downcast_ref::<wasmtime::WasmBacktrace>().is_some());
    let causes: Vec<String> = error.chain().skip(backtrace).map(|cause| cause.to_string()).collect();
    causes.join(": ").lines().next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_messages_are_extracted_from_stderr() {
        let stderr = "\nthread '<unnamed>' panicked at src/lib.rs:10:5:\nboom: bad input\nnote: run with RUST_BACKTRACE=1";
        assert_eq!(panic_message(stderr).unwrap(), "boom: bad input (at src/lib.rs:10:5)");
        assert_eq!(panic_message("nothing here"), None);
    }
}
