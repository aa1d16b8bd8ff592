//! The six spec examples plan to exactly the committed manifests in tests/golden/
//! (regenerate with `UPDATE_GOLDEN=1 cargo test -p noetl-plugin-script --test golden`).

mod common;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use noetl_plugin_script::{JobBundle, plan};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn planned_examples() -> Vec<(String, JobBundle)> {
    let sources = common::FakeSources::examples();
    common::examples()
        .into_iter()
        .map(|(name, step, tool)| {
            let bundle = plan(&tool, &common::context(&step), &sources)
                .unwrap_or_else(|e| panic!("{name} does not plan: {e:?}"));
            (name, bundle)
        })
        .collect()
}

#[test]
fn there_are_six_examples() {
    assert_eq!(common::examples().len(), 6);
}

#[test]
fn examples_match_golden_manifests() {
    let mismatched: Vec<String> = planned_examples()
        .into_iter()
        .filter_map(|(name, bundle)| common::golden::mismatch(&name, &bundle))
        .collect();
    assert!(mismatched.is_empty(), "{}", mismatched.join("\n"));
}

/// Deserializing into the k8s-openapi type and back must give the same JSON: no field the
/// API types do not know, no misspelt key, no wrong shape.
fn round_trips<T: DeserializeOwned + Serialize>(body: &Value) -> bool {
    let typed: T =
        serde_json::from_value(body.clone()).expect("deserializes into the k8s-openapi type");
    &serde_json::to_value(typed).unwrap() == body
}

#[test]
fn manifests_round_trip_through_k8s_openapi_types() {
    for (name, bundle) in planned_examples() {
        let kinds: Vec<&str> = bundle.manifests.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(kinds.last(), Some(&"Job"), "{name}: the Job comes last");
        for manifest in &bundle.manifests {
            let ok = match manifest.kind.as_str() {
                "Job" => round_trips::<Job>(&manifest.body),
                "ConfigMap" => round_trips::<ConfigMap>(&manifest.body),
                "Secret" => round_trips::<Secret>(&manifest.body),
                other => panic!("{name}: unexpected kind {other}"),
            };
            assert!(
                ok,
                "{name}: {} {} changes when round-tripped",
                manifest.kind, manifest.name
            );
            assert_eq!(manifest.body["kind"], manifest.kind.as_str());
            assert_eq!(manifest.body["metadata"]["name"], manifest.name.as_str());
            assert_eq!(
                manifest.body["metadata"]["namespace"],
                bundle.namespace.as_str()
            );
            assert!(
                manifest.body["metadata"].get("ownerReferences").is_none(),
                "the host adds owners after creating the Job"
            );
        }
    }
}
