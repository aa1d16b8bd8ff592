//! The http tool through the real `noetl-host run` binary against a loopback server: GET,
//! POST with JSON, headers and auth from a secret, error statuses as step errors, and the
//! host's grant (hosts, every redirect hop, the response size limit). Also the playbook
//! that chains python -> http -> shell -> script, passing data between the steps.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};

use noetl_tests::local::{report, run, write_policy};
use serde_json::{Value, json};

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

/// An HTTP/1.1 server on 127.0.0.1; every response closes its connection.
struct Server {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some(request) = read_request(&mut stream) else { continue };
                let (status, extra, body) = respond(&request, port);
                log.lock().unwrap().push(request);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} Status\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(body.as_bytes());
            }
        });
        Server { port, seen }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn read_request(stream: &mut std::net::TcpStream) -> Option<Seen> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut words = line.split_whitespace();
    let (method, path) = (words.next()?.to_owned(), words.next()?.to_owned());
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 || header.trim().is_empty() {
            break;
        }
        let (name, value) = header.trim_end().split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length = headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Seen { method, path, headers, body: String::from_utf8_lossy(&body).into_owned() })
}

/// (status, extra header lines, body) for a request.
fn respond(request: &Seen, port: u16) -> (u16, String, String) {
    let header = |name: &str| request.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    match request.path.as_str() {
        "/echo" => {
            let body: Value = serde_json::from_str(&request.body).unwrap_or(Value::Null);
            let echo = json!({"method": request.method, "content_type": header("content-type"), "body": body, "x_test": header("x-test"), "authorization": header("authorization")});
            (200, String::new(), echo.to_string())
        }
        path if path.starts_with("/items") => (200, "X-Served-By: test\r\n".into(), json!({"items": [1, 2], "path": path}).to_string()),
        "/missing" => (404, String::new(), "{\"error\": \"no such item\"}".into()),
        "/down" => (503, String::new(), "{\"error\": \"maintenance\"}".into()),
        "/to-items" => (302, "Location: /items\r\n".into(), String::new()),
        "/out-of-grant" => (302, format!("Location: http://localhost:{port}/items\r\n"), String::new()),
        "/big" => (200, String::new(), format!("\"{}\"", "x".repeat(2 << 20))),
        _ => (404, String::new(), "{}".into()),
    }
}

/// Grants the http plugin the loopback server, and the template engine the secrets.
const POLICY: &str = "plugins:\n  http:\n    http: {hosts: [\"127.0.0.1\"]}\n    limits: {max_response_mib: 1}\n  template:\n    secrets: {names: [\"*\"]}\n";

fn run_steps(dir: &Path, steps: &str, envs: &[(&str, &str)]) -> Output {
    let playbook = dir.join("playbook.yaml");
    std::fs::write(&playbook, format!("workflow:\n{steps}")).unwrap();
    let policy: PathBuf = write_policy(dir, POLICY);
    run(&playbook, &["--policy", policy.to_str().unwrap()], envs)
}

fn http_step(name: &str, fields: &str) -> String {
    format!("  - step: {name}\n    tool:\n      kind: http\n{fields}")
}

/// The only step's response, after checking the run's exit code.
fn only_response(output: &Output, code: i32) -> Value {
    let report = report(output);
    assert_eq!(output.status.code(), Some(code), "{report:#}\nstderr: {}", String::from_utf8_lossy(&output.stderr));
    report["steps"][0]["response"].clone()
}

#[test]
fn get_with_params_and_headers() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let fields = format!("      url: \"{}\"\n      params: {{page: 2, q: \"a b\"}}\n      headers: {{X-Test: yes}}\n", server.url("/items"));
    let response = only_response(&run_steps(dir.path(), &http_step("get", &fields), &[]), 0);
    assert_eq!(response["status"], "success");
    assert_eq!(response["data"]["status_code"], 200);
    assert_eq!(response["data"]["data"], json!({"items": [1, 2], "path": "/items?page=2&q=a%20b"}));
    assert_eq!(response["data"]["headers"]["x-served-by"], "test");
    let seen = server.requests();
    assert_eq!(seen[0].method, "GET");
    assert!(seen[0].headers.contains(&("x-test".into(), "yes".into())), "{seen:?}");
}

#[test]
fn post_json_with_bearer_auth_from_a_secret() {
    let canary = "canary-51c9-http-token";
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let fields = format!(
        "      method: POST\n      url: \"{}\"\n      json: {{name: widget, tags: [a, b]}}\n      auth: {{type: bearer, token: \"{{{{ secrets.HTTP_TOKEN }}}}\"}}\n",
        server.url("/echo")
    );
    let output = run_steps(dir.path(), &http_step("post", &fields), &[("NOETL_SECRET_HTTP_TOKEN", canary)]);
    let response = only_response(&output, 0);
    let echo = &response["data"]["data"];
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["content_type"], "application/json");
    assert_eq!(echo["body"], json!({"name": "widget", "tags": ["a", "b"]}));
    // The header value carries the secret, so the host remembers it whole (issue 23).
    assert_eq!(echo["authorization"], "<redacted>", "the server's echo of the header is redacted");
    assert_eq!(server.requests()[0].headers.iter().find(|(n, _)| n == "authorization").unwrap().1, format!("Bearer {canary}"));
    for (stream, text) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        assert!(!String::from_utf8_lossy(text).contains(canary), "the token leaked on {stream}");
    }
}

#[test]
fn error_statuses_are_step_errors_with_the_status() {
    let server = Server::start();
    for (path, status) in [("/missing", 404), ("/down", 503)] {
        let dir = tempfile::tempdir().unwrap();
        let fields = format!("      url: \"{}\"\n", server.url(path));
        let response = only_response(&run_steps(dir.path(), &http_step("call", &fields), &[]), 1);
        assert_eq!(response["status"], "error");
        assert_eq!(response["data"]["status_code"], status);
        let error = response["error"].as_str().unwrap();
        assert!(error.starts_with(&format!("HTTP {status} response from ")), "{error}");
    }
}

#[test]
fn redirects_are_followed_inside_the_grant_only() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let inside = format!("      url: \"{}\"\n", server.url("/to-items"));
    let response = only_response(&run_steps(dir.path(), &http_step("hop", &inside), &[]), 0);
    assert_eq!(response["data"]["data"]["path"], "/items");

    let not_followed = format!("      url: \"{}\"\n      follow_redirects: false\n", server.url("/to-items"));
    let response = only_response(&run_steps(dir.path(), &http_step("hop", &not_followed), &[]), 1);
    assert_eq!(response["data"]["status_code"], 302);

    let before = server.requests().len();
    let outside = format!("      url: \"{}\"\n", server.url("/out-of-grant"));
    let output = run_steps(dir.path(), &http_step("escape", &outside), &[]);
    let response = only_response(&output, 1);
    let error = response["error"].as_str().unwrap();
    assert!(error.contains("localhost") && error.contains("plugins.http."), "{error}");
    assert_eq!(server.requests().len(), before + 1, "the out-of-grant hop was not requested");
}

#[test]
fn a_body_over_the_limit_is_refused() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let fields = format!("      url: \"{}\"\n", server.url("/big"));
    let response = only_response(&run_steps(dir.path(), &http_step("big", &fields), &[]), 1);
    let error = response["error"].as_str().unwrap();
    assert!(error.contains("too large"), "{error}");
}

#[test]
fn a_host_outside_the_grant_is_denied_naming_the_policy_key() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let fields = format!("      url: \"http://localhost:{}/items\"\n", server.port);
    let response = only_response(&run_steps(dir.path(), &http_step("denied", &fields), &[]), 1);
    let error = response["error"].as_str().unwrap();
    assert!(error.contains("denied") && error.contains("plugins.http."), "{error}");
    assert!(server.requests().is_empty(), "the denied host was called");
}

#[test]
fn python_http_shell_and_script_pass_data_along() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let steps = format!(
        r#"  - step: compute
    tool:
      kind: python
      args: {{items: [3, 4, 5]}}
      code: |
        result = {{"total": sum(items), "count": len(items)}}
  - step: post
    tool:
      kind: http
      method: POST
      url: "{url}"
      json: {{total: "{{{{ compute.total }}}}", count: "{{{{ compute.count }}}}"}}
  - step: report
    tool:
      kind: shell
      command: "echo total={{{{ post.data.body.total }}}} count={{{{ post.data.body.count }}}}"
  - step: summarize
    tool:
      kind: script
      script:
        type: inline
        runtime: python
        content: |
          import json, sys
          args = json.loads(sys.argv[1])
          print(json.dumps({{"line": args["line"].strip(), "status": args["status"]}}))
      args: {{line: "{{{{ report.stdout }}}}", status: "{{{{ post.status_code }}}}"}}
"#,
        url = server.url("/echo")
    );
    let output = run_steps(dir.path(), &steps, &[]);
    let report = report(&output);
    assert_eq!(output.status.code(), Some(0), "{report:#}\nstderr: {}", String::from_utf8_lossy(&output.stderr));
    let result = &report["steps"][3]["response"]["data"]["result"];
    assert_eq!(result["line"], "total=12 count=3", "{report:#}");
    assert_eq!(result["status"].to_string().trim_matches('"'), "200", "{report:#}");
}
