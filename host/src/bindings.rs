//! Host-side bindings generated from `wit/plugin.wit` (the current contract, 0.2.0) and
//! `wit/legacy/0.1.0/plugin.wit` (tool plugins built for 0.1.x). One `bindgen!` per world;
//! every other world reuses the `tool` world's shared `types` so their Rust types are one.

/// World `tool`: what a tool plugin exports and the capabilities it may import.
pub mod tool {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "tool",
        imports: { default: async },
        exports: { default: async },
    });
}

/// World `template-engine`: the sandboxed renderer and its `secrets` import.
pub mod template_engine {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "template-engine",
        imports: { default: async },
        exports: { default: async },
        with: {
            "noetl:plugin/types": super::tool::noetl::plugin::types,
            "noetl:plugin/log": super::tool::noetl::plugin::log,
        },
    });
}

/// World `tool` of contract 0.1.0. Its `types` are identical to 0.2.0's, so they are mapped
/// onto the same Rust types: a 0.1.x plugin's `plan` returns the host's one `PlanResult`.
/// Its imports (0.1.0 interface names) delegate to the 0.2.0 implementations
/// (`capability::legacy`).
pub mod tool_0_1 {
    wasmtime::component::bindgen!({
        path: "../wit/legacy/0.1.0",
        world: "tool",
        imports: { default: async },
        exports: { default: async },
        with: {
            "noetl:plugin/types@0.1.0": super::tool::noetl::plugin::types,
        },
    });
}

pub use tool::noetl::plugin::types;

/// World `router` of the host's own package `noetl:router` (`wit/router/router.wit`):
/// upstream's orchestrator core in a component. It imports WASI only.
pub mod router {
    wasmtime::component::bindgen!({
        path: "../wit/router",
        world: "router",
        imports: { default: async },
        exports: { default: async },
    });
}
