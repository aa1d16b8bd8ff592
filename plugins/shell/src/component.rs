//! The WASM component: the native API behind the SDK's `Tool` trait.

noetl_plugin_script::job_tool!(ShellTool {
    name: "shell",
    summary: "Runs a shell command in a sandboxed job (local sandbox or Kubernetes)",
    schema: crate::config_schema(),
    plan: |config, context| crate::plan(config, context),
    finish: |config, _context, outcome| crate::finish(config, outcome),
});
