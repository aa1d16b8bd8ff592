//! End-to-end: a python step runs as a Job on the test control plane (tests/cluster: real
//! apiserver and Job controller; kwok plays the kubelet and prints its canned log).
//! `NOETL_TEST_KUBECONFIG=$(tests/cluster/up.sh) cargo test -p noetl-tests --test e2e_tools -- --ignored`.

#[allow(dead_code)] // shared with e2e_cluster, which uses the rest
mod e2e_support;

use e2e_support::*;

#[test]
#[ignore = "needs the test cluster: tests/run-all.sh"]
fn a_python_step_runs_as_a_labelled_job() {
    let dir = tempfile::tempdir().unwrap();
    let playbook = dir.path().join("python.yaml");
    std::fs::write(
        &playbook,
        "workflow:\n  - step: transform\n    tool:\n      kind: python\n      args: {items: [1, 2]}\n      code: \"result = {'n': len(items)}\"\n",
    )
    .unwrap();
    let id = execution_id("python");
    let host = run(&playbook, &id, &[]);
    host.expect_code(0);
    let response = host.step_response();
    assert_eq!(response["status"], "success", "{}", host.transcript());
    assert_eq!(response["exit_code"], 0, "{}", host.transcript());
    // kwok does not run the code: its canned log is the step's stdout, with no value.
    assert_eq!(
        response["data"]["stdout"],
        "{\"result\": \"success\", \"count\": 100}\n",
        "{}",
        host.transcript()
    );
    let selector = format!("noetl.io/execution-id={id},noetl.io/tool=python");
    let jobs = kubectl(&[
        "get",
        "jobs",
        "-n",
        "noetl",
        "-l",
        &selector,
        "-o",
        "jsonpath={.items[*].spec.template.spec.containers[0].command}",
    ]);
    assert!(
        jobs.contains("/scripts/script.py"),
        "no python Job labelled for {id}: {jobs:?}\n{}",
        host.transcript()
    );
}
