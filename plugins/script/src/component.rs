//! The WASM component: the native API behind the SDK's `Tool` trait, with the host's
//! `files` and `fetch` capabilities as [`crate::ScriptSources`] (see [`crate::guest`]).

use crate::guest::HostSources;

crate::job_tool!(ScriptTool {
    name: "script",
    summary: "Runs a Python, Node or shell script in a Kubernetes Job",
    schema: crate::config_schema(),
    plan: |config, context| crate::plan(config, context, &HostSources),
    finish: |config, context, outcome| crate::finish(config, context, outcome),
});
