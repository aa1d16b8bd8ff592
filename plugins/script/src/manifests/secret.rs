//! The Secret carrying `job.env`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;

use super::metadata::Stamp;

/// Values go in `stringData` (plain text) rather than base64 `data`: the host redacts
/// secret values by searching for them, which it could not do inside base64.
pub fn build(name: &str, namespace: &str, stamp: &Stamp, env: &BTreeMap<String, String>) -> Secret {
    Secret {
        metadata: stamp.object_meta(name, namespace),
        type_: Some("Opaque".into()),
        string_data: Some(env.clone()),
        immutable: Some(true),
        ..Secret::default()
    }
}
