//! Kubernetes resource quantities (`100m`, `1.5`, `128Mi`, `1e3`), parsed as the API server
//! does, so a typo such as `1Gb` is refused at plan time instead of by the cluster.

use crate::error::Invalid;

const BINARY: [(&str, f64); 6] = [
    ("Ki", 1024.0),
    ("Mi", 1048576.0),
    ("Gi", 1073741824.0),
    ("Ti", 1099511627776.0),
    ("Pi", 1125899906842624.0),
    ("Ei", 1152921504606846976.0),
];
const DECIMAL: [(&str, f64); 9] = [
    ("n", 1e-9),
    ("u", 1e-6),
    ("m", 1e-3),
    ("", 1.0),
    ("k", 1e3),
    ("M", 1e6),
    ("G", 1e9),
    ("T", 1e12),
    ("P", 1e15),
];

/// Which resource a quantity is for: it decides the fix text and the memory-only checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource {
    Cpu,
    Memory,
    EphemeralStorage,
}

impl Resource {
    pub const NAMES: [&'static str; 3] = ["cpu", "memory", "ephemeral-storage"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "cpu" => Some(Resource::Cpu),
            "memory" => Some(Resource::Memory),
            "ephemeral-storage" => Some(Resource::EphemeralStorage),
            _ => None,
        }
    }

    fn examples(self) -> &'static str {
        match self {
            Resource::Cpu => "use cores such as 1 or 0.5, or millicores such as 500m",
            _ => "use bytes with a unit such as 128Mi or 1Gi (binary) or 128M or 1G (decimal)",
        }
    }
}

/// Parse `text` as a quantity for `resource`; the value in base units (cores, bytes).
pub(crate) fn parse(text: &str, resource: Resource) -> Result<f64, Invalid> {
    let not_quantity =
        |fix: String| Invalid::new(format!("{text:?} is not a Kubernetes quantity"), fix);
    let number_len = text
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || (i == 0 && (c == '+' || c == '-'))))
        .map_or(text.len(), |(i, _)| i);
    let (number, suffix) = text.split_at(number_len);
    let digits = number.trim_start_matches(['+', '-']);
    let number_ok = !digits.is_empty() && digits != "." && digits.matches('.').count() <= 1;
    if !number_ok {
        return Err(not_quantity(resource.examples().into()));
    }
    let Some(multiplier) = multiplier(suffix) else {
        return Err(not_quantity(
            suffix_fix(digits, suffix).unwrap_or_else(|| resource.examples().into()),
        ));
    };
    let value = digits
        .parse::<f64>()
        .map_err(|_| not_quantity(resource.examples().into()))?
        * multiplier;
    if number.starts_with('-') && value != 0.0 {
        return Err(Invalid::new(
            format!("{text:?} is negative"),
            format!(
                "a resource amount must be zero or more; {}",
                resource.examples()
            ),
        ));
    }
    if resource != Resource::Cpu && suffix == "m" {
        return Err(Invalid::new(
            format!("{text:?} means {digits} thousandths of a byte"),
            format!("use {digits}Mi (mebibytes) or {digits}M (megabytes)"),
        ));
    }
    Ok(value)
}

fn multiplier(suffix: &str) -> Option<f64> {
    if let Some((_, m)) = BINARY
        .iter()
        .chain(DECIMAL.iter())
        .find(|(s, _)| *s == suffix)
    {
        return Some(*m);
    }
    // Decimal exponent: e3, E-2, e+6.
    let exponent = suffix.strip_prefix(['e', 'E'])?;
    let digits = exponent.trim_start_matches(['+', '-']);
    let valid = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && exponent.len() - digits.len() <= 1;
    if !valid {
        return None;
    }
    exponent.parse::<i32>().ok().map(|e| 10f64.powi(e))
}

/// A targeted fix for common unit mistakes: `1Gb`/`1GB` → `1Gi or 1G`, `1gi` → `1Gi`.
fn suffix_fix(digits: &str, suffix: &str) -> Option<String> {
    let first = suffix.chars().next()?.to_ascii_uppercase();
    let rest = &suffix[1..];
    let unit_letters = ['K', 'M', 'G', 'T', 'P', 'E'];
    if !unit_letters.contains(&first)
        || !(rest.is_empty() || matches!(rest, "b" | "B" | "i" | "I" | "ib" | "iB" | "IB"))
    {
        return None;
    }
    let decimal = if first == 'K' { 'k' } else { first };
    Some(format!(
        "use {digits}{first}i (binary) or {digits}{decimal} (decimal); units are case-sensitive"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_kubernetes_quantities() {
        assert_eq!(parse("100m", Resource::Cpu).unwrap(), 0.1);
        assert_eq!(parse("2", Resource::Cpu).unwrap(), 2.0);
        assert_eq!(parse("1.5", Resource::Cpu).unwrap(), 1.5);
        assert_eq!(parse("128Mi", Resource::Memory).unwrap(), 134217728.0);
        assert_eq!(parse("1G", Resource::Memory).unwrap(), 1e9);
        assert_eq!(parse("1e3", Resource::Memory).unwrap(), 1000.0);
        assert_eq!(parse("+1k", Resource::Memory).unwrap(), 1000.0);
    }

    #[test]
    fn refuses_typos_with_a_fix() {
        let err = parse("1Gb", Resource::Memory).unwrap_err();
        assert!(
            err.fix.contains("use 1Gi (binary) or 1G (decimal)"),
            "{err:?}"
        );
        assert!(
            parse("1gi", Resource::Memory)
                .unwrap_err()
                .fix
                .contains("1Gi")
        );
        assert!(
            parse("512kb", Resource::Memory)
                .unwrap_err()
                .fix
                .contains("512Ki (binary) or 512k")
        );
        assert!(
            parse("lots", Resource::Cpu)
                .unwrap_err()
                .fix
                .contains("millicores")
        );
        assert!(parse("", Resource::Cpu).is_err());
        assert!(parse("1.2.3", Resource::Cpu).is_err());
        assert!(
            parse("-1", Resource::Cpu)
                .unwrap_err()
                .message
                .contains("negative")
        );
        assert!(
            parse("256m", Resource::Memory)
                .unwrap_err()
                .fix
                .contains("256Mi")
        );
        assert!(parse("1e", Resource::Cpu).is_err());
    }
}
