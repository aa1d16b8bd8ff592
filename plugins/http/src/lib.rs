//! The NoETL `http` tool: one HTTP request with upstream NoETL's fields (`url`, `method`,
//! `headers`, `params`, `body`/`json`/`form`, `auth`, `timeout_seconds`,
//! `follow_redirects`, `response_type`) and upstream's response shape. The request is
//! sent by the host's `http` capability, which allows only the hosts the policy grants
//! (every redirect hop included) and bounds the response body.

mod config;
mod encode;
mod response;
mod schema;

#[cfg(target_arch = "wasm32")]
mod component;

pub use config::{HttpRequest, request};
pub use response::{HttpResponse, respond};
pub use schema::config_schema;
