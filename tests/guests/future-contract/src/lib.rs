//! Exports `noetl:plugin/handler@1.0.0`: a plugin from a future, incompatible contract.

wit_bindgen::generate!({ path: "wit", world: "tool" });

struct Future;

impl exports::noetl::plugin::handler::Guest for Future {
    fn describe() -> String {
        "from the future".into()
    }
}

export!(Future);
