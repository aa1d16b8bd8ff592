//! Which secret names are accepted.

/// Longest accepted name: the limit of a Kubernetes Secret key (a DNS subdomain).
const MAX_NAME_LEN: usize = 253;

/// Check a secret name: 1 to 253 characters from `A-Z a-z 0-9 . _ -` (the characters of a
/// Kubernetes Secret key), not starting with `.`. This keeps names from addressing
/// anything but one file of a secret directory (no `/`, no `..`, no hidden files such as
/// the `..data` link of a mounted Secret).
pub fn validate_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("the name is empty; write it as secrets.NAME");
    }
    if name.len() > MAX_NAME_LEN {
        return Err("the name is longer than 253 characters");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err("only letters, digits, `.`, `_` and `-` are allowed");
    }
    if name.starts_with('.') {
        return Err("the name must not start with `.`");
    }
    Ok(())
}
