//! What runs the script: the interpreter argv, the script's file name, and how its
//! dependencies are installed. Every command is an exact argv (no `sh -c`): user text
//! reaches the script only through `$(NOETL_ARGS)`, which Kubernetes expands from env.

use crate::error::Invalid;
use crate::validate::{deps, image};

/// Where the ConfigMap with the script is mounted.
pub const SCRIPTS_DIR: &str = "/scripts";
/// Where dependencies are installed (an emptyDir shared by the init and main containers).
pub const DEPS_DIR: &str = "/deps";
use noetl_protocol::conventions::ARGS_ENV;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    Python,
    Node,
    Bash,
    Sh,
}

impl Runtime {
    pub const NAMES: [&'static str; 4] = ["python", "node", "bash", "sh"];

    const ALL: [Runtime; 4] = [Runtime::Python, Runtime::Node, Runtime::Bash, Runtime::Sh];

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|runtime| runtime.name() == name)
    }

    /// The name `script.runtime` takes.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Python => "python",
            Runtime::Node => "node",
            Runtime::Bash => "bash",
            Runtime::Sh => "sh",
        }
    }

    /// The runtime an image evidently provides (`python:3.11-slim`, `…/my-python-base`,
    /// `node:20-slim`); `None` when the image name does not say.
    pub fn infer(image_ref: &str) -> Option<Self> {
        let name = image::repository_name(image_ref);
        if name.contains("python") {
            Some(Runtime::Python)
        } else if name == "node" {
            Some(Runtime::Node)
        } else {
            None
        }
    }

    /// The script's file name inside [`SCRIPTS_DIR`] (and its ConfigMap key).
    pub fn script_file(self) -> &'static str {
        match self {
            Runtime::Python => "script.py",
            Runtime::Node => "script.js",
            Runtime::Bash | Runtime::Sh => "script.sh",
        }
    }

    fn interpreter(self) -> &'static str {
        match self {
            Runtime::Python => "python3",
            Runtime::Node => "node",
            Runtime::Bash => "bash",
            Runtime::Sh => "sh",
        }
    }

    /// The main container's command: interpreter, script path, args JSON.
    pub fn command(self) -> Vec<String> {
        vec![
            self.interpreter().into(),
            format!("{SCRIPTS_DIR}/{}", self.script_file()),
            format!("$({ARGS_ENV})"),
        ]
    }

    /// The init container's command installing `dependencies` into [`DEPS_DIR`]; `--` ends
    /// the installer's options so no spec can be read as one.
    pub fn install_command(self, dependencies: &[String]) -> Option<Vec<String>> {
        let prefix: &[&str] = match self {
            Runtime::Python => &[
                "python3",
                "-m",
                "pip",
                "install",
                "--no-cache-dir",
                "--disable-pip-version-check",
                "--target",
                DEPS_DIR,
                "--",
            ],
            Runtime::Node => &[
                "npm",
                "install",
                "--prefix",
                DEPS_DIR,
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--",
            ],
            Runtime::Bash | Runtime::Sh => return None,
        };
        Some(
            prefix
                .iter()
                .map(|s| s.to_string())
                .chain(dependencies.iter().cloned())
                .collect(),
        )
    }

    /// The env var that makes installed dependencies importable.
    pub fn dependency_path_env(self) -> Option<(&'static str, String)> {
        match self {
            Runtime::Python => Some(("PYTHONPATH", DEPS_DIR.into())),
            Runtime::Node => Some(("NODE_PATH", format!("{DEPS_DIR}/node_modules"))),
            Runtime::Bash | Runtime::Sh => None,
        }
    }

    /// Check one dependency spec against this runtime's package manager.
    pub(crate) fn check_dependency(self, spec: &str) -> Result<(), Invalid> {
        match self {
            Runtime::Python => deps::python(spec),
            Runtime::Node => deps::npm(spec),
            Runtime::Bash | Runtime::Sh => Err(Invalid::new(
                "shell scripts have no package manager to install dependencies with",
                "remove install_dependencies, or use a python or node image (or build an image with the tools you need)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_runtime_from_image_name() {
        assert_eq!(Runtime::infer("python:3.11-slim"), Some(Runtime::Python));
        assert_eq!(
            Runtime::infer("ghcr.io/acme/my-python-base:1"),
            Some(Runtime::Python)
        );
        assert_eq!(Runtime::infer("node:20-slim"), Some(Runtime::Node));
        assert_eq!(
            Runtime::infer("docker.io/library/node"),
            Some(Runtime::Node)
        );
        assert_eq!(Runtime::infer("alpine:3.20"), None);
        assert_eq!(Runtime::infer("nodered/node-red"), None);
        assert_eq!(Runtime::infer("bash:5"), None);
    }

    #[test]
    fn commands_are_exact_argv() {
        assert_eq!(
            Runtime::Python.command(),
            ["python3", "/scripts/script.py", "$(NOETL_ARGS)"]
        );
        assert_eq!(
            Runtime::Node.command(),
            ["node", "/scripts/script.js", "$(NOETL_ARGS)"]
        );
        assert_eq!(
            Runtime::Sh.command(),
            ["sh", "/scripts/script.sh", "$(NOETL_ARGS)"]
        );
        assert_eq!(
            Runtime::Python
                .install_command(&["pandas>=2".into()])
                .unwrap(),
            [
                "python3",
                "-m",
                "pip",
                "install",
                "--no-cache-dir",
                "--disable-pip-version-check",
                "--target",
                "/deps",
                "--",
                "pandas>=2"
            ]
        );
        assert_eq!(
            Runtime::Node.install_command(&["lodash".into()]).unwrap(),
            [
                "npm",
                "install",
                "--prefix",
                "/deps",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--",
                "lodash"
            ]
        );
        assert_eq!(Runtime::Bash.install_command(&[]), None);
    }
}
