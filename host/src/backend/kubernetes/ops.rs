//! Object operations by kind name, for the `kubernetes` WIT capability. Policy (which
//! plugin may touch which namespace and kind) is the capability's job, not this module's.

use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};

use super::api_error::{Action, Idempotency, RetryPolicy, explain, is_not_found};
use super::kinds::KnownKind;

/// Why an operation failed; maps onto the WIT `capability-error` cases of the same names.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpsError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Failed(String),
}

/// get / list / create / delete of namespaced objects by kind name.
#[derive(Clone)]
pub struct KubeOps {
    client: Client,
    retry: RetryPolicy,
}

impl KubeOps {
    pub fn new(client: Client, retry: RetryPolicy) -> Self {
        Self { client, retry }
    }

    fn api(&self, kind: &KnownKind, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), namespace, &kind.api_resource())
    }

    /// One object as JSON.
    pub async fn get(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<serde_json::Value, OpsError> {
        let known = known(kind)?;
        let api = self.api(known, namespace);
        let object = self
            .retry
            .run(Idempotency::Idempotent, || api.get(name))
            .await
            .map_err(|e| failure(e, action("get", known, namespace, Some(name))))?;
        to_json(object, known)
    }

    /// Objects of `kind` in `namespace` matching `label_selector` (empty: all).
    pub async fn list(
        &self,
        kind: &str,
        namespace: &str,
        label_selector: &str,
    ) -> Result<Vec<serde_json::Value>, OpsError> {
        let known = known(kind)?;
        let api = self.api(known, namespace);
        let mut params = ListParams::default();
        if !label_selector.is_empty() {
            params = params.labels(label_selector);
        }
        let list = self
            .retry
            .run(Idempotency::Idempotent, || api.list(&params))
            .await
            .map_err(|e| failure(e, action("list", known, namespace, None)))?;
        list.items.into_iter().map(|o| to_json(o, known)).collect()
    }

    /// Creates `body` (which names its kind and name) in `namespace`; returns the stored object.
    pub async fn create(
        &self,
        namespace: &str,
        body: serde_json::Value,
    ) -> Result<serde_json::Value, OpsError> {
        let kind = body
            .get("kind")
            .and_then(|k| k.as_str())
            .ok_or_else(|| OpsError::Failed("the object has no \"kind\"".into()))?;
        let known = known(kind)?;
        let mut object: DynamicObject = serde_json::from_value(body.clone())
            .map_err(|e| OpsError::Failed(format!("the {kind} object is malformed: {e}")))?;
        match object.metadata.namespace.as_deref() {
            Some(ns) if ns != namespace => {
                return Err(OpsError::Failed(format!(
                    "the {kind} object says metadata.namespace {ns:?} but it is being created in namespace {namespace:?}"
                )));
            }
            _ => object.metadata.namespace = Some(namespace.to_string()),
        }
        let name = object.metadata.name.clone();
        let api = self.api(known, namespace);
        let params = PostParams::default();
        let created = self
            .retry
            .run(Idempotency::Create, || api.create(&params, &object))
            .await
            .map_err(|e| failure(e, action("create", known, namespace, name.as_deref())))?;
        to_json(created, known)
    }

    /// Deletes an object with background propagation (a Job's pods go too).
    pub async fn delete(&self, kind: &str, namespace: &str, name: &str) -> Result<(), OpsError> {
        let known = known(kind)?;
        let api = self.api(known, namespace);
        let params = DeleteParams::background();
        self.retry
            .run(Idempotency::Idempotent, || api.delete(name, &params))
            .await
            .map(drop)
            .map_err(|e| failure(e, action("delete", known, namespace, Some(name))))
    }
}

fn known(kind: &str) -> Result<&'static KnownKind, OpsError> {
    KnownKind::by_name(kind).map_err(|e| OpsError::Failed(e.to_string()))
}

fn action<'a>(
    verb: &'static str,
    kind: &'a KnownKind,
    namespace: &'a str,
    name: Option<&'a str>,
) -> Action<'a> {
    Action {
        verb,
        group: kind.group,
        resource: kind.plural,
        namespace,
        name,
    }
}

fn failure(err: kube::Error, action: Action<'_>) -> OpsError {
    if is_not_found(&err) {
        let what = action.name.map_or_else(
            || action.resource.to_string(),
            |n| format!("{} {n:?}", action.resource),
        );
        return OpsError::NotFound(format!(
            "{what} not found in namespace {:?}",
            action.namespace
        ));
    }
    OpsError::Failed(format!("{:#}", explain(err, action)))
}

/// The object as JSON with `apiVersion` and `kind` set (lists omit them per item).
fn to_json(object: DynamicObject, kind: &KnownKind) -> Result<serde_json::Value, OpsError> {
    let mut value = serde_json::to_value(object).map_err(|e| OpsError::Failed(e.to_string()))?;
    if let Some(map) = value.as_object_mut() {
        map.insert("apiVersion".into(), kind.api_version().into());
        map.insert("kind".into(), kind.kind.into());
    }
    Ok(value)
}
