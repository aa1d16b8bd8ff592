//! What the benchmark sets up on the shared test cluster and removes again: its own
//! namespaces and its own kwok nodes (tainted, so other sessions' pods never land on them
//! and deleting them cannot disturb anyone), plus readings of the apiserver's metrics and
//! of this process's memory.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Node, ServiceAccount};
use kube::Client;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;

/// Label and taint key of the benchmark's nodes; its steps select and tolerate them.
pub const NODE_KEY: &str = "bench.example/kbench";
pub const PODS_PER_NODE: usize = 110;

async fn poll<T>(
    what: &str,
    limit: Duration,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> anyhow::Result<T> {
    let until = tokio::time::Instant::now() + limit;
    loop {
        if let Some(found) = probe().await {
            return Ok(found);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < until,
            "{what} not ready after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Creates `name` and waits for its `default` ServiceAccount (pods are refused before it).
pub async fn create_namespace(client: &Client, name: &str) -> anyhow::Result<()> {
    let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": name}}))?;
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await?;
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), name);
    poll(
        &format!("ServiceAccount {name}/default"),
        Duration::from_secs(60),
        async || accounts.get_opt("default").await.ok().flatten(),
    )
    .await?;
    Ok(())
}

/// Deletes `name` if it exists (a phase that failed early may not have made it).
pub async fn delete_namespace(client: &Client, name: &str) -> anyhow::Result<()> {
    match Api::<Namespace>::all(client.clone())
        .delete(name, &DeleteParams::background())
        .await
    {
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        other => other.map(drop).map_err(Into::into),
    }
}

/// Enough kwok nodes for `pods` pods, named `{prefix}-{i}`, each tainted `NODE_KEY`;
/// returns their names once all are Ready.
pub async fn create_nodes(
    client: &Client,
    prefix: &str,
    pods: usize,
) -> anyhow::Result<Vec<String>> {
    let api: Api<Node> = Api::all(client.clone());
    let names: Vec<String> = (0..pods.div_ceil(PODS_PER_NODE))
        .map(|i| format!("{prefix}-{i}"))
        .collect();
    for name in &names {
        // As tests/cluster/kwok/node.yaml, plus the benchmark's label and taint.
        let node: Node = serde_json::from_value(json!({
            "metadata": {"name": name,
                "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                           "type": "kwok", NODE_KEY: "true"}},
            "spec": {"taints": [{"key": NODE_KEY, "value": "true", "effect": "NoSchedule"}]},
            "status": {
                "allocatable": {"cpu": "32", "memory": "256Gi", "pods": PODS_PER_NODE.to_string()},
                "capacity": {"cpu": "32", "memory": "256Gi", "pods": PODS_PER_NODE.to_string()},
                "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux"}}
        }))?;
        api.create(&PostParams::default(), &node).await?;
    }
    for name in &names {
        poll(
            &format!("node {name}"),
            Duration::from_secs(60),
            async || {
                let node = api.get(name).await.ok()?;
                let ready = node
                    .status?
                    .conditions?
                    .into_iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True");
                ready.then_some(())
            },
        )
        .await?;
    }
    Ok(names)
}

pub async fn delete_nodes(client: &Client, names: &[String]) -> anyhow::Result<()> {
    let api: Api<Node> = Api::all(client.clone());
    for name in names {
        api.delete(name, &DeleteParams::default()).await?;
    }
    Ok(())
}

/// `apiserver_request_total` summed by `"{verb} {resource}[/{subresource}]"` (all clients).
pub async fn apiserver_requests(client: &Client) -> anyhow::Result<BTreeMap<String, f64>> {
    let request = http::Request::get("/metrics").body(Vec::new())?;
    let text = client.request_text(request).await?;
    let mut totals = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("apiserver_request_total{"))
    {
        let Some((labels, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let label = |name: &str| {
            let start = labels.find(&format!("{name}=\""))? + name.len() + 2;
            labels[start..].split('"').next()
        };
        let (Some(verb), Some(resource)) = (label("verb"), label("resource")) else {
            continue;
        };
        let key = match label("subresource").filter(|s| !s.is_empty()) {
            Some(sub) => format!("{verb} {resource}/{sub}"),
            None => format!("{verb} {resource}"),
        };
        *totals.entry(key).or_default() += value.parse::<f64>().unwrap_or(0.0);
    }
    Ok(totals)
}

/// A `Vm*` line of /proc/self/status, in KiB.
pub fn vm_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets the process's peak RSS (`VmHWM`) to its current RSS (Linux `clear_refs` 5).
pub fn reset_peak_rss() -> anyhow::Result<()> {
    std::fs::write("/proc/self/clear_refs", "5")?;
    Ok(())
}

/// How many times the controller-manager logged waiting for its client-side rate limiter
/// (tests/cluster/up.sh keeps its log next to the kubeconfig, in `logs/`).
pub fn controller_throttle_waits(kubeconfig: &Path) -> Option<usize> {
    let log = kubeconfig
        .parent()?
        .join("logs/kube-controller-manager.log");
    let text = std::fs::read_to_string(log).ok()?;
    Some(
        text.lines()
            .filter(|l| l.contains("client-side throttling"))
            .count(),
    )
}
