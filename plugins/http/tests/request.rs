//! Building requests from upstream-shaped configs, and bad configs refused with the field
//! and a fix (never quoting a credential back).

use noetl_plugin_http::{HttpRequest, request};
use serde_json::{Value, json};

fn header<'a>(request: &'a HttpRequest, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[test]
fn upstream_fields_build_the_request() {
    let get = request(&json!({"kind": "http", "url": "https://api.example.com/items?x=1", "params": {"q": "a b", "n": 2, "skip": null}, "headers": {"Accept": "application/json", "X-Retry": true}})).unwrap();
    assert_eq!(get.method, "GET");
    assert_eq!(get.url, "https://api.example.com/items?x=1&q=a%20b&n=2");
    assert_eq!(header(&get, "x-retry"), Some("true"));
    assert_eq!(
        (get.body.as_ref(), get.follow_redirects, get.timeout_ms),
        (None, true, None)
    );

    let post = request(&json!({"kind": "http", "url": "http://127.0.0.1:8080/", "method": "post", "json": {"a": [1]}, "timeout_seconds": 5, "follow_redirects": false})).unwrap();
    assert_eq!(
        (post.method.as_str(), post.timeout_ms, post.follow_redirects),
        ("POST", Some(5000), false)
    );
    assert_eq!(post.body.as_deref(), Some(br#"{"a":[1]}"#.as_slice()));
    assert_eq!(header(&post, "content-type"), Some("application/json"));

    let form = request(
        &json!({"kind": "http", "url": "http://h/", "method": "PUT", "form": {"name": "a&b"}}),
    )
    .unwrap();
    assert_eq!(form.body.as_deref(), Some(b"name=a%26b".as_slice()));
    assert_eq!(
        header(&form, "content-type"),
        Some("application/x-www-form-urlencoded")
    );

    let raw = request(&json!({"kind": "http", "url": "http://h/", "method": "POST", "body": "<x/>", "headers": {"content-type": "text/xml"}})).unwrap();
    assert_eq!(raw.body.as_deref(), Some(b"<x/>".as_slice()));
    assert_eq!(
        raw.headers.len(),
        1,
        "the author's Content-Type is kept: {:?}",
        raw.headers
    );

    let bearer = request(
        &json!({"kind": "http", "url": "http://h/", "auth": {"type": "bearer", "token": "tok"}}),
    )
    .unwrap();
    assert_eq!(header(&bearer, "authorization"), Some("Bearer tok"));
    let basic = request(&json!({"kind": "http", "url": "http://h/", "auth": {"type": "basic", "username": "u", "password": "p"}})).unwrap();
    assert_eq!(header(&basic, "authorization"), Some("Basic dTpw"));
    let key = request(&json!({"kind": "http", "url": "http://h/", "auth": {"type": "api_key", "header": "X-Key", "token": "k"}})).unwrap();
    assert_eq!(header(&key, "x-key"), Some("k"));
}

#[test]
fn bad_configs_name_the_field_and_the_fix() {
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"kind": "http"}), "tool.url", "add url"),
        (
            json!({"kind": "http", "url": "ftp://h/x"}),
            "tool.url",
            "full URL",
        ),
        (
            json!({"kind": "http", "url": "https://"}),
            "tool.url",
            "full URL",
        ),
        (
            json!({"kind": "http", "url": "http://h", "method": "FETCH"}),
            "tool.method",
            "use one of",
        ),
        (
            json!({"kind": "http", "url": "http://h", "method": "PUTT"}),
            "tool.method",
            "did you mean `PUT`?",
        ),
        (
            json!({"kind": "http", "url": "http://h", "json": {}, "body": "x"}),
            "tool.json",
            "keep one of body and json",
        ),
        (
            json!({"kind": "http", "url": "http://h", "headers": {"A": ["x"]}}),
            "tool.headers.A",
            "one value",
        ),
        (
            json!({"kind": "http", "url": "http://h", "params": "a=1"}),
            "tool.params",
            "as a mapping",
        ),
        (
            json!({"kind": "http", "url": "http://h", "timeout_seconds": 0}),
            "tool.timeout_seconds",
            "between 1",
        ),
        (
            json!({"kind": "http", "url": "http://h", "follow_redirects": "no"}),
            "tool.follow_redirects",
            "true or",
        ),
        (
            json!({"kind": "http", "url": "http://h", "response_type": "xml"}),
            "tool.response_type",
            "use one of",
        ),
        (
            json!({"kind": "http", "url": "http://h", "auth": {"type": "bearer"}}),
            "tool.auth.token",
            "secrets.",
        ),
        (
            json!({"kind": "http", "url": "http://h", "auth": {"type": "oauth"}}),
            "tool.auth.type",
            "use one of",
        ),
        (
            json!({"kind": "http", "url": "http://h", "auth": {"type": "bearer", "credential": "API"}}),
            "tool.auth.credential",
            "use one of",
        ),
        (
            json!({"kind": "http", "url": "http://h", "headers": {"Authorization": "x"}, "auth": {"type": "bearer", "token": "t"}}),
            "tool.headers.Authorization",
            "remove Authorization",
        ),
        (
            json!({"kind": "http", "url": "http://h", "urll": "x"}),
            "tool.urll",
            "did you mean `url`?",
        ),
    ];
    for (config, field, text) in cases {
        let errors = request(&config).expect_err(&config.to_string());
        assert!(
            errors
                .iter()
                .any(|e| e.field == field && (e.fix.contains(text) || e.message.contains(text))),
            "{config}: no {field} error containing {text:?} in {errors:?}"
        );
    }
}

#[test]
fn credentials_are_never_quoted_in_errors() {
    let canary = "canary-9d1f-token";
    let errors = request(&json!({"kind": "http", "url": "http://h", "auth": {"type": "basic", "username": "u", "password": 12345}, "headers": {"X-Secret": {"v": canary}}})).unwrap_err();
    let text = format!("{errors:?}");
    assert!(!text.contains(canary) && !text.contains("12345"), "{text}");
    assert!(
        errors.iter().any(|e| e.field == "tool.auth.password"),
        "{errors:?}"
    );
}
