//! The two sides: upstream NoETL's own tools, and ours served through the same
//! `ToolRegistry` type by the `noetl-host-tools` adapter.

use std::sync::Arc;

use noetl_host::backend::kubernetes::KubeOptions;
use noetl_host::policy::Policy;
use noetl_host_tools::WorkerHost;
use noetl_tools::registry::ToolRegistry;
use noetl_tools::tools::{PythonTool, ScriptTool};

/// Our side's policy: the benchmark's namespaces and the cluster's log namespaces for
/// script Jobs, and the canary row's secret for templates.
const OUR_POLICY: &str = r#"
plugins:
  template: {secrets: {names: [API_KEY]}}
  script:
    jobs: {namespaces: ["sbs-*", noetl-log-traceback, noetl-log-large]}
"#;

pub fn our_policy() -> anyhow::Result<Policy> {
    Policy::parse(OUR_POLICY)
}

/// Upstream's registry type with our plugins serving `script` and `python`.
pub fn our_registry(host: WorkerHost) -> anyhow::Result<ToolRegistry> {
    let mut registry = ToolRegistry::new();
    noetl_host_tools::register(&mut registry, &Arc::new(host), &["script", "python"])?;
    Ok(registry)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Side {
    /// `noetl_tools::tools::ScriptTool` / `PythonTool` (crates.io noetl-tools 4.3.0).
    Upstream,
    /// Our plugins, registered by `noetl_host_tools::register`.
    Ours,
}

impl Side {
    pub const BOTH: [Side; 2] = [Side::Upstream, Side::Ours];

    /// A registry serving `script` and `python` with this side's tools, jobs on the
    /// cluster `$KUBECONFIG` names (upstream's script tool reads it on every call).
    pub async fn registry(self) -> anyhow::Result<ToolRegistry> {
        match self {
            Side::Upstream => {
                let mut registry = ToolRegistry::new();
                registry.register(ScriptTool::new());
                registry.register(PythonTool::new());
                Ok(registry)
            }
            Side::Ours => {
                our_registry(WorkerHost::kubernetes(our_policy()?, KubeOptions::default()).await?)
            }
        }
    }
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Upstream => "upstream",
            Side::Ours => "ours",
        })
    }
}

impl std::str::FromStr for Side {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> anyhow::Result<Self> {
        match text {
            "upstream" => Ok(Side::Upstream),
            "ours" => Ok(Side::Ours),
            other => anyhow::bail!("unknown side {other:?} (upstream or ours)"),
        }
    }
}
