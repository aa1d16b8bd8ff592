//! The capability imports of contract 0.1.0 (`noetl:plugin/log@0.1.0`, ...), for tool
//! plugins built against it. Their shapes are identical to 0.2.0's, and their `types` are
//! the same Rust types (see `bindings::tool_0_1`), so each function hands its call to the
//! 0.2.0 implementation: one implementation, one grant check, one way of timing host calls.

use crate::bindings::tool::noetl::plugin as current;
use crate::bindings::tool_0_1::noetl::plugin as v0_1;
use crate::bindings::types::CapabilityError;
use crate::plugin::HostState;

/// Delegates each listed function of a 0.1.0 interface to the same function of 0.2.0.
macro_rules! delegate {
    ($interface:ident { $(fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)* }) => {
        impl v0_1::$interface::Host for HostState {
            $(
                async fn $name(&mut self, $($arg: $ty),*) -> $ret {
                    <HostState as current::$interface::Host>::$name(self, $($arg),*).await
                }
            )*
        }
    };
}

delegate!(kubernetes {
    fn get(kind: String, namespace: String, name: String) -> Result<String, CapabilityError>;
    fn list(kind: String, namespace: String, selector: String) -> Result<Vec<String>, CapabilityError>;
    fn create(namespace: String, body: String) -> Result<String, CapabilityError>;
    fn delete(kind: String, namespace: String, name: String) -> Result<(), CapabilityError>;
});

delegate!(files {
    fn read(path: String, max_bytes: u64) -> Result<Vec<u8>, CapabilityError>;
});

// `log.level` and `fetch.fetched` are declared inside their interfaces, so each version has
// its own Rust type; they are converted field by field.

impl v0_1::log::Host for HostState {
    async fn log(&mut self, level: v0_1::log::Level, message: String) {
        use current::log::Level;
        let level = match level {
            v0_1::log::Level::Trace => Level::Trace,
            v0_1::log::Level::Debug => Level::Debug,
            v0_1::log::Level::Info => Level::Info,
            v0_1::log::Level::Warn => Level::Warn,
            v0_1::log::Level::Error => Level::Error,
        };
        <HostState as current::log::Host>::log(self, level, message).await
    }
}

impl v0_1::fetch::Host for HostState {
    async fn get(&mut self, uri: String, max_bytes: u64) -> Result<v0_1::fetch::Fetched, CapabilityError> {
        let fetched = <HostState as current::fetch::Host>::get(self, uri, max_bytes).await?;
        Ok(v0_1::fetch::Fetched { body: fetched.body, sha256: fetched.sha256 })
    }
}
