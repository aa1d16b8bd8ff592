//! The README's playbook example runs as written (on the default local backend), so the
//! format it shows cannot drift from what the runner reads.

use std::process::Command;

use noetl_tests::{cli, host_bin, repo_root};

/// The YAML block that follows the `readme-playbook` marker in README.md.
fn readme_playbook() -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let after_marker = readme.split("<!-- readme-playbook:").nth(1).expect("README.md has the readme-playbook marker");
    let block = after_marker.split("```yaml\n").nth(1).expect("a yaml block follows the marker");
    block.split("\n```").next().unwrap().to_string()
}

#[test]
fn the_readme_playbook_runs_and_chains_its_steps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("greet.yaml");
    std::fs::write(&path, readme_playbook()).unwrap();
    let output = Command::new(host_bin())
        .args(["run", path.to_str().unwrap(), "--output", "json"])
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .output()
        .unwrap();
    let report = cli::json_stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{report:#}\nstderr: {}", cli::stderr(&output));
    assert_eq!(report["playbook"], "greet");
    assert_eq!(report["steps"][1]["response"]["data"]["result"]["loud"], "HELLO WORLD", "{report:#}");
}
