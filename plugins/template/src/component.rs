//! The WASM component: adapts [`crate::render`] to the WIT world `preinit-template-engine`
//! (`template-engine` plus `init`, which builds the shared minijinja environment once so
//! the host's snapshot of the component already holds it).

use std::sync::Arc;

use crate::{RenderOptions, SecretLookup};

wit_bindgen::generate!({ path: "../../wit", world: "preinit-template-engine" });

use exports::noetl::plugin::renderer::{self, Guest};
use noetl::plugin::log::{self, Level};
use noetl::plugin::secrets;
use noetl::plugin::types::CapabilityError;

struct TemplateEngine;

impl exports::noetl::plugin::init::Guest for TemplateEngine {
    fn init() {
        crate::environment::prepare();
    }
}

impl Guest for TemplateEngine {
    fn render(
        tree: String,
        context: String,
        options: renderer::RenderOptions,
    ) -> Result<String, renderer::RenderError> {
        let tree = parse_json("tree", &tree)?;
        let context = parse_json("context", &context)?;
        let options = RenderOptions {
            strict_undefined: options.strict_undefined,
            skip_paths: options.skip_paths,
            typed_values: options.typed_values,
            ..RenderOptions::default()
        };
        match crate::render(&tree, &context, &options, Arc::new(HostSecrets)) {
            Ok(rendered) => {
                log::log(
                    Level::Debug,
                    &format!(
                        "rendered {} template strings using {} of {} fuel",
                        rendered.templates, rendered.fuel_consumed, options.fuel
                    ),
                );
                // Straight into a byte buffer, not through `fmt::Formatter` as
                // `Value::to_string` (`Display`) does: see `noetl_plugin_sdk::to_json_text`.
                Ok(serde_json::to_string(&rendered.value).expect("a JSON value always serialises"))
            }
            Err(error) => Err(renderer::RenderError {
                path: error.path,
                message: error.message,
            }),
        }
    }
}

fn parse_json(what: &str, text: &str) -> Result<serde_json::Value, renderer::RenderError> {
    serde_json::from_str(text).map_err(|e| renderer::RenderError {
        path: what.to_string(),
        message: format!("the host sent {what} that is not valid JSON: {e}"),
    })
}

/// Secrets from the host's providers; the host remembers each value it returns for redaction.
struct HostSecrets;

impl SecretLookup for HostSecrets {
    fn get(&self, name: &str) -> Result<String, String> {
        secrets::get(name).map_err(|error| match error {
            // The host's messages name the secret and, for not-found, every provider tried.
            CapabilityError::NotFound(message)
            | CapabilityError::Failed(message)
            | CapabilityError::TooLarge(message) => message,
            CapabilityError::Denied(message) => format!("denied: {message}"),
            CapabilityError::NotConfigured(message) => format!("not configured: {message}"),
        })
    }
}

export!(TemplateEngine);
