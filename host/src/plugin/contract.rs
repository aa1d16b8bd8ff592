//! Which contract a component was built for, read from its export names
//! (`noetl:plugin/handler@0.2.0`), and which capabilities it imports.

use wasmtime::Engine;
use wasmtime::component::Component;

/// The contract this host implements in full (the WIT package version of `wit/`).
pub const HOST_CONTRACT: semver::Version = semver::Version::new(0, 2, 0);

/// Every contract a tool plugin may be built for, oldest first: `0.1.x` plugins link
/// against `wit/legacy/0.1.0` and their imports delegate to the 0.2.0 implementations.
static TOOL_CONTRACTS: [semver::Version; 2] = [semver::Version::new(0, 1, 0), HOST_CONTRACT];

/// The template engine is a host component (built in, or a replacement for it): it must
/// speak the current contract.
static TEMPLATE_ENGINE_CONTRACTS: [semver::Version; 1] = [HOST_CONTRACT];

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

    fn supported(self) -> &'static [semver::Version] {
        match self {
            Role::Tool => &TOOL_CONTRACTS,
            Role::TemplateEngine => &TEMPLATE_ENGINE_CONTRACTS,
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
    /// Exports the optional `init` (pre-initialisation) function.
    pub init: bool,
}

impl ContractInfo {
    /// Built for contract 0.1.x (linked and called through the 0.1.0 bindings).
    pub fn is_legacy(&self) -> bool {
        self.version.major == 0 && self.version.minor == 1
    }

    /// Whether step configs for this plugin are rendered with `typed-values`: tools built
    /// for 0.2.0 and later get a lone `{{ expr }}` as the expression's JSON value, 0.1.x
    /// tools keep getting strings (what they were built for).
    pub fn typed_values(&self) -> bool {
        !self.is_legacy()
    }
}

/// Compatible when the versions agree under semver (for 0.x: same minor).
fn compatible(supported: &semver::Version, plugin: &semver::Version) -> bool {
    let requirement = semver::VersionReq::parse(&format!("^{supported}")).expect("valid requirement");
    requirement.matches(plugin) && plugin.major == supported.major && plugin.minor == supported.minor
}

/// `noetl:plugin@0.1.x and noetl:plugin@0.2.x`: the versions a role accepts, for messages.
fn supported_list(role: Role) -> String {
    let versions: Vec<String> = role.supported().iter().map(|v| format!("{PACKAGE}@{}.{}.x", v.major, v.minor)).collect();
    versions.join(" and ")
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
    if !role.supported().iter().any(|supported| compatible(supported, &version)) {
        let what = match role {
            Role::Tool => "tool plugins",
            Role::TemplateEngine => "template engines",
        };
        return Err(format!(
            "{origin} was built for contract {PACKAGE}@{version}, but this host supports {} for {what}; \
             rebuild the plugin against {PACKAGE}@{HOST_CONTRACT} (noetl-plugin-sdk {HOST_CONTRACT}) or use a host that supports {version}",
            supported_list(role)
        ));
    }
    let init = exports.iter().any(|name| name.strip_prefix(&format!("{PACKAGE}/init@")) == Some(version.to_string().as_str()));
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
    Ok(ContractInfo { role, version, capabilities, wasi, init })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(role: Role, version: &str) -> bool {
        let version = semver::Version::parse(version).unwrap();
        role.supported().iter().any(|supported| compatible(supported, &version))
    }

    #[test]
    fn tools_may_be_0_1_or_0_2_template_engines_only_0_2() {
        for version in ["0.1.0", "0.1.7", "0.2.0", "0.2.3"] {
            assert!(accepts(Role::Tool, version), "{version}");
        }
        for version in ["0.0.9", "0.3.0", "1.2.0", "1.0.0"] {
            assert!(!accepts(Role::Tool, version), "{version}");
        }
        assert!(accepts(Role::TemplateEngine, "0.2.1"));
        assert!(!accepts(Role::TemplateEngine, "0.1.0"));
        assert_eq!(supported_list(Role::Tool), "noetl:plugin@0.1.x and noetl:plugin@0.2.x");
    }

    #[test]
    fn only_0_1_tools_get_string_values() {
        let info = |version: &str| ContractInfo {
            role: Role::Tool,
            version: semver::Version::parse(version).unwrap(),
            capabilities: Vec::new(),
            wasi: Vec::new(),
            init: false,
        };
        assert!(!info("0.1.4").typed_values());
        assert!(info("0.2.0").typed_values());
    }
}
