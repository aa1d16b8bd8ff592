//! The WASM component: builds the request, sends it through the host's `http`
//! capability (policy-checked, every redirect hop included), shapes the response.

use noetl_plugin_sdk::bindings::noetl::plugin::http;
use noetl_plugin_sdk::{
    self as sdk, Context, FieldError, PlanResult, Tool, ToolError, ToolInfo, Value,
};

struct HttpTool;

impl Tool for HttpTool {
    fn describe() -> ToolInfo {
        ToolInfo::new(
            "http",
            env!("CARGO_PKG_VERSION"),
            "Sends one HTTP request to a host the policy grants",
        )
        .with_schema(crate::config_schema())
    }

    fn plan(config: Value, _context: &Context) -> Result<PlanResult, ToolError> {
        let request = crate::request(&config).map_err(|errors| {
            ToolError::InvalidConfig(
                errors
                    .into_iter()
                    .map(|e| FieldError::new(e.field, e.message, e.fix))
                    .collect(),
            )
        })?;
        let sent = http::send(&http::Request {
            method: request.method,
            url: request.url,
            headers: request.headers,
            body: request.body,
            timeout_ms: request.timeout_ms,
            follow_redirects: request.follow_redirects,
            max_response_bytes: request.max_response_bytes,
        })?;
        let response = crate::HttpResponse {
            status: sent.status,
            headers: sent.headers,
            body: sent.body,
            final_url: sent.final_url,
        };
        Ok(PlanResult::Done(sdk::to_json_text(&crate::respond(
            &config, &response,
        ))))
    }
}

sdk::export_tool!(HttpTool);
