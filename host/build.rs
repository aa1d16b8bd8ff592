//! Builds the built-in plugins (`plugins/script`, `plugins/template`) as WASI 0.2
//! components and hands their paths to `src/builtin.rs`.

fn main() {
    let built = noetl_guest_build::build_components(
        &["noetl-plugin-script", "noetl-plugin-template"],
        &["plugins/script", "plugins/template"],
    );
    println!("cargo:rustc-env=NOETL_BUILTIN_SCRIPT_WASM={}", built[0].display());
    println!("cargo:rustc-env=NOETL_BUILTIN_TEMPLATE_WASM={}", built[1].display());
}
