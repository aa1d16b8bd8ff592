//! Compiles guest crates of this workspace to WASI 0.2 components from a build script.
//!
//! Plugins are never checked-in binaries: the host's and the tests' build scripts call
//! [`build_components`], so `cargo build`, `cargo run` and `cargo test` always use
//! components built from the current sources.
//!
//! The nested cargo uses its own target directory (`target/guests`): sharing the outer
//! build's directory would deadlock on cargo's build lock.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The target every plugin is compiled for.
pub const GUEST_TARGET: &str = "wasm32-wasip2";

/// Release-profile settings for guests only (the host's release profile is left alone).
/// Guest code runs on every plugin call, compiled by Cranelift, which does little
/// cross-function optimisation of its own; LLVM's whole-program pass does it beforehand.
const GUEST_PROFILE: &[&str] = &[
    "profile.release.opt-level=3",
    "profile.release.lto=true",
    "profile.release.codegen-units=1",
];

/// Initial linear memory of every guest component (a multiple of the 64 KiB wasm page).
/// Linked in (`--initial-memory`) so that a typical call (a template render, a script plan)
/// runs without `memory.grow`: each growth is an `mprotect` of the pooled slot, and the next
/// instantiation in the slot shrinks it back. Untouched pages cost nothing (the memory image
/// is mapped copy-on-write). The host's memory limit still applies: wasmtime checks the
/// initial size against the store's limiter when it instantiates.
pub const INITIAL_MEMORY_BYTES: u64 = 4 << 20;

/// Build `packages` (workspace package names) as release components and return the path
/// of each `.wasm`, in the order given. Emits `rerun-if-changed` for `watch` (paths
/// relative to the workspace root) so edits to plugin sources rebuild the components.
pub fn build_components(packages: &[&str], watch: &[&str]) -> Vec<PathBuf> {
    let workspace = workspace_root();
    for path in watch
        .iter()
        .chain(["wit", "Cargo.lock", "plugins/sdk"].iter())
    {
        println!("cargo:rerun-if-changed={}", workspace.join(path).display());
    }
    let target_dir = workspace.join("target").join("guests");
    ensure_target_installed();
    packages
        .iter()
        .map(|package| build_component(&workspace, &target_dir, package))
        .collect()
}

/// One package's library, linked as a `cdylib` only. Cargo applies `lto` only to a unit
/// whose every crate type can be LTO'd: for a `["cdylib", "rlib"]` library it silently
/// builds without it (cargo issues 9672, 4611). `cargo rustc --crate-type cdylib` makes the
/// component build such a unit (`cargo rustc -v` shows `-C lto`), while the plugin crates
/// stay plain libraries for native use. One package per invocation, so the features of one
/// plugin's dependencies never leak into another's (python and shell link the script crate
/// without its `component` export).
fn build_component(workspace: &Path, target_dir: &Path, package: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args([
            "rustc",
            "--lib",
            "--crate-type",
            "cdylib",
            "--release",
            "--locked",
            "--target",
            GUEST_TARGET,
        ])
        .args(["-p", package])
        .args(
            GUEST_PROFILE
                .iter()
                .flat_map(|setting| ["--config", setting]),
        )
        .arg("--target-dir")
        .arg(target_dir)
        // After `--`: for this crate's own (final, linking) rustc invocation only.
        .args([
            "--",
            "-C",
            &format!("link-arg=--initial-memory={INITIAL_MEMORY_BYTES}"),
        ]);
    // The outer build's flags and target settings are for the host, not for the guests.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_LLVM_COV",
        "LLVM_PROFILE_FILE",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("could not run cargo to build guest component {package}: {e}"));
    if !status.success() {
        panic!(
            "building guest component {package} for {GUEST_TARGET} failed (see the cargo output above). \
             If the target is missing, run `rustup target add {GUEST_TARGET}`."
        );
    }
    let file = target_dir
        .join(GUEST_TARGET)
        .join("release")
        .join(format!("{}.wasm", package.replace('-', "_")));
    assert!(
        file.exists(),
        "cargo built {package} but {} is missing",
        file.display()
    );
    file
}

/// A fresh machine has the pinned toolchain but maybe not its wasm target (rustup only adds
/// `rust-toolchain.toml` targets when it installs the toolchain itself): add it once.
fn ensure_target_installed() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    let installed =
        sysroot.is_some_and(|root| root.join("lib/rustlib").join(GUEST_TARGET).exists());
    if installed {
        return;
    }
    println!(
        "cargo:warning=installing the {GUEST_TARGET} target with rustup (needed to build plugins)"
    );
    let added = Command::new("rustup")
        .args(["target", "add", GUEST_TARGET])
        .status();
    if !added.is_ok_and(|status| status.success()) {
        panic!(
            "the {GUEST_TARGET} target is missing and `rustup target add {GUEST_TARGET}` failed; run it by hand"
        );
    }
}

fn workspace_root() -> PathBuf {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run from a build script"));
    manifest_dir
        .ancestors()
        .find(|dir| is_workspace_root(dir))
        .expect("no workspace Cargo.toml above the build script's crate")
        .to_path_buf()
}

fn is_workspace_root(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|text| text.contains("[workspace]"))
}
