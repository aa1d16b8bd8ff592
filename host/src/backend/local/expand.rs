//! Kubernetes `$(VAR)` expansion of command, args and env values, byte for byte as
//! kubelet does it (k8s.io/kubernetes third_party/forked/golang/expansion):
//! `$(VAR)` becomes the value when VAR is defined, stays as written when it is not;
//! `$$` becomes `$` (so `$$(VAR)` is the literal `$(VAR)`); an unterminated `$(` and any
//! other `$x` stay as written.

pub(super) fn expand(input: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let bytes = input.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut checkpoint = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' && i + 1 < bytes.len() {
            out.extend_from_slice(&bytes[checkpoint..i]);
            let rest = &bytes[i + 1..];
            let advance = match rest[0] {
                b'$' => {
                    out.push(b'$');
                    1
                }
                b'(' => match rest.iter().position(|&b| b == b')') {
                    Some(close) => {
                        let name = &input[i + 2..i + 1 + close];
                        match lookup(name) {
                            Some(value) => out.extend_from_slice(value.as_bytes()),
                            None => out.extend_from_slice(&bytes[i..i + 2 + close]),
                        }
                        close + 1
                    }
                    None => {
                        out.extend_from_slice(b"$(");
                        1
                    }
                },
                other => {
                    out.push(b'$');
                    out.push(other);
                    1
                }
            };
            i += advance;
            checkpoint = i + 1;
        }
        i += 1;
    }
    out.extend_from_slice(&bytes[checkpoint.min(bytes.len())..]);
    // Only whole input slices and whole values were copied, so the bytes are valid UTF-8.
    String::from_utf8(out).expect("expansion preserves UTF-8")
}

#[cfg(test)]
mod tests {
    use super::expand;

    fn env(name: &str) -> Option<String> {
        match name {
            "A" => Some("alpha".into()),
            "EMPTY" => Some(String::new()),
            "JSON" => Some(r#"{"items": [1, 2]}"#.into()),
            _ => None,
        }
    }

    #[test]
    fn kubernetes_expansion_cases() {
        let cases = [
            ("$(A)", "alpha"),
            ("x$(A)y", "xalphay"),
            ("$(A)$(A)", "alphaalpha"),
            ("$(EMPTY)", ""),
            ("$(UNKNOWN)", "$(UNKNOWN)"),
            ("$$(A)", "$(A)"),
            ("$$$(A)", "$alpha"),
            ("$$$$(A)", "$$(A)"),
            ("$$", "$"),
            ("$", "$"),
            ("a$", "a$"),
            ("$(A", "$(A"),
            ("$(", "$("),
            ("$x", "$x"),
            ("$()", "$()"),
            ("é$(A)é", "éalphaé"),
            ("$(JSON)", r#"{"items": [1, 2]}"#),
            ("no vars", "no vars"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(expand(input, env), want, "input {input:?}");
        }
    }

    #[test]
    fn values_are_not_expanded_twice() {
        let lookup = |n: &str| (n == "A").then(|| "$(A)$$".to_string());
        assert_eq!(expand("$(A)", lookup), "$(A)$$");
    }
}
