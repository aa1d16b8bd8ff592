//! TEMPORARY placeholder until the template plugin branch lands.
#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ path: "../../wit", world: "template-engine" });
    use exports::noetl::plugin::renderer::{Guest, RenderError, RenderOptions};
    struct T;
    impl Guest for T {
        fn render(tree: String, _c: String, _o: RenderOptions) -> Result<String, RenderError> { Ok(tree) }
    }
    export!(T);
}
