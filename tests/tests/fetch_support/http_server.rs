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
    let Some(path) = read_request_path(&mut stream).await else { return };
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

/// The path of the request line (query dropped), once the headers are in.
async fn read_request_path(stream: &mut TcpStream) -> Option<String> {
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = stream.read(&mut buffer).await.ok()?;
        if read == 0 {
            return None;
        }
        request.extend_from_slice(&buffer[..read]);
    }
    let text = String::from_utf8_lossy(&request);
    let target = text.lines().next()?.split(' ').nth(1)?;
    Some(target.split('?').next()?.to_string())
}
