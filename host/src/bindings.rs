//! Host-side bindings generated from `wit/plugin.wit`. One `bindgen!` per world; the
//! template world reuses the tool world's shared interfaces so their Rust types are one.

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

pub use tool::noetl::plugin::types;
