//! The NoETL template engine: renders every string of a step config (a JSON value tree)
//! with minijinja, inside a WASM component so untrusted playbook text never runs with host
//! privileges.
//!
//! The rendering core ([`render`]) is plain Rust and is tested natively; the component glue
//! (`component`, wasm32 only) adapts it to the WIT world `template-engine`: it parses the
//! JSON arguments, resolves secrets through the host's `secrets.get` import and returns the
//! rendered tree as JSON.
//!
//! Rules the engine enforces (see `tree.rs` for the walk, `environment.rs` for the dialect):
//! - one pass: rendered output is never rendered again, so `{{` produced by a value stays literal;
//! - types: with `typed_values` (what the host asks for tools built for contract 0.2.x) a
//!   string that is exactly one `{{ expr }}` renders to the expression's JSON value and every
//!   other string to a string; without it (0.1.x tools) every string renders to a string.
//!   Other JSON values are left untouched, object keys are never rendered, and text without
//!   a template is never reinterpreted (`"007"` stays `"007"`);
//! - `skip_paths` subtrees (for example `tool.script.content`) pass through verbatim;
//! - secrets are always strict: a secret the host cannot resolve fails the render, even in
//!   lenient mode and even behind `default` or `is defined`;
//! - bounded work: one fuel budget ([`DEFAULT_FUEL`]) for the whole tree and a fixed
//!   recursion limit ([`RECURSION_LIMIT`]).

//! # Calling the component (host side)
//! `renderer.render(tree, context, options)`:
//! - `tree`: the JSON to render, normally the whole step (`{"step": ..., "tool": {...}}`),
//!   so error paths read `tool.job.env.API_KEY`;
//! - `context`: a JSON object whose top-level keys become the variables:
//!   `{"workload": {...}, "execution_id": "...", "step": "...", "<earlier step>": <its result>}`
//!   (a `secrets` key is ignored: `secrets` always resolves through the `secrets.get` import);
//! - `options`: `strict-undefined` (false = undefined renders empty), `skip-paths`
//!   (for a script step at least `tool.script.content`) and `typed-values`.
//!
//! It returns the rendered tree as JSON text, or `render-error { path, message }`. A failed
//! secret's message is the host's `secrets.get` error text, so the host must redact errors
//! like everything else (a filter error can quote a resolved value). Each call logs one
//! debug line through `log` with the number of templates and the fuel used.

mod environment;
mod error;
mod filters;
mod options;
mod secrets;
mod tree;

#[cfg(target_arch = "wasm32")]
mod component;

pub use error::RenderError;
pub use options::{DEFAULT_FUEL, RECURSION_LIMIT, RenderOptions};
pub use secrets::SecretLookup;
pub use tree::{Rendered, render};
