//! Captures a plugin's stdout/stderr in memory, keeping only the tail: a Rust panic message
//! is written last, and a plugin printing without end must not exhaust host memory.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

use crate::tail::{BoundedTail, Cut};

/// A bounded in-memory sink; clones share the same buffer.
#[derive(Clone, Debug)]
pub struct TailBuffer {
    inner: Arc<Mutex<BoundedTail>>,
}

impl TailBuffer {
    pub fn new(capacity: usize) -> Self {
        TailBuffer { inner: Arc::new(Mutex::new(BoundedTail::new(capacity))) }
    }

    fn push(&self, data: &[u8]) {
        self.inner.lock().expect("tail buffer lock").push(data);
    }

    /// The captured text (lossy UTF-8), prefixed with a note when the start was dropped.
    pub fn text(&self) -> String {
        let kept = self.inner.lock().expect("tail buffer lock").kept(Cut::Character);
        let text = kept.text.trim_end();
        if kept.dropped > 0 { format!("[{} earlier bytes dropped]\n{text}", kept.dropped) } else { text.to_string() }
    }
}

impl IsTerminal for TailBuffer {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for TailBuffer {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl AsyncWrite for TailBuffer {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_tail_and_says_what_was_dropped() {
        let buffer = TailBuffer::new(8);
        buffer.push(b"0123456789");
        buffer.push(b"ab");
        assert_eq!(buffer.text(), "[4 earlier bytes dropped]\n456789ab");
    }
}
