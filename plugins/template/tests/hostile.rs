//! Hostile templates: each must stop within its bound with a clear error, and nothing may
//! allocate more than the fuel budget allows before the engine refuses.
//!
//! This binary counts the largest single allocation made by any test in it: the point is
//! not only that rendering fails, but that it fails *before* building a gigabyte string.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use noetl_plugin_template::RenderOptions;
use serde_json::json;

struct LargestAllocation;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for LargestAllocation {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: LargestAllocation = LargestAllocation;

/// The default budget lets a render create about 32 MB of data; nothing may come close to a
/// gigabyte.
const ALLOCATION_CEILING: usize = 64 * 1024 * 1024;

fn assert_refused(template: &str, expected: &[&str]) {
    let error = render_lenient(json!({"tool": {"job": {"env": {"X": template}}}}))
        .expect_err(&format!("{template} rendered"));
    assert_eq!(error.path, "tool.job.env.X", "{template}");
    assert!(
        expected.iter().any(|needle| error.message.contains(needle)),
        "{template}: message {:?} has none of {expected:?}",
        error.message
    );
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(
        largest < ALLOCATION_CEILING,
        "{template}: an allocation of {largest} bytes was made"
    );
}

#[test]
fn huge_range_is_refused() {
    assert_refused(
        "{% for i in range(999999999) %}x{% endfor %}",
        &["range has too many elements"],
    );
    assert_refused(
        "{{ range(10**9) | length }}",
        &["range has too many elements"],
    );
}

#[test]
fn nested_loops_run_out_of_fuel() {
    assert_refused(
        "{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}",
        &["ran out of fuel"],
    );
}

#[test]
fn string_multiplication_is_refused_before_allocating() {
    assert_refused(
        "{{ 'x' * 1000000000 }}",
        &["repeated string is too large", "ran out of fuel"],
    );
    // Under minijinja's own 100 MB cap: only fuel stops it, before the string exists.
    assert_refused("{{ 'x' * 99999999 }}", &["ran out of fuel"]);
    assert_refused(
        "{{ ([1, 2, 3] * 30000000) | join }}",
        &["ran out of fuel", "too large"],
    );
}

#[test]
fn doubling_a_string_in_a_loop_runs_out_of_fuel() {
    assert_refused(
        "{% set ns = namespace(v='xxxxxxxx') %}{% for i in range(60) %}{% set ns.v = ns.v ~ ns.v %}{% endfor %}{{ ns.v | length }}",
        &["ran out of fuel"],
    );
}

#[test]
fn filters_cannot_blow_up_their_input() {
    assert_refused(
        "{{ ('x\n' * 1000) | indent(1000000) }}",
        &["ran out of fuel"],
    );
    assert_refused(
        "{{ range(100000) | join('x' * 10000) }}",
        &["ran out of fuel"],
    );
}

#[test]
fn deep_recursion_hits_the_recursion_limit() {
    // Bounded recursion within the limit still works.
    let countdown = "{% macro down(n) %}{% if n > 0 %}{{ n }}{{ down(n - 1) }}{% endif %}{% endmacro %}{{ down(5) }}";
    assert_eq!(render_str(countdown).unwrap(), "54321");
    assert_refused(
        "{% macro down(n) %}{{ down(n + 1) }}{% endmacro %}{{ down(0) }}",
        &["recursion limit exceeded"],
    );
}

#[test]
fn macro_bomb_runs_out_of_fuel() {
    // Each level calls the previous ten times: 10^8 copies of the innermost output.
    let mut template = String::from("{% macro m0() %}xxxxxxxxxxxxxxxx{% endmacro %}");
    for level in 1..=8 {
        let calls = format!("{{{{ m{}() }}}}", level - 1).repeat(10);
        template.push_str(&format!("{{% macro m{level}() %}}{calls}{{% endmacro %}}"));
    }
    template.push_str("{{ m8() }}");
    assert_refused(&template, &["ran out of fuel"]);
}

#[test]
fn the_fuel_budget_is_shared_by_the_whole_tree() {
    // Each string alone fits the budget; together they do not.
    let each = "{% for i in range(60000) %}{{ i }}{% endfor %}";
    render_lenient(json!({"a": each})).expect("one loop fits the budget");
    let tree = json!({"a": each, "b": each, "c": each, "d": each, "e": each, "f": each, "g": each, "h": each});
    let error = render_lenient(tree).expect_err("eight loops must exceed the budget");
    assert!(
        error.message.contains("ran out of fuel"),
        "{}",
        error.message
    );
}

#[test]
fn a_secret_in_lenient_mode_is_still_strict() {
    let error = render_with(
        json!({"x": "{% if secrets.NOPE is defined %}{{ secrets.NOPE }}{% endif %}"}),
        &RenderOptions::default(),
        RecordingSecrets::new(&[]),
    )
    .unwrap_err();
    assert!(error.message.contains("secrets.NOPE"), "{}", error.message);
}

#[test]
fn a_tiny_budget_is_respected() {
    let options = RenderOptions {
        fuel: 50,
        ..RenderOptions::default()
    };
    let error = render_with(
        json!("{% for i in range(100) %}{{ i }}{% endfor %}"),
        &options,
        RecordingSecrets::new(&[]),
    )
    .unwrap_err();
    assert!(
        error.message.contains("may use 50 fuel"),
        "{}",
        error.message
    );
}
