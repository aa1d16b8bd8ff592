//! Container image references (`[registry[:port]/]path[:tag][@sha256:digest]`). The API
//! server accepts almost any string and the kubelet then fails with InvalidImageName;
//! checking here turns that late pod failure into a plan-time field error.

use crate::error::Invalid;

const FIX: &str = "write an image reference such as python:3.11-slim, node:20-slim or registry.example.com:5000/team/tool:1.2";

pub(crate) fn reference(image: &str) -> Result<(), Invalid> {
    let bad = |what: &str| {
        Invalid::new(
            format!("{image:?} is not a valid image reference ({what})"),
            FIX,
        )
    };
    if image.is_empty() || image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("empty or contains whitespace"));
    }
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    if let Some(digest) = digest {
        let (algorithm, hex) = digest
            .split_once(':')
            .ok_or_else(|| bad("a digest looks like sha256:<hex>"))?;
        if algorithm.is_empty() || hex.len() < 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad("a digest looks like sha256:<hex>"));
        }
    }
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (repository, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
        None => (name, None),
    };
    if let Some(tag) = tag {
        let tag_ok = !tag.is_empty()
            && tag.len() <= 128
            && !tag.starts_with(['.', '-'])
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !tag_ok {
            return Err(bad("invalid tag"));
        }
    }
    let mut components: Vec<&str> = repository.split('/').collect();
    let has_registry = components.len() > 1
        && (components[0].contains(['.', ':']) || components[0] == "localhost");
    if has_registry {
        let registry = components.remove(0);
        if !registry
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
        {
            return Err(bad("invalid registry host"));
        }
    }
    let component_ok = |part: &str| {
        !part.is_empty()
            && part.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
            })
            && part.starts_with(|c: char| c.is_ascii_alphanumeric())
            && part.ends_with(|c: char| c.is_ascii_alphanumeric())
    };
    if !components.iter().all(|part| component_ok(part)) {
        return Err(bad(
            "repository names use lowercase letters, digits, '.', '_' and '-'",
        ));
    }
    Ok(())
}

/// The last path component of the repository (`docker.io/library/python:3.11` → `python`);
/// runtimes are inferred from it.
pub(crate) fn repository_name(image: &str) -> &str {
    let name = image.split('@').next().unwrap_or(image);
    let last = name.rsplit('/').next().unwrap_or(name);
    last.split(':').next().unwrap_or(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references() {
        for ok in [
            "python:3.11-slim",
            "node:20-slim",
            "alpine",
            "localhost:5000/a/b:1",
            "ghcr.io/org/img@sha256:0123456789abcdef0123456789abcdef",
        ] {
            assert!(reference(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Python:3",
            "python:3 slim",
            "python:",
            "python@sha256:xyz",
            "a//b",
        ] {
            assert!(reference(bad).is_err(), "{bad}");
        }
        assert_eq!(repository_name("docker.io/library/python:3.11"), "python");
        assert_eq!(repository_name("localhost:5000/node"), "node");
    }
}
