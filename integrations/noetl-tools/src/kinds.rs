//! `Tool::name` returns `&'static str`, but the kinds this crate serves are known only at run
//! time (the host's plugins, the caller's list). Each distinct kind is leaked once per
//! process and reused by every later registration of it: the memory is bounded by the
//! number of distinct kinds ever registered (a handful of short strings), never by how
//! often `register` is called. The alternative, a fixed list of kinds compiled in, would
//! make a third-party plugin's kind impossible to serve.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

static KINDS: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

/// `kind` as a `&'static str`, allocated at most once per process.
pub fn intern(kind: &str) -> &'static str {
    let mut kinds = KINDS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = kinds.get(kind) {
        return *known;
    }
    let leaked: &'static str = Box::leak(kind.to_owned().into_boxed_str());
    kinds.insert(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::intern;

    #[test]
    fn the_same_kind_is_the_same_allocation() {
        let first = intern("script-kind-test");
        let second = intern(&String::from("script-kind-test"));
        assert!(std::ptr::eq(first, second));
        assert_ne!(intern("other-kind-test").as_ptr(), first.as_ptr());
    }
}
