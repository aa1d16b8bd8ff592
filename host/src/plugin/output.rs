//! Captures a plugin's stdout/stderr in memory, keeping only the tail: a Rust panic message
//! is written last, and a plugin printing without end must not exhaust host memory.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// A bounded in-memory sink; clones share the same buffer.
#[derive(Clone, Debug)]
pub struct TailBuffer {
    inner: Arc<Mutex<Tail>>,
}

#[derive(Debug)]
struct Tail {
    bytes: VecDeque<u8>,
    capacity: usize,
    dropped: usize,
}

impl TailBuffer {
    pub fn new(capacity: usize) -> Self {
        TailBuffer {
            inner: Arc::new(Mutex::new(Tail { bytes: VecDeque::new(), capacity, dropped: 0 })),
        }
    }

    fn push(&self, data: &[u8]) {
        let mut tail = self.inner.lock().expect("tail buffer lock");
        let keep = data.len().min(tail.capacity);
        let overflow = (tail.bytes.len() + keep).saturating_sub(tail.capacity);
        tail.bytes.drain(..overflow);
        tail.dropped += overflow + (data.len() - keep);
        tail.bytes.extend(&data[data.len() - keep..]);
    }

    /// The captured text (lossy UTF-8), prefixed with a note when the start was dropped.
    pub fn text(&self) -> String {
        let tail = self.inner.lock().expect("tail buffer lock");
        let (a, b) = tail.bytes.as_slices();
        let text = String::from_utf8_lossy(&[a, b].concat()).trim_end().to_string();
        if tail.dropped > 0 { format!("[{} earlier bytes dropped]\n{text}", tail.dropped) } else { text }
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
