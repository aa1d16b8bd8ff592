//! Reads a job bundle's Kubernetes manifests into what the local backend runs: the
//! containers (argv and env fully resolved as kubelet would), the volumes, and the Job's
//! retry and deadline policy. Every refusal names the manifest field and the fix.

use super::expand::expand;
use super::quantity::{cpu_millis, memory_bytes};
use crate::backend::{JobBundle, conventions};
use anyhow::{Context, bail};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Container, PodSecurityContext, Secret, Volume};
use std::collections::{BTreeMap, HashMap};

/// Kubernetes' default `backoffLimit`.
const DEFAULT_BACKOFF_LIMIT: u32 = 6;
/// Containers run as this uid/gid unless the pod spec says otherwise (never as root: see
/// `sandbox` for why root inside the sandbox would be root over the mounted host files).
const DEFAULT_RUN_AS: u32 = 1000;

#[derive(Debug)]
pub(super) struct PodPlan {
    pub backoff_limit: u32,
    /// The tightest `activeDeadlineSeconds` of the Job and its pod template.
    pub deadline_seconds: Option<u64>,
    pub install: Option<ContainerPlan>,
    pub script: ContainerPlan,
    pub volumes: BTreeMap<String, VolumeSource>,
}

#[derive(Debug)]
pub(super) struct ContainerPlan {
    pub name: String,
    pub image: String,
    /// `command` + `args`, `$(VAR)`-expanded.
    pub argv: Vec<String>,
    /// Final environment in definition order (a later duplicate replaced the earlier value).
    pub env: Vec<(String, String)>,
    pub working_dir: Option<String>,
    pub mounts: Vec<MountPlan>,
    pub memory_limit: Option<u64>,
    /// `resources.limits.cpu` in millicores.
    pub cpu_limit: Option<u64>,
    pub run_as_user: u32,
    pub run_as_group: u32,
}

#[derive(Debug, Clone)]
pub(super) struct MountPlan {
    pub volume: String,
    pub path: String,
    pub read_only: bool,
}

#[derive(Debug)]
pub(super) enum VolumeSource {
    /// Files (relative path, bytes) materialized from a ConfigMap.
    Files(Vec<(String, Vec<u8>)>),
    EmptyDir,
}

/// Key → bytes of every ConfigMap and Secret in the bundle, by name.
struct Objects {
    config_maps: HashMap<String, BTreeMap<String, Vec<u8>>>,
    secrets: HashMap<String, BTreeMap<String, Vec<u8>>>,
}

pub(super) fn plan(bundle: &JobBundle) -> anyhow::Result<PodPlan> {
    let job_manifest = bundle
        .job()
        .with_context(|| format!("bundle {}: has no Job manifest (it must be the last one)", bundle.job_name))?;
    let job: Job = serde_json::from_value(job_manifest.body.clone())
        .with_context(|| format!("manifest Job/{}: not a valid batch/v1 Job", job_manifest.name))?;
    let objects = collect_objects(bundle)?;
    let job_spec = job.spec.as_ref().context("Job.spec: missing")?;
    let pod = job_spec.template.spec.as_ref().context("Job spec.template.spec: missing")?;

    let backoff_limit = match job_spec.backoff_limit {
        None => DEFAULT_BACKOFF_LIMIT,
        Some(n) => u32::try_from(n).map_err(|_| anyhow::anyhow!("Job spec.backoffLimit: {n} is negative"))?,
    };
    let deadline_seconds = [job_spec.active_deadline_seconds, pod.active_deadline_seconds]
        .into_iter()
        .flatten()
        .map(|s| u64::try_from(s).map_err(|_| anyhow::anyhow!("activeDeadlineSeconds: {s} is negative")))
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .min();

    let pod_sc = pod.security_context.as_ref();
    let script = match pod.containers.as_slice() {
        [one] => container_plan(one, "spec.template.spec.containers", pod_sc, &objects)?,
        many => bail!(
            "Job spec.template.spec.containers: the local backend runs exactly one container (the \
             `{}` container), found {}",
            conventions::SCRIPT_CONTAINER,
            many.len()
        ),
    };
    let install = match pod.init_containers.as_deref().unwrap_or_default() {
        [] => None,
        [one] if one.name == conventions::INSTALL_CONTAINER => {
            Some(container_plan(one, "spec.template.spec.initContainers", pod_sc, &objects)?)
        }
        other => bail!(
            "Job spec.template.spec.initContainers: the local backend supports only the `{}` init \
             container, found [{}]",
            conventions::INSTALL_CONTAINER,
            other.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
        ),
    };

    let mut volumes = BTreeMap::new();
    for v in pod.volumes.as_deref().unwrap_or_default() {
        volumes.insert(v.name.clone(), volume_source(v, &objects)?);
    }
    for c in install.iter().chain([&script]) {
        for m in &c.mounts {
            if !volumes.contains_key(&m.volume) {
                bail!(
                    "container `{}` volumeMounts[{}]: volume `{}` is not in spec.template.spec.volumes",
                    c.name,
                    m.path,
                    m.volume
                );
            }
        }
    }
    Ok(PodPlan { backoff_limit, deadline_seconds, install, script, volumes })
}

fn collect_objects(bundle: &JobBundle) -> anyhow::Result<Objects> {
    let mut objects = Objects { config_maps: HashMap::new(), secrets: HashMap::new() };
    for m in &bundle.manifests {
        match m.kind.as_str() {
            "ConfigMap" => {
                let cm: ConfigMap = serde_json::from_value(m.body.clone())
                    .with_context(|| format!("manifest ConfigMap/{}: not a valid v1 ConfigMap", m.name))?;
                let mut data: BTreeMap<String, Vec<u8>> =
                    cm.data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.into_bytes())).collect();
                data.extend(cm.binary_data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)));
                objects.config_maps.insert(m.name.clone(), data);
            }
            "Secret" => {
                // The error must not quote the body: it holds secret values.
                let secret: Secret = serde_json::from_value(m.body.clone()).map_err(|_| {
                    anyhow::anyhow!("manifest Secret/{}: not a valid v1 Secret (values are base64 in `data`)", m.name)
                })?;
                let mut data: BTreeMap<String, Vec<u8>> =
                    secret.data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)).collect();
                // Kubernetes merges stringData over data on write.
                data.extend(secret.string_data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.into_bytes())));
                objects.secrets.insert(m.name.clone(), data);
            }
            "Job" => {}
            other => bail!("manifest {other}/{}: the local backend runs ConfigMap, Secret and Job manifests only", m.name),
        }
    }
    Ok(objects)
}

fn container_plan(
    c: &Container,
    list: &str,
    pod_sc: Option<&PodSecurityContext>,
    objects: &Objects,
) -> anyhow::Result<ContainerPlan> {
    let at = format!("{list}[{}]", c.name);
    let image = c.image.clone().with_context(|| format!("{at}.image: missing"))?;
    let env = resolve_env(c, &at, objects)?;
    let lookup = |name: &str| env.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let command = c.command.as_deref().unwrap_or_default();
    if command.is_empty() {
        bail!("{at}.command: missing; the local backend has no image entrypoint, so the command must be explicit");
    }
    let argv = command.iter().chain(c.args.as_deref().unwrap_or_default()).map(|a| expand(a, lookup)).collect();
    let mut mounts = Vec::new();
    for m in c.volume_mounts.as_deref().unwrap_or_default() {
        if m.sub_path.is_some() || m.sub_path_expr.is_some() {
            bail!("{at}.volumeMounts[{}].subPath: not supported by the local backend", m.name);
        }
        if !m.mount_path.starts_with('/') {
            bail!("{at}.volumeMounts[{}].mountPath: `{}` must be absolute", m.name, m.mount_path);
        }
        mounts.push(MountPlan { volume: m.name.clone(), path: m.mount_path.clone(), read_only: m.read_only == Some(true) });
    }
    let limit = |name: &str, parse: fn(&str) -> Result<u64, String>| {
        c.resources
            .as_ref()
            .and_then(|r| r.limits.as_ref())
            .and_then(|l| l.get(name))
            .map(|q| parse(&q.0).map_err(|e| anyhow::anyhow!("{at}.resources.limits.{name}: {e}")))
            .transpose()
    };
    let memory_limit = limit("memory", memory_bytes)?;
    let cpu_limit = limit("cpu", cpu_millis)?;
    let (run_as_user, run_as_group) = run_as(c, pod_sc, &at)?;
    Ok(ContainerPlan {
        name: c.name.clone(),
        image,
        argv,
        env,
        working_dir: c.working_dir.clone(),
        mounts,
        memory_limit,
        cpu_limit,
        run_as_user,
        run_as_group,
    })
}

fn run_as(c: &Container, pod_sc: Option<&PodSecurityContext>, at: &str) -> anyhow::Result<(u32, u32)> {
    let sc = c.security_context.as_ref();
    let user = sc.and_then(|s| s.run_as_user).or(pod_sc.and_then(|s| s.run_as_user));
    let group = sc.and_then(|s| s.run_as_group).or(pod_sc.and_then(|s| s.run_as_group));
    let id = |v: Option<i64>, field: &str| -> anyhow::Result<u32> {
        match v {
            None => Ok(DEFAULT_RUN_AS),
            Some(0) => bail!(
                "{at}.securityContext.{field}: 0 (root) is refused by the local backend, because root in \
                 the sandbox could remount the host directories it sees; use a non-zero id such as 1000"
            ),
            Some(n) => u32::try_from(n).map_err(|_| anyhow::anyhow!("{at}.securityContext.{field}: {n} is out of range")),
        }
    };
    Ok((id(user, "runAsUser")?, id(group, "runAsGroup")?))
}

/// The container's environment as kubelet builds it: `envFrom` first, then `env` in order;
/// a plain `value` may refer to variables defined before it with `$(VAR)`.
fn resolve_env(c: &Container, at: &str, objects: &Objects) -> anyhow::Result<Vec<(String, String)>> {
    let mut env: Vec<(String, String)> = Vec::new();
    let set = |env: &mut Vec<(String, String)>, k: String, v: String| {
        env.retain(|(name, _)| *name != k);
        env.push((k, v));
    };
    for (i, from) in c.env_from.as_deref().unwrap_or_default().iter().enumerate() {
        let prefix = from.prefix.clone().unwrap_or_default();
        let (source, name, optional) = match (&from.config_map_ref, &from.secret_ref) {
            (Some(r), None) => (&objects.config_maps, r.name.clone(), r.optional == Some(true)),
            (None, Some(r)) => (&objects.secrets, r.name.clone(), r.optional == Some(true)),
            _ => bail!("{at}.envFrom[{i}]: needs exactly one of configMapRef or secretRef"),
        };
        match source.get(&name) {
            Some(data) => {
                for (k, v) in data {
                    set(&mut env, format!("{prefix}{k}"), utf8(v, || format!("{at}.envFrom[{i}] key `{k}`"))?);
                }
            }
            None if optional => {}
            None => bail!("{at}.envFrom[{i}]: object `{name}` is not part of the job bundle"),
        }
    }
    for var in c.env.as_deref().unwrap_or_default() {
        let field = format!("{at}.env[{}]", var.name);
        let value = match (&var.value, &var.value_from) {
            (_, Some(from)) => {
                let (source, kind, name, key, optional) = match (&from.secret_key_ref, &from.config_map_key_ref) {
                    (Some(r), None) => (&objects.secrets, "Secret", &r.name, &r.key, r.optional == Some(true)),
                    (None, Some(r)) => (&objects.config_maps, "ConfigMap", &r.name, &r.key, r.optional == Some(true)),
                    _ => bail!(
                        "{field}.valueFrom: the local backend supports secretKeyRef and configMapKeyRef only"
                    ),
                };
                match source.get(name).and_then(|d| d.get(key)) {
                    Some(bytes) => utf8(bytes, || format!("{field}: {kind} `{name}` key `{key}`"))?,
                    None if optional => continue,
                    None => bail!("{field}.valueFrom: {kind} `{name}` key `{key}` is not in the job bundle"),
                }
            }
            (Some(v), None) => {
                let lookup = |n: &str| env.iter().rev().find(|(k, _)| k == n).map(|(_, v)| v.clone());
                expand(v, lookup)
            }
            (None, None) => String::new(),
        };
        set(&mut env, var.name.clone(), value);
    }
    Ok(env)
}

fn utf8(bytes: &[u8], what: impl Fn() -> String) -> anyhow::Result<String> {
    let s = String::from_utf8(bytes.to_vec()).map_err(|_| anyhow::anyhow!("{}: value is not UTF-8 text", what()))?;
    if s.contains('\0') {
        bail!("{}: value contains a NUL byte, which no environment variable can hold", what());
    }
    Ok(s)
}

fn volume_source(v: &Volume, objects: &Objects) -> anyhow::Result<VolumeSource> {
    let at = format!("spec.template.spec.volumes[{}]", v.name);
    if v.empty_dir.is_some() {
        return Ok(VolumeSource::EmptyDir);
    }
    let Some(cm) = &v.config_map else {
        bail!("{at}: the local backend supports configMap and emptyDir volumes only");
    };
    let data = match objects.config_maps.get(&cm.name) {
        Some(data) => data,
        None if cm.optional == Some(true) => return Ok(VolumeSource::Files(Vec::new())),
        None => bail!("{at}.configMap.name: ConfigMap `{}` is not part of the job bundle", cm.name),
    };
    let files = match &cm.items {
        Some(items) => items
            .iter()
            .map(|item| {
                let bytes = data.get(&item.key).with_context(|| {
                    format!("{at}.configMap.items[{}]: key not in ConfigMap `{}`", item.key, cm.name)
                })?;
                Ok((checked_relpath(&item.path, &at)?, bytes.clone()))
            })
            .collect::<anyhow::Result<Vec<_>>>()?,
        None => data
            .iter()
            .map(|(k, bytes)| Ok((checked_relpath(k, &at)?, bytes.clone())))
            .collect::<anyhow::Result<Vec<_>>>()?,
    };
    Ok(VolumeSource::Files(files))
}

/// A file name inside a volume: relative, no `..` (Kubernetes validates the same).
fn checked_relpath(path: &str, at: &str) -> anyhow::Result<String> {
    if path.is_empty() || path.starts_with('/') || path.split('/').any(|c| c == ".." || c.is_empty()) {
        bail!("{at}: file path `{path}` must be relative without `..`");
    }
    Ok(path.to_string())
}
