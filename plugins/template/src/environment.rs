//! The minijinja environment every render uses: NoETL dialect, limits, undefined handling.

use std::sync::OnceLock;

use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use crate::filters;
use crate::options::{RECURSION_LIMIT, RenderOptions};

/// What every render's environment starts from: the dialect and the filters. Built once per
/// process; in the component, by `init`, so the host's snapshot already holds it.
static BASE: OnceLock<Environment<'static>> = OnceLock::new();

/// Build [`BASE`] now (the component's `init` calls this).
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub fn prepare() {
    BASE.get_or_init(base);
}

/// One environment per render call (a copy of [`BASE`] with the call's fuel and undefined
/// handling); every template string of the tree is compiled in it.
pub(crate) fn build(options: &RenderOptions) -> Environment<'static> {
    let mut env = BASE.get_or_init(base).clone();
    env.set_fuel(Some(options.fuel));
    env.set_undefined_behavior(if options.strict_undefined {
        UndefinedBehavior::Strict
    } else {
        // Chainable, not Lenient: `{{ step_not_run_yet.data.rows }}` renders empty instead
        // of failing on the attribute of an undefined value.
        UndefinedBehavior::Chainable
    });
    env
}

fn base() -> Environment<'static> {
    let mut env = Environment::new();
    // Configs are not HTML: a value must come out exactly as written, whatever a key or
    // template name looks like.
    env.set_auto_escape_callback(|_| AutoEscape::None);
    // Jinja drops a template's final newline; a templated multi-line string must keep it,
    // exactly like an untemplated one.
    env.set_syntax(
        SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
            .expect("the default delimiters are a valid syntax"),
    );
    env.set_recursion_limit(RECURSION_LIMIT);
    filters::register(&mut env);
    env
}
