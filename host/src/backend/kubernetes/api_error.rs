//! Turning Kubernetes API failures into messages a person can act on, and deciding which
//! failures are worth retrying.

use std::time::Duration;

/// What the host was doing when a call failed; every message names it.
#[derive(Debug, Clone, Copy)]
pub struct Action<'a> {
    /// RBAC verb: `get`, `list`, `watch`, `create`, `patch`, `delete`.
    pub verb: &'static str,
    /// RBAC API group (`""` for core, `batch`).
    pub group: &'a str,
    /// RBAC resource, possibly with a subresource (`configmaps`, `pods/log`).
    pub resource: &'a str,
    pub namespace: &'a str,
    /// Object name, when the call targets one object.
    pub name: Option<&'a str>,
}

/// The API server's status for an error response, if the error is one.
pub fn status_of(err: &kube::Error) -> Option<&kube::core::Status> {
    match err {
        kube::Error::Api(status) => Some(status),
        _ => None,
    }
}

/// HTTP status code of an API error response.
pub fn code_of(err: &kube::Error) -> Option<u16> {
    status_of(err).map(|s| s.code)
}

/// True when a create failed because the name is taken.
pub fn is_already_exists(err: &kube::Error) -> bool {
    status_of(err)
        .is_some_and(|s| s.code == 409 && (s.reason == "AlreadyExists" || s.reason.is_empty()))
}

/// True for a plain 404 on the target object (not on its namespace).
pub fn is_not_found(err: &kube::Error) -> bool {
    status_of(err).is_some_and(|s| s.code == 404) && missing_namespace(err).is_none()
}

/// The namespace named by a 404 that says the namespace itself is missing.
fn missing_namespace(err: &kube::Error) -> Option<String> {
    let status = status_of(err).filter(|s| s.code == 404)?;
    let details = status.details.as_ref()?;
    (details.kind == "namespaces").then(|| details.name.clone())
}

/// Rewrites an API error into one sentence naming the action, what went wrong and the fix.
pub fn explain(err: kube::Error, action: Action<'_>) -> anyhow::Error {
    let target = match action.name {
        Some(name) => format!(
            "{} {name:?} in namespace {:?}",
            action.resource, action.namespace
        ),
        None => format!("{} in namespace {:?}", action.resource, action.namespace),
    };
    if let Some(ns) = missing_namespace(&err) {
        return anyhow::anyhow!(
            "namespace {ns} does not exist; create it with kubectl create namespace {ns} or set tool.job.namespace"
        );
    }
    let Some(status) = status_of(&err) else {
        return anyhow::Error::new(err).context(format!(
            "could not {} {target}: the Kubernetes API was unreachable",
            action.verb
        ));
    };
    match status.code {
        403 => anyhow::anyhow!(
            "Kubernetes forbids the host to {verb} {target}; bind the host's identity to a Role in namespace {ns} \
             with the rule {{apiGroups: [\"{group}\"], resources: [\"{resource}\"], verbs: [\"{verb}\"]}} \
             (examples/rbac.yaml has every rule the host needs). API server said: {msg}",
            verb = action.verb,
            ns = action.namespace,
            group = action.group,
            resource = action.resource,
            msg = status.message,
        ),
        422 => {
            let causes: Vec<String> = status
                .details
                .iter()
                .flat_map(|d| d.causes.iter())
                .map(|c| {
                    if c.field.is_empty() {
                        c.message.clone()
                    } else {
                        format!("{}: {}", c.field, c.message)
                    }
                })
                .collect();
            let why = if causes.is_empty() {
                status.message.clone()
            } else {
                causes.join("; ")
            };
            anyhow::anyhow!("Kubernetes rejected {target} as invalid: {why}")
        }
        401 => anyhow::anyhow!(
            "Kubernetes did not accept the host's credentials while trying to {} {target}; check the kubeconfig user or token: {}",
            action.verb,
            status.message
        ),
        code => anyhow::anyhow!(
            "could not {} {target}: API server answered {code} {}: {}",
            action.verb,
            status.reason,
            status.message
        ),
    }
}

/// Whether a failed call may be sent again.
///
/// The rule: a request the server provably did not apply may always be retried, even a
/// create: a refused TCP connection (nothing was sent) and 429 Too Many Requests (API
/// priority-and-fairness rejects before the handler runs). Other transient failures (5xx,
/// connection reset, timeouts) may have been applied, so only idempotent calls (get, list,
/// delete, patch with the same body) are retried on them; a create fails instead, so a
/// lost response can never make the host rename and orphan an object it created itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transience {
    NotApplied,
    MaybeApplied,
    Permanent,
}

pub fn transience(err: &kube::Error) -> Transience {
    match err {
        kube::Error::Api(status) => match status.code {
            429 => Transience::NotApplied,
            500 | 502 | 503 | 504 => Transience::MaybeApplied,
            _ => Transience::Permanent,
        },
        kube::Error::HyperError(_) | kube::Error::Service(_) => {
            if io_error_kind(err) == Some(std::io::ErrorKind::ConnectionRefused) {
                Transience::NotApplied
            } else {
                Transience::MaybeApplied
            }
        }
        _ => Transience::Permanent,
    }
}

/// The kind of the innermost I/O error in an error chain.
fn io_error_kind(err: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut found = None;
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            found = Some(io.kind());
        }
        current = e.source();
    }
    found
}

/// Bounded exponential backoff for transient API failures.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Total attempts including the first.
    pub attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

/// Whether the call is safe to repeat after an ambiguous failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    Idempotent,
    Create,
}

impl RetryPolicy {
    /// Runs `call` until it succeeds, fails permanently, or attempts run out.
    pub async fn run<T, F, Fut>(
        &self,
        idempotency: Idempotency,
        mut call: F,
    ) -> Result<T, kube::Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        let mut delay = self.first_delay;
        let mut attempt = 1;
        loop {
            let err = match call().await {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            let retryable = match transience(&err) {
                Transience::NotApplied => true,
                Transience::MaybeApplied => idempotency == Idempotency::Idempotent,
                Transience::Permanent => false,
            };
            if !retryable || attempt >= self.attempts {
                return Err(err);
            }
            // The server's Retry-After wins over our own guess.
            let server_hint = status_of(&err)
                .and_then(|s| s.details.as_ref())
                .map(|d| Duration::from_secs(u64::from(d.retry_after_seconds)))
                .filter(|d| !d.is_zero());
            let wait = server_hint.unwrap_or(delay).min(self.max_delay);
            tracing::debug!(attempt, ?wait, error = %err, "transient Kubernetes API error; retrying");
            tokio::time::sleep(wait).await;
            delay = (delay * 2).min(self.max_delay);
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::{Status, response::StatusDetails};

    fn details(value: serde_json::Value) -> StatusDetails {
        serde_json::from_value(value).unwrap()
    }

    fn api(code: u16, reason: &str, message: &str, details: Option<StatusDetails>) -> kube::Error {
        let mut status = Status::failure(message, reason).with_code(code);
        status.details = details;
        kube::Error::Api(status.boxed())
    }

    fn action() -> Action<'static> {
        Action {
            verb: "create",
            group: "",
            resource: "configmaps",
            namespace: "noetl",
            name: Some("cm"),
        }
    }

    #[test]
    fn forbidden_names_verb_resource_namespace_and_rule() {
        let msg = explain(
            api(
                403,
                "Forbidden",
                "configmaps is forbidden: User \"x\" cannot create",
                None,
            ),
            action(),
        )
        .to_string();
        assert!(
            msg.contains("create configmaps \"cm\" in namespace \"noetl\""),
            "{msg}"
        );
        assert!(
            msg.contains("apiGroups: [\"\"], resources: [\"configmaps\"], verbs: [\"create\"]"),
            "{msg}"
        );
        assert!(msg.contains("Role in namespace noetl"), "{msg}");
    }

    #[test]
    fn invalid_lists_every_field_cause() {
        let details = details(serde_json::json!({"causes": [
            {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.template.spec.containers[0].image"},
            {"reason": "FieldValueInvalid", "message": "must be no more than 63 characters", "field": "metadata.labels"},
        ]}));
        let msg = explain(
            api(422, "Invalid", "Job.batch \"j\" is invalid", Some(details)),
            action(),
        )
        .to_string();
        assert!(
            msg.contains("spec.template.spec.containers[0].image: Required value"),
            "{msg}"
        );
        assert!(
            msg.contains("metadata.labels: must be no more than 63 characters"),
            "{msg}"
        );
    }

    #[test]
    fn missing_namespace_says_how_to_create_it() {
        let details = details(serde_json::json!({"name": "nope", "kind": "namespaces"}));
        let err = api(
            404,
            "NotFound",
            "namespaces \"nope\" not found",
            Some(details),
        );
        assert!(!is_not_found(&err));
        let msg = explain(err, action()).to_string();
        assert_eq!(
            msg,
            "namespace nope does not exist; create it with kubectl create namespace nope or set tool.job.namespace"
        );
    }

    #[test]
    fn create_is_retried_only_when_not_applied() {
        assert_eq!(
            transience(&api(429, "TooManyRequests", "slow down", None)),
            Transience::NotApplied
        );
        assert_eq!(
            transience(&api(503, "ServiceUnavailable", "", None)),
            Transience::MaybeApplied
        );
        assert_eq!(
            transience(&api(409, "AlreadyExists", "", None)),
            Transience::Permanent
        );
    }

    #[tokio::test]
    async fn retry_stops_at_the_attempt_bound_and_skips_ambiguous_creates() {
        let policy = RetryPolicy {
            attempts: 3,
            first_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
        };
        let mut calls = 0;
        let result: Result<(), _> = policy
            .run(Idempotency::Idempotent, || {
                calls += 1;
                async { Err(api(503, "ServiceUnavailable", "", None)) }
            })
            .await;
        assert!(result.is_err());
        assert_eq!(calls, 3);

        let mut calls = 0;
        let _ = policy
            .run(Idempotency::Create, || {
                calls += 1;
                async { Err::<(), _>(api(503, "ServiceUnavailable", "", None)) }
            })
            .await;
        assert_eq!(
            calls, 1,
            "a create that may have been applied is not repeated"
        );

        let mut calls = 0;
        let ok = policy
            .run(Idempotency::Create, || {
                calls += 1;
                let n = calls;
                async move {
                    if n < 2 {
                        Err(api(429, "TooManyRequests", "", None))
                    } else {
                        Ok(n)
                    }
                }
            })
            .await
            .unwrap();
        assert_eq!(ok, 2);
    }
}
