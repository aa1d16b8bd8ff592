//! How a tree is rendered, and the fixed limits of the engine.

/// Work budget for rendering one whole tree (all its template strings together).
///
/// minijinja charges one fuel per instruction and about one fuel per 64 bytes of data a
/// template creates (output, strings and lists built by operators and filters), and it
/// refuses to build a value the remaining fuel cannot pay for. 500 000 fuel therefore
/// bounds a render to roughly half a million instructions and about 32 MB of created data:
/// far above what a step config needs (the six spec examples use under 100), far below what
/// would exhaust the component's memory. The host's epoch deadline and memory cap remain
/// the backstop around it.
pub const DEFAULT_FUEL: u64 = 500_000;

/// Maximum nesting of template constructs (loops, conditions, macro calls).
///
/// minijinja counts a macro call as several levels, so this allows about ten nested macro
/// calls and a hundred nested blocks. It is a constant, not an option, because what it
/// protects is the component's fixed-size WASM stack: a recursive macro must end with a
/// clear error long before that stack could overflow.
pub const RECURSION_LIMIT: usize = 100;

/// How to render one tree. Mirrors the WIT `render-options` plus the fuel budget, which
/// the component always sets to [`DEFAULT_FUEL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderOptions {
    /// Fail on undefined variables. When false, an undefined variable (or an attribute of
    /// one, such as `{{ missing_step.data.x }}`) renders as an empty string. Secrets are
    /// strict either way.
    pub strict_undefined: bool,
    /// Dotted paths (`tool.script.content`, array items as `args.items[0]`) whose subtree
    /// is passed through untouched.
    pub skip_paths: Vec<String>,
    /// Give a string that is exactly one `{{ expr }}` (whitespace around it allowed) the
    /// expression's JSON value: number, bool, list, map or null; an undefined value in
    /// lenient mode becomes `""`. Every other string stays a string, and text without a
    /// template is never reinterpreted (`"007"` stays `"007"`). When false (the 0.1.0
    /// contract's rule, and the default here) every rendered string stays a string.
    pub typed_values: bool,
    /// Work budget for the whole tree; see [`DEFAULT_FUEL`].
    pub fuel: u64,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            strict_undefined: false,
            skip_paths: Vec::new(),
            typed_values: false,
            fuel: DEFAULT_FUEL,
        }
    }
}
