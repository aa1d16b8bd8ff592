//! `files`: read-only access confined (with cap-std) to directories the policy grants.
//! cap-std resolves every path inside the opened directory, so `..`, absolute paths and
//! symlinks pointing outside are refused by construction, not by string checks.

use std::io::Read;
use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::Dir;

use crate::bindings::tool::noetl::plugin::files::Host;
use crate::bindings::types::CapabilityError;
use crate::plugin::HostState;

impl Host for HostState {
    async fn read(&mut self, path: String, max_bytes: u64) -> Result<Vec<u8>, CapabilityError> {
        let started = self.begin_host_call();
        let result = self.read_granted(&path, max_bytes);
        self.end_host_call(started);
        result
    }
}

impl HostState {
    fn granted_dirs(&self) -> Vec<PathBuf> {
        let caps = &self.caps;
        let dirs = caps.grant.files.as_ref().map(|g| g.dirs.clone()).unwrap_or_default();
        dirs.into_iter()
            .filter_map(|dir| match (&caps.base_dir, dir.is_absolute()) {
                (_, true) => Some(dir),
                (Some(base), false) => Some(base.join(dir)),
                // A relative grant with no playbook directory grants nothing.
                (None, false) => None,
            })
            .collect()
    }

    fn read_granted(&self, path: &str, max_bytes: u64) -> Result<Vec<u8>, CapabilityError> {
        let dirs = self.granted_dirs();
        if dirs.is_empty() {
            return Err(self.caps.denied("files", &format!("`{path}`"), "files.dirs"));
        }
        let mut last_error = None;
        for dir in &dirs {
            match read_within(dir, Path::new(path), max_bytes) {
                Ok(bytes) => return Ok(bytes),
                Err(error @ CapabilityError::TooLarge(_)) => return Err(error),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.expect("at least one directory was tried"))
    }
}

fn read_within(dir: &Path, path: &Path, max_bytes: u64) -> Result<Vec<u8>, CapabilityError> {
    let shown = || format!("`{}` in {}", path.display(), dir.display());
    let root = Dir::open_ambient_dir(dir, ambient_authority())
        .map_err(|e| CapabilityError::NotFound(format!("granted directory {} cannot be opened: {e}", dir.display())))?;
    let mut file = root.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => CapabilityError::NotFound(format!("no file {}", shown())),
        std::io::ErrorKind::PermissionDenied => {
            CapabilityError::Denied(format!("{} is outside the granted directory or not readable: {e}", shown()))
        }
        _ => CapabilityError::Denied(format!("{} cannot be opened inside the granted directory: {e}", shown())),
    })?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size > max_bytes {
        return Err(CapabilityError::TooLarge(format!("{} is {size} bytes, over the limit of {max_bytes}", shown())));
    }
    let mut bytes = Vec::new();
    file.by_ref()
        .take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CapabilityError::Failed(format!("reading {}: {e}", shown())))?;
    if bytes.len() as u64 > max_bytes {
        return Err(CapabilityError::TooLarge(format!("{} grew past the limit of {max_bytes} bytes", shown())));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_inside_and_refuses_escapes() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), "canary-outside").unwrap();
        let granted = tempfile::tempdir().unwrap();
        std::fs::write(granted.path().join("script.py"), "print(1)").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.txt"), granted.path().join("link.py")).unwrap();

        assert_eq!(read_within(granted.path(), Path::new("script.py"), 100).unwrap(), b"print(1)");
        for escape in ["../secret.txt", "link.py", "/etc/passwd"] {
            let error = read_within(granted.path(), Path::new(escape), 100).unwrap_err();
            assert!(matches!(error, CapabilityError::Denied(_) | CapabilityError::NotFound(_)), "{escape}: {error:?}");
        }
        let escape = outside.path().join("secret.txt");
        assert!(read_within(granted.path(), &escape, 100).is_err());
        assert!(matches!(read_within(granted.path(), Path::new("script.py"), 3), Err(CapabilityError::TooLarge(_))));
    }
}
