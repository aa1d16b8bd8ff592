//! Drains a process's pipe into a [`BoundedTail`], so a chatty script cannot make the host
//! buffer its whole output.

use std::io::Read;

use crate::tail::{BoundedTail, Cut};

/// Reads `reader` to its end (EOF comes when every process holding the pipe is gone) and
/// returns the last `cap` bytes as text, and whether anything was dropped.
pub(super) fn read_tail(reader: impl Read, cap: usize) -> (String, bool) {
    let mut tail = BoundedTail::new(cap);
    let mut reader = reader;
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => tail.push(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    let kept = tail.kept(Cut::Character);
    (kept.text, kept.dropped > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_to_the_end_and_keeps_the_tail() {
        assert_eq!(read_tail(&b"0123456789"[..], 4), ("6789".to_string(), true));
        assert_eq!(read_tail(&b"hello"[..], 10), ("hello".to_string(), false));
    }

    #[test]
    fn large_streams_are_read_whole() {
        let data = vec![b'x'; 1_000_000];
        let (text, truncated) = read_tail(&data[..], 1000);
        assert_eq!(text.len(), 1000);
        assert!(truncated);
    }
}
