//! One shared watch per namespace for the host's Jobs and one for their Pods, fanned out
//! to the jobs waiting on them.
//!
//! Each namespace gets two kube-runtime reflectors (label `managed-by=noetl-host`) that
//! keep an in-memory store of the Jobs and Pods. Every event wakes only the waiters of the
//! Job it concerns (keyed by Job name; a Pod maps to its Job through the `job-name`
//! label); a waiter then re-reads the Job and its pods from the stores. A thousand running
//! jobs cost two watch connections, not a thousand poll loops.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt as _;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Client, Resource, ResourceExt as _};
use tokio::sync::watch;

use crate::backend::conventions::{LABEL_MANAGED_BY, MANAGED_BY};

/// Label the Job controller puts on its pods (both spellings: older clusters set only
/// the unprefixed one).
const POD_JOB_LABELS: &[&str] = &["batch.kubernetes.io/job-name", "job-name"];

/// The shared watches of one backend, started on first use per namespace.
pub struct Watches {
    client: Client,
    namespaces: Mutex<HashMap<String, Arc<NamespaceWatch>>>,
}

impl Watches {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            namespaces: Mutex::new(HashMap::new()),
        }
    }

    /// The namespace's watch, starting it if this is the first job there.
    pub fn namespace(&self, namespace: &str) -> Arc<NamespaceWatch> {
        let mut map = self.namespaces.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(namespace.to_string())
            .or_insert_with(|| Arc::new(NamespaceWatch::start(&self.client, namespace)))
            .clone()
    }
}

type Subscribers = Arc<Mutex<HashMap<String, watch::Sender<u64>>>>;

/// The Jobs and Pods of one namespace, kept current by two watches.
pub struct NamespaceWatch {
    namespace: String,
    jobs: Store<Job>,
    pods: Store<Pod>,
    subscribers: Subscribers,
    /// Set when a watch is refused outright (RBAC): waiting would only run into the timeout.
    refusal: watch::Receiver<Option<String>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for NamespaceWatch {
    fn drop(&mut self) {
        self.tasks.iter().for_each(|t| t.abort());
    }
}

impl NamespaceWatch {
    fn start(client: &Client, namespace: &str) -> Self {
        let subscribers: Subscribers = Arc::default();
        let (refusal_tx, refusal) = watch::channel(None);
        let refusal_tx = Arc::new(refusal_tx);
        let (jobs, job_task) = spawn_reflector::<Job>(
            client,
            namespace,
            subscribers.clone(),
            refusal_tx.clone(),
            |job: &Job| job.metadata.name.clone(),
        );
        let (pods, pod_task) = spawn_reflector::<Pod>(
            client,
            namespace,
            subscribers.clone(),
            refusal_tx,
            |pod: &Pod| {
                let labels = pod.metadata.labels.as_ref()?;
                POD_JOB_LABELS.iter().find_map(|l| labels.get(*l).cloned())
            },
        );
        Self {
            namespace: namespace.to_string(),
            jobs,
            pods,
            subscribers,
            refusal,
            tasks: vec![job_task, pod_task],
        }
    }

    /// Wakes whenever the Job `job_name` or one of its pods changes.
    pub fn subscribe(&self, job_name: &str) -> Subscription {
        let mut map = self.subscribers.lock().unwrap_or_else(|e| e.into_inner());
        let sender = map
            .entry(job_name.to_string())
            .or_insert_with(|| watch::channel(0).0);
        Subscription {
            changes: sender.subscribe(),
            job_name: job_name.to_string(),
            subscribers: self.subscribers.clone(),
        }
    }

    /// Resolves once both stores hold a complete initial list, or fails when the API
    /// server refuses the watch.
    pub async fn ready(&self) -> anyhow::Result<()> {
        let mut refusal = self.refusal.clone();
        tokio::select! {
            ready = async { self.jobs.wait_until_ready().await?; self.pods.wait_until_ready().await } => {
                ready.map_err(|_| anyhow::anyhow!("the watch of namespace {} stopped", self.namespace))
            }
            refused = refusal.wait_for(Option::is_some) => {
                let message = refused.ok().and_then(|r| r.clone()).unwrap_or_default();
                Err(anyhow::anyhow!(message))
            }
        }
    }

    /// Why the watch is refused, if it is.
    pub fn refusal(&self) -> Option<String> {
        self.refusal.borrow().clone()
    }

    /// The Job named `name` with uid `uid`, if the store has it.
    pub fn job(&self, name: &str, uid: &str) -> Option<Arc<Job>> {
        self.jobs
            .get(&reflector::ObjectRef::new(name).within(&self.namespace))
            .filter(|j| j.metadata.uid.as_deref() == Some(uid))
    }

    /// The pods the Job with `job_uid` owns.
    pub fn pods_of(&self, job_uid: &str) -> Vec<Arc<Pod>> {
        self.pods
            .state_filter(|pod| pod.owner_references().iter().any(|o| o.uid == job_uid))
    }
}

/// A waiter's handle: `changed()` resolves on the next event for its Job.
pub struct Subscription {
    changes: watch::Receiver<u64>,
    job_name: String,
    subscribers: Subscribers,
}

impl Subscription {
    pub async fn changed(&mut self) {
        // The sender lives in the shared map for as long as any subscription does, so an
        // error here cannot happen; pending forever is the right behaviour if it did.
        if self.changes.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// A second handle on the same Job (for the log follower next to the waiter).
    pub fn another(&self) -> Subscription {
        Subscription {
            changes: self.changes.clone(),
            job_name: self.job_name.clone(),
            subscribers: self.subscribers.clone(),
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut map = self.subscribers.lock().unwrap_or_else(|e| e.into_inner());
        // The map's sender has one receiver per live subscription; this is the last one.
        if map
            .get(&self.job_name)
            .is_some_and(|s| s.receiver_count() <= 1)
        {
            map.remove(&self.job_name);
        }
    }
}

fn spawn_reflector<K>(
    client: &Client,
    namespace: &str,
    subscribers: Subscribers,
    refusal: Arc<watch::Sender<Option<String>>>,
    job_name_of: fn(&K) -> Option<String>,
) -> (Store<K>, tokio::task::JoinHandle<()>)
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let config = watcher::Config::default().labels(&format!("{LABEL_MANAGED_BY}={MANAGED_BY}"));
    let (store, writer) = reflector::store();
    let stream = reflector::reflector(writer, watcher(api, config).default_backoff());
    let namespace = namespace.to_string();
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(
                    watcher::Event::Apply(obj)
                    | watcher::Event::Delete(obj)
                    | watcher::Event::InitApply(obj),
                ) => {
                    if let Some(name) = job_name_of(&obj) {
                        notify(&subscribers, Some(&name));
                    }
                }
                Ok(watcher::Event::InitDone) => notify(&subscribers, None),
                Ok(watcher::Event::Init) => {}
                Err(err) => {
                    let plural = K::plural(&());
                    tracing::warn!(namespace = %namespace, error = %err, "watch of {plural} failed; retrying with backoff");
                    if let Some(message) =
                        refusal_message(&err, &namespace, &K::group(&()), &plural)
                    {
                        refusal.send_replace(Some(message));
                        notify(&subscribers, None);
                    }
                }
            }
        }
    });
    (store, task)
}

/// Wakes the waiters of one Job, or of every Job (`None`) after a relist.
fn notify(subscribers: &Subscribers, job_name: Option<&str>) {
    let map = subscribers.lock().unwrap_or_else(|e| e.into_inner());
    match job_name {
        Some(name) => map
            .get(name)
            .into_iter()
            .for_each(|s| s.send_modify(|n| *n += 1)),
        None => map.values().for_each(|s| s.send_modify(|n| *n += 1)),
    }
}

/// A watch error that retrying will not fix: the host lacks list/watch permission.
fn refusal_message(
    err: &watcher::Error,
    namespace: &str,
    group: &str,
    plural: &str,
) -> Option<String> {
    let code = match err {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => super::api_error::code_of(e),
        watcher::Error::WatchError(status) => Some(status.code),
        watcher::Error::NoResourceVersion => None,
    }?;
    (code == 403 || code == 401).then(|| {
        format!(
            "Kubernetes forbids the host to list and watch {plural} in namespace {namespace:?}; bind the host's identity \
             to a Role in namespace {namespace} with the rule {{apiGroups: [\"{group}\"], resources: [\"{plural}\"], \
             verbs: [\"get\", \"list\", \"watch\"]}} (examples/rbac.yaml has every rule the host needs). Error: {err}"
        )
    })
}
