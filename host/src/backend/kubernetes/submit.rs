//! Creating a job bundle in the cluster: supporting objects, then the Job, then owner
//! references so Kubernetes garbage-collects the supporting objects with the Job. A failed
//! submission deletes exactly what it created (by uid) and nothing else.

use anyhow::Context as _;
use k8s_openapi::api::batch::v1::Job;
use kube::Client;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, Preconditions,
};

use super::api_error::{Action, Idempotency, RetryPolicy, explain, is_already_exists};
use super::kinds::KnownKind;
use super::naming::{random_suffix, with_suffix};
use crate::backend::conventions::{
    LABEL_EXECUTION_ID, LABEL_MANAGED_BY, LABEL_STEP, LABEL_TOOL, MANAGED_BY,
};
use crate::backend::{JobBundle, Manifest};

/// One object this submission created: the only kind of object it may delete.
#[derive(Debug)]
struct Created {
    kind: &'static KnownKind,
    name: String,
    uid: String,
}

enum AttemptError {
    /// Some object name is taken; the whole bundle gets a new suffix.
    NameTaken {
        kind: String,
        name: String,
    },
    Failed(anyhow::Error),
}

/// Submits `bundle`, renaming it (new random suffix for every object) when a name is
/// already taken, at most `name_attempts` times. Returns the created Job (whose name may
/// differ from the planned one).
pub async fn submit(
    client: &Client,
    bundle: &JobBundle,
    retry: &RetryPolicy,
    name_attempts: u32,
) -> anyhow::Result<Job> {
    check_bundle(bundle)?;
    let mut current = bundle.clone();
    let mut attempt = 1;
    loop {
        match submit_once(client, &current, retry).await {
            Ok(job) => return Ok(job),
            Err(AttemptError::Failed(err)) => return Err(err),
            Err(AttemptError::NameTaken { kind, name }) if attempt < name_attempts => {
                tracing::info!(%kind, %name, "name already taken in namespace {}; renaming the bundle", current.namespace);
                current = with_suffix(&current, &random_suffix());
                attempt += 1;
            }
            Err(AttemptError::NameTaken { kind, name }) => anyhow::bail!(
                "could not find a free name for job {}: {kind} {name:?} already exists in namespace {:?} \
                 after {name_attempts} attempts with fresh suffixes; delete stale objects labelled \
                 {LABEL_MANAGED_BY}={MANAGED_BY} or retry later",
                bundle.job_name,
                current.namespace
            ),
        }
    }
}

/// The bundle's shape (the contract's kinds, one namespace), and the host's labels on the
/// Job and its pods, without which the shared watches would never see the Job end. Bundles
/// from plugins get both from [`crate::admission::admit`]; this guards direct callers.
fn check_bundle(bundle: &JobBundle) -> anyhow::Result<()> {
    crate::admission::check_shape(bundle).map_err(anyhow::Error::msg)?;
    let job = bundle.job().context("the job bundle has no Job manifest")?;
    for pointer in ["/metadata/labels", "/spec/template/metadata/labels"] {
        let label = job.body.pointer(pointer).and_then(|labels| labels.get(LABEL_MANAGED_BY));
        anyhow::ensure!(
            label.and_then(|v| v.as_str()) == Some(MANAGED_BY),
            "Job {:?} lacks the label {LABEL_MANAGED_BY}={MANAGED_BY} at {pointer}, so the host's watches would \
             never see it; admit the bundle with noetl_host::admission::admit, which stamps it",
            job.name
        );
    }
    Ok(())
}

async fn submit_once(
    client: &Client,
    bundle: &JobBundle,
    retry: &RetryPolicy,
) -> Result<Job, AttemptError> {
    let mut created = Vec::new();
    let result = create_all(client, bundle, retry, &mut created).await;
    if result.is_ok() {
        return result;
    }
    let cleanup_errors = rollback(client, &bundle.namespace, retry, &created).await;
    match result {
        Err(AttemptError::Failed(err)) if !cleanup_errors.is_empty() => {
            Err(AttemptError::Failed(err.context(format!(
                "and cleaning up after it failed too, these objects are left behind: {}",
                cleanup_errors.join("; ")
            ))))
        }
        Err(AttemptError::NameTaken { .. }) if !cleanup_errors.is_empty() => {
            Err(AttemptError::Failed(anyhow::anyhow!(
                "a name in job {} was taken, and cleaning up the objects already created failed: {}",
                bundle.job_name,
                cleanup_errors.join("; ")
            )))
        }
        other => other,
    }
}

async fn create_all(
    client: &Client,
    bundle: &JobBundle,
    retry: &RetryPolicy,
    created: &mut Vec<Created>,
) -> Result<Job, AttemptError> {
    let ns = bundle.namespace.as_str();
    let mut job = None;
    for manifest in &bundle.manifests {
        let object = create(client, ns, manifest, retry).await?;
        let kind = KnownKind::by_name(&manifest.kind).map_err(AttemptError::Failed)?;
        let uid = object.metadata.uid.clone().unwrap_or_default();
        created.push(Created {
            kind,
            name: manifest.name.clone(),
            uid,
        });
        if manifest.kind == "Job" {
            let value =
                serde_json::to_value(&object).map_err(|e| AttemptError::Failed(e.into()))?;
            job = Some(
                serde_json::from_value::<Job>(value).map_err(|e| AttemptError::Failed(e.into()))?,
            );
        }
    }
    let job = job.ok_or_else(|| AttemptError::Failed(anyhow::anyhow!("the bundle has no Job")))?;
    let job_uid = job.metadata.uid.clone().unwrap_or_default();
    for supporting in created.iter().filter(|c| c.kind.kind != "Job") {
        set_owner(client, ns, supporting, &bundle.job_name, &job_uid, retry)
            .await
            .map_err(AttemptError::Failed)?;
    }
    Ok(job)
}

async fn create(
    client: &Client,
    ns: &str,
    manifest: &Manifest,
    retry: &RetryPolicy,
) -> Result<DynamicObject, AttemptError> {
    let kind = KnownKind::by_name(&manifest.kind).map_err(AttemptError::Failed)?;
    let mut body = manifest.body.clone();
    if let Some(meta) = body.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        meta.insert("namespace".into(), ns.into());
    }
    let object: DynamicObject = serde_json::from_value(body)
        .with_context(|| {
            format!(
                "{} manifest {:?} is not a Kubernetes object",
                manifest.kind, manifest.name
            )
        })
        .map_err(AttemptError::Failed)?;
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &kind.api_resource());
    let params = PostParams::default();
    let result = retry
        .run(Idempotency::Create, || api.create(&params, &object))
        .await;
    match result {
        Ok(created) => Ok(created),
        Err(err) if is_already_exists(&err) => Err(AttemptError::NameTaken {
            kind: manifest.kind.clone(),
            name: manifest.name.clone(),
        }),
        Err(err) => Err(AttemptError::Failed(explain(
            err,
            Action {
                verb: "create",
                group: kind.group,
                resource: kind.plural,
                namespace: ns,
                name: Some(&manifest.name),
            },
        ))),
    }
}

/// Makes the Job the owner of a supporting object, so deleting the Job (by hand or by its
/// TTL) deletes the object too. Not a controller reference: the Job controller must not
/// think it manages ConfigMaps.
async fn set_owner(
    client: &Client,
    ns: &str,
    object: &Created,
    job_name: &str,
    job_uid: &str,
    retry: &RetryPolicy,
) -> anyhow::Result<()> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), ns, &object.kind.api_resource());
    let patch = serde_json::json!({
        "metadata": {
            // Guards the patch: it applies only to the object this submission created.
            "uid": object.uid,
            "ownerReferences": [{
                "apiVersion": "batch/v1", "kind": "Job", "name": job_name, "uid": job_uid,
                "controller": false, "blockOwnerDeletion": false,
            }]
        }
    });
    let (params, patch) = (PatchParams::default(), Patch::Merge(&patch));
    retry
        .run(Idempotency::Idempotent, || {
            api.patch(&object.name, &params, &patch)
        })
        .await
        .map(drop)
        .map_err(|err| {
            explain(
                err,
                Action {
                    verb: "patch",
                    group: object.kind.group,
                    resource: object.kind.plural,
                    namespace: ns,
                    name: Some(&object.name),
                },
            )
        })
}

/// Deletes what this submission created, newest first; returns what could not be deleted.
async fn rollback(
    client: &Client,
    ns: &str,
    retry: &RetryPolicy,
    created: &[Created],
) -> Vec<String> {
    let mut failures = Vec::new();
    for object in created.iter().rev() {
        if let Err(err) =
            delete_exact(client, ns, object.kind, &object.name, &object.uid, retry).await
        {
            failures.push(format!("{} {:?}: {err:#}", object.kind.kind, object.name));
        }
    }
    failures
}

/// Deletes one object only if it still has `uid` (never a same-named object someone else
/// created since), with background propagation so a Job's pods go too. Gone already is fine.
pub async fn delete_exact(
    client: &Client,
    ns: &str,
    kind: &KnownKind,
    name: &str,
    uid: &str,
    retry: &RetryPolicy,
) -> anyhow::Result<()> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &kind.api_resource());
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: Some(uid.to_string()),
            resource_version: None,
        }),
        ..DeleteParams::background()
    };
    match retry
        .run(Idempotency::Idempotent, || api.delete(name, &params))
        .await
    {
        Ok(_) => Ok(()),
        Err(err) if super::api_error::code_of(&err) == Some(404) => Ok(()),
        Err(err) => Err(explain(
            err,
            Action {
                verb: "delete",
                group: kind.group,
                resource: kind.plural,
                namespace: ns,
                name: Some(name),
            },
        )),
    }
}

/// A Job an earlier run (perhaps of a host that restarted) created for the same execution
/// and step and that Kubernetes still has: watching it beats starting a duplicate.
pub async fn find_existing(
    client: &Client,
    bundle: &JobBundle,
    retry: &RetryPolicy,
) -> anyhow::Result<Option<Job>> {
    let Some(selector) = identity_selector(bundle) else {
        return Ok(None);
    };
    let api: Api<Job> = Api::namespaced(client.clone(), &bundle.namespace);
    let params = ListParams::default().labels(&selector);
    let jobs = retry
        .run(Idempotency::Idempotent, || api.list(&params))
        .await
        .map_err(|err| {
            explain(
                err,
                Action {
                    verb: "list",
                    group: "batch",
                    resource: "jobs",
                    namespace: &bundle.namespace,
                    name: None,
                },
            )
        })?;
    Ok(jobs
        .items
        .into_iter()
        .filter(|j| j.metadata.deletion_timestamp.is_none())
        .max_by_key(|j| j.metadata.creation_timestamp.as_ref().map(|t| t.0)))
}

/// `managed-by=noetl-host,execution-id=..,step=..[,tool=..]` from the Job manifest's labels;
/// None when the plan did not label the Job with its execution and step.
fn identity_selector(bundle: &JobBundle) -> Option<String> {
    let labels = bundle
        .job()?
        .body
        .pointer("/metadata/labels")?
        .as_object()?;
    let label = |key: &str| {
        labels
            .get(key)
            .and_then(|v| v.as_str())
            .map(|v| format!("{key}={v}"))
    };
    let mut parts = vec![
        format!("{LABEL_MANAGED_BY}={MANAGED_BY}"),
        label(LABEL_EXECUTION_ID)?,
        label(LABEL_STEP)?,
    ];
    parts.extend(label(LABEL_TOOL));
    Some(parts.join(","))
}
