//! `noetl-host plugins list|inspect`.

use serde_json::{Map, Value, json};

use noetl_host::plugin::{HostState, LoadedPlugin};
use noetl_host::policy::{PluginGrant, Policy};

use super::{Failure, GlobalArgs, OutputFormat, scaffold, setup};

#[derive(clap::Subcommand)]
pub enum PluginsCommand {
    /// Every plugin the host loaded (and those it refused, with the reason).
    List {
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// One plugin in detail: contract, capabilities and WASI interfaces it imports, what the
    /// policy grants and leaves unusable, job grant, limits, config schema.
    Inspect {
        /// A tool kind (`script`), `template`, or the path of a `.wasm` file.
        name: String,
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// Create a new plugin project that builds as it is.
    New(scaffold::NewArgs),
}

pub async fn run(global: &GlobalArgs, command: PluginsCommand) -> Result<u8, Failure> {
    match command {
        PluginsCommand::List { output } => list(global, output).await,
        PluginsCommand::Inspect { name, output } => inspect(global, &name, output).await,
        PluginsCommand::New(args) => scaffold::run(args),
    }
}

fn summary(plugin: &LoadedPlugin, policy: &Policy, cluster: bool) -> Value {
    json!({
        "name": plugin.name,
        "version": plugin.info.as_ref().map(|i| i.version.clone()),
        "role": plugin.contract.role,
        "contract": format!("noetl:plugin@{}", plugin.contract.version),
        "capabilities": plugin.contract.capabilities,
        "wasi": plugin.contract.wasi,
        "unusable": unusable(plugin, policy, cluster),
        "description": plugin.info.as_ref().map(|i| i.description.clone()),
        "origin": plugin.origin,
    })
}

/// Imports (NoETL capabilities and WASI interfaces) that a call cannot use under this policy
/// and host, each with the reason.
fn unusable(plugin: &LoadedPlugin, policy: &Policy, cluster: bool) -> Map<String, Value> {
    let grant = policy.grant(&plugin.name, plugin.source());
    let capabilities = plugin
        .contract
        .capabilities
        .iter()
        .filter_map(|capability| ungranted(capability, &grant, &plugin.name, cluster).map(|reason| (capability.clone(), reason)));
    let wasi = plugin
        .contract
        .wasi
        .iter()
        .filter_map(|interface| HostState::wasi_restriction(interface).map(|reason| (interface.clone(), reason.to_string())));
    capabilities.chain(wasi).map(|(name, reason)| (name, Value::String(reason))).collect()
}

/// Why `capability` is unusable for plugin `name` under `grant`; `None` when it is granted
/// (or, like `log`, needs no grant). `cluster`: the command runs with a Kubernetes backend.
fn ungranted(capability: &str, grant: &PluginGrant, name: &str, cluster: bool) -> Option<String> {
    let (granted, key) = match capability {
        "kubernetes" => {
            (grant.kubernetes.as_ref().is_some_and(|k| !k.namespaces.is_empty() && !k.kinds.is_empty()), "kubernetes: {namespaces: [...], kinds: [...]}")
        }
        "fetch" => (grant.fetch.as_ref().is_some_and(|f| !f.hosts.is_empty()), "fetch: {hosts: [...]}"),
        "files" => (grant.files.as_ref().is_some_and(|f| !f.dirs.is_empty()), "files: {dirs: [...]}"),
        "secrets" => (grant.secrets.as_ref().is_some_and(|s| !s.names.is_empty()), "secrets: {names: [...]}"),
        _ => return None,
    };
    if !granted {
        return Some(format!("not granted: every call is denied (grant it under plugins.{name}.{key} in the policy)"));
    }
    (capability == "kubernetes" && !cluster)
        .then(|| "granted, but there is no cluster: run with --backend kubernetes (and --kubeconfig)".to_string())
}

async fn list(global: &GlobalArgs, output: OutputFormat) -> Result<u8, Failure> {
    let loaded = setup::load(global).await?;
    let cluster = setup::uses_cluster(global, &loaded.policy);
    let plugins: Vec<Value> = loaded.plugins.all().map(|p| summary(p, &loaded.policy, cluster)).collect();
    match output {
        OutputFormat::Json => {
            println!("{}", json!({"plugins": plugins, "rejected": loaded.plugins.rejected}));
        }
        OutputFormat::Text => print_table(&plugins, &loaded.plugins.rejected),
    }
    Ok(0)
}

fn print_table(plugins: &[Value], rejected: &[noetl_host::plugin::Rejected]) {
    println!("{:<16} {:<9} {:<20} {:<30} {:<36} ORIGIN", "NAME", "VERSION", "CONTRACT", "CAPABILITIES", "WASI");
    for p in plugins {
        let text = |key: &str| p[key].as_str().unwrap_or("-").to_string();
        let unusable = p["unusable"].as_object().cloned().unwrap_or_default();
        let mark = |name: &str| if unusable.contains_key(name) { format!("{name}!") } else { name.to_string() };
        let caps: Vec<String> = p["capabilities"].as_array().into_iter().flatten().filter_map(Value::as_str).map(mark).collect();
        println!(
            "{:<16} {:<9} {:<20} {:<30} {:<36} {}",
            text("name"),
            text("version"),
            text("contract"),
            or_dash(caps.join(",")),
            or_dash(wasi_packages(p, &unusable).join(",")),
            text("origin")
        );
    }
    println!("(`!`: imported but unusable under this policy and host; `plugins inspect NAME` says why)");
    for rejected in rejected {
        // Reasons usually start with the file already; do not print it twice.
        let reason = rejected.reason.strip_prefix(&rejected.origin).map_or(rejected.reason.as_str(), str::trim_start);
        println!("REJECTED {}: {}", rejected.origin, reason);
    }
}

/// WASI packages (`cli`, `clocks`, `sockets`, ...) a plugin imports, marked `!` when any of
/// its interfaces there is unusable.
fn wasi_packages(plugin: &Value, unusable: &Map<String, Value>) -> Vec<String> {
    let mut packages: Vec<String> = Vec::new();
    for interface in plugin["wasi"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        let package = interface.trim_start_matches("wasi:").split('/').next().unwrap_or(interface);
        let marked = format!("{package}!");
        let name = if unusable.contains_key(interface) { marked.clone() } else { package.to_string() };
        match packages.iter().position(|p| p.trim_end_matches('!') == package) {
            Some(i) if name == marked => packages[i] = marked,
            Some(_) => {}
            None => packages.push(name),
        }
    }
    packages.sort();
    packages
}

fn or_dash(text: String) -> String {
    if text.is_empty() { "-".into() } else { text }
}

async fn inspect(global: &GlobalArgs, name: &str, output: OutputFormat) -> Result<u8, Failure> {
    let mut global = global.clone();
    let is_path = name.ends_with(".wasm") || name.contains('/');
    if is_path {
        global.plugins.push(name.into());
    }
    let loaded = setup::load(&global).await?;
    if let Some(rejected) = loaded.plugins.rejected.iter().find(|r| is_path && r.origin == name) {
        return Err(Failure::new(2, rejected.reason.clone()));
    }
    let plugin = loaded
        .plugins
        .all()
        .find(|p| if is_path { p.origin == name } else { p.name == name })
        .ok_or_else(|| Failure::new(2, format!("no plugin named `{name}`; see `noetl-host plugins list`")))?;
    let mut detail = summary(plugin, &loaded.policy, setup::uses_cluster(&global, &loaded.policy));
    detail["init"] = json!(plugin.contract.init);
    // What `plugins.NAME.sha256` pins.
    detail["sha256"] = json!(plugin.sha256());
    detail["granted"] = serde_json::to_value(loaded.policy.grant(&plugin.name, plugin.source())).unwrap_or_default();
    // The effective job grant (a built-in tool's default included); null: its jobs are refused.
    detail["job_grant"] = serde_json::to_value(loaded.policy.job_grant(&plugin.name, plugin.source())).unwrap_or_default();
    detail["limits"] = serde_json::to_value(loaded.policy.limits(&plugin.name)).unwrap_or_default();
    detail["config_schema"] =
        plugin.info.as_ref().and_then(|i| serde_json::from_str(&i.config_schema).ok()).unwrap_or(Value::Null);
    match output {
        OutputFormat::Json => println!("{detail}"),
        OutputFormat::Text => println!("{}", serde_yaml::to_string(&detail).unwrap_or_default()),
    }
    Ok(0)
}
