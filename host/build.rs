//! Builds the built-in plugins (`plugins/script`, `plugins/template`, `plugins/noop`,
//! `plugins/python`, `plugins/shell`) as WASI 0.2 components and hands their paths to
//! `src/builtin.rs`.

fn main() {
    let standalone = noetl_guest_build::build_components(
        &["noetl-plugin-script", "noetl-plugin-template", "noetl-plugin-noop"],
        &["plugins/script", "plugins/template", "plugins/noop", "plugins/protocol"],
    );
    // A build of their own: they link the script crate without its `component` feature,
    // which one cargo invocation building the script component too would switch on for
    // them as well (features unify), exporting the script tool's handler twice.
    let on_script = noetl_guest_build::build_components(
        &["noetl-plugin-python", "noetl-plugin-shell"],
        &["plugins/python", "plugins/shell"],
    );
    let built = standalone.iter().chain(&on_script);
    for (name, path) in ["SCRIPT", "TEMPLATE", "NOOP", "PYTHON", "SHELL"].iter().zip(built) {
        println!("cargo:rustc-env=NOETL_BUILTIN_{name}_WASM={}", path.display());
    }
}
