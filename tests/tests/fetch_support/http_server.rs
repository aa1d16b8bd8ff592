//! A small HTTP/1.1 server on 127.0.0.1 with one route per case the fetcher must handle.
//! Every response closes its connection, so one request is one connection.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const SCRIPT: &str = "print('hello from the test server')\n";

/// The server's port; it runs until the test's runtime ends.
pub async fn start() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(serve(stream, port));
        }
    });
    port
}

async fn serve(mut stream: TcpStream, port: u16) {
    let Some(request) = read_request(&mut stream).await else { return };
    let path = request.path.clone();
    let redirect = |location: String| format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let response = match path.as_str() {
        "/ok" => complete(200, SCRIPT),
        "/missing" => complete(404, "<html>a friendly not-found page</html>"),
        "/error" => complete(500, "<html>internal error page</html>"),
        "/big" => complete(200, &"x".repeat(2048)),
        "/big-chunked" => {
            // No Content-Length: the size is only known by counting.
            let chunk = format!("400\r\n{}\r\n", "y".repeat(0x400));
            format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{}0\r\n\r\n", chunk.repeat(4))
        }
        "/slow" => {
            // Headers and a first part of the body, then nothing until the client gives up.
            let head = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\nfirst part";
            let _ = stream.write_all(head.as_bytes()).await;
            std::future::pending::<String>().await
        }
        "/no-location" => "HTTP/1.1 302 Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
        "/to-localhost" => redirect(format!("http://localhost:{port}/ok")),
        "/to-file" => redirect("file:///etc/passwd".into()),
        "/to-missing" => redirect("/missing".into()),
        // The request as the server saw it, for the `http` capability's tests.
        "/echo" => {
            let body = serde_json::json!({
                "method": request.method,
                "headers": request.headers,
                "body": String::from_utf8_lossy(&request.body),
            });
            complete(200, &body.to_string())
        }
        "/see-other" => "HTTP/1.1 303 See Other\r\nLocation: /echo\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
        "/temporary" => "HTTP/1.1 307 Temporary Redirect\r\nLocation: /echo\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
        "/teapot" => complete(418, "short and stout"),
        sized if sized.starts_with("/bytes/") => match sized["/bytes/".len()..].parse::<usize>() {
            Ok(n) => complete(200, &"z".repeat(n)),
            Err(_) => complete(400, "bad size"),
        },
        hop if hop.starts_with("/hop/") => match hop["/hop/".len()..].parse::<u32>() {
            Ok(0) => redirect("/ok".into()),
            Ok(n) => redirect(format!("/hop/{}", n - 1)),
            Err(_) => complete(400, "bad hop"),
        },
        _ => complete(404, "no such route"),
    };
    let _ = stream.write_all(response.as_bytes()).await;
}

fn complete(status: u16, body: &str) -> String {
    format!("HTTP/1.1 {status} Status\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
}

/// One request: method, path (query dropped), headers (names lowercased) and body.
struct Request {
    method: String,
    path: String,
    headers: std::collections::BTreeMap<String, String>,
    body: Vec<u8>,
}

/// Reads the head, then as many body bytes as Content-Length says.
async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    let head_end = loop {
        if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let read = stream.read(&mut buffer).await.ok()?;
        if read == 0 {
            return None;
        }
        request.extend_from_slice(&buffer[..read]);
    };
    let head = String::from_utf8_lossy(&request[..head_end]).into_owned();
    let mut lines = head.lines();
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let path = request_line.next()?.split('?').next()?.to_string();
    let headers: std::collections::BTreeMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let length = headers.get("content-length").and_then(|n| n.parse::<usize>().ok()).unwrap_or(0);
    let mut body = request[head_end..].to_vec();
    while body.len() < length {
        let read = stream.read(&mut buffer).await.ok()?;
        if read == 0 {
            break;
        }
        body.extend_from_slice(&buffer[..read]);
    }
    Some(Request { method, path, headers, body })
}
