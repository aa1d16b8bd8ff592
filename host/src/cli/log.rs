//! The CLI's log output: tracing events on stderr, each passed through the run's
//! [`Redactor`] before it is written. Secrets can reach a log line from places the host
//! does not control (a library printing a sandboxed process's environment at debug level,
//! an error text quoting a header), so the filter level alone is not a guarantee.

use std::io::Write;

use noetl_host::redact::Redactor;
use tracing_subscriber::fmt::MakeWriter;

/// Starts logging at `verbose` (-v info, -vv debug; `NOETL_LOG` overrides), redacted by
/// `redactor`, the same one the run's secret resolver remembers values in.
pub fn init(verbose: u8, redactor: Redactor) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("NOETL_LOG").unwrap_or_else(|_| default_filter(verbose).into());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(RedactedStderr(redactor)).init();
}

/// `-v` and `-vv` raise the host's own events (targets `noetl_host::*`, `noetl::job`, and
/// plugins' `log` calls) to info and debug; libraries stay at warn. Their debug output is
/// noise to a person (wasmtime's `ignoring section ".symtab"` for every compiled plugin,
/// hakoniwa's dump of a sandboxed process's whole environment); `NOETL_LOG` turns it on.
fn default_filter(verbose: u8) -> &'static str {
    // A target directive matches by prefix: `noetl` covers `noetl_host::...` and `noetl::job`.
    // kube's client logs an ERROR for every failed connection attempt of a request the
    // host retries; the host reports the request's final error itself.
    match verbose {
        0 => "warn,kube_client::client::builder=off",
        1 => "warn,kube_client::client::builder=off,noetl=info",
        _ => "warn,kube_client::client::builder=off,noetl=debug",
    }
}

/// Makes one [`EventWriter`] per log event.
struct RedactedStderr(Redactor);

impl<'a> MakeWriter<'a> for RedactedStderr {
    type Writer = EventWriter;

    fn make_writer(&'a self) -> EventWriter {
        EventWriter { redactor: self.0.clone(), text: Vec::new() }
    }
}

/// Collects one event's text and writes it, redacted, when the event is done: a secret
/// split across two `write` calls is still found.
struct EventWriter {
    redactor: Redactor,
    text: Vec<u8>,
}

impl Write for EventWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.text.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.text);
        // Nowhere to report a failed write to stderr; the event is lost, as with a plain writer.
        let _ = std::io::stderr().lock().write_all(self.redactor.redact(&text).as_bytes());
    }
}
