//! `noetl-host plugins new NAME --lang rust|python`: a plugin project that builds as it is
//! (manifest, source with a native test, README with the build and install commands).

use std::path::{Path, PathBuf};

use super::Failure;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Lang {
    Rust,
    Python,
}

#[derive(clap::Args)]
pub struct NewArgs {
    /// The tool kind, which is also the project's name: lowercase letters, digits, `-`, `_`.
    name: String,
    #[arg(long, value_enum)]
    lang: Lang,
    /// Where to create the project (default: ./NAME); must not exist yet.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Use the SDK from this directory (a checkout's `plugins/sdk`, or `plugins/sdk-python`
    /// for Python) instead of crates.io or PyPI.
    #[arg(long, value_name = "DIR")]
    sdk_path: Option<PathBuf>,
}

/// What differs between the languages: the files, and how the project names the SDK.
struct Template {
    files: &'static [(&'static str, &'static str)],
    /// A file that must be in an `--sdk-path` directory, so a wrong directory is caught here.
    sdk_marker: &'static str,
    /// The dependency line for an SDK at a path, and for the released one.
    sdk_at_path: fn(&str) -> String,
    sdk_released: fn() -> String,
}

const RUST: Template = Template {
    files: &[
        ("Cargo.toml", include_str!("scaffold/rust/Cargo.toml.in")),
        ("src/lib.rs", include_str!("scaffold/rust/lib.rs.in")),
        ("README.md", include_str!("scaffold/rust/README.md.in")),
        (".gitignore", "/target\n"),
    ],
    sdk_marker: "Cargo.toml",
    sdk_at_path: |path| format!("{{ path = {path:?} }}"),
    // The SDK's version is the contract version it builds plugins for.
    sdk_released: || format!("\"{}\"", noetl_host::plugin::HOST_CONTRACT),
};

const PYTHON: Template = Template {
    files: &[
        (
            "requirements.txt",
            include_str!("scaffold/python/requirements.txt.in"),
        ),
        ("app.py", include_str!("scaffold/python/app.py.in")),
        (
            "test_app.py",
            include_str!("scaffold/python/test_app.py.in"),
        ),
        ("README.md", include_str!("scaffold/python/README.md.in")),
        (".gitignore", "__pycache__/\n/.venv\n*.wasm\n"),
    ],
    sdk_marker: "noetl_plugin/componentize-py.toml",
    sdk_at_path: |path| {
        format!(
            "noetl-plugin-sdk[build] @ file://{}",
            path.replace(' ', "%20")
        )
    },
    sdk_released: || {
        format!(
            "noetl-plugin-sdk[build]=={}",
            noetl_host::plugin::HOST_CONTRACT
        )
    },
};

pub fn run(args: NewArgs) -> Result<u8, Failure> {
    check_name(&args.name)?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    if dir.exists() {
        return Err(Failure::new(
            2,
            format!(
                "{} already exists; choose another --dir or remove it",
                dir.display()
            ),
        ));
    }
    let template = match args.lang {
        Lang::Rust => &RUST,
        Lang::Python => &PYTHON,
    };
    let sdk = match &args.sdk_path {
        Some(path) => {
            let path = path
                .canonicalize()
                .map_err(|e| Failure::new(2, format!("--sdk-path {}: {e}", path.display())))?;
            if !path.join(template.sdk_marker).is_file() {
                return Err(Failure::new(
                    2,
                    format!(
                        "--sdk-path {}: no {} there; give the SDK's directory",
                        path.display(),
                        template.sdk_marker
                    ),
                ));
            }
            (template.sdk_at_path)(&path.display().to_string())
        }
        None => (template.sdk_released)(),
    };
    let fill = |text: &str| {
        text.replace("@NAME@", &args.name)
            .replace("@FILE@", &args.name.replace('-', "_"))
            .replace("@SDK@", &sdk)
    };
    let files: Vec<(&str, String)> = template
        .files
        .iter()
        .map(|(path, text)| (*path, fill(text)))
        .collect();
    write_all(&dir, &files).map_err(|e| {
        // Leave nothing half-written behind.
        let _ = std::fs::remove_dir_all(&dir);
        Failure::new(4, format!("writing {}: {e}", dir.display()))
    })?;
    println!(
        "created {} (kind `{}`); next: cd {} and see README.md",
        dir.display(),
        args.name,
        dir.display()
    );
    Ok(0)
}

/// The name becomes the tool kind: the host refuses plugins whose kind breaks these rules.
fn check_name(name: &str) -> Result<(), Failure> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(Failure::new(
            2,
            format!(
                "plugin name `{name}`: use 1-63 lowercase letters, digits, `-` or `_`, starting with a letter (it is the tool kind)"
            ),
        ))
    }
}

fn write_all(dir: &Path, files: &[(&str, String)]) -> std::io::Result<()> {
    for (path, text) in files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, text)?;
    }
    Ok(())
}
