//! Which local runtime stands in for a container image. The local backend has no image
//! store: `python:3.11-slim` runs on the host's `python3`, `node:20-slim` on its `node`.
//! Callers (the host policy file) put their own rules first.

use serde::{Deserialize, Serialize};

/// One mapping rule: images whose repository name matches `image` run on `runtime`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRuntime {
    /// Glob (`*` = any run of characters) matched against the image's repository name
    /// (`python` for `docker.io/library/python:3.11-slim`) and against the full reference.
    pub image: String,
    /// Program name looked up on the host `PATH` (e.g. `python3`) or an absolute path.
    pub runtime: String,
}

impl ImageRuntime {
    pub fn new(image: impl Into<String>, runtime: impl Into<String>) -> Self {
        Self { image: image.into(), runtime: runtime.into() }
    }
}

/// The rules every backend starts with; caller rules are checked before these.
pub fn stock_image_runtimes() -> Vec<ImageRuntime> {
    vec![ImageRuntime::new("*python*", "python3"), ImageRuntime::new("node", "node")]
}

/// The runtime for `image`: the first matching rule wins.
pub(super) fn runtime_for_image<'r>(image: &str, rules: &'r [ImageRuntime]) -> anyhow::Result<&'r str> {
    let repo = repository_name(image);
    rules
        .iter()
        .find(|r| glob_match(&r.image, repo) || glob_match(&r.image, image))
        .map(|r| r.runtime.as_str())
        .ok_or_else(|| {
            let known: Vec<String> =
                rules.iter().map(|r| format!("`{}` -> `{}`", r.image, r.runtime)).collect();
            anyhow::anyhow!(
                "container image `{image}` has no local runtime: the local backend runs images on \
                 host programs and knows only {}. Add a rule to `LocalConfig.image_runtimes` \
                 (policy `local.image_runtimes`), e.g. {{image: \"{repo}\", runtime: \"python3\"}}, \
                 or run this job on the kubernetes backend",
                known.join(", ")
            )
        })
}

/// `registry:5000/org/my-python:1.2@sha256:..` → `my-python`.
fn repository_name(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split(':').next().unwrap_or(last)
}

/// `*` matches any run of characters (also none); everything else matches itself.
fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    if !text.ends_with(last) {
        return false;
    }
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stock_rules_map_python_and_node_images() {
        let rules = stock_image_runtimes();
        for image in ["python:3.11-slim", "docker.io/library/python:3.12", "ghcr.io/acme/ml-python-tools:1", "python"] {
            assert_eq!(runtime_for_image(image, &rules).unwrap(), "python3", "{image}");
        }
        for image in ["node:20-slim", "docker.io/library/node@sha256:abc", "node"] {
            assert_eq!(runtime_for_image(image, &rules).unwrap(), "node", "{image}");
        }
    }

    #[test]
    fn caller_rules_come_first() {
        let mut rules = vec![ImageRuntime::new("python:3.9*", "python3.9")];
        rules.extend(stock_image_runtimes());
        assert_eq!(runtime_for_image("python:3.9-slim", &rules).unwrap(), "python3.9");
        assert_eq!(runtime_for_image("python:3.11-slim", &rules).unwrap(), "python3");
    }

    #[test]
    fn unmapped_image_error_lists_rules_and_the_fix() {
        let err = runtime_for_image("ruby:3.3", &stock_image_runtimes()).unwrap_err().to_string();
        assert!(err.contains("`ruby:3.3`"), "{err}");
        assert!(err.contains("`*python*` -> `python3`"), "{err}");
        assert!(err.contains("`node` -> `node`"), "{err}");
        assert!(err.contains("LocalConfig.image_runtimes"), "{err}");
        assert!(err.contains("image: \"ruby\""), "{err}");
    }

    #[test]
    fn glob_semantics() {
        assert!(glob_match("a*c", "abc"));
        assert!(glob_match("a*c", "ac"));
        assert!(!glob_match("a*c", "a"));
        assert!(glob_match("*", ""));
        assert!(glob_match("*py*", "py"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxcyyb"));
        assert!(!glob_match("node", "nodejs"));
    }
}
