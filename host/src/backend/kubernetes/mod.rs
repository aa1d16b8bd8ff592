//! The Kubernetes backend: submits a job bundle with kube-rs, watches it to its end through
//! shared per-namespace watches, and reads the real exit code, reason and log.

mod api_error;
mod creation;
pub mod kinds;
mod logs;
mod naming;
mod ops;
pub mod outcome;
mod submit;
mod watch;

#[cfg(test)]
mod e2e;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, LogParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use tokio::time::Instant;

pub use api_error::RetryPolicy;
pub use ops::{KubeOps, OpsError};

use self::kinds::KnownKind;
use self::logs::{LogFollower, LogTail};
use self::creation::{CreationCheck, FailedCreateEvents};
use self::outcome::{Verdict, assess, base_outcome, newest_pod, pod_creation_failed};
use self::watch::{NamespaceWatch, Subscription, Watches};
use crate::backend::conventions::{INSTALL_CONTAINER, REASON_INSTALL_FAILED};
use crate::backend::{JobBundle, JobOutcome, JobRef, JobStatus};

/// How to reach the cluster and how patient to be with it.
#[derive(Debug, Clone)]
pub struct KubeOptions {
    /// Kubeconfig file; when absent, kubectl's rules: `$KUBECONFIG`, then `~/.kube/config`,
    /// then the in-cluster service account.
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context; the file's current context when absent.
    pub context: Option<String>,
    /// How long a pod may sit in ErrImagePull / ImagePullBackOff / CreateContainerConfigError
    /// / Unschedulable, or a Job may have no pod at all (FailedCreate: quota, admission),
    /// before the job is reported `start_failed`.
    pub start_failure_grace: Duration,
    /// Largest log kept in the outcome; beyond it the tail is kept and `output_truncated` set.
    pub log_cap_bytes: usize,
    /// A log stream silent this long is reopened from the last timestamp seen.
    pub log_stall_timeout: Duration,
    /// After the job ended, how long to keep reading the rest of its log.
    pub log_drain: Duration,
    /// Retries for transient API errors.
    pub retry: RetryPolicy,
    /// How many fresh name suffixes to try when a name is already taken.
    pub name_attempts: u32,
}

impl Default for KubeOptions {
    fn default() -> Self {
        Self {
            kubeconfig: None,
            context: None,
            start_failure_grace: Duration::from_secs(30),
            log_cap_bytes: 1024 * 1024,
            log_stall_timeout: Duration::from_secs(120),
            log_drain: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            name_attempts: 3,
        }
    }
}

/// Runs job bundles on a Kubernetes cluster. Cheap to share: one per host process, so all
/// jobs in a namespace share its two watches.
pub struct KubernetesBackend {
    client: Client,
    options: KubeOptions,
    watches: Watches,
    failed_create: FailedCreateEvents,
}

/// How long the shared watch may take to load before a job past its deadline is declared
/// timed out without having been seen.
const READY_WAIT: Duration = Duration::from_secs(10);

/// How waiting ended, before logs are attached.
enum Ending {
    Ended(JobOutcome),
    /// The host-side timeout passed; the last Job and pods seen describe the state.
    TimedOut {
        job: Arc<Job>,
        pod: Option<Arc<Pod>>,
    },
}

impl Ending {
    /// Whether the host deletes the Job when it stops waiting: a Job it abandons (a pod that
    /// cannot start, the host-side backstop) would otherwise keep going, and a Job that hit
    /// its deadline is removed too, so a timed-out step leaves no Job behind.
    fn deletes_job(&self) -> bool {
        match self {
            Ending::TimedOut { .. } => true,
            Ending::Ended(outcome) => matches!(outcome.status, JobStatus::StartFailed | JobStatus::Timeout),
        }
    }
}

/// A client for the cluster `options` name (kubeconfig and context), with kubectl's rules
/// when they are absent: `$KUBECONFIG`, `~/.kube/config`, then the in-cluster account.
/// Builds no connection yet: the first request connects.
pub async fn client(options: &KubeOptions) -> anyhow::Result<Client> {
    let context = KubeConfigOptions {
        context: options.context.clone(),
        ..KubeConfigOptions::default()
    };
    let config = match (&options.kubeconfig, &options.context) {
        (Some(path), _) => {
            let file = Kubeconfig::read_from(path).with_context(|| format!("could not read kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(file, &context)
                .await
                .with_context(|| format!("kubeconfig {} is not usable", path.display()))?
        }
        (None, Some(name)) => kube::Config::from_kubeconfig(&context)
            .await
            .with_context(|| format!("could not use kubeconfig context {name:?} (from $KUBECONFIG or ~/.kube/config)"))?,
        (None, None) => kube::Config::infer().await.context(
            "no Kubernetes configuration found: set --kubeconfig, $KUBECONFIG or ~/.kube/config, or run inside a cluster",
        )?,
    };
    Client::try_from(config).context("could not build a Kubernetes client from the configuration")
}

impl KubernetesBackend {
    /// Connects with kubectl's configuration rules (see [`KubeOptions::kubeconfig`]).
    pub async fn connect(options: KubeOptions) -> anyhow::Result<Self> {
        let client = client(&options).await?;
        Ok(Self::from_client(client, options))
    }

    /// Uses an existing client (tests use a fake API server behind one).
    pub fn from_client(client: Client, options: KubeOptions) -> Self {
        Self {
            watches: Watches::new(client.clone()),
            failed_create: FailedCreateEvents::new(client.clone()),
            client,
            options,
        }
    }

    /// The `kubernetes` capability's operations on this backend's cluster.
    pub fn ops(&self) -> KubeOps {
        KubeOps::new(self.client.clone(), self.options.retry)
    }

    /// Submits `bundle` (or reattaches to the Job an earlier run created for the same
    /// execution and step), waits for it to end, and reports how. Log lines go to `on_log`
    /// as they arrive; the outcome keeps the bounded tail of the newest pod's log.
    pub async fn run(
        &self,
        bundle: &JobBundle,
        on_log: &(dyn Fn(&str) + Send + Sync),
    ) -> anyhow::Result<JobOutcome> {
        let job = self.created(bundle).await?;
        self.follow(bundle, job, on_log).await
    }

    /// Creates `bundle` without waiting for it (or finds the Job an earlier run created for
    /// the same execution and step).
    pub async fn submit(&self, bundle: &JobBundle) -> anyhow::Result<JobRef> {
        let job = self.created(bundle).await?;
        Ok(JobRef {
            job_name: job.metadata.name.clone().context("the API server returned a Job without a name")?,
            namespace: bundle.namespace.clone(),
            uid: job.metadata.uid.clone().context("the API server returned a Job without a uid")?,
            backend: "kubernetes".into(),
        })
    }

    /// Waits for the Job an earlier run created for `bundle`'s execution and step (found by
    /// its labels, so after a host restart too); `None` when Kubernetes has no such Job.
    pub async fn resume(&self, bundle: &JobBundle, on_log: &(dyn Fn(&str) + Send + Sync)) -> anyhow::Result<Option<JobOutcome>> {
        match submit::find_existing(&self.client, bundle, &self.options.retry).await? {
            Some(job) => Ok(Some(self.follow(bundle, job, on_log).await?)),
            None => Ok(None),
        }
    }

    /// The Job an earlier run created for the same execution and step, or a new one.
    async fn created(&self, bundle: &JobBundle) -> anyhow::Result<Job> {
        let retry = &self.options.retry;
        Ok(match submit::find_existing(&self.client, bundle, retry).await? {
            Some(job) => {
                tracing::info!(job = job.metadata.name.as_deref(), namespace = %bundle.namespace, "reattaching to an existing Job");
                job
            }
            None => submit::submit(&self.client, bundle, retry, self.options.name_attempts).await?,
        })
    }

    /// Watches `job` (created for `bundle`) to its end and collects its log.
    async fn follow(&self, bundle: &JobBundle, job: Job, on_log: &(dyn Fn(&str) + Send + Sync)) -> anyhow::Result<JobOutcome> {
        let retry = &self.options.retry;
        let name = job
            .metadata
            .name
            .clone()
            .context("the API server returned a Job without a name")?;
        let uid = job
            .metadata
            .uid
            .clone()
            .context("the API server returned a Job without a uid")?;
        let namespace = self.watches.namespace(&bundle.namespace);
        let deadline = deadline_for(&job, bundle.timeout_seconds);

        let changes = namespace.subscribe(&name);
        let follower = LogFollower {
            pods: Api::namespaced(self.client.clone(), &bundle.namespace),
            namespace: &namespace,
            job_uid: uid.clone(),
            on_log,
            stall_timeout: self.options.log_stall_timeout,
        };
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut tail = LogTail::new(self.options.log_cap_bytes);
        let log_changes = changes.another();
        let waiter = async {
            let mut ending = self.wait_for_end(&namespace, &job, changes, deadline).await;
            if ending.as_ref().is_ok_and(Ending::deletes_job) {
                // Stop it: nobody waits for it any more, a stuck pod would hold its quota,
                // and a killed pod ends its log stream so the follower can finish.
                let deleted = match KnownKind::by_name("Job") {
                    Ok(kind) => {
                        submit::delete_exact(
                            &self.client,
                            &bundle.namespace,
                            kind,
                            &name,
                            &uid,
                            retry,
                        )
                        .await
                    }
                    Err(err) => Err(err),
                };
                if let Err(err) = deleted {
                    ending =
                        Err(err.context(format!("Job {name} could not be deleted after it ended")));
                }
            }
            stop_tx.send_replace(true);
            ending
        };
        let logger = async {
            let mut stopped = stop_rx.clone();
            tokio::select! {
                () = follower.follow(&mut tail, log_changes, stop_rx) => {}
                () = async {
                    let _ = stopped.wait_for(|stop| *stop).await;
                    tokio::time::sleep(self.options.log_drain).await;
                } => {}
            }
        };
        let (ending, ()) = tokio::join!(waiter, logger);

        let mut outcome = match ending? {
            Ending::Ended(outcome) => outcome,
            Ending::TimedOut { job, pod } => {
                let mut outcome = base_outcome(&job, pod.as_deref(), JobStatus::Timeout);
                outcome.execution_seconds = f64::from(bundle.timeout_seconds);
                outcome.reason = Some("Timeout".to_string());
                outcome.message = Some(format!(
                    "the job did not finish within {} seconds; the host deleted Job {name}",
                    bundle.timeout_seconds
                ));
                outcome
            }
        };
        let (output, truncated) = if outcome.reason.as_deref() == Some(REASON_INSTALL_FAILED) {
            self.install_log(&bundle.namespace, outcome.pod_name.as_deref())
                .await
        } else {
            tail.finish()
        };
        outcome.output = output;
        outcome.output_truncated = truncated;
        Ok(outcome)
    }

    /// Waits on the shared watch until the Job ends, a pod cannot start, or `deadline`.
    async fn wait_for_end(
        &self,
        namespace: &NamespaceWatch,
        created: &Job,
        mut changes: Subscription,
        deadline: Instant,
    ) -> anyhow::Result<Ending> {
        let name = created.metadata.name.as_deref().unwrap_or_default();
        let uid = created.metadata.uid.as_deref().unwrap_or_default();
        let timed_out = |job: Arc<Job>| {
            let pods = namespace.pods_of(uid);
            let newest =
                newest_pod(pods.iter().map(|p| p.as_ref())).and_then(|n| n.metadata.uid.clone());
            let pod = pods
                .into_iter()
                .find(|p| p.metadata.uid.is_some() && p.metadata.uid == newest);
            Ok(Ending::TimedOut { job, pod })
        };
        // Even past the deadline (a reattached Job older than its timeout) the watch gets a
        // moment to load, so a Job that already finished is reported as it finished.
        let ready_by = deadline.max(Instant::now() + READY_WAIT);
        tokio::select! {
            ready = namespace.ready() => ready?,
            () = tokio::time::sleep_until(ready_by) => return timed_out(Arc::new(created.clone())),
        }
        let mut last_seen: Option<Arc<Job>> = None;
        let mut creation = CreationCheck::new(self.options.start_failure_grace);
        loop {
            if let Some(refusal) = namespace.refusal() {
                anyhow::bail!(refusal);
            }
            let mut recheck_at = None;
            match namespace.job(name, uid) {
                Some(job) => {
                    let pods = namespace.pods_of(uid);
                    let pods: Vec<&Pod> = pods.iter().map(|p| p.as_ref()).collect();
                    match assess(
                        &job,
                        &pods,
                        Timestamp::now(),
                        self.options.start_failure_grace,
                    ) {
                        Verdict::Ended(outcome) => return Ok(Ending::Ended(outcome)),
                        Verdict::Running { recheck_at: at } => recheck_at = at,
                    }
                    if pods.is_empty() {
                        // No event may arrive while the controller keeps failing to create
                        // the pod, so the next read is always scheduled as a recheck.
                        let now = Timestamp::now();
                        let next = match creation.due(&job, now) {
                            Ok(next) => {
                                let namespace = created.metadata.namespace.as_deref().unwrap_or_default();
                                if let Some(message) = self.failed_create.message_for(namespace, uid).await {
                                    return Ok(Ending::Ended(pod_creation_failed(&job, &message, now)));
                                }
                                next
                            }
                            Err(at) => at,
                        };
                        recheck_at = Some(recheck_at.map_or(next, |r: Timestamp| r.min(next)));
                    }
                    last_seen = Some(job);
                }
                None if last_seen.is_some() => anyhow::bail!(
                    "Job {name} in namespace {:?} was deleted by someone else before it finished",
                    created.metadata.namespace.as_deref().unwrap_or_default()
                ),
                // Created but not yet seen by the watch: the next event brings it.
                None => {}
            }
            // Checked after assessing, so a job that ended by the deadline counts as ended.
            if Instant::now() >= deadline {
                return timed_out(last_seen.unwrap_or_else(|| Arc::new(created.clone())));
            }
            let recheck = recheck_at.map_or(deadline, instant_at).min(deadline);
            tokio::select! {
                () = changes.changed() => {}
                () = tokio::time::sleep_until(recheck) => {}
            }
        }
    }

    /// The dependency installer's log, which explains a `DependencyInstallFailed`.
    async fn install_log(&self, namespace: &str, pod: Option<&str>) -> (String, bool) {
        let Some(pod) = pod else {
            return (String::new(), false);
        };
        let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let params = LogParams {
            container: Some(INSTALL_CONTAINER.to_string()),
            ..LogParams::default()
        };
        let mut tail = LogTail::new(self.options.log_cap_bytes);
        match api.logs(pod, &params).await {
            Ok(text) => text.lines().for_each(|line| tail.push_line(line)),
            Err(err) => {
                tracing::warn!(pod, error = %err, "could not read the {INSTALL_CONTAINER} log")
            }
        }
        tail.finish()
    }
}

/// The host-side deadline: the Job's creation plus its timeout, so a host that reattaches
/// after a restart does not grant the job a fresh timeout.
fn deadline_for(job: &Job, timeout_seconds: u32) -> Instant {
    let timeout = Duration::from_secs(u64::from(timeout_seconds));
    let elapsed = job
        .metadata
        .creation_timestamp
        .as_ref()
        .and_then(|t| Duration::try_from(Timestamp::now().duration_since(t.0)).ok())
        .unwrap_or_default();
    Instant::now() + timeout.saturating_sub(elapsed)
}

/// A wall-clock time as a tokio instant (now if it is in the past).
fn instant_at(at: Timestamp) -> Instant {
    let ahead = Duration::try_from(at.duration_since(Timestamp::now())).unwrap_or_default();
    Instant::now() + ahead
}

impl super::Backend for KubernetesBackend {
    fn name(&self) -> &'static str {
        "kubernetes"
    }

    fn run<'a>(&'a self, bundle: &'a JobBundle, on_log: &'a super::LogSink) -> super::BackendFuture<'a> {
        Box::pin(KubernetesBackend::run(self, bundle, on_log))
    }

    fn submit<'a>(&'a self, bundle: &'a JobBundle) -> super::BackendFuture<'a, JobRef> {
        Box::pin(KubernetesBackend::submit(self, bundle))
    }

    fn resume<'a>(&'a self, bundle: &'a JobBundle, on_log: &'a super::LogSink) -> super::BackendFuture<'a, Option<JobOutcome>> {
        Box::pin(KubernetesBackend::resume(self, bundle, on_log))
    }
}
