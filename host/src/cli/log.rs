//! The CLI's log output: tracing events on stderr, each passed through the run's
//! [`Redactor`] before it is written ([`RedactingWriter`]).

use noetl_host::log_writer::RedactingWriter;
use noetl_host::redact::Redactor;

/// Starts logging at `verbose` (-v info, -vv debug; `NOETL_LOG` overrides), redacted by
/// `redactor`, the same one the run's secret resolver remembers values in.
pub fn init(verbose: u8, redactor: Redactor) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("NOETL_LOG").unwrap_or_else(|_| default_filter(verbose).into());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(RedactingWriter::new(redactor, std::io::stderr)).init();
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
