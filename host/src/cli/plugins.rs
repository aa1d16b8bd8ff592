//! `noetl-host plugins list|inspect`.

use serde_json::{Value, json};

use noetl_host::plugin::LoadedPlugin;

use super::{Failure, GlobalArgs, OutputFormat, setup};

#[derive(clap::Subcommand)]
pub enum PluginsCommand {
    /// Every plugin the host loaded (and those it refused, with the reason).
    List {
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// One plugin in detail: contract, capabilities requested and granted, limits, schema.
    Inspect {
        /// A tool kind (`script`), `template`, or the path of a `.wasm` file.
        name: String,
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
    },
}

pub async fn run(global: &GlobalArgs, command: PluginsCommand) -> Result<u8, Failure> {
    match command {
        PluginsCommand::List { output } => list(global, output).await,
        PluginsCommand::Inspect { name, output } => inspect(global, &name, output).await,
    }
}

fn summary(plugin: &LoadedPlugin) -> Value {
    json!({
        "name": plugin.name,
        "version": plugin.info.as_ref().map(|i| i.version.clone()),
        "role": plugin.contract.role,
        "contract": format!("noetl:plugin@{}", plugin.contract.version),
        "capabilities": plugin.contract.capabilities,
        "description": plugin.info.as_ref().map(|i| i.description.clone()),
        "origin": plugin.origin,
    })
}

async fn list(global: &GlobalArgs, output: OutputFormat) -> Result<u8, Failure> {
    let loaded = setup::load(global).await?;
    let plugins: Vec<Value> = loaded.plugins.all().map(|p| summary(p)).collect();
    match output {
        OutputFormat::Json => {
            println!("{}", json!({"plugins": plugins, "rejected": loaded.plugins.rejected}));
        }
        OutputFormat::Text => {
            println!("{:<16} {:<9} {:<20} {:<32} ORIGIN", "NAME", "VERSION", "CONTRACT", "CAPABILITIES");
            for p in &plugins {
                let text = |key: &str| p[key].as_str().unwrap_or("-").to_string();
                let caps: Vec<&str> = p["capabilities"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                println!("{:<16} {:<9} {:<20} {:<32} {}", text("name"), text("version"), text("contract"), caps.join(","), text("origin"));
            }
            for rejected in &loaded.plugins.rejected {
                println!("REJECTED {}: {}", rejected.origin, rejected.reason);
            }
        }
    }
    Ok(0)
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
    let mut detail = summary(plugin);
    detail["init"] = json!(plugin.contract.init);
    detail["granted"] = serde_json::to_value(loaded.policy.grant(&plugin.name)).unwrap_or_default();
    detail["limits"] = serde_json::to_value(loaded.policy.limits(&plugin.name)).unwrap_or_default();
    detail["config_schema"] =
        plugin.info.as_ref().and_then(|i| serde_json::from_str(&i.config_schema).ok()).unwrap_or(Value::Null);
    match output {
        OutputFormat::Json => println!("{detail}"),
        OutputFormat::Text => println!("{}", serde_yaml::to_string(&detail).unwrap_or_default()),
    }
    Ok(0)
}
