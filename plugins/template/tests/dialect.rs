//! The NoETL dialect filters.

mod common;

use common::*;

fn ok(template: &str) -> String {
    render_str(template).unwrap_or_else(|e| panic!("{template}: {e}"))
}

#[test]
fn tojson_and_fromjson_round_trip() {
    // Separators as Python json.dumps writes them, like upstream NoETL.
    assert_eq!(ok("{{ workload.items | tojson }}"), "[1, 2, 3]");
    assert_eq!(
        ok("{{ {'a': '<b>'} | tojson }}"),
        "{\"a\": \"\\u003cb\\u003e\"}"
    );
    assert_eq!(ok("{{ (fetch_data.data.output | fromjson).a[1] }}"), "2");
    assert_eq!(ok("{{ ('[1, 2, 3]' | fromjson) | length }}"), "3");
    let error = render_str("{{ 'not json' | fromjson }}").unwrap_err();
    assert!(
        error
            .message
            .contains("fromjson: the text is not valid JSON"),
        "{}",
        error.message
    );
}

#[test]
fn base64_filters() {
    assert_eq!(ok("{{ 'hello world' | b64encode }}"), "aGVsbG8gd29ybGQ=");
    assert_eq!(ok("{{ workload.port | b64encode }}"), "ODA4MA==");
    assert_eq!(ok("{{ 'aGVsbG8gd29ybGQ=' | b64decode }}"), "hello world");
    assert_eq!(ok("{{ 'aGVsbG8gd29ybGQ' | b64decode }}"), "hello world");
    assert_eq!(ok("{{ 'Pz8-' | b64decode }}"), "??>"); // URL-safe alphabet
    assert_eq!(ok("{{ 'x' | b64encode | b64decode }}"), "x");
    assert_eq!(ok("[{{ missing | b64encode }}]"), "[]");
    assert!(
        render_str("{{ '!!!' | b64decode }}")
            .unwrap_err()
            .message
            .contains("not base64")
    );
    assert!(
        render_str("{{ '//79' | b64decode }}")
            .unwrap_err()
            .message
            .contains("not UTF-8")
    );
}

#[test]
fn default_int_float_and_string_filters() {
    assert_eq!(
        ok("{{ workload.missing | default('fallback') }}"),
        "fallback"
    );
    assert_eq!(
        ok("{{ workload.empty | default('fallback', true) }}"),
        "fallback"
    );
    assert_eq!(ok("{{ '42' | int + 1 }}"), "43");
    assert_eq!(ok("{{ '1.5' | float * 2 }}"), "3.0");
    assert_eq!(ok("{{ 2.567 | round(1) }}"), "2.6");
    assert_eq!(ok("{{ workload.port | string ~ '/tcp' }}"), "8080/tcp");
}

#[test]
fn text_filters() {
    assert_eq!(
        ok("{{ workload.name | lower }}-{{ workload.name | upper }}"),
        "alice-ALICE"
    );
    assert_eq!(ok("{{ 'a-b-c' | replace('-', '_') }}"), "a_b_c");
    assert_eq!(ok("{{ '  padded  ' | trim }}"), "padded");
    assert_eq!(ok("{{ workload.items | join(',') }}"), "1,2,3");
    assert_eq!(
        ok("{{ workload.items | length }}/{{ workload.name | length }}"),
        "3/5"
    );
    assert_eq!(ok("{{ 'a,b' | split(',') | first }}"), "a");
}
