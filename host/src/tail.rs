//! The last `cap` bytes of a stream, so a chatty script or plugin cannot make the host
//! buffer its whole output. We keep the tail, not the head (`kubectl logs --limit-bytes`
//! keeps the head), because that is where results, tracebacks and panic messages are.
//!
//! One type serves every captured stream (plugin stderr, local processes, pod logs); they
//! differ only in where the kept text may start, see [`Cut`].

/// Where the kept text may start once earlier bytes were dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// At the first whole character of the tail.
    Character,
    /// At the first line start in the tail when there is one (a log reads better without a
    /// half line on top); otherwise at the first whole character.
    LineStart,
}

/// A bounded buffer keeping the tail of everything pushed into it.
#[derive(Debug)]
pub struct BoundedTail {
    cap: usize,
    buf: Vec<u8>,
    /// Bytes already removed from the front of `buf`.
    dropped: usize,
}

/// What a [`BoundedTail`] kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub text: String,
    /// Bytes of the stream that are not in `text` (0: nothing was dropped).
    pub dropped: usize,
}

impl BoundedTail {
    pub fn new(cap: usize) -> Self {
        Self { cap, buf: Vec::new(), dropped: 0 }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        // Compact only past twice the cap (at least 64 KiB over it): amortised O(1) per byte.
        if self.buf.len() > self.cap.saturating_mul(2).max(self.cap + 64 * 1024) {
            let excess = self.buf.len() - self.cap;
            self.buf.drain(..excess);
            self.dropped += excess;
        }
    }

    /// Forgets everything, as if new (a newer pod's log replaces an older one's).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.dropped = 0;
    }

    /// The kept text (lossy UTF-8), starting where `cut` allows.
    pub fn kept(&self, cut: Cut) -> Kept {
        let mut start = self.buf.len().saturating_sub(self.cap);
        if self.dropped + start > 0 {
            // A character cut in two at the front is skipped, not shown as U+FFFD.
            let continuation = self.buf[start..].iter().take(3).take_while(|b| (*b & 0xC0) == 0x80).count();
            start += continuation;
            if cut == Cut::LineStart {
                let rest = &self.buf[start..];
                if let Some(nl) = rest.iter().position(|b| *b == b'\n').filter(|nl| nl + 1 < rest.len()) {
                    start += nl + 1;
                }
            }
        }
        Kept { text: String::from_utf8_lossy(&self.buf[start..]).into_owned(), dropped: self.dropped + start }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail_of(cap: usize, chunks: &[&[u8]], cut: Cut) -> Kept {
        let mut tail = BoundedTail::new(cap);
        chunks.iter().for_each(|c| tail.push(c));
        tail.kept(cut)
    }

    #[test]
    fn keeps_everything_under_the_cap() {
        assert_eq!(tail_of(10, &[b"hello"], Cut::Character), Kept { text: "hello".into(), dropped: 0 });
    }

    #[test]
    fn keeps_the_last_cap_bytes_and_counts_the_rest() {
        let kept = tail_of(8, &[b"0123456789", b"ab"], Cut::Character);
        assert_eq!(kept, Kept { text: "456789ab".into(), dropped: 4 });
    }

    #[test]
    fn large_streams_stay_bounded_and_the_count_stays_exact() {
        let mut tail = BoundedTail::new(1000);
        for _ in 0..100 {
            tail.push(&[b'x'; 10_000]);
        }
        assert!(tail.buf.len() <= 1000 + 64 * 1024 + 10_000, "{}", tail.buf.len());
        let kept = tail.kept(Cut::Character);
        assert_eq!((kept.text.len(), kept.dropped), (1000, 999_000));
    }

    #[test]
    fn a_cut_multibyte_character_is_skipped() {
        // é = 2 bytes, € = 3 bytes: the last 3 bytes are exactly "€"; with 4, half an é leads.
        assert_eq!(tail_of(4, &["aé€".as_bytes()], Cut::Character), Kept { text: "€".into(), dropped: 3 });
    }

    #[test]
    fn line_start_cut_drops_the_partial_first_line() {
        let kept = tail_of(12, &[b"line 1\nline 2\nline 3\n"], Cut::LineStart);
        assert_eq!(kept, Kept { text: "line 3\n".into(), dropped: 14 });
        // The same bytes cut anywhere keep the partial line.
        assert_eq!(tail_of(12, &[b"line 1\nline 2\nline 3\n"], Cut::Character).text, "ne 2\nline 3\n");
    }

    #[test]
    fn line_start_cut_keeps_a_single_long_line() {
        // No line start with text after it: better half a line than nothing.
        assert_eq!(tail_of(4, &[b"abcdefgh\n"], Cut::LineStart).text, "fgh\n");
    }

    #[test]
    fn clear_starts_over() {
        let mut tail = BoundedTail::new(2);
        tail.push(b"abcdef");
        tail.clear();
        tail.push(b"z");
        assert_eq!(tail.kept(Cut::LineStart), Kept { text: "z".into(), dropped: 0 });
    }
}
