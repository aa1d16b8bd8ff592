//! Builds the built-in plugins (`plugins/script`, `plugins/template`, `plugins/noop`,
//! `plugins/http`, `plugins/python`, `plugins/shell`) and the router (`plugins/router`) as WASI 0.2 components and hands their paths to
//! `src/builtin.rs`.

fn main() {
    // Each package is built by a cargo invocation of its own (plugins/guest-build), so python
    // and shell link the script crate without its `component` feature: the script tool's
    // handler is exported from the script component only.
    let built = noetl_guest_build::build_components(
        &[
            "noetl-plugin-script",
            "noetl-plugin-template",
            "noetl-plugin-noop",
            "noetl-plugin-http",
            "noetl-plugin-python",
            "noetl-plugin-shell",
            "noetl-plugin-router",
        ],
        &[
            "plugins/script",
            "plugins/template",
            "plugins/noop",
            "plugins/http",
            "plugins/protocol",
            "plugins/python",
            "plugins/shell",
            "plugins/router",
        ],
    );
    for (name, path) in ["SCRIPT", "TEMPLATE", "NOOP", "HTTP", "PYTHON", "SHELL", "ROUTER"]
        .iter()
        .zip(built)
    {
        println!(
            "cargo:rustc-env=NOETL_BUILTIN_{name}_WASM={}",
            path.display()
        );
    }
}
