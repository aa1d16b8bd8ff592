//! What the planned objects mean: the conventions the backends rely on, checked on the
//! spec examples and on focused configs.

mod common;

use noetl_plugin_script::{JobBundle, NoSources, PlanError, SourceError, plan};
use serde_json::{Value, json};

fn example(name: &str) -> JobBundle {
    let (_, step, tool) = common::examples()
        .into_iter()
        .find(|(stem, ..)| stem.starts_with(name))
        .unwrap();
    plan(
        &tool,
        &common::context(&step),
        &common::FakeSources::examples(),
    )
    .unwrap()
}

fn body<'a>(bundle: &'a JobBundle, kind: &str) -> &'a Value {
    &bundle
        .manifests
        .iter()
        .find(|m| m.kind == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
        .body
}

fn pod(bundle: &JobBundle) -> &Value {
    &body(bundle, "Job")["spec"]["template"]["spec"]
}

fn container<'a>(bundle: &'a JobBundle, list: &str, name: &str) -> &'a Value {
    pod(bundle)[list]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()
}

fn inline(content: &str, job: Value) -> Value {
    json!({"kind": "script", "script": {"type": "inline", "content": content}, "job": job})
}

#[test]
fn basic_python_job_follows_the_conventions() {
    let bundle = example("01");
    assert_eq!(bundle.namespace, "noetl");
    assert!(
        bundle.job_name.starts_with("noetl-script-exec-123-") && bundle.job_name.len() == 27,
        "{}",
        bundle.job_name
    );
    assert_eq!(bundle.timeout_seconds, 60 + 30);
    let kinds: Vec<_> = bundle.manifests.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(kinds, ["ConfigMap", "Job"], "no Secret without env");

    let config_map = body(&bundle, "ConfigMap");
    assert_eq!(
        config_map["metadata"]["name"],
        format!("{}-script", bundle.job_name)
    );
    assert_eq!(config_map["data"]["args.json"], r#"{"items":[1,2,3,4,5]}"#);
    assert!(
        config_map["data"]["script.py"]
            .as_str()
            .unwrap()
            .contains("json.loads(sys.argv[1])")
    );

    let job = body(&bundle, "Job");
    assert_eq!(job["spec"]["backoffLimit"], 3);
    assert_eq!(job["spec"]["ttlSecondsAfterFinished"], 300);
    assert_eq!(job["spec"]["activeDeadlineSeconds"], 60);
    assert_eq!(
        job["spec"]["podFailurePolicy"]["rules"][0],
        json!({"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]})
    );
    assert_eq!(pod(&bundle)["restartPolicy"], "Never");
    assert!(
        pod(&bundle).get("initContainers").is_none(),
        "no install without dependencies"
    );

    let script = container(&bundle, "containers", "script");
    assert_eq!(script["image"], "python:3.11-slim");
    assert_eq!(script["imagePullPolicy"], "IfNotPresent");
    assert_eq!(
        script["command"],
        json!(["python3", "/scripts/script.py", "$(NOETL_ARGS)"])
    );
    assert_eq!(
        script["env"][0],
        json!({"name": "NOETL_ARGS", "valueFrom": {"configMapKeyRef": {"name": format!("{}-script", bundle.job_name), "key": "args.json"}}})
    );
    assert_eq!(script["env"][1], json!({"name": "HOME", "value": "/tmp"}));
    assert_eq!(
        script["securityContext"],
        json!({"runAsNonRoot": true, "runAsUser": 1000, "runAsGroup": 1000, "allowPrivilegeEscalation": false,
               "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": true, "seccompProfile": {"type": "RuntimeDefault"}})
    );
    let mounts = &script["volumeMounts"];
    assert_eq!(
        mounts[0],
        json!({"name": "script", "mountPath": "/scripts", "readOnly": true})
    );
    assert_eq!(mounts[1], json!({"name": "tmp", "mountPath": "/tmp"}));

    for manifest in &bundle.manifests {
        let labels = &manifest.body["metadata"]["labels"];
        assert_eq!(labels["app.kubernetes.io/managed-by"], "noetl-host");
        assert_eq!(labels["noetl.io/execution-id"], "exec-123");
        assert_eq!(labels["noetl.io/step"], "run_analysis");
        assert_eq!(labels["noetl.io/tool"], "script");
        assert_eq!(
            manifest.body["metadata"]["annotations"]["noetl.io/step"],
            "run_analysis"
        );
    }
    assert_eq!(
        job["spec"]["template"]["metadata"]["labels"]["noetl.io/execution-id"],
        "exec-123"
    );
}

#[test]
fn dependencies_are_installed_by_an_init_container_with_exact_argv() {
    let bundle = example("02");
    let install = container(&bundle, "initContainers", "install-dependencies");
    assert_eq!(
        install["command"],
        json!([
            "python3",
            "-m",
            "pip",
            "install",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--target",
            "/deps",
            "--",
            "pandas",
            "numpy"
        ])
    );
    assert_eq!(install["image"], "python:3.11-slim");
    assert_eq!(
        install["volumeMounts"][0],
        json!({"name": "deps", "mountPath": "/deps"})
    );
    let script = container(&bundle, "containers", "script");
    assert!(
        script["env"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "PYTHONPATH", "value": "/deps"}))
    );
    assert!(
        script["volumeMounts"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "deps", "mountPath": "/deps", "readOnly": true}))
    );
    assert_eq!(
        script["resources"],
        json!({"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "1Gi"}})
    );
    assert_eq!(
        install["resources"], script["resources"],
        "pip gets the step's resources too"
    );
}

#[test]
fn env_goes_through_a_secret_by_reference() {
    let bundle = example("03");
    let kinds: Vec<_> = bundle.manifests.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(kinds, ["ConfigMap", "Secret", "Job"]);
    let secret = body(&bundle, "Secret");
    assert_eq!(
        secret["metadata"]["name"],
        format!("{}-env", bundle.job_name)
    );
    assert_eq!(
        secret["stringData"],
        json!({"API_KEY": "{{ secrets.EXTERNAL_API_KEY }}", "API_URL": "https://api.example.com"})
    );
    let script = container(&bundle, "containers", "script");
    assert!(script["env"].as_array().unwrap().contains(&json!(
        {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": format!("{}-env", bundle.job_name), "key": "API_KEY"}}}
    )));
    let job_text = body(&bundle, "Job").to_string();
    assert!(
        !job_text.contains("api.example.com"),
        "env values never appear in the Job"
    );
}

#[test]
fn node_scripts_get_their_own_file_and_interpreter() {
    let bundle = example("05");
    let script = container(&bundle, "containers", "script");
    assert_eq!(
        script["command"],
        json!(["node", "/scripts/script.js", "$(NOETL_ARGS)"])
    );
    assert!(
        body(&bundle, "ConfigMap")["data"]["script.js"]
            .as_str()
            .unwrap()
            .contains("process.argv[2]")
    );
    let volume = &pod(&bundle)["volumes"][0];
    assert_eq!(
        volume["configMap"]["items"],
        json!([{"key": "script.js", "path": "script.js"}])
    );
}

#[test]
fn node_dependencies_use_npm() {
    let config = inline(
        "console.log(1)",
        json!({"image": "node:20-slim", "install_dependencies": ["lodash@^4.17.21"]}),
    );
    let bundle = plan(&config, &common::context("s"), &NoSources).unwrap();
    let install = container(&bundle, "initContainers", "install-dependencies");
    assert_eq!(
        install["command"],
        json!([
            "npm",
            "install",
            "--prefix",
            "/deps",
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--",
            "lodash@^4.17.21"
        ])
    );
    let script = container(&bundle, "containers", "script");
    assert!(
        script["env"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "NODE_PATH", "value": "/deps/node_modules"}))
    );
}

#[test]
fn remote_scripts_are_fetched_and_pinned() {
    let bundle = example("04");
    assert_eq!(
        body(&bundle, "ConfigMap")["data"]["script.py"],
        common::REMOTE_SCRIPT
    );
    assert_eq!(
        body(&bundle, "ConfigMap")["data"]["args.json"],
        r#"{"input_file":"/data/input.json","output_file":"/data/output.json"}"#
    );

    let uri = "https://example.com/a.py";
    let sources = common::FakeSources::default().with_url(uri, b"print(1)\n");
    let pinned = |digest: &str| json!({"kind": "script", "script": {"type": "http", "uri": uri, "sha256": digest}});
    let good = "2b8e8bfc8ee5ae6d3d4b5f1bd4c8cae8bde1bfa8dbb4d00e2ba2e2d0e3b0cb9a";
    let actual = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(b"print(1)\n"))
    };
    assert!(
        plan(
            &pinned(&actual.to_uppercase()),
            &common::context("s"),
            &sources
        )
        .is_ok(),
        "pins compare case-insensitively"
    );
    let err = plan(&pinned(good), &common::context("s"), &sources).unwrap_err();
    assert_eq!(err.fields()[0].field, "tool.script.sha256");
    assert!(err.fields()[0].message.contains(&actual));
}

#[test]
fn source_failures_are_reported_by_kind() {
    let context = common::context("s");
    let remote = |uri: &str| json!({"script": {"type": "s3", "uri": uri}});
    let sources = common::FakeSources::default().with_url_error(
        "s3://b/denied.py",
        SourceError::Denied("policy grants no s3 bucket b".into()),
    );
    assert_eq!(
        plan(&remote("s3://b/denied.py"), &context, &sources),
        Err(PlanError::Capability(SourceError::Denied(
            "policy grants no s3 bucket b".into()
        )))
    );
    let missing = plan(&remote("s3://b/missing.py"), &context, &sources).unwrap_err();
    assert_eq!(missing.fields()[0].field, "tool.script.uri");
    assert!(matches!(
        plan(&remote("s3://b/x.py"), &context, &NoSources),
        Err(PlanError::Capability(SourceError::NotConfigured(_)))
    ));
    let too_big = common::FakeSources::default().with_url(
        "s3://b/big.py",
        &vec![b'#'; noetl_plugin_script::CONFIG_MAP_CAP + 1],
    );
    let err = plan(&remote("s3://b/big.py"), &context, &too_big).unwrap_err();
    assert_eq!(err.fields()[0].field, "tool.script.uri");
    assert!(err.fields()[0].fix.contains("below 1 MiB"));
}

#[test]
fn local_scripts_come_from_content_or_a_file() {
    let context = common::context("s");
    let sources = common::FakeSources::default().with_file("scripts/job.sh", b"echo \"$1\"\n");
    let config = json!({"script": {"type": "local", "path": "scripts/job.sh", "runtime": "sh"}, "job": {"image": "alpine:3.20"}});
    let bundle = plan(&config, &context, &sources).unwrap();
    assert_eq!(
        body(&bundle, "ConfigMap")["data"]["script.sh"],
        "echo \"$1\"\n"
    );
    assert_eq!(
        container(&bundle, "containers", "script")["command"],
        json!(["sh", "/scripts/script.sh", "$(NOETL_ARGS)"])
    );
    let config = json!({"script": {"type": "local", "content": "print(2)"}});
    assert_eq!(
        body(&plan(&config, &context, &NoSources).unwrap(), "ConfigMap")["data"]["script.py"],
        "print(2)"
    );
}

/// Since contract 0.2.0 a lone `{{ expr }}` reaches the plugin with the expression's JSON
/// type; fields that must be text take a number or boolean as its text.
#[test]
fn typed_values_in_text_fields_become_their_text() {
    let job = json!({
        "env": {"PORT": 8080, "DEBUG": true, "RATIO": 0.5, "NAME": "ada"},
        "labels": {"version": 2}, "annotations": {"example.com/replicas": 3},
        "node_selector": {"gpu": false},
        "tolerations": [{"key": "tier", "operator": "Equal", "value": 1, "effect": "NoSchedule"}],
    });
    let bundle = plan(&inline("print(1)", job), &common::context("s"), &NoSources).unwrap();
    assert_eq!(
        body(&bundle, "Secret")["stringData"],
        json!({"DEBUG": "true", "NAME": "ada", "PORT": "8080", "RATIO": "0.5"})
    );
    let job = body(&bundle, "Job");
    assert_eq!(job["metadata"]["labels"]["version"], "2");
    assert_eq!(job["metadata"]["annotations"]["example.com/replicas"], "3");
    let pod = pod(&bundle);
    assert_eq!(pod["nodeSelector"], json!({"gpu": "false"}));
    assert_eq!(pod["tolerations"][0]["value"], "1");
}

#[test]
fn optional_job_fields_reach_the_pod() {
    let job = json!({
        "labels": {"team": "data"}, "annotations": {"example.com/owner": "data team"},
        "service_account": "etl-runner", "node_selector": {"disktype": "ssd"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "etl", "effect": "NoExecute", "tolerationSeconds": 30}],
        "image_pull_secrets": ["regcred"], "namespace": "etl", "backoff_limit": 0, "ttl_seconds_after_finished": 0, "image_pull_policy": "Always"
    });
    let bundle = plan(&inline("print(1)", job), &common::context("s"), &NoSources).unwrap();
    let job = body(&bundle, "Job");
    for meta in [&job["metadata"], &job["spec"]["template"]["metadata"]] {
        assert_eq!(meta["labels"]["team"], "data");
        assert_eq!(meta["annotations"]["example.com/owner"], "data team");
    }
    assert!(
        body(&bundle, "ConfigMap")["metadata"]["labels"]
            .get("team")
            .is_none(),
        "user labels only on the Job and its pods"
    );
    let pod = pod(&bundle);
    assert_eq!(pod["serviceAccountName"], "etl-runner");
    assert_eq!(pod["automountServiceAccountToken"], true);
    assert_eq!(pod["nodeSelector"], json!({"disktype": "ssd"}));
    assert_eq!(
        pod["tolerations"][0],
        json!({"key": "dedicated", "operator": "Equal", "value": "etl", "effect": "NoExecute", "tolerationSeconds": 30})
    );
    assert_eq!(pod["imagePullSecrets"], json!([{"name": "regcred"}]));
    assert_eq!(bundle.namespace, "etl");
    assert_eq!(job["spec"]["backoffLimit"], 0);
    assert_eq!(
        container(&bundle, "containers", "script")["imagePullPolicy"],
        "Always"
    );
}

#[test]
fn a_script_with_template_braces_is_kept_verbatim() {
    let content = "print('{{ not a template }}')";
    let bundle = plan(
        &inline(content, json!({})),
        &common::context("s"),
        &NoSources,
    )
    .unwrap();
    assert_eq!(body(&bundle, "ConfigMap")["data"]["script.py"], content);
    assert_eq!(
        body(&bundle, "ConfigMap")["data"]["args.json"],
        "{}",
        "no args means an empty object"
    );
}

#[test]
fn the_size_cap_counts_script_and_args_together() {
    let cap = noetl_plugin_script::CONFIG_MAP_CAP;
    // The largest args allowed (they also travel as one argv item).
    let args = json!({"k": "x".repeat(noetl_plugin_script::config::MAX_ARGS_BYTES - 8)});
    let args_len = args.to_string().len();
    assert_eq!(args_len, noetl_plugin_script::config::MAX_ARGS_BYTES);
    let with =
        |content: String| json!({"script": {"type": "inline", "content": content}, "args": args});
    assert!(
        plan(
            &with("#".repeat(cap - args_len)),
            &common::context("s"),
            &NoSources
        )
        .is_ok()
    );
    let err = plan(
        &with("#".repeat(cap - args_len + 1)),
        &common::context("s"),
        &NoSources,
    )
    .unwrap_err();
    assert_eq!(err.fields()[0].field, "tool.script.content");
    assert!(err.fields()[0].message.contains("1 MiB"));
}

#[test]
fn long_or_odd_ids_still_make_valid_names_and_labels() {
    let context = noetl_plugin_script::PlanContext::new(
        "Execution/ID with spaces and much more text than fits in a label value at all",
        "Step #1",
    )
    .with_seed(1);
    let bundle = plan(&inline("print(1)", json!({})), &context, &NoSources).unwrap();
    assert!(bundle.job_name.len() <= 63);
    let meta = &body(&bundle, "Job")["metadata"];
    assert_eq!(
        meta["annotations"]["noetl.io/execution-id"],
        context.execution_id.as_str()
    );
    assert!(
        meta["labels"]["noetl.io/step"]
            .as_str()
            .unwrap()
            .starts_with("Step--1-")
    );
}

#[test]
fn without_a_seed_names_are_random() {
    let context = noetl_plugin_script::PlanContext::new("e", "s");
    let names: std::collections::BTreeSet<String> = (0..5)
        .map(|_| {
            plan(&inline("print(1)", json!({})), &context, &NoSources)
                .unwrap()
                .job_name
        })
        .collect();
    assert!(names.len() > 1, "{names:?}");
}
