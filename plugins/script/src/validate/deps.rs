//! Dependency specs for `install_dependencies`. They become single argv items after `--`,
//! never shell text, but pip and npm still read some shapes as paths, URLs or options, so
//! only plain "name + version constraint" forms are accepted.

use crate::error::Invalid;

/// Checks shared by every package manager: no option injection, no whitespace (a spec is
/// one argv item; whitespace means someone pasted a command line).
fn common(spec: &str) -> Result<(), Invalid> {
    if spec.is_empty() {
        return Err(Invalid::new("empty dependency", "remove the empty entry"));
    }
    if spec.starts_with('-') {
        return Err(Invalid::new(
            format!("{spec:?} starts with '-', so the installer would read it as an option"),
            "list package names only (e.g. pandas==2.2.3); installer options such as --index-url are not supported",
        ));
    }
    if spec.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Invalid::new(
            format!("{spec:?} contains whitespace or a line break"),
            "write one package per list item without spaces, e.g. pandas>=2",
        ));
    }
    Ok(())
}

fn is_python_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
}

const PYTHON_OPERATORS: [&str; 8] = ["===", "==", "!=", "~=", ">=", "<=", ">", "<"];

/// PEP 508 without URLs and markers: `name[extra,...]` then `op version` clauses joined by `,`.
pub(crate) fn python(spec: &str) -> Result<(), Invalid> {
    common(spec)?;
    let bad = |what: &str| {
        Invalid::new(
            format!("{spec:?} is not a Python requirement ({what})"),
            "write name[extras] with optional version clauses, e.g. pandas, pandas==2.2.3, pandas>=2,<3, requests[socks]",
        )
    };
    let name_end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .unwrap_or(spec.len());
    let (name, mut rest) = spec.split_at(name_end);
    if !is_python_name(name) {
        return Err(bad(
            "the package name must start and end with a letter or digit",
        ));
    }
    if let Some(after) = rest.strip_prefix('[') {
        let (extras, after) = after.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
        if !extras.split(',').all(is_python_name) {
            return Err(bad("invalid extras"));
        }
        rest = after;
    }
    if rest.is_empty() {
        return Ok(());
    }
    for clause in rest.split(',') {
        let operator = PYTHON_OPERATORS
            .iter()
            .find(|op| clause.starts_with(*op))
            .ok_or_else(|| bad("expected a version operator such as == or >="))?;
        let version = &clause[operator.len()..];
        let version_ok = !version.is_empty()
            && version.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '.' | '*' | '+' | '!' | '_' | '-')
            });
        if !version_ok {
            return Err(bad(
                "invalid version; URLs, paths and environment markers are not supported",
            ));
        }
    }
    Ok(())
}

fn is_npm_name_part(part: &str) -> bool {
    !part.is_empty()
        && part.len() <= 214
        && !part.starts_with(['.', '_'])
        && part.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '_' | '~')
        })
}

/// `[@scope/]name[@range]` with a semver range or tag; no URLs, git or file specs.
pub(crate) fn npm(spec: &str) -> Result<(), Invalid> {
    common(spec)?;
    let bad = |what: &str| {
        Invalid::new(
            format!("{spec:?} is not an npm package spec ({what})"),
            "write name or name@range, e.g. lodash, lodash@^4.17.21, @scope/pkg@1.2.3",
        )
    };
    let (scope, unscoped) = match spec.strip_prefix('@') {
        Some(rest) => {
            let (scope, rest) = rest
                .split_once('/')
                .ok_or_else(|| bad("a scoped name needs @scope/name"))?;
            (Some(scope), rest)
        }
        None => (None, spec),
    };
    let (name, range) = match unscoped.split_once('@') {
        Some((name, range)) => (name, Some(range)),
        None => (unscoped, None),
    };
    if scope.is_some_and(|scope| !is_npm_name_part(scope)) || !is_npm_name_part(name) {
        return Err(bad(
            "names use lowercase letters, digits, '-', '.', '_' and '~'",
        ));
    }
    if let Some(range) = range {
        let range_ok = !range.is_empty()
            && range.chars().all(|c| {
                c.is_ascii_alphanumeric()
                    || matches!(c, '.' | '^' | '~' | '<' | '>' | '=' | '*' | '|' | '+' | '-')
            });
        if !range_ok {
            return Err(bad(
                "invalid version range; URLs, git and file specs are not supported",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_requirements() {
        for ok in [
            "pandas",
            "pandas==2.2.3",
            "pandas>=2",
            "pandas>=2,<3",
            "requests[socks,security]>=2.31",
            "zope.interface",
            "a_b-c",
            "numpy~=1.26.0",
        ] {
            assert!(python(ok).is_ok(), "{ok}");
        }
        for bad in [
            "--index-url=x",
            "pandas\n",
            "pandas >=2",
            "./local",
            "git+https://x/y",
            "pandas@https://x",
            "pandas;python_version<'3'",
            "pandas[",
            "-e.",
            "pandas==",
            "_x",
        ] {
            assert!(python(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn npm_specs() {
        for ok in [
            "lodash",
            "lodash@4.17.21",
            "lodash@^4",
            "@types/node@20",
            "left-pad@latest",
            "a@>=1<2",
        ] {
            assert!(npm(ok).is_ok(), "{ok}");
        }
        for bad in [
            "--registry=x",
            "Lodash",
            "lodash@",
            "@scope",
            "github:user/repo",
            "lodash@git+https://x",
            "./dir",
            "a b",
        ] {
            assert!(npm(bad).is_err(), "{bad}");
        }
    }
}
