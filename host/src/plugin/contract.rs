//! Which contract a component was built for, read from its export names
//! (`noetl:plugin/handler@0.1.0`), and which capabilities it imports.

use wasmtime::Engine;
use wasmtime::component::Component;

/// The contract this host implements (the WIT package version).
pub const HOST_CONTRACT: semver::Version = semver::Version::new(0, 1, 0);

const PACKAGE: &str = "noetl:plugin";

/// What a plugin is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Exports `handler`: a tool a step selects with `tool.kind`.
    Tool,
    /// Exports `renderer`: the template engine.
    TemplateEngine,
}

impl Role {
    fn export_interface(self) -> &'static str {
        match self {
            Role::Tool => "handler",
            Role::TemplateEngine => "renderer",
        }
    }
}

/// The contract facts of a component.
#[derive(Debug, Clone)]
pub struct ContractInfo {
    pub role: Role,
    pub version: semver::Version,
    /// NoETL capabilities the component imports (`kubernetes`, `fetch`, ...).
    pub capabilities: Vec<String>,
    /// WASI interfaces the component imports, without version (`wasi:sockets/tcp`, ...).
    pub wasi: Vec<String>,
}

/// Compatible when the versions agree under semver (for 0.x: same minor).
pub fn compatible(plugin: &semver::Version) -> bool {
    let requirement = semver::VersionReq::parse(&format!("^{HOST_CONTRACT}")).expect("valid requirement");
    requirement.matches(plugin) && plugin.major == HOST_CONTRACT.major && plugin.minor == HOST_CONTRACT.minor
}

/// Read the contract of `component`; the error says what the component is instead.
pub fn inspect(engine: &Engine, component: &Component, origin: &str) -> Result<ContractInfo, String> {
    let ty = component.component_type();
    let exports: Vec<String> = ty.exports(engine).map(|(name, _)| name.to_string()).collect();
    let found = [Role::Tool, Role::TemplateEngine].into_iter().find_map(|role| {
        let prefix = format!("{PACKAGE}/{}@", role.export_interface());
        exports.iter().find_map(|name| name.strip_prefix(&prefix).map(|version| (role, version.to_string())))
    });
    let Some((role, version)) = found else {
        return Err(format!(
            "{origin} is not a NoETL plugin: it exports none of {PACKAGE}/handler or {PACKAGE}/renderer \
             (it exports: {}); build it with the noetl-plugin-sdk crate or the wit/ contract",
            if exports.is_empty() { "nothing".to_string() } else { exports.join(", ") }
        ));
    };
    let version = semver::Version::parse(&version)
        .map_err(|e| format!("{origin} names an unreadable contract version `{version}`: {e}"))?;
    if !compatible(&version) {
        return Err(format!(
            "{origin} was built for contract {PACKAGE}@{version}, but this host implements {PACKAGE}@{HOST_CONTRACT}; \
             rebuild the plugin against {PACKAGE}@{HOST_CONTRACT} (noetl-plugin-sdk {HOST_CONTRACT}) or use a host that supports {version}"
        ));
    }
    let capabilities = ty
        .imports(engine)
        .filter_map(|(name, _)| name.strip_prefix(&format!("{PACKAGE}/")).map(str::to_string))
        .filter_map(|name| name.split('@').next().map(str::to_string))
        .filter(|name| name != "types")
        .collect();
    let wasi = ty
        .imports(engine)
        .filter(|(name, _)| name.starts_with("wasi:"))
        .filter_map(|(name, _)| name.split('@').next().map(str::to_string))
        .collect();
    Ok(ContractInfo { role, version, capabilities, wasi })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_minor_is_compatible_other_minors_are_not() {
        assert!(compatible(&semver::Version::new(0, 1, 0)));
        assert!(compatible(&semver::Version::new(0, 1, 7)));
        assert!(!compatible(&semver::Version::new(0, 2, 0)));
        assert!(!compatible(&semver::Version::new(1, 1, 0)));
    }
}
