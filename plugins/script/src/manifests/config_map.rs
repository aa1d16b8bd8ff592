//! The ConfigMap carrying the script file and the args JSON.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;

use noetl_protocol::conventions::ARGS_KEY;

use super::metadata::Stamp;

/// Immutable: it belongs to one execution, and immutable ConfigMaps are not watched by
/// kubelets, which spares the API server.
pub fn build(
    name: &str,
    namespace: &str,
    stamp: &Stamp,
    script_file: &str,
    script: &str,
    args_json: &str,
) -> ConfigMap {
    ConfigMap {
        metadata: stamp.object_meta(name, namespace),
        data: Some(BTreeMap::from([
            (script_file.into(), script.into()),
            (ARGS_KEY.into(), args_json.into()),
        ])),
        immutable: Some(true),
        ..ConfigMap::default()
    }
}
