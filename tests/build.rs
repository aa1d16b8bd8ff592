//! Builds the guest components the tests load: the third-party example plugin and the
//! purpose-built hostile plugins, and plugins built for other contract versions.

fn main() {
    let packages = [
        "json-transform",
        "hostile-plugin",
        "future-contract-plugin",
        "slow-describe-plugin",
        "legacy-contract-plugin",
        "preinit-plugin",
        "impure-init-plugin",
    ];
    let built = noetl_guest_build::build_components(&packages, &["examples/json-transform", "tests/guests"]);
    for (package, path) in packages.iter().zip(built) {
        let var = package.to_uppercase().replace('-', "_");
        println!("cargo:rustc-env={var}_WASM={}", path.display());
    }
}
