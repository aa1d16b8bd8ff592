//! The Job: one pod, an optional dependency-install init container, the script container.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{
    Job, JobSpec, PodFailurePolicy, PodFailurePolicyOnPodConditionsPattern, PodFailurePolicyRule,
};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapKeySelector, ConfigMapVolumeSource, Container, EmptyDirVolumeSource,
    EnvVar, EnvVarSource, KeyToPath, LocalObjectReference, PodSpec, PodTemplateSpec,
    ResourceRequirements, SeccompProfile, SecretKeySelector, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use noetl_protocol::conventions::{ARGS_ENV, ARGS_KEY, INSTALL_CONTAINER, SCRIPT_CONTAINER};

use super::metadata::Stamp;
use crate::config::{JobConfig, Resources};
use crate::naming::JobNames;
use crate::runtime::{DEPS_DIR, Runtime, SCRIPTS_DIR};

const SCRIPT_VOLUME: &str = "script";
const TMP_VOLUME: &str = "tmp";
const DEPS_VOLUME: &str = "deps";
/// The non-root user scripts run as; images' own users vary, so it is set explicitly.
const RUN_AS: i64 = 1000;

pub fn build(job: &JobConfig, runtime: Runtime, names: &JobNames, stamp: &Stamp) -> Job {
    let user_stamp = stamp.with_user(&job.labels, &job.annotations);
    let installs = runtime
        .install_command(&job.install_dependencies)
        .filter(|_| !job.install_dependencies.is_empty());
    let mut volumes = vec![
        Volume {
            name: SCRIPT_VOLUME.into(),
            config_map: Some(ConfigMapVolumeSource {
                name: names.script_config_map(),
                // Only the script file: args reach the script through argv, not a file.
                items: Some(vec![KeyToPath {
                    key: runtime.script_file().into(),
                    path: runtime.script_file().into(),
                    mode: None,
                }]),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        },
        empty_dir(TMP_VOLUME),
    ];
    let init_containers = installs.map(|command| {
        volumes.push(empty_dir(DEPS_VOLUME));
        vec![Container {
            name: INSTALL_CONTAINER.into(),
            command: Some(command),
            env: Some(vec![plain_env("HOME", "/tmp")]),
            volume_mounts: Some(vec![
                mount(DEPS_VOLUME, DEPS_DIR, false),
                mount(TMP_VOLUME, "/tmp", false),
            ]),
            ..container_base(job)
        }]
    });
    let has_deps = init_containers.is_some();
    let script = Container {
        name: SCRIPT_CONTAINER.into(),
        command: Some(runtime.command()),
        env: Some(script_env(job, runtime, names, has_deps)),
        volume_mounts: Some(
            [
                mount(SCRIPT_VOLUME, SCRIPTS_DIR, true),
                mount(TMP_VOLUME, "/tmp", false),
            ]
            .into_iter()
            .chain(has_deps.then(|| mount(DEPS_VOLUME, DEPS_DIR, true)))
            .collect(),
        ),
        ..container_base(job)
    };
    let pod = PodSpec {
        restart_policy: Some("Never".into()),
        init_containers,
        containers: vec![script],
        volumes: Some(volumes),
        service_account_name: job.service_account.clone(),
        // Scripts do not talk to the API server unless the author picked an account for it.
        automount_service_account_token: Some(job.service_account.is_some()),
        node_selector: non_empty(job.node_selector.clone()),
        tolerations: (!job.tolerations.is_empty()).then(|| job.tolerations.clone()),
        image_pull_secrets: (!job.image_pull_secrets.is_empty()).then(|| {
            job.image_pull_secrets
                .iter()
                .map(|name| LocalObjectReference { name: name.clone() })
                .collect()
        }),
        ..PodSpec::default()
    };
    Job {
        metadata: user_stamp.object_meta(&names.job, &job.namespace),
        spec: Some(JobSpec {
            backoff_limit: Some(job.backoff_limit),
            ttl_seconds_after_finished: Some(job.ttl_seconds_after_finished),
            active_deadline_seconds: Some(i64::from(job.timeout)),
            pod_failure_policy: Some(disruptions_are_not_failures()),
            template: PodTemplateSpec {
                metadata: Some(user_stamp.template_meta()),
                spec: Some(pod),
            },
            ..JobSpec::default()
        }),
        ..Job::default()
    }
}

/// A pod evicted or preempted (condition `DisruptionTarget`) is retried without using up
/// `backoff_limit`: the script did not fail, the node went away.
fn disruptions_are_not_failures() -> PodFailurePolicy {
    PodFailurePolicy {
        rules: vec![PodFailurePolicyRule {
            action: "Ignore".into(),
            on_pod_conditions: Some(vec![PodFailurePolicyOnPodConditionsPattern {
                type_: "DisruptionTarget".into(),
                status: "True".into(),
            }]),
            on_exit_codes: None,
        }],
    }
}

/// What both containers share: image, pull policy, resources and the locked-down context.
fn container_base(job: &JobConfig) -> Container {
    Container {
        image: Some(job.image.clone()),
        image_pull_policy: Some(job.image_pull_policy.clone()),
        resources: resources(&job.resources),
        security_context: Some(restricted()),
        ..Container::default()
    }
}

/// The Pod Security "restricted" profile; the root filesystem is read-only, so `/tmp` is an
/// emptyDir and `HOME=/tmp` gives tools (pip, npm) somewhere to write caches.
fn restricted() -> SecurityContext {
    SecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(RUN_AS),
        run_as_group: Some(RUN_AS),
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            add: None,
        }),
        read_only_root_filesystem: Some(true),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            localhost_profile: None,
        }),
        ..SecurityContext::default()
    }
}

/// `NOETL_ARGS` from the ConfigMap, `HOME`, the dependency path, then each user variable
/// by `secretKeyRef` (values never appear in the Job spec).
fn script_env(job: &JobConfig, runtime: Runtime, names: &JobNames, has_deps: bool) -> Vec<EnvVar> {
    let args = EnvVar {
        name: ARGS_ENV.into(),
        value_from: Some(EnvVarSource {
            config_map_key_ref: Some(ConfigMapKeySelector {
                name: names.script_config_map(),
                key: ARGS_KEY.into(),
                optional: None,
            }),
            ..EnvVarSource::default()
        }),
        value: None,
    };
    let deps_path = runtime
        .dependency_path_env()
        .filter(|_| has_deps)
        .map(|(name, value)| plain_env(name, &value));
    let user = job.env.keys().map(|name| EnvVar {
        name: name.clone(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: names.env_secret(),
                key: name.clone(),
                optional: None,
            }),
            ..EnvVarSource::default()
        }),
        value: None,
    });
    [args, plain_env("HOME", "/tmp")]
        .into_iter()
        .chain(deps_path)
        .chain(user)
        .collect()
}

fn plain_env(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        value_from: None,
    }
}

fn mount(volume: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: volume.into(),
        mount_path: path.into(),
        read_only: read_only.then_some(true),
        ..VolumeMount::default()
    }
}

fn empty_dir(name: &str) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Volume::default()
    }
}

fn resources(resources: &Resources) -> Option<ResourceRequirements> {
    let quantities = |map: &BTreeMap<String, String>| {
        non_empty(
            map.iter()
                .map(|(name, q)| (name.clone(), Quantity(q.clone())))
                .collect(),
        )
    };
    let requirements = ResourceRequirements {
        requests: quantities(&resources.requests),
        limits: quantities(&resources.limits),
        claims: None,
    };
    (requirements.requests.is_some() || requirements.limits.is_some()).then_some(requirements)
}

fn non_empty<V>(map: BTreeMap<String, V>) -> Option<BTreeMap<String, V>> {
    (!map.is_empty()).then_some(map)
}
