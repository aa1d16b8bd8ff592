//! Command-line interface. Exit codes (also in README.md):
//! 0 success; 1 the step ran and failed (job failed, timed out, could not start);
//! 2 invalid input (step config, playbook, policy, arguments); 3 a plugin failed
//! (trap, limit, capability denied); 4 a host problem (backend, an unreachable or
//! misconfigured cluster, a capability the host cannot serve, sandbox, I/O).

mod check;
mod exec;
mod log;
mod pipe;
mod plan;
mod plugins;
mod progress;
mod render;
mod run;
mod scaffold;
mod setup;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use noetl_host::redact::Redactor;
use noetl_host::secrets::SecretRef;

#[derive(Parser)]
#[command(name = "noetl-host", version, about = "Run NoETL tool plugins as sandboxed WASM components")]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
pub struct GlobalArgs {
    /// Policy file granting plugins their capabilities and limits (default: deny all but
    /// `log`, script may read files next to the playbook).
    #[arg(long, global = true, env = "NOETL_POLICY")]
    policy: Option<PathBuf>,
    /// Directory of extra plugins (`*.wasm`); repeatable.
    #[arg(long = "plugin-dir", global = true, env = "NOETL_PLUGIN_DIR", value_delimiter = ':')]
    plugin_dirs: Vec<PathBuf>,
    /// An extra plugin file; repeatable.
    #[arg(long = "plugin", global = true)]
    plugins: Vec<PathBuf>,
    /// Where jobs run (default: the policy's `backend`, else local).
    #[arg(long, global = true, value_enum)]
    backend: Option<BackendArg>,
    /// Kubeconfig for the kubernetes backend (default: $KUBECONFIG, ~/.kube/config, in-cluster).
    #[arg(long, global = true)]
    kubeconfig: Option<PathBuf>,
    /// Directory with one file per secret (the shape of a mounted Kubernetes Secret),
    /// searched after `NOETL_SECRET_<NAME>` environment variables.
    #[arg(long, global = true, env = "NOETL_SECRETS_DIR")]
    secrets_dir: Option<PathBuf>,
    /// Kubernetes Secret whose keys are secrets, searched after --secrets-dir. Read once
    /// per run through the cluster of --kubeconfig/--kube-context, with either backend; the
    /// policy must grant the template plugin `get` on kind Secret in NAMESPACE
    /// (plugins.template.kubernetes: {namespaces: [NAMESPACE], kinds: [Secret]}).
    #[arg(long = "secrets-k8s", global = true, env = "NOETL_SECRETS_K8S", value_name = "NAMESPACE/NAME")]
    secrets_k8s: Option<SecretRef>,
    /// Kubeconfig context to use (kubectl's `--context`; renamed because `--context` here
    /// names a template context file).
    #[arg(long = "kube-context", global = true)]
    kube_context: Option<String>,
    /// Kubernetes backend: how long a pod may stay unable to start (image pull errors,
    /// unschedulable) before the step is reported `start_failed`.
    #[arg(long = "start-grace-seconds", global = true, value_name = "SECONDS")]
    start_grace_seconds: Option<u64>,
    /// More log output (-v info, -vv debug, for the host's own events); logs go to stderr.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Secret values resolved in this process, redacted from the log and from every output.
    #[arg(skip)]
    redactor: Redactor,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum BackendArg {
    Local,
    Kubernetes,
}

#[derive(Clone, Copy, Default, ValueEnum)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// List or inspect plugins.
    #[command(subcommand)]
    Plugins(plugins::PluginsCommand),
    /// Run one tool call: reads `{"config": ..., "context": ...}` JSON on stdin, writes the
    /// tool's response JSON on stdout.
    Exec(exec::ExecArgs),
    /// Run a DSL v2 playbook, routed by upstream's orchestrator core, on the local backend unless told otherwise.
    Run(run::RunArgs),
    /// Check a playbook without running it: every problem at once (`--graph`: a Mermaid chart).
    Check(check::CheckArgs),
    /// Print the Kubernetes manifests a playbook's steps would create (nothing is submitted).
    Plan(plan::PlanArgs),
    /// Render templates in the sandboxed template engine.
    Render(render::RenderArgs),
}

/// An error with the exit code it should end the process with.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Failure { code, message: message.into() }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure::new(4, format!("{error:#}"))
    }
}

pub fn main() -> ExitCode {
    pipe::end_quietly_on_closed_output();
    let cli = Cli::parse();
    log::init(cli.global.verbose, cli.global.redactor.clone());
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(4);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Plugins(command) => plugins::run(&cli.global, command).await,
            Command::Exec(args) => exec::run(&cli.global, args).await,
            Command::Run(args) => run::run(&cli.global, args).await,
            Command::Check(args) => check::run(&cli.global, args).await,
            Command::Plan(args) => plan::run(&cli.global, args).await,
            Command::Render(args) => render::run(&cli.global, args).await,
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

