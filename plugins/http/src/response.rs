//! The response in upstream NoETL's shape: `data` is `{status_code, headers, data, body}`
//! with the body parsed as JSON (falling back to text), as text, or as
//! `{base64, size}`; a status outside 2xx is the step's error.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use noetl_protocol::fields::Errors;

use crate::config::read_response_type;

/// What the host's `http` capability returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub final_url: String,
}

/// How much of an error response's body the error message quotes.
const ERROR_BODY_CHARS: usize = 300;

pub fn respond(config: &Value, response: &HttpResponse) -> Value {
    let text = || String::from_utf8_lossy(&response.body).into_owned();
    let body = match read_response_type(config, &mut Errors::default()).as_str() {
        "text" => json!(text()),
        "binary" => json!({
            "base64": base64::engine::general_purpose::STANDARD.encode(&response.body),
            "size": response.body.len(),
        }),
        _ => serde_json::from_slice(&response.body).unwrap_or_else(|_| json!(text())),
    };
    let mut headers = Map::new();
    for (name, value) in &response.headers {
        let name = name.to_ascii_lowercase();
        let joined = match headers.get(&name).and_then(Value::as_str) {
            Some(previous) => format!("{previous}, {value}"),
            None => value.clone(),
        };
        headers.insert(name, json!(joined));
    }
    let ok = (200..300).contains(&response.status);
    let mut result = json!({
        "status": if ok { "success" } else { "error" },
        "data": {"status_code": response.status, "headers": headers, "data": body, "body": body, "url": response.final_url},
    });
    if !ok {
        let snippet: String = text().chars().take(ERROR_BODY_CHARS).collect();
        result["error"] = json!(format!(
            "HTTP {} response from {}: {}",
            response.status,
            response.final_url,
            snippet.trim()
        ));
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Set-Cookie".into(), "a=1".into()),
                ("set-cookie".into(), "b=2".into()),
            ],
            body: body.as_bytes().to_vec(),
            final_url: "http://127.0.0.1:1/items".into(),
        }
    }

    #[test]
    fn json_bodies_are_parsed_and_other_bodies_stay_text() {
        let config = json!({"kind": "http", "url": "http://x"});
        let ok = respond(&config, &response(200, r#"{"items": [1]}"#));
        assert_eq!(ok["status"], "success");
        assert_eq!(ok["data"]["status_code"], 200);
        assert_eq!(ok["data"]["data"], json!({"items": [1]}));
        assert_eq!(ok["data"]["body"], ok["data"]["data"]);
        assert_eq!(ok["data"]["headers"]["set-cookie"], "a=1, b=2");
        assert!(ok.get("error").is_none());
        assert_eq!(
            respond(&config, &response(200, "plain"))["data"]["data"],
            "plain"
        );
        let text = json!({"kind": "http", "url": "http://x", "response_type": "text"});
        assert_eq!(respond(&text, &response(200, "[1]"))["data"]["data"], "[1]");
        let binary = json!({"kind": "http", "url": "http://x", "response_type": "binary"});
        assert_eq!(
            respond(&binary, &response(200, "hi"))["data"]["data"],
            json!({"base64": "aGk=", "size": 2})
        );
    }

    #[test]
    fn error_statuses_are_step_errors_with_the_status() {
        let failed = respond(
            &json!({"kind": "http", "url": "http://x"}),
            &response(503, "{\"error\": \"down\"}"),
        );
        assert_eq!(failed["status"], "error");
        assert_eq!(failed["data"]["status_code"], 503);
        assert_eq!(
            failed["error"],
            "HTTP 503 response from http://127.0.0.1:1/items: {\"error\": \"down\"}"
        );
    }
}
