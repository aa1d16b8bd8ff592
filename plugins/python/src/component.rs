//! The WASM component: the native API behind the SDK's `Tool` trait; code sources are
//! read through the host's `files` and `fetch` capabilities.

use noetl_plugin_script::guest::HostSources;

noetl_plugin_script::job_tool!(PythonTool {
    name: "python",
    summary: "Runs a step's Python code in a sandboxed job (local sandbox or Kubernetes)",
    schema: crate::config_schema(),
    plan: |config, context| crate::plan(config, context, &HostSources),
    finish: |config, _context, outcome| crate::finish(config, outcome),
});
