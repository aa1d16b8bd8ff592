//! A tracing writer that redacts secrets from every log event before it is written.
//! Secrets can reach a log line from places the host does not control (a library printing
//! a sandboxed process's environment at debug level, an error text quoting a header), so
//! the filter level alone is not a guarantee. The CLI writes through it to stderr; an
//! embedding worker wraps its own writer with it.

use std::io::Write;

use tracing_subscriber::fmt::MakeWriter;

use crate::redact::Redactor;

/// Makes one writer per log event that redacts with `redactor` and writes to `inner`'s.
pub struct RedactingWriter<M> {
    redactor: Redactor,
    inner: M,
}

impl<M> RedactingWriter<M> {
    pub fn new(redactor: Redactor, inner: M) -> Self {
        RedactingWriter { redactor, inner }
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for RedactingWriter<M> {
    type Writer = EventWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        EventWriter {
            redactor: self.redactor.clone(),
            text: Vec::new(),
            inner: self.inner.make_writer(),
        }
    }
}

/// Collects one event's text and writes it, redacted, when the event is done: a secret
/// split across two `write` calls is still found.
pub struct EventWriter<W: Write> {
    redactor: Redactor,
    text: Vec<u8>,
    inner: W,
}

impl<W: Write> Write for EventWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.text.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for EventWriter<W> {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.text);
        // Nowhere to report a failed write of a log line; the event is lost, as with a plain writer.
        let _ = self.inner.write_all(self.redactor.redact(&text).as_bytes());
    }
}
