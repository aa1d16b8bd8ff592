//! Arbitrary user text (args, env, dependency specs, ids) never yields an invalid manifest:
//! the step either plans to valid objects with exact argv, or is refused with field errors.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::Job;
use noetl_plugin_script::{JobBundle, NoSources, PlanContext, PlanError, plan};
use proptest::prelude::*;
use serde_json::{Value, json};

// Independent oracles for the Kubernetes rules (not the crate's own validators).
fn is_dns_label(s: &str) -> bool {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    (1..=63).contains(&s.len())
        && s.chars().all(|c| ok(c) || c == '-')
        && s.starts_with(ok)
        && s.ends_with(ok)
}

fn is_label_value(s: &str) -> bool {
    let ok = |c: char| c.is_ascii_alphanumeric();
    s.is_empty()
        || (s.len() <= 63
            && s.chars().all(|c| ok(c) || "-_.".contains(c))
            && s.starts_with(ok)
            && s.ends_with(ok))
}

fn check_bundle(
    bundle: &JobBundle,
    args: &Value,
    env: &BTreeMap<String, String>,
    deps: &[String],
    python: bool,
) {
    assert!(is_dns_label(&bundle.job_name), "{}", bundle.job_name);
    for manifest in &bundle.manifests {
        let labels = manifest.body["metadata"]["labels"].as_object().unwrap();
        for (key, value) in labels {
            assert!(is_label_value(value.as_str().unwrap()), "{key}={value}");
        }
    }
    let config_map = &bundle.manifests[0].body;
    let args_text = config_map["data"]["args.json"].as_str().unwrap();
    assert_eq!(&serde_json::from_str::<Value>(args_text).unwrap(), args);

    let job = bundle.manifests.last().unwrap();
    let typed: Job = serde_json::from_value(job.body.clone()).expect("a valid Job");
    let pod = typed.spec.unwrap().template.spec.unwrap();
    let script = &pod.containers[0];
    let expected: &[&str] = if python {
        &["python3", "/scripts/script.py", "$(NOETL_ARGS)"]
    } else {
        &["node", "/scripts/script.js", "$(NOETL_ARGS)"]
    };
    assert_eq!(script.command.as_deref().unwrap(), expected);
    assert!(script.args.is_none());
    for var in script.env.as_deref().unwrap() {
        if env.contains_key(&var.name) {
            assert!(
                var.value.is_none(),
                "user env {} must come from the Secret",
                var.name
            );
            assert!(var.value_from.as_ref().unwrap().secret_key_ref.is_some());
        }
    }
    match &pod.init_containers {
        None => assert!(deps.is_empty()),
        Some(init) => {
            let command = init[0].command.as_deref().unwrap();
            let separator = command.iter().position(|a| a == "--").unwrap();
            assert_eq!(
                &command[separator + 1..],
                deps,
                "dependencies passed verbatim after --"
            );
            assert!(
                command[..separator]
                    .iter()
                    .all(|a| a != "-c" && a != "sh" && a != "bash")
            );
            for dep in deps {
                assert!(
                    !dep.starts_with('-') && !dep.chars().any(char::is_whitespace),
                    "{dep:?}"
                );
            }
        }
    }
    if env.is_empty() {
        assert_eq!(bundle.manifests.len(), 2);
    } else {
        let secret = &bundle.manifests[1].body;
        let data: BTreeMap<String, String> =
            serde_json::from_value(secret["stringData"].clone()).unwrap();
        assert_eq!(&data, env);
    }
}

fn env_name() -> impl Strategy<Value = String> {
    prop_oneof!["[A-Z_][A-Z0-9_]{0,10}", any::<String>()]
}

fn dependency() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,8}((==|>=)[0-9][0-9.]{0,4})?",
        "-.{0,10}",
        any::<String>()
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_plans_validly_or_is_refused(
        args_text in any::<String>(),
        execution_id in any::<String>(),
        step in any::<String>(),
        env in prop::collection::btree_map(env_name(), any::<String>(), 0..4),
        deps in prop::collection::vec(dependency(), 0..4),
        python in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let args = json!({"text": args_text, "list": [args_text.clone()]});
        let image = if python { "python:3.11-slim" } else { "node:20-slim" };
        let config = json!({
            "kind": "script",
            "script": {"type": "inline", "content": "print(1)"},
            "args": args,
            "job": {"image": image, "env": env, "install_dependencies": deps},
        });
        let context = PlanContext::new(execution_id, step).with_seed(seed);
        match plan(&config, &context, &NoSources) {
            Ok(bundle) => check_bundle(&bundle, &args, &env, &deps, python),
            Err(PlanError::InvalidConfig(errors)) => {
                prop_assert!(!errors.is_empty());
                for error in &errors {
                    prop_assert!(
                        error.field.starts_with("tool.job.env.") || error.field.starts_with("tool.job.install_dependencies["),
                        "only env names and dependency specs can be wrong here: {error:?}"
                    );
                    prop_assert!(!error.fix.is_empty());
                }
            }
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
    }

    #[test]
    fn args_and_ids_alone_never_make_a_step_invalid(args in any::<String>(), execution_id in any::<String>(), step in any::<String>()) {
        let config = json!({"script": {"type": "inline", "content": "print(1)"}, "args": args});
        let bundle = plan(&config, &PlanContext::new(execution_id, step), &NoSources).expect("plans");
        check_bundle(&bundle, &json!(args), &BTreeMap::new(), &[], true);
    }
}
