//! A byte sink that keeps only the last `cap` bytes of a stream, so a chatty script cannot
//! make the host buffer its whole log (Kubernetes `kubectl logs --limit-bytes` keeps the head;
//! we keep the tail because that is where results and tracebacks are).

use std::io::Read;

#[derive(Debug)]
pub(super) struct TailBuffer {
    cap: usize,
    buf: Vec<u8>,
    truncated: bool,
}

impl TailBuffer {
    pub(super) fn new(cap: usize) -> Self {
        Self { cap, buf: Vec::new(), truncated: false }
    }

    pub(super) fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        // Compact only when the buffer is twice the cap: amortised O(1) per byte.
        if self.buf.len() > self.cap.saturating_mul(2).max(64 * 1024) {
            self.compact();
        }
    }

    fn compact(&mut self) {
        if self.buf.len() > self.cap {
            let drop = self.buf.len() - self.cap;
            self.buf.drain(..drop);
            self.truncated = true;
        }
    }

    /// Drains `reader` to its end (EOF comes when every process holding the pipe is gone).
    pub(super) fn read_all(mut self, mut reader: impl Read) -> Self {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match reader.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => self.push(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        self
    }

    /// The kept text and whether anything was dropped. A cut inside a UTF-8 sequence at the
    /// start is skipped rather than shown as a replacement character.
    pub(super) fn finish(mut self) -> (String, bool) {
        self.compact();
        let mut start = 0;
        if self.truncated {
            while start < self.buf.len() && start < 4 && (self.buf[start] & 0xC0) == 0x80 {
                start += 1;
            }
        }
        (String::from_utf8_lossy(&self.buf[start..]).into_owned(), self.truncated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_everything_under_the_cap() {
        let mut t = TailBuffer::new(10);
        t.push(b"hello");
        assert_eq!(t.finish(), ("hello".to_string(), false));
    }

    #[test]
    fn keeps_the_tail_and_flags_truncation() {
        let t = TailBuffer::new(4).read_all(&b"0123456789"[..]);
        assert_eq!(t.finish(), ("6789".to_string(), true));
    }

    #[test]
    fn large_streams_stay_bounded() {
        let data = vec![b'x'; 1_000_000];
        let t = TailBuffer::new(1000).read_all(&data[..]);
        assert!(t.buf.len() <= 64 * 1024 + 16 * 1024);
        let (text, truncated) = t.finish();
        assert_eq!(text.len(), 1000);
        assert!(truncated);
    }

    #[test]
    fn a_cut_multibyte_character_is_skipped() {
        let t = TailBuffer::new(3).read_all("aé€".as_bytes()); // é = 2 bytes, € = 3 bytes
        assert_eq!(t.finish(), ("€".to_string(), true));
    }
}
