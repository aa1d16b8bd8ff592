//! Labels and annotations every object carries, so the host can find (and garbage-collect
//! or reattach to) everything an execution created, even after a restart.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::context::PlanContext;
use crate::naming;

use noetl_protocol::conventions::{
    LABEL_EXECUTION_ID, LABEL_MANAGED_BY, LABEL_STEP, LABEL_TOOL, MANAGED_BY,
};

/// The tool's labels (values sanitised) and annotations (full values).
#[derive(Debug, Clone)]
pub struct Stamp {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

impl Stamp {
    pub fn new(context: &PlanContext, tool: &str) -> Self {
        let labels = BTreeMap::from([
            (LABEL_MANAGED_BY.into(), MANAGED_BY.into()),
            (
                LABEL_EXECUTION_ID.into(),
                naming::label_value(&context.execution_id),
            ),
            (LABEL_STEP.into(), naming::label_value(&context.step)),
            (LABEL_TOOL.into(), tool.into()),
        ]);
        let annotations = BTreeMap::from([
            (LABEL_EXECUTION_ID.into(), context.execution_id.clone()),
            (LABEL_STEP.into(), context.step.clone()),
        ]);
        Stamp {
            labels,
            annotations,
        }
    }

    /// The stamp plus the user's labels and annotations (their keys never collide: user
    /// keys in `noetl.io/` are refused at validation).
    pub fn with_user(
        &self,
        labels: &BTreeMap<String, String>,
        annotations: &BTreeMap<String, String>,
    ) -> Stamp {
        let merge = |ours: &BTreeMap<String, String>,
                     theirs: &BTreeMap<String, String>|
         -> BTreeMap<String, String> {
            ours.iter()
                .chain(theirs)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        Stamp {
            labels: merge(&self.labels, labels),
            annotations: merge(&self.annotations, annotations),
        }
    }

    /// Metadata for a named object in `namespace`.
    pub fn object_meta(&self, name: &str, namespace: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            ..self.template_meta()
        }
    }

    /// Metadata for a pod template (no name or namespace: the Job controller sets them).
    pub fn template_meta(&self) -> ObjectMeta {
        ObjectMeta {
            labels: Some(self.labels.clone()),
            annotations: Some(self.annotations.clone()),
            ..ObjectMeta::default()
        }
    }
}
