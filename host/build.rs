//! Builds the built-in plugins (`plugins/script`, `plugins/template`, `plugins/noop`,
//! `plugins/http`, `plugins/python`, `plugins/shell`) as WASI 0.2 components and hands their paths to
//! `src/builtin.rs`.

fn main() {
    // python and shell link the script crate without its `component` feature, so they are
    // built by a cargo invocation of their own (one invocation would unify the features
    // and export the script tool's handler from them too). Built first: that invocation
    // also writes the script crate's own .wasm (a cdylib is built even as a dependency),
    // without the export; the invocation below rewrites it with the export.
    let on_script = noetl_guest_build::build_components(
        &["noetl-plugin-python", "noetl-plugin-shell"],
        &["plugins/python", "plugins/shell"],
    );
    let standalone = noetl_guest_build::build_components(
        &["noetl-plugin-script", "noetl-plugin-template", "noetl-plugin-noop", "noetl-plugin-http"],
        &["plugins/script", "plugins/template", "plugins/noop", "plugins/http", "plugins/protocol"],
    );
    let built = standalone.iter().chain(&on_script);
    for (name, path) in ["SCRIPT", "TEMPLATE", "NOOP", "HTTP", "PYTHON", "SHELL"].iter().zip(built) {
        println!("cargo:rustc-env=NOETL_BUILTIN_{name}_WASM={}", path.display());
    }
}
