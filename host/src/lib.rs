//! The NoETL plugin host: runs tool plugins as sandboxed WASM components.

pub mod backend;
