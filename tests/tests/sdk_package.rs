//! The SDKs (the Rust crate and the Python package) carry their own copy of the contract,
//! so that they build outside this repository; each copy must be the repository's `wit/`
//! exactly.

use noetl_tests::repo_root;

/// Panics unless the `.wit` files of `copy` (relative to the repository) are those of `wit/`.
fn assert_wit_copy(copy: &str) {
    let root = repo_root();
    let wit_files = |dir: &std::path::Path| -> Vec<(String, String)> {
        let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "wit"))
            .map(|path| {
                (
                    path.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read_to_string(&path).unwrap(),
                )
            })
            .collect();
        files.sort();
        files
    };
    let repo = wit_files(&root.join("wit"));
    assert!(!repo.is_empty());
    assert!(
        wit_files(&root.join(copy)) == repo,
        "{copy} differs from wit/: copy it again (cp wit/*.wit {copy}/)"
    );
}

#[test]
fn the_sdk_s_wit_copy_equals_the_repository_s_wit() {
    assert_wit_copy("plugins/sdk/wit");
}

#[test]
fn the_python_sdk_s_wit_copy_equals_the_repository_s_wit() {
    assert_wit_copy("plugins/sdk-python/noetl_plugin/wit");
}
