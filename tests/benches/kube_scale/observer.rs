//! An independent observer of Job completions: its own watch (own connection, own client)
//! on the Jobs of a namespace, timestamping on receipt the first event in which a Job has
//! condition `Complete=True`. The backend's latency is measured from that moment.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Api, Client};
use tokio::sync::watch;

/// When the observer first saw a Job complete.
#[derive(Clone, Copy, Debug)]
pub struct Seen {
    pub at: Instant,
    /// Wall clock at receipt, to compare with the condition's `lastTransitionTime`.
    pub wall: Timestamp,
    /// The condition's `lastTransitionTime` (one-second resolution).
    pub transition: Option<Timestamp>,
}

pub struct CompletionObserver {
    seen: Arc<Mutex<HashMap<String, Seen>>>,
    changes: watch::Receiver<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CompletionObserver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CompletionObserver {
    /// Starts watching and returns once the watch's initial list is done, so no
    /// completion after this call can be missed.
    pub async fn start(client: Client, namespace: &str) -> anyhow::Result<Self> {
        let api: Api<Job> = Api::namespaced(client, namespace);
        let seen: Arc<Mutex<HashMap<String, Seen>>> = Arc::default();
        let (tx, changes) = watch::channel(0u64);
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let record = seen.clone();
        let task = tokio::spawn(async move {
            let mut ready_tx = Some(ready_tx);
            let mut events =
                std::pin::pin!(watcher(api, watcher::Config::default()).default_backoff());
            while let Some(event) = events.next().await {
                let job = match event {
                    Ok(watcher::Event::Apply(job) | watcher::Event::InitApply(job)) => job,
                    Ok(watcher::Event::InitDone) => {
                        ready_tx.take().map(|r| r.send(()));
                        continue;
                    }
                    Ok(_) => continue,
                    Err(err) => {
                        eprintln!("observer watch error (retrying): {err}");
                        continue;
                    }
                };
                let (at, wall) = (Instant::now(), Timestamp::now());
                let complete = job
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .and_then(|conditions| {
                        conditions
                            .iter()
                            .find(|c| c.type_ == "Complete" && c.status == "True")
                    });
                if let (Some(condition), Some(name)) = (complete, job.metadata.name.clone()) {
                    let transition = condition.last_transition_time.as_ref().map(|t| t.0);
                    record.lock().unwrap().entry(name).or_insert(Seen {
                        at,
                        wall,
                        transition,
                    });
                    tx.send_modify(|n| *n += 1);
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(30), ready_rx)
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "the observer's watch of namespace {namespace} did not load in 30 s"
                )
            })??;
        Ok(Self {
            seen,
            changes,
            task,
        })
    }

    /// When the observer saw Job `name` complete, waiting up to `limit` for it (the
    /// backend's own watch may have been served first).
    pub async fn seen(&self, name: &str, limit: Duration) -> Option<Seen> {
        let mut changes = self.changes.clone();
        let found = tokio::time::timeout(limit, async {
            loop {
                if let Some(seen) = self.seen.lock().unwrap().get(name).copied() {
                    return seen;
                }
                if changes.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        });
        found.await.ok()
    }
}
