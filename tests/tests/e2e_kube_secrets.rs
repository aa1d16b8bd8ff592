//! End-to-end: `--secrets-k8s NAMESPACE/NAME` reads `{{ secrets.X }}` from a Secret on the
//! test control plane (tests/cluster), under the template plugin's policy grant, while the
//! steps run on the local backend. Each test makes its own `ksecret-…` namespace holding a
//! Secret with a canary value, and deletes it afterwards.
//!
//! Ignored by default, like the other cluster tests:
//! `NOETL_TEST_KUBECONFIG=$(tests/cluster/up.sh) cargo test -p noetl-tests --test e2e_kube_secrets -- --ignored`.

#[allow(dead_code)] // shared with e2e_cluster, which uses the rest
mod e2e_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use e2e_support::{HostRun, execution_id, kubeconfig, kubectl, run_with, unbound_account_kubeconfig};

const CANARY: &str = "canary-ksecret-0b7e4d2a";
/// The canary as the API server sends it (`data` values are base64).
const CANARY_BASE64: &str = "Y2FuYXJ5LWtzZWNyZXQtMGI3ZTRkMmE=";
const SECRET: &str = "app-secrets";

/// A namespace `ksecret-…` holding Secret `app-secrets` (API_KEY = the canary, DB_USER),
/// deleted when dropped (also when the test fails).
struct ClusterSecret {
    namespace: String,
    /// Policy files and playbooks of the test.
    dir: tempfile::TempDir,
}

impl ClusterSecret {
    fn create() -> Self {
        let namespace = execution_id("x").replacen("e2e-x", "ksecret", 1);
        kubectl(&["create", "namespace", &namespace]);
        let fixture = ClusterSecret { namespace, dir: tempfile::tempdir().unwrap() };
        kubectl(&[
            "create",
            "secret",
            "generic",
            SECRET,
            "-n",
            &fixture.namespace,
            &format!("--from-literal=API_KEY={CANARY}"),
            "--from-literal=DB_USER=reporting",
        ]);
        let stored = kubectl(&["get", "secret", SECRET, "-n", &fixture.namespace, "-o", "jsonpath={.data.API_KEY}"]);
        assert_eq!(stored, CANARY_BASE64);
        fixture
    }

    /// A policy letting the template plugin read secrets and, when `grant`, get Secrets here.
    fn policy(&self, grant: bool) -> PathBuf {
        let kubernetes = if grant {
            format!("    kubernetes: {{ namespaces: [{}], kinds: [Secret] }}\n", self.namespace)
        } else {
            String::new()
        };
        let path = self.dir.path().join(format!("policy-{grant}.yaml"));
        std::fs::write(&path, format!("plugins:\n  template:\n    secrets: {{ names: [\"*\"] }}\n{kubernetes}")).unwrap();
        path
    }

    /// `noetl-host ... --secrets-k8s NAMESPACE/secret ARGS` as admin, under a policy that
    /// grants the read when `grant`.
    fn host(&self, grant: bool, secret: &str, args: &[&str]) -> HostRun {
        host(&kubeconfig(), &self.policy(grant), &format!("{}/{secret}", self.namespace), args)
    }

    /// `render TEMPLATE` reading Secret `secret` of this namespace.
    fn render(&self, grant: bool, secret: &str, template: &str) -> HostRun {
        self.host(grant, secret, &["render", template])
    }
}

impl Drop for ClusterSecret {
    fn drop(&mut self) {
        kubectl(&["delete", "namespace", &self.namespace, "--wait=false"]);
    }
}

/// `noetl-host -vv --kubeconfig K --policy P --secrets-k8s S ARGS...`, with no
/// `NOETL_SECRET_*` or other configuration from the environment.
fn host(kubeconfig: &Path, policy: &Path, secret: &str, args: &[&str]) -> HostRun {
    let mut command = Command::new(noetl_tests::host_bin());
    command
        .args(["-vv", "--kubeconfig"])
        .arg(kubeconfig)
        .arg("--policy")
        .arg(policy)
        .args(["--secrets-k8s", secret])
        .args(args)
        .env_remove("KUBECONFIG")
        .env_remove("NOETL_POLICY")
        .env_remove("NOETL_SECRETS_DIR")
        .env_remove("NOETL_SECRETS_K8S")
        .env_remove("NOETL_SECRET_API_KEY")
        .env_remove("NOETL_SECRET_DB_USER")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    run_with(command)
}

/// The canary, or its base64 form (what the API sends), appears nowhere the host wrote.
fn assert_no_canary(run: &HostRun) {
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text.contains(CANARY) && !text.contains(CANARY_BASE64),
            "the secret leaked on {stream}:\n{}",
            run.transcript()
        );
    }
}

/// A step whose script receives two secrets as env vars and prints them reversed: the
/// output proves the pod got the real values without containing the values themselves.
fn write_playbook(dir: &Path) -> PathBuf {
    let path = dir.join("playbook.yaml");
    std::fs::write(
        &path,
        r#"workflow:
  - step: use_secret
    tool:
      kind: script
      script:
        type: inline
        content: |
          import os
          print(os.environ["API_KEY"][::-1], os.environ["DB_USER"][::-1])
      job:
        image: python:3.11-slim
        env:
          API_KEY: "{{ secrets.API_KEY }}"
          DB_USER: "{{ secrets.DB_USER }}"
"#,
    )
    .unwrap();
    path
}

#[test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
fn a_local_run_gets_secrets_from_the_cluster_and_never_shows_them() {
    let cluster = ClusterSecret::create();
    let playbook = write_playbook(cluster.dir.path());
    let run = cluster.host(true, SECRET, &["run", playbook.to_str().unwrap(), "--backend", "local", "--output", "json"]);
    run.expect_code(0);
    let reversed: String = CANARY.chars().rev().collect();
    let output = run.step_response()["data"]["output"].as_str().unwrap_or_default().to_string();
    assert_eq!(output.trim(), format!("{reversed} gnitroper"), "{}", run.transcript());
    assert_no_canary(&run);
}

#[test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
fn render_redacts_the_value_and_a_missing_key_names_where_it_looked() {
    let cluster = ClusterSecret::create();
    let rendered = cluster.render(true, SECRET, "key={{ secrets.API_KEY }}");
    rendered.expect_code(0);
    assert_eq!(rendered.stdout.trim(), "key=<redacted>", "{}", rendered.transcript());
    assert_no_canary(&rendered);

    let missing = cluster.render(true, SECRET, "{{ secrets.NOT_THERE }}");
    assert_ne!(missing.code, 0, "{}", missing.transcript());
    let location = format!("key NOT_THERE of Kubernetes Secret {}/{SECRET}", cluster.namespace);
    assert!(
        missing.stderr.contains(&location),
        "the not-found error should list the Secret it looked in:\n{}",
        missing.transcript()
    );
    assert_no_canary(&missing);
}

#[test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
fn a_missing_secret_is_named_with_the_fix() {
    let cluster = ClusterSecret::create();
    let run = cluster.render(true, "no-such-secret", "{{ secrets.API_KEY }}");
    assert_ne!(run.code, 0, "{}", run.transcript());
    let expected = format!(
        "Secret \"no-such-secret\" does not exist in namespace \"{}\" (or the namespace does not exist); create it",
        cluster.namespace
    );
    assert!(run.stderr.contains(&expected), "{}", run.transcript());
    assert!(run.stderr.contains("--secrets-k8s"), "{}", run.transcript());
}

#[test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
fn a_policy_without_the_grant_is_refused_before_reading() {
    let cluster = ClusterSecret::create();
    let run = cluster.render(false, SECRET, "{{ secrets.API_KEY }}");
    run.expect_code(2);
    let expected = format!(
        "plugin `template` may not use kubernetes on `get Secret` in namespace `{}`: the policy grants no such \
         access (add it under plugins.template.kubernetes (namespaces and kinds) in the policy file)",
        cluster.namespace
    );
    assert!(run.stderr.contains(&expected), "{}", run.transcript());
    assert!(run.stdout.is_empty(), "{}", run.transcript());
    assert_no_canary(&run);
}

#[test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
fn an_rbac_denial_names_the_secret_and_the_rule_to_add() {
    let cluster = ClusterSecret::create();
    let (limited, token) = unbound_account_kubeconfig(cluster.dir.path(), "ksecret-no-role", &cluster.namespace);
    let secret = format!("{}/{SECRET}", cluster.namespace);
    let run = host(&limited, &cluster.policy(true), &secret, &["render", "{{ secrets.API_KEY }}"]);
    assert_ne!(run.code, 0, "{}", run.transcript());
    let expected = format!(
        "Kubernetes forbids the host to get secrets \"{SECRET}\" in namespace \"{ns}\"; bind the host's identity \
         to a Role in namespace {ns} with the rule {{apiGroups: [\"\"], resources: [\"secrets\"], verbs: [\"get\"]}}",
        ns = cluster.namespace
    );
    assert!(run.stderr.contains(&expected), "{}", run.transcript());
    assert!(!run.stderr.contains(&token) && !run.stdout.contains(&token), "the token leaked:\n{}", run.transcript());
    assert_no_canary(&run);
}

/// Needs no cluster: a malformed `--secrets-k8s` is a usage error naming the option.
#[test]
fn a_malformed_option_names_itself_and_the_form() {
    for value in ["app-secrets", "Noetl/app", "noetl/bad_name"] {
        let run = run_with({
            let mut command = Command::new(noetl_tests::host_bin());
            command
                .args(["--secrets-k8s", value, "render", "x"])
                .env_remove("NOETL_SECRETS_K8S")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            command
        });
        run.expect_code(2);
        assert!(run.stderr.contains("--secrets-k8s"), "{}", run.transcript());
        assert!(run.stderr.contains("write it as NAMESPACE/NAME"), "{}", run.transcript());
    }
}
