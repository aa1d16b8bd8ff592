//! What happened in the cluster, seen by the benchmark itself (its own uncounted client):
//! one watch each on Jobs, ConfigMaps and Secrets of every namespace, recording per object
//! when it was first seen, when each Job condition first showed `True`, and when it was
//! deleted, all on the wall clock so the tool processes' return times compare with them.
//! The correctness rows read it to say whether a tool left a Job running or an object
//! behind, and whether a secret's value reached the Secret the pod reads.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures::StreamExt as _;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Api, Client, Resource, ResourceExt as _};
use serde::de::DeserializeOwned;

/// Milliseconds since the Unix epoch (the clock shared with the tool processes).
pub fn unix_ms(at: SystemTime) -> f64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
        * 1e3
}

#[derive(Clone, Debug, Default)]
pub struct Seen {
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub first_ms: f64,
    pub deleted_ms: Option<f64>,
    /// Job conditions (`Complete`, `Failed`, ...) → (reason, first seen `True`).
    pub conditions: BTreeMap<String, (String, f64)>,
    /// Job `status.failed`, the largest seen.
    pub failed_pods: i32,
    /// Secret values, decoded (only ever compared, never printed).
    pub secret_values: Vec<String>,
}

impl Seen {
    /// When the Job first showed a terminal condition, or was deleted, whichever came first.
    pub fn ended_ms(&self) -> Option<f64> {
        let terminal = ["Complete", "Failed"]
            .iter()
            .filter_map(|c| self.conditions.get(*c).map(|(_, at)| *at));
        terminal.chain(self.deleted_ms).reduce(f64::min)
    }

    /// Whether the object belongs to execution `id`: by our label, or by upstream's name
    /// `noetl-script-{id}-…` (upstream labels nothing).
    pub fn of_execution(&self, id: i64) -> bool {
        self.labels.get("noetl.io/execution-id") == Some(&id.to_string())
            || self.name.starts_with(&format!("noetl-script-{id}-"))
    }
}

/// An object's kind, namespace and name.
type Key = (&'static str, String, String);

#[derive(Clone, Default)]
pub struct Recorder {
    seen: Arc<Mutex<HashMap<Key, Seen>>>,
    tasks: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if Arc::strong_count(&self.tasks) == 1 {
            self.tasks.lock().unwrap().iter().for_each(|t| t.abort());
        }
    }
}

impl Recorder {
    /// Starts the three watches and returns once each has loaded its initial list.
    pub async fn start(client: &Client) -> anyhow::Result<Self> {
        let recorder = Self::default();
        recorder.watch::<Job>(client, "Job", job_details).await?;
        recorder
            .watch::<ConfigMap>(client, "ConfigMap", |_, _| {})
            .await?;
        recorder
            .watch::<Secret>(client, "Secret", secret_details)
            .await?;
        Ok(recorder)
    }

    /// Every object seen in `namespace` whose record satisfies `pick`.
    pub fn find(&self, namespace: &str, pick: impl Fn(&Seen) -> bool) -> Vec<Seen> {
        let seen = self.seen.lock().unwrap();
        let mut found: Vec<Seen> = seen
            .values()
            .filter(|s| s.namespace == namespace && pick(s))
            .cloned()
            .collect();
        found.sort_by(|a, b| a.first_ms.total_cmp(&b.first_ms));
        found
    }

    /// The record of Job `name`, waiting up to `limit` for it to show condition `condition`
    /// (the tool's own watch may have been served before ours).
    pub async fn job_condition(
        &self,
        namespace: &str,
        name: &str,
        condition: &str,
        limit: Duration,
    ) -> Option<f64> {
        let until = tokio::time::Instant::now() + limit;
        loop {
            let key = ("Job", namespace.to_string(), name.to_string());
            let at = self
                .seen
                .lock()
                .unwrap()
                .get(&key)
                .and_then(|s| s.conditions.get(condition).map(|c| c.1));
            if at.is_some() || tokio::time::Instant::now() >= until {
                return at;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn watch<K>(
        &self,
        client: &Client,
        kind: &'static str,
        details: fn(&K, &mut Seen),
    ) -> anyhow::Result<()>
    where
        K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
        K::DynamicType: Default + Eq + std::hash::Hash + Clone,
    {
        let api: Api<K> = Api::all(client.clone());
        let seen = self.seen.clone();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut ready_tx = Some(ready_tx);
            let mut events =
                std::pin::pin!(watcher(api, watcher::Config::default()).default_backoff());
            while let Some(event) = events.next().await {
                let now = unix_ms(SystemTime::now());
                let (object, deleted) = match event {
                    Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => (o, false),
                    Ok(watcher::Event::Delete(o)) => (o, true),
                    Ok(watcher::Event::InitDone) => {
                        ready_tx.take().map(|r| r.send(()));
                        continue;
                    }
                    Ok(watcher::Event::Init) => continue,
                    Err(err) => {
                        eprintln!("recorder: {kind} watch error (retrying): {err}");
                        continue;
                    }
                };
                let key = (
                    kind,
                    object.namespace().unwrap_or_default(),
                    object.name_any(),
                );
                let mut seen = seen.lock().unwrap();
                let record = seen.entry(key.clone()).or_insert_with(|| Seen {
                    kind,
                    namespace: key.1.clone(),
                    name: key.2.clone(),
                    labels: object.labels().clone(),
                    first_ms: now,
                    ..Seen::default()
                });
                if deleted {
                    record.deleted_ms.get_or_insert(now);
                }
                details(&object, record);
            }
        });
        self.tasks.lock().unwrap().push(task);
        tokio::time::timeout(Duration::from_secs(30), ready_rx)
            .await
            .map_err(|_| anyhow::anyhow!("the recorder's {kind} watch did not load in 30 s"))??;
        Ok(())
    }
}

fn job_details(job: &Job, record: &mut Seen) {
    let now = unix_ms(SystemTime::now());
    let Some(status) = &job.status else { return };
    record.failed_pods = record.failed_pods.max(status.failed.unwrap_or(0));
    for condition in status.conditions.iter().flatten() {
        if condition.status == "True" {
            let reason = condition.reason.clone().unwrap_or_default();
            record
                .conditions
                .entry(condition.type_.clone())
                .or_insert((reason, now));
        }
    }
}

fn secret_details(secret: &Secret, record: &mut Seen) {
    let values = secret
        .data
        .iter()
        .flatten()
        .map(|(_, v)| String::from_utf8_lossy(&v.0).into_owned());
    let strings = secret.string_data.iter().flatten().map(|(_, v)| v.clone());
    record.secret_values = values.chain(strings).collect();
}
