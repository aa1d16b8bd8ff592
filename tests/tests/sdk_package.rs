//! The SDK crate carries its own copy of the contract, so that it builds outside this
//! repository; the copy must be the repository's `wit/` exactly.

use noetl_tests::repo_root;

#[test]
fn the_sdk_s_wit_copy_equals_the_repository_s_wit() {
    let root = repo_root();
    let wit_files = |dir: &std::path::Path| -> Vec<(String, String)> {
        let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "wit"))
            .map(|path| (path.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&path).unwrap()))
            .collect();
        files.sort();
        files
    };
    let repo = wit_files(&root.join("wit"));
    assert!(!repo.is_empty());
    assert!(
        wit_files(&root.join("plugins/sdk/wit")) == repo,
        "plugins/sdk/wit differs from wit/: copy it again (cp wit/*.wit plugins/sdk/wit/)"
    );
}
