//! Secrets from a directory with one file per secret: the shape of a Kubernetes Secret
//! mounted as a volume (`/var/run/secrets/noetl/API_KEY`), or a directory an operator fills.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::Dir;

use super::{Lookup, SecretProvider};

/// Largest secret file read: the size limit of a whole Kubernetes Secret.
pub const MAX_SECRET_FILE_BYTES: u64 = 1024 * 1024;

/// Reads secret `name` from the file `name` in one directory.
///
/// - Files are opened through cap-std relative to the directory, so a file (or a chain of
///   symlinks) that leads outside the directory is refused. Symlinks inside it are
///   followed: a mounted Kubernetes Secret is `API_KEY -> ..data/API_KEY`.
/// - Exactly one trailing newline (`\n` or `\r\n`) is removed: files written with `echo`
///   or an editor end with one, and a token with a newline appended would be wrong in
///   every header it is put in. Any other whitespace is part of the value.
/// - Files must be UTF-8 and at most [`MAX_SECRET_FILE_BYTES`].
/// - Reads are small blocking reads of an (in Kubernetes, in-memory) file; they are not
///   moved to a blocking thread.
pub struct DirectoryProvider {
    dir: Dir,
    path: PathBuf,
}

impl DirectoryProvider {
    /// Open `path`; fails if it is not a readable directory.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        let dir = Dir::open_ambient_dir(path, ambient_authority()).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot open secret directory {}: {e}", path.display()),
            )
        })?;
        Ok(DirectoryProvider {
            dir,
            path: path.to_path_buf(),
        })
    }

    /// The directory secrets are read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self, name: &str) -> Result<Option<String>, String> {
        let file_path = self.path.join(name);
        let file = match self.dir.open(name) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(format!(
                    "cannot open {}: {e} (secret files must be regular files or links that stay inside the directory)",
                    file_path.display()
                ));
            }
        };
        let metadata = file
            .metadata()
            .map_err(|e| format!("cannot inspect {}: {e}", file_path.display()))?;
        if !metadata.is_file() {
            return Err(format!("{} is not a regular file", file_path.display()));
        }
        let mut bytes = Vec::new();
        file.take(MAX_SECRET_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read {}: {e}", file_path.display()))?;
        if bytes.len() as u64 > MAX_SECRET_FILE_BYTES {
            return Err(format!(
                "{} is larger than {MAX_SECRET_FILE_BYTES} bytes",
                file_path.display()
            ));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| format!("{} is not UTF-8 text", file_path.display()))?;
        Ok(Some(strip_one_trailing_newline(text)))
    }
}

fn strip_one_trailing_newline(mut text: String) -> String {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    text
}

impl SecretProvider for DirectoryProvider {
    fn describe(&self, name: &str) -> String {
        format!("file {}", self.path.join(name).display())
    }

    fn get<'a>(&'a self, name: &'a str) -> Lookup<'a> {
        Box::pin(std::future::ready(self.read(name)))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A provider over a fresh temp directory holding `files` (also used by the chain's tests).
    pub(in crate::secrets) fn provider(files: &[(&str, &[u8])]) -> (tempfile::TempDir, DirectoryProvider) {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in files {
            std::fs::write(dir.path().join(name), content).unwrap();
        }
        let provider = DirectoryProvider::open(dir.path()).unwrap();
        (dir, provider)
    }

    #[tokio::test]
    async fn strips_exactly_one_trailing_newline() {
        let (_dir, provider) = provider(&[
            ("LF", b"value\n"),
            ("CRLF", b"value\r\n"),
            ("TWO", b"value\n\n"),
            ("NONE", b"  value "),
        ]);
        assert_eq!(provider.get("LF").await.unwrap().unwrap(), "value");
        assert_eq!(provider.get("CRLF").await.unwrap().unwrap(), "value");
        assert_eq!(provider.get("TWO").await.unwrap().unwrap(), "value\n");
        assert_eq!(provider.get("NONE").await.unwrap().unwrap(), "  value ");
    }

    #[tokio::test]
    async fn missing_file_is_not_found_not_an_error() {
        let (_dir, provider) = provider(&[]);
        assert_eq!(provider.get("ABSENT").await, Ok(None));
    }

    #[tokio::test]
    async fn follows_kubernetes_style_links_inside_the_directory() {
        let (dir, provider) = provider(&[]);
        std::fs::create_dir(dir.path().join("..2026_01_01")).unwrap();
        std::fs::write(dir.path().join("..2026_01_01/API_KEY"), "mounted").unwrap();
        std::os::unix::fs::symlink("..2026_01_01", dir.path().join("..data")).unwrap();
        std::os::unix::fs::symlink("..data/API_KEY", dir.path().join("API_KEY")).unwrap();
        assert_eq!(provider.get("API_KEY").await.unwrap().unwrap(), "mounted");
    }

    #[tokio::test]
    async fn refuses_links_leading_outside_the_directory() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("host-secret"), "canary-outside-1b2c").unwrap();
        let (dir, provider) = provider(&[]);
        std::os::unix::fs::symlink(outside.path().join("host-secret"), dir.path().join("ABS"))
            .unwrap();
        std::os::unix::fs::symlink(
            "../../../../../../../../..".to_string()
                + &outside.path().join("host-secret").display().to_string(),
            dir.path().join("REL"),
        )
        .unwrap();
        for name in ["ABS", "REL"] {
            let error = provider.get(name).await.unwrap_err();
            assert!(
                error.contains(&format!("cannot open {}", dir.path().join(name).display())),
                "{error}"
            );
            assert!(!error.contains("canary-outside"), "{error}");
        }
    }

    #[tokio::test]
    async fn refuses_directories_oversized_and_non_utf8_files() {
        let big = vec![b'a'; MAX_SECRET_FILE_BYTES as usize + 1];
        let (dir, provider) = provider(&[("BIG", &big), ("BINARY", &[0xff, 0xfe])]);
        std::fs::create_dir(dir.path().join("SUBDIR")).unwrap();
        assert!(
            provider
                .get("BIG")
                .await
                .unwrap_err()
                .contains("larger than")
        );
        assert!(
            provider
                .get("BINARY")
                .await
                .unwrap_err()
                .contains("not UTF-8")
        );
        assert!(
            provider
                .get("SUBDIR")
                .await
                .unwrap_err()
                .contains("not a regular file")
        );
    }

    #[test]
    fn opening_a_missing_directory_names_it() {
        let error = DirectoryProvider::open("/nonexistent/noetl-secrets")
            .err()
            .unwrap();
        assert!(
            error.to_string().contains("/nonexistent/noetl-secrets"),
            "{error}"
        );
    }
}
