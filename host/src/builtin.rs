//! The plugins compiled into the host binary (built from `plugins/*` by `build.rs`), so
//! an installed `noetl-host` needs no plugin directory to run its tools.

/// (name, component bytes) of each built-in plugin.
pub const PLUGINS: &[(&str, &[u8])] = &[
    ("script", include_bytes!(env!("NOETL_BUILTIN_SCRIPT_WASM"))),
    ("template", include_bytes!(env!("NOETL_BUILTIN_TEMPLATE_WASM"))),
    ("noop", include_bytes!(env!("NOETL_BUILTIN_NOOP_WASM"))),
    ("http", include_bytes!(env!("NOETL_BUILTIN_HTTP_WASM"))),
    ("python", include_bytes!(env!("NOETL_BUILTIN_PYTHON_WASM"))),
    ("shell", include_bytes!(env!("NOETL_BUILTIN_SHELL_WASM"))),
];

/// The router component (`plugins/router`): upstream's orchestrator core, which evaluates
/// every routing template of a playbook in the sandbox. Not a tool: the host loads it for
/// playbook runs only, never from a plugin directory.
pub const ROUTER: &[u8] = include_bytes!(env!("NOETL_BUILTIN_ROUTER_WASM"));
