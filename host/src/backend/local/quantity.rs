//! Kubernetes resource quantities: memory (`128Mi`, `1G`, `1.5Gi`, `1e9`) as bytes, CPU
//! (`2`, `0.5`, `500m`) as millicores.

/// Bytes for a memory quantity; `Err` says what is wrong in words a user can act on.
pub(super) fn memory_bytes(quantity: &str) -> Result<u64, String> {
    let q = quantity.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+'))
        .unwrap_or(q.len());
    let (number, suffix) = q.split_at(split);
    let (number, suffix) = match suffix.strip_prefix(['e', 'E']) {
        Some(exp) if !exp.is_empty() => (q, exp.parse::<i32>().map(|_| "").unwrap_or(suffix)),
        _ => (number, suffix),
    };
    let multiplier: f64 = match suffix {
        "" => 1.0,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "m" => 1e-3,
        _ => {
            return Err(format!(
                "`{quantity}` has an unknown unit `{suffix}`; use a Kubernetes quantity such as `512Mi` or `1Gi`"
            ));
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{quantity}` is not a number with a unit; use e.g. `512Mi` or `1Gi`"))?;
    let bytes = (value * multiplier).ceil();
    if !(bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(format!("`{quantity}` is not a usable memory size; use e.g. `512Mi` or `1Gi`"));
    }
    Ok(bytes as u64)
}

/// Millicores for a CPU quantity (`2` = 2000, `0.5` = `500m` = 500); at least 1.
pub(super) fn cpu_millis(quantity: &str) -> Result<u64, String> {
    let q = quantity.trim();
    let (number, per_core) = match q.strip_suffix('m') {
        Some(millis) => (millis, 1.0),
        None => (q, 1000.0),
    };
    let millis = number
        .parse::<f64>()
        .ok()
        .map(|n| (n * per_core).ceil())
        .filter(|m| m.is_finite() && *m >= 1.0 && *m < 1e12)
        .ok_or_else(|| format!("`{quantity}` is not a CPU quantity; use cores (`2`, `0.5`) or millicores (`500m`)"))?;
    Ok(millis as u64)
}

#[cfg(test)]
mod tests {
    use super::{cpu_millis, memory_bytes};

    #[test]
    fn cpu_quantities_are_millicores() {
        assert_eq!(cpu_millis("2"), Ok(2000));
        assert_eq!(cpu_millis("0.5"), Ok(500));
        assert_eq!(cpu_millis("250m"), Ok(250));
        for bad in ["", "two", "0", "-1", "5x"] {
            assert!(cpu_millis(bad).unwrap_err().contains("500m"), "{bad}");
        }
    }

    #[test]
    fn parses_binary_decimal_and_exponent_forms() {
        assert_eq!(memory_bytes("128Mi"), Ok(128 << 20));
        assert_eq!(memory_bytes("1Gi"), Ok(1 << 30));
        assert_eq!(memory_bytes("1.5Gi"), Ok(3 << 29));
        assert_eq!(memory_bytes("1G"), Ok(1_000_000_000));
        assert_eq!(memory_bytes("64k"), Ok(64_000));
        assert_eq!(memory_bytes("1e9"), Ok(1_000_000_000));
        assert_eq!(memory_bytes("1048576"), Ok(1 << 20));
    }

    #[test]
    fn refuses_nonsense_with_a_hint() {
        for bad in ["", "lots", "12XB", "-1Gi", "0", "Mi"] {
            let err = memory_bytes(bad).unwrap_err();
            assert!(err.contains("512Mi"), "{bad}: {err}");
        }
    }
}
