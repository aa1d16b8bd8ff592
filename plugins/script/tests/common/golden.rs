//! Golden manifests, for this crate's tests and those of the tools built on it (python,
//! shell, which include this file by path): a planned bundle must equal the committed
//! `tests/golden/<name>.yaml` of the crate under test; `UPDATE_GOLDEN=1` rewrites it.

use std::path::PathBuf;

use noetl_plugin_script::JobBundle;

/// The difference to report, or `None` when `bundle` matches (or was just written).
pub fn mismatch(name: &str, bundle: &JobBundle) -> Option<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.yaml"));
    let actual = serde_yaml::to_string(bundle).unwrap();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &actual).unwrap();
        return None;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing {}; run with UPDATE_GOLDEN=1", path.display()));
    (expected != actual).then(|| {
        format!(
            "{name}: planned manifests differ from {}\n--- actual ---\n{actual}",
            path.display()
        )
    })
}

pub fn assert_matches(name: &str, bundle: &JobBundle) {
    if let Some(mismatch) = mismatch(name, bundle) {
        panic!("{mismatch}");
    }
}
