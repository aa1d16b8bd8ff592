//! A host plugin as upstream's `noetl_tools::registry::Tool`.

use std::sync::Arc;

use async_trait::async_trait;
use noetl_tools::registry::{Tool, ToolConfig};
use noetl_tools::{ExecutionContext, ToolError, ToolResult};

use crate::host::WorkerHost;

/// Serves one tool kind from the shared [`WorkerHost`].
pub struct HostTool {
    kind: &'static str,
    host: Arc<WorkerHost>,
}

impl HostTool {
    pub fn new(kind: &'static str, host: Arc<WorkerHost>) -> Self {
        HostTool { kind, host }
    }
}

#[async_trait]
impl Tool for HostTool {
    fn name(&self) -> &'static str {
        self.kind
    }

    async fn execute(
        &self,
        config: &ToolConfig,
        ctx: &ExecutionContext,
    ) -> Result<ToolResult, ToolError> {
        self.host.execute(config, ctx).await
    }
}
