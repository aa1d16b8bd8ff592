//! `s3://bucket/key` and `gs://bucket/key` through object_store, with each cloud's standard
//! credential chain read from the fetcher's [`CloudEnvironment`].
//!
//! Endpoint overrides (for MinIO, moto, fake-gcs-server, private endpoints):
//! - S3: `NOETL_S3_ENDPOINT`, else `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`. Path-style
//!   requests; plain `http://` is allowed when the endpoint says so.
//! - GCS: `NOETL_GCS_ENDPOINT` (credentials still from the chain), else
//!   `STORAGE_EMULATOR_HOST` (an emulator: requests go unauthenticated, as Google's own
//!   client libraries do for that variable).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::path::Path;
use object_store::{ClientOptions, GetOptions, ObjectStore, RetryConfig};
use reqwest::Url;

use super::{CloudEnvironment, FetchOptions, redacted};
use crate::bindings::types::CapabilityError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Cloud {
    S3,
    Gcs,
}

/// One object_store client per (cloud, bucket), built on first use and kept, so that
/// connections and credentials (tokens from metadata servers) are reused.
pub(super) struct ObjectStores {
    env: CloudEnvironment,
    client: ClientOptions,
    retry: RetryConfig,
    stores: Mutex<HashMap<(Cloud, String), Arc<dyn ObjectStore>>>,
}

/// One object as errors name it.
struct Target<'a> {
    cloud: Cloud,
    uri: String,
    bucket: &'a str,
    key: Path,
}

impl ObjectStores {
    pub(super) fn new(options: &FetchOptions) -> Self {
        let client = ClientOptions::new().with_connect_timeout(options.connect_timeout).with_timeout(options.total_timeout);
        // A couple of retries for transient errors, never past the fetch's own deadline
        // (object_store's default retries for up to three minutes).
        let retry = RetryConfig { max_retries: 2, retry_timeout: options.total_timeout, ..RetryConfig::default() };
        ObjectStores { env: options.environment.clone(), client, retry, stores: Mutex::default() }
    }

    pub(super) async fn get(&self, cloud: Cloud, url: &Url, max_bytes: u64) -> Result<Vec<u8>, CapabilityError> {
        let target = Target::parse(cloud, url)?;
        let store = self.store(&target)?;
        let result = store.get_opts(&target.key, GetOptions::default()).await.map_err(|e| self.error(&target, e))?;
        if result.meta.size > max_bytes {
            return Err(target.too_large(&format!("is {} bytes", result.meta.size), max_bytes));
        }
        let mut body = Vec::new();
        let mut stream = result.into_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.error(&target, e))?;
            if (body.len() + chunk.len()) as u64 > max_bytes {
                return Err(target.too_large("sent more", max_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn store(&self, target: &Target) -> Result<Arc<dyn ObjectStore>, CapabilityError> {
        let cache_key = (target.cloud, target.bucket.to_string());
        if let Some(store) = self.stores.lock().unwrap_or_else(|e| e.into_inner()).get(&cache_key) {
            return Ok(store.clone());
        }
        let built: Arc<dyn ObjectStore> = match target.cloud {
            Cloud::S3 => Arc::new(self.s3(target)?.build().map_err(|e| self.error(target, e))?),
            Cloud::Gcs => Arc::new(self.gcs(target).build().map_err(|e| self.error(target, e))?),
        };
        let mut stores = self.stores.lock().unwrap_or_else(|e| e.into_inner());
        Ok(stores.entry(cache_key).or_insert(built).clone())
    }

    fn s3(&self, target: &Target) -> Result<AmazonS3Builder, CapabilityError> {
        if aws_credential_source(&self.env).is_none() {
            return Err(CapabilityError::Failed(format!(
                "cannot fetch {}: no AWS credentials. Looked for AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY, \
                 AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, \
                 AWS_CONTAINER_CREDENTIALS_FULL_URI + AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, and instance metadata \
                 (disabled by AWS_EC2_METADATA_DISABLED). Set one of them, or AWS_SKIP_SIGNATURE=true for a public bucket",
                target.uri
            )));
        }
        let mut builder = AmazonS3Builder::new();
        // The same mapping as `AmazonS3Builder::from_env`, over the snapshot.
        for (name, value) in self.env.with_prefix("AWS_") {
            if let Ok(key) = name.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                builder = builder.with_config(key, value);
            }
        }
        let mut client = self.client.clone();
        if let Some((_, endpoint)) = self.env.first_of(&["NOETL_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]) {
            builder = builder.with_endpoint(endpoint);
            client = client.with_allow_http(endpoint.starts_with("http://"));
        }
        Ok(builder.with_bucket_name(target.bucket).with_client_options(client).with_retry(self.retry.clone()))
    }

    fn gcs(&self, target: &Target) -> GoogleCloudStorageBuilder {
        let mut builder = GoogleCloudStorageBuilder::new();
        if let Some(path) = self.env.get("SERVICE_ACCOUNT") {
            builder = builder.with_service_account_path(path);
        }
        for (name, value) in self.env.with_prefix("GOOGLE_") {
            if let Ok(key) = name.to_ascii_lowercase().parse::<GoogleConfigKey>() {
                builder = builder.with_config(key, value);
            }
        }
        let mut client = self.client.clone();
        match gcs_endpoint(&self.env) {
            Some(GcsEndpoint::Custom(url)) => {
                client = client.with_allow_http(url.starts_with("http://"));
                builder = builder.with_base_url(url);
            }
            Some(GcsEndpoint::Emulator(url)) => {
                client = client.with_allow_http(url.starts_with("http://"));
                builder = builder.with_base_url(&url).with_skip_signature(true);
            }
            None => {}
        }
        builder.with_bucket_name(target.bucket).with_client_options(client).with_retry(self.retry.clone())
    }

    /// object_store's error as the capability reports it: a missing bucket or key is
    /// `not-found`; anything else names bucket, key and the credential source tried.
    fn error(&self, target: &Target, error: object_store::Error) -> CapabilityError {
        let (bucket, key) = (target.bucket, target.key.as_ref());
        match &error {
            object_store::Error::NotFound { .. } if names_missing_bucket(&error.to_string()) => {
                CapabilityError::NotFound(format!("{}: bucket `{bucket}` does not exist", target.uri))
            }
            object_store::Error::NotFound { .. } => {
                CapabilityError::NotFound(format!("{}: no object `{key}` in bucket `{bucket}`", target.uri))
            }
            _ => {
                let credentials = match target.cloud {
                    Cloud::S3 => aws_credential_source(&self.env).unwrap_or_else(|| "none".into()),
                    Cloud::Gcs => gcs_credential_source(&self.env),
                };
                CapabilityError::Failed(format!(
                    "fetching {} (bucket `{bucket}`, key `{key}`) failed: {error} [credentials tried: {credentials}]",
                    target.uri
                ))
            }
        }
    }
}

impl<'a> Target<'a> {
    fn parse(cloud: Cloud, url: &'a Url) -> Result<Self, CapabilityError> {
        let uri = redacted(url);
        let bucket = url.host_str().filter(|b| !b.is_empty()).ok_or_else(|| CapabilityError::Failed(format!("{uri} names no bucket")))?;
        let key = Path::from_url_path(url.path())
            .map_err(|e| CapabilityError::Failed(format!("{uri}: the object key is not valid: {e}")))?;
        if key.as_ref().is_empty() {
            return Err(CapabilityError::Failed(format!("{uri} names a bucket but no object key; expected {}://{bucket}/path/to/object", url.scheme())));
        }
        Ok(Target { cloud, uri, bucket, key })
    }

    fn too_large(&self, what: &str, max_bytes: u64) -> CapabilityError {
        CapabilityError::TooLarge(format!("{} {what}, over the limit of {max_bytes} bytes", self.uri))
    }
}

/// S3's `NoSuchBucket`, GCS's "bucket does not exist" / "Not Found" for a bucket.
fn names_missing_bucket(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    text.contains("nosuchbucket") || text.contains("bucket does not exist") || text.contains("bucket not found")
}

/// Which source of the AWS chain applies (the order `AmazonS3Builder::build` tries them),
/// or `None` when there is none at all.
fn aws_credential_source(env: &CloudEnvironment) -> Option<String> {
    let has = |name: &str| env.get(name).is_some();
    Some(if env.is_true("AWS_SKIP_SIGNATURE") {
        "none: anonymous requests (AWS_SKIP_SIGNATURE)".into()
    } else if has("AWS_ACCESS_KEY_ID") || has("AWS_SECRET_ACCESS_KEY") {
        "static keys (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)".into()
    } else if has("AWS_WEB_IDENTITY_TOKEN_FILE") && has("AWS_ROLE_ARN") {
        "web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN)".into()
    } else if has("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        "ECS task role (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)".into()
    } else if has("AWS_CONTAINER_CREDENTIALS_FULL_URI") && has("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        "EKS pod identity (AWS_CONTAINER_CREDENTIALS_FULL_URI)".into()
    } else if env.is_true("AWS_EC2_METADATA_DISABLED") {
        return None;
    } else {
        let endpoint = env.get("AWS_METADATA_ENDPOINT").unwrap_or("http://169.254.169.254");
        format!("EC2 instance metadata at {endpoint} (no AWS_ACCESS_KEY_ID, web identity or container credentials set)")
    })
}

enum GcsEndpoint<'a> {
    Custom(&'a str),
    Emulator(String),
}

fn gcs_endpoint(env: &CloudEnvironment) -> Option<GcsEndpoint<'_>> {
    if let Some(url) = env.get("NOETL_GCS_ENDPOINT") {
        return Some(GcsEndpoint::Custom(url));
    }
    // Google's libraries accept the emulator as `host:port` or as a URL.
    env.get("STORAGE_EMULATOR_HOST").map(|host| {
        GcsEndpoint::Emulator(if host.contains("://") { host.to_string() } else { format!("http://{host}") })
    })
}

/// Which source of the GCS chain applies, in `GoogleCloudStorageBuilder::build`'s order.
fn gcs_credential_source(env: &CloudEnvironment) -> String {
    if let Some(GcsEndpoint::Emulator(url)) = gcs_endpoint(env) {
        return format!("none: unauthenticated requests to the emulator at {url} (STORAGE_EMULATOR_HOST)");
    }
    if let Some((name, _)) = env.first_of(&["GOOGLE_SERVICE_ACCOUNT_KEY"]) {
        return format!("service account key ({name})");
    }
    if let Some((name, path)) = env.first_of(&["GOOGLE_SERVICE_ACCOUNT", "GOOGLE_SERVICE_ACCOUNT_PATH", "SERVICE_ACCOUNT"]) {
        return format!("service account file {path} ({name})");
    }
    if let Some(path) = env.get("GOOGLE_APPLICATION_CREDENTIALS") {
        return format!("application default credentials file {path} (GOOGLE_APPLICATION_CREDENTIALS)");
    }
    let gcloud_file = env.get("HOME").map(|home| format!("{home}/.config/gcloud/application_default_credentials.json"));
    match gcloud_file {
        Some(file) if std::path::Path::new(&file).exists() => format!("gcloud application default credentials ({file})"),
        _ => "GCE metadata server (no GOOGLE_SERVICE_ACCOUNT, GOOGLE_SERVICE_ACCOUNT_KEY, GOOGLE_APPLICATION_CREDENTIALS \
              or gcloud default credentials file found)"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> CloudEnvironment {
        FetchOptions::with_environment(vars.iter().copied()).environment
    }

    #[test]
    fn aws_sources_follow_the_chain_order() {
        assert!(aws_credential_source(&env(&[("AWS_ACCESS_KEY_ID", "k"), ("AWS_ROLE_ARN", "r")])).unwrap().starts_with("static keys"));
        assert!(aws_credential_source(&env(&[("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"), ("AWS_ROLE_ARN", "r")])).unwrap().starts_with("web identity"));
        assert!(aws_credential_source(&env(&[])).unwrap().contains("instance metadata at http://169.254.169.254"));
        assert_eq!(aws_credential_source(&env(&[("AWS_EC2_METADATA_DISABLED", "true")])), None);
    }

    #[test]
    fn gcs_emulator_host_may_omit_the_scheme() {
        assert!(matches!(gcs_endpoint(&env(&[("STORAGE_EMULATOR_HOST", "127.0.0.1:4443")])), Some(GcsEndpoint::Emulator(u)) if u == "http://127.0.0.1:4443"));
        assert!(gcs_credential_source(&env(&[("HOME", "/nonexistent")])).starts_with("GCE metadata server"));
    }

    #[test]
    fn object_uris_need_a_key() {
        let url = Url::parse("s3://bucket/").unwrap();
        assert!(matches!(Target::parse(Cloud::S3, &url), Err(CapabilityError::Failed(m)) if m.contains("names a bucket but no object key")));
        let url = Url::parse("gs://bucket/dir/a%20b.py").unwrap();
        assert_eq!(Target::parse(Cloud::Gcs, &url).ok().unwrap().key.as_ref(), "dir/a b.py");
    }
}
