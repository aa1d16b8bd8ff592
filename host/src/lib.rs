//! The NoETL plugin host: runs tool plugins as sandboxed WASM components.

pub mod backend;
pub mod redact;
pub mod secrets;
