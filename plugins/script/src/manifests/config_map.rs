//! The ConfigMap carrying the script file and the args JSON.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;

use super::metadata::Stamp;

/// The ConfigMap key holding the step's args JSON (read into `$(NOETL_ARGS)`).
pub const ARGS_KEY: &str = "args.json";

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
