//! The NoETL plugin host: runs tool plugins as sandboxed WASM components.

pub mod admission;
pub mod backend;
pub mod bindings;
pub mod builtin;
pub mod cache;
pub mod capability;
pub mod embed;
pub mod engine;
pub mod execute;
pub mod fetch;
pub mod host_pattern;
pub mod log_writer;
pub mod paths;
pub mod playbook;
pub mod plugin;
pub mod pod_security;
pub mod policy;
pub mod redact;
pub mod secrets;
pub mod tail;
