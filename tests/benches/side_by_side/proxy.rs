//! A loopback HTTP proxy in front of the apiserver that counts every request a tool
//! process makes. Upstream's `ScriptTool` builds its own kube client from `$KUBECONFIG` on
//! every call, so no layer can be put on its client; instead each tool process gets a
//! kubeconfig naming this proxy (plain HTTP on 127.0.0.1, no credentials), and the proxy
//! forwards through an admin client carrying kube_scale's counting layer. Both tools go
//! through the same kind of proxy, so both pay the same extra hop.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use kube::Client;
use kube::client::{Body, ClientBuilder};

use crate::counting::{CountingLayer, RequestCounts};

pub struct CountingProxy {
    pub counts: RequestCounts,
    /// Kubeconfig for the tool process: the proxy's address, no credentials.
    pub kubeconfig: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CountingProxy {
    /// Listens on an ephemeral loopback port and writes `{dir}/{name}.kubeconfig`.
    pub async fn start(config: kube::Config, dir: &Path, name: &str) -> anyhow::Result<Self> {
        let counts = RequestCounts::default();
        let client = ClientBuilder::try_from(config)?
            .with_layer(&CountingLayer(counts.clone()))
            .build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let client = client.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| forward(client.clone(), request));
                    // A connection the tool drops mid-stream (a watch it stops) ends here.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        let kubeconfig = dir.join(format!("{name}.kubeconfig"));
        std::fs::write(&kubeconfig, kubeconfig_text(address))?;
        Ok(Self {
            counts,
            kubeconfig,
            task,
        })
    }
}

fn kubeconfig_text(address: SocketAddr) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: proxy\n  cluster:\n    server: http://{address}\n\
         users:\n- name: proxy\n  user: {{}}\ncontexts:\n- name: proxy\n  context: {{cluster: proxy, user: proxy, namespace: noetl}}\n\
         current-context: proxy\n"
    )
}

/// Sends `request` on through the counted client; the response (a watch or a log stream
/// too) streams back as it arrives.
async fn forward(
    client: Client,
    request: Request<Incoming>,
) -> Result<Response<Body>, hyper::Error> {
    let (mut parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes();
    // The client sets its own Host (the apiserver's) and credentials.
    parts.headers.remove(http::header::HOST);
    let request = Request::from_parts(parts, Body::from(body.to_vec()));
    Ok(match client.send(request).await {
        Ok(response) => response,
        Err(err) => Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Body::from(
                format!("side_by_side proxy: {err}").into_bytes(),
            ))
            .expect("a static response"),
    })
}
