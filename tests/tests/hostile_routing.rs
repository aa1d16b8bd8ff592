//! Hostile templates on the paths the host itself takes: `check` (which `run` calls first)
//! and routing (`when`, `set`, `loop.in`, evaluated by upstream's core). None of them may
//! run in the host process: `check` parses without evaluating, and routing runs in the
//! router component under `plugins.router.limits`. Each test runs the real `noetl-host`
//! and reads its peak RSS from the kernel (`wait4`): the host stays small whatever the
//! template asks for.

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

use noetl_tests::host_bin;

/// The host's own budget: the router's and the template engine's memories (128 MiB each
/// by default) fit in it with room for the host itself.
const MAX_HOST_RSS_KIB: i64 = 300 * 1024;

const HEAD: &str = "apiVersion: noetl.io/v2\nkind: Playbook\nmetadata: {name: hostile}\n";

/// Nested loops of 10^12 iterations that print nothing: only a CPU bound stops them.
const ENDLESS: &str = "{% for a in range(10000) %}{% for b in range(10000) %}{% for c in range(10000) %}{% endfor %}{% endfor %}{% endfor %}";

struct Ran {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    peak_rss_kib: i64,
}

impl Ran {
    fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// `noetl-host ARGS`, waited for with `wait4` so the kernel reports this child's own peak RSS.
fn host(args: &[&str], dir: &Path) -> Ran {
    let mut child = Command::new(host_bin())
        .args(args)
        .current_dir(dir)
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env_remove("NOETL_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let stdout = std::thread::spawn(move || {
        let mut text = String::new();
        out.read_to_string(&mut text).unwrap();
        text
    });
    let mut stderr = String::new();
    err.read_to_string(&mut stderr).unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, whose pid std gave us; `status` and `usage` outlive the call.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed: {}", std::io::Error::last_os_error());
    Ran { status: ExitStatus::from_raw(status), stdout: stdout.join().unwrap(), stderr, peak_rss_kib: usage.ru_maxrss }
}

fn write_playbook(dir: &Path, body: &str) -> String {
    let path = dir.join("hostile.yaml");
    std::fs::write(&path, format!("{HEAD}{body}")).unwrap();
    path.display().to_string()
}

fn assert_small(ran: &Ran) {
    assert!(ran.peak_rss_kib < MAX_HOST_RSS_KIB, "the host's peak RSS was {} KiB\n{}", ran.peak_rss_kib, ran.all());
}

/// A run whose routing hits a bound: exit 1, the step and the bound named, the host small.
fn assert_routing_stopped(body: &str, step: &str, limit: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = write_playbook(dir.path(), body);
    let ran = host(&["run", &file], dir.path());
    assert_eq!(ran.status.code(), Some(1), "{}", ran.all());
    let all = ran.all();
    assert!(all.contains(&format!("step `{step}`: routing after it finished was stopped")), "{all}");
    assert!(all.contains(&format!("plugins.router.limits.{limit}")), "the bound is named with its policy key: {all}");
    assert_small(&ran);
}

/// What a step returns: `n`, a number the routing template then abuses.
const START_N: &str = "  - step: start\n    tool: {kind: noop, result: {n: 800000000}}\n";

#[test]
fn a_when_that_allocates_without_end_is_stopped_by_the_routers_memory_limit() {
    let body = format!(
        "workflow:\n{START_N}    next:\n      arcs:\n        - {{step: big, when: \"{{{{ ('x' * start.n) | length > 1 }}}}\"}}\n        - {{step: end}}\n  - step: big\n    tool: {{kind: noop}}\n  - step: end\n    tool: {{kind: noop}}\n"
    );
    assert_routing_stopped(&body, "start", "memory_mib");
}

#[test]
fn a_when_that_loops_without_end_is_stopped_by_the_routers_cpu_limit() {
    let body = format!(
        "workflow:\n{START_N}    next:\n      arcs:\n        - {{step: end, when: \"{ENDLESS}\"}}\n  - step: end\n    tool: {{kind: noop}}\n"
    );
    assert_routing_stopped(&body, "start", "cpu_ms");
}

#[test]
fn a_set_that_allocates_without_end_is_stopped() {
    let body = format!(
        "workflow:\n{START_N}    next:\n      arcs:\n        - {{step: end, set: {{ctx.big: \"{{{{ 'x' * start.n }}}}\"}}}}\n  - step: end\n    tool: {{kind: noop}}\n"
    );
    assert_routing_stopped(&body, "start", "memory_mib");
}

#[test]
fn a_loop_in_that_loops_without_end_is_stopped() {
    let body = format!(
        "workflow:\n{START_N}    next: [each]\n  - step: each\n    loop: {{in: \"{ENDLESS}\", iterator: item}}\n    tool: {{kind: noop}}\n    next: [end]\n  - step: end\n    tool: {{kind: noop}}\n"
    );
    assert_routing_stopped(&body, "start", "cpu_ms");
}

#[test]
fn the_routers_limits_come_from_the_policy() {
    // A routing template that builds a 40 MB string passes under the default memory limit
    // (128 MiB) and is stopped under 16 MiB: the policy's `plugins.router.limits` applies.
    let dir = tempfile::tempdir().unwrap();
    let big = "{{ ('x' * 40000000) | length > 1 }}";
    let file = write_playbook(
        dir.path(),
        &format!("workflow:\n{START_N}    next:\n      arcs:\n        - {{step: end, when: \"{big}\"}}\n  - step: end\n    tool: {{kind: noop}}\n"),
    );
    let ran = host(&["run", &file], dir.path());
    assert_eq!(ran.status.code(), Some(0), "{}", ran.all());
    std::fs::write(dir.path().join("policy.yaml"), "plugins:\n  router:\n    limits: {memory_mib: 16}\n").unwrap();
    let ran = host(&["--policy", "policy.yaml", "run", &file], dir.path());
    assert_eq!(ran.status.code(), Some(1), "{}", ran.all());
    assert!(ran.all().contains("over its limit of 16 MiB"), "{}", ran.all());
    assert!(ran.all().contains("plugins.router.limits.memory_mib"), "{}", ran.all());
    assert!(!ran.stderr.contains("no loaded plugin is named `router`"), "the router's key is known: {}", ran.stderr);
}

/// Templates that would hang, exhaust or abort a host that evaluates them.
const HOSTILE_RESULTS: [&str; 3] = [
    "{% for a in range(10000) %}{% for b in range(10000) %}x{% endfor %}{% endfor %}",
    "{{ 'x' * 10**9 }}",
    "{{ 'x' * 1000000000000000000 }}",
];

#[test]
fn check_parses_hostile_templates_without_evaluating_them() {
    let dir = tempfile::tempdir().unwrap();
    let steps: String = HOSTILE_RESULTS
        .iter()
        .enumerate()
        .map(|(i, template)| format!("  - step: s{i}\n    tool: {{kind: noop, result: \"{template}\"}}\n    next: [s{}]\n", i + 1))
        .collect();
    let file = write_playbook(dir.path(), &format!("workflow:\n  - step: start\n    tool: {{kind: noop}}\n    next: [s0]\n{steps}  - step: s3\n    tool: {{kind: noop}}\n"));
    let ran = host(&["check", &file], dir.path());
    // They parse: `check` accepts them (their evaluation belongs to the sandbox).
    assert_eq!(ran.status.code(), Some(0), "{}", ran.all());
    assert_eq!(ran.status.signal(), None);
    assert_small(&ran);
}

#[test]
fn check_still_reports_a_template_that_does_not_parse() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_playbook(dir.path(), "workflow:\n  - step: start\n    tool: {kind: noop, result: \"{{ 1 + }}\"}\n");
    let ran = host(&["check", &file], dir.path());
    assert_eq!(ran.status.code(), Some(2), "{}", ran.all());
    assert!(ran.all().contains("template does not parse"), "{}", ran.all());
}

#[test]
fn running_hostile_tool_templates_stops_each_in_the_template_sandbox() {
    for template in HOSTILE_RESULTS {
        let dir = tempfile::tempdir().unwrap();
        let file = write_playbook(dir.path(), &format!("workflow:\n  - step: start\n    tool: {{kind: noop, result: \"{template}\"}}\n"));
        let ran = host(&["run", &file], dir.path());
        assert_eq!(ran.status.code(), Some(1), "{template}: {}", ran.all());
        // The engine's own bounds (fuel, the size of a repeated string) stop each one.
        assert!(ran.all().contains("step `start`: template error in tool.result"), "{template}: {}", ran.all());
        assert_small(&ran);
    }
}
