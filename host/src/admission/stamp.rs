//! The host's own labels and annotations on every object of a bundle and on the Job's pod
//! template: managed-by, execution id, step and tool, and the SHA-256 of the playbook file
//! the step comes from, from what the host knows, never from what the plugin wrote. The
//! watches select `managed-by`, reattaching after a restart selects execution id and step,
//! and the local backend reads the step and playbook-sha256 annotations for `local.network`:
//! a plugin can neither hide its Job from them, nor pose as another step or another file.

use serde_json::{Map, Value};

use crate::backend::JobBundle;
use crate::backend::conventions::{LABEL_EXECUTION_ID, LABEL_MANAGED_BY, LABEL_STEP, LABEL_TOOL, MANAGED_BY};
use noetl_protocol::names::label_value;

/// Annotation with the SHA-256 (lowercase hex) of the bytes of the playbook file a job's
/// step comes from; absent (removed if a plugin wrote it) when the call had no playbook file.
pub const ANNOTATION_PLAYBOOK_SHA256: &str = "noetl.io/playbook-sha256";

/// Which execution, step and tool a job belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobIdentity {
    pub execution_id: String,
    pub step: String,
    /// The plugin's name.
    pub tool: String,
    /// SHA-256 of the playbook file the host read for this step (see
    /// [`crate::execute::CallOrigin`]); never taken from the plan context.
    pub playbook_sha256: Option<String>,
}

impl JobIdentity {
    /// From the plan context the host sent the plugin; missing fields get the same
    /// defaults plugins use (`local`, `step`).
    pub fn from_context(tool: &str, context: &Value) -> Self {
        let text = |key: &str, default: &str| context.get(key).and_then(Value::as_str).unwrap_or(default).to_string();
        JobIdentity { execution_id: text("execution_id", "local"), step: text("step", "step"), tool: tool.into(), playbook_sha256: None }
    }

    fn labels(&self) -> [(&'static str, String); 4] {
        [
            (LABEL_MANAGED_BY, MANAGED_BY.into()),
            (LABEL_EXECUTION_ID, label_value(&self.execution_id)),
            (LABEL_STEP, label_value(&self.step)),
            (LABEL_TOOL, label_value(&self.tool)),
        ]
    }

    /// Label values are cut to 63 characters; the annotations keep the full values. `None`
    /// removes the annotation (whatever the plugin wrote there).
    fn annotations(&self) -> [(&'static str, Option<String>); 3] {
        [
            (LABEL_EXECUTION_ID, Some(self.execution_id.clone())),
            (LABEL_STEP, Some(self.step.clone())),
            (ANNOTATION_PLAYBOOK_SHA256, self.playbook_sha256.clone()),
        ]
    }
}

/// `bundle` with the host's labels and annotations set (overriding the plugin's) on every
/// manifest and on the Job's pod template.
pub fn stamp(mut bundle: JobBundle, identity: &JobIdentity) -> JobBundle {
    for manifest in &mut bundle.manifests {
        stamp_metadata(&mut manifest.body, identity);
        if manifest.kind == "Job"
            && let Some(template) = manifest.body.pointer_mut("/spec/template")
        {
            stamp_metadata(template, identity);
        }
    }
    bundle
}

fn stamp_metadata(object: &mut Value, identity: &JobIdentity) {
    let Some(object) = object.as_object_mut() else { return };
    let metadata = object_at(object, "metadata");
    let labels = object_at(metadata, "labels");
    for (key, value) in identity.labels() {
        labels.insert(key.into(), value.into());
    }
    let annotations = object_at(metadata, "annotations");
    for (key, value) in identity.annotations() {
        match value {
            Some(value) => annotations.insert(key.into(), value.into()),
            None => annotations.remove(key),
        };
    }
}

/// The object under `key`, created (or replacing a non-object) when needed.
fn object_at<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().expect("made an object above")
}
