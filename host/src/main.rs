//! `noetl-host`: run NoETL tool plugins from a shell or a worker process.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
