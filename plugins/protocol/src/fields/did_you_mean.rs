//! "did you mean `backoff_limit`?" for misspelled keys and enum values.

/// The closest candidate within a small edit distance, compared case-insensitively, so a
/// typo gets a suggestion but an unrelated word does not get a misleading one.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .iter()
        .map(|candidate| {
            (
                edit_distance(&word, &candidate.to_ascii_lowercase()),
                *candidate,
            )
        })
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// The fix text for an unknown word: a suggestion when one is close, else the full list.
pub fn suggestion(word: &str, candidates: &[&str]) -> String {
    match closest(word, candidates) {
        Some(candidate) => format!("did you mean `{candidate}`?"),
        None => format!("use one of: {}", candidates.join(", ")),
    }
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        let keys = ["backoff_limit", "timeout", "image"];
        assert_eq!(closest("backof_limit", &keys), Some("backoff_limit"));
        assert_eq!(closest("Timeout", &keys), Some("timeout"));
        assert_eq!(closest("colour", &keys), None);
        assert_eq!(
            suggestion("colour", &keys),
            "use one of: backoff_limit, timeout, image"
        );
    }
}
