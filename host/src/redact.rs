//! Redaction of secret values from everything the host returns or logs.
//!
//! Every secret value the host hands out (see [`crate::secrets::SecretResolver`]) is
//! remembered in a [`Redactor`]; responses, errors, logs and plans pass through it before
//! they leave the host. Besides the value itself, the forms in which a value typically
//! travels are replaced too:
//! - its JSON-escaped form (a value with `"`, `\` or control characters inside JSON text);
//! - its ASCII-only JSON forms, as an encoder that escapes every non-ASCII character writes
//!   them (Python's `json.dumps` by default): `\uXXXX` escapes (surrogate pairs beyond the
//!   BMP) in lowercase and in uppercase hex, with control characters as short escapes
//!   (`\n`) or as `\u00XX`;
//! - its base64 encodings, standard and URL-safe, padded and unpadded (Kubernetes Secret
//!   `data`, basic-auth headers, tokens).
//!
//! Values shorter than [`MIN_ENCODED_LEN`] bytes are still redacted as written, but not as
//! base64: two or three base64 characters occur by chance in ordinary text, so redacting
//! them would mangle output without protecting anything. The empty string is never
//! remembered (it would match everywhere). Base64 is only recognised when it encodes the
//! value alone: a secret embedded in a larger encoded blob is shifted by the surrounding
//! bytes and cannot be found without decoding.
//!
//! Credentials the host derives from a secret on a plugin's behalf are remembered as secrets
//! of their own ([`Redactor::remember_derived`]): the `http` capability does this for every
//! request header it sends that carries a secret, raw or base64-encoded (`Authorization:
//! Basic base64(user:secret)`), so a server echoing the header does not leak the encoding.
//! What a plugin derives and never shows the host (its own hash, encryption or encoding of
//! a secret) is out of reach: the host cannot know that text came from a secret.
//!
//! Matching uses one Aho-Corasick automaton over all patterns (leftmost-longest, so a
//! secret that contains another is replaced whole), rebuilt lazily after new secrets are
//! remembered. Redacting is a single scan whatever the number of secrets.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::Value;

/// What a secret value is replaced with.
pub const REDACTED: &str = "<redacted>";

/// Values at least this long are also redacted in their base64 forms.
pub const MIN_ENCODED_LEN: usize = 4;

/// Remembers secret values and removes them from text and JSON. Cheap to clone (clones
/// share the same set of secrets) and safe to use from many threads.
#[derive(Clone, Default)]
pub struct Redactor {
    inner: Arc<RwLock<Secrets>>,
}

#[derive(Default)]
struct Secrets {
    values: BTreeSet<String>,
    /// `None` while nothing is remembered.
    matcher: Option<Arc<AhoCorasick>>,
    /// A secret was remembered since `matcher` was built. The automaton is rebuilt on the
    /// next redaction, not on every `remember`, so resolving many secrets in a row costs
    /// one build instead of one per secret.
    stale: bool,
}

impl Secrets {
    fn rebuild(&mut self) {
        let patterns: BTreeSet<String> =
            self.values.iter().flat_map(|value| forms(value)).collect();
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            // Building only fails past aho-corasick's state limits (gigabytes of patterns);
            // secrets are bounded far below that by the providers' size caps.
            .expect("secret patterns fit an Aho-Corasick automaton");
        self.matcher = Some(Arc::new(matcher));
        self.stale = false;
    }
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Remember `secret` so that it (and its encoded forms) is redacted from now on.
    pub fn remember(&self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let mut secrets = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if secrets.values.insert(secret.to_string()) {
            secrets.stale = true;
        }
    }

    /// Remember what was derived from a secret: when `value` (e.g. an HTTP header value the
    /// host sends, `Basic dXNlcjpzZWNyZXQ=`) carries a remembered secret, raw or as the
    /// base64 of text holding it, remember the whole value and each whitespace-separated
    /// token that carries it (the token after the scheme). Secrets shorter than
    /// [`MIN_ENCODED_LEN`] are not followed, as they are not into base64. Returns whether
    /// anything was remembered.
    pub fn remember_derived(&self, value: &str) -> bool {
        let Some(matcher) = self.matcher() else { return false };
        let carries = |text: &str| matcher.find_iter(text).any(|m| m.len() >= MIN_ENCODED_LEN);
        let decoded_carries = |token: &str| {
            [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
                .iter()
                .filter_map(|engine| engine.decode(token).ok())
                .any(|bytes| carries(&String::from_utf8_lossy(&bytes)))
        };
        let tokens: Vec<&str> = value.split_whitespace().filter(|t| carries(t) || decoded_carries(t)).collect();
        if tokens.is_empty() {
            return false;
        }
        self.remember(value.trim());
        for token in tokens {
            self.remember(token);
        }
        true
    }

    /// How many distinct secret values are remembered.
    pub fn len(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `text` with every remembered secret replaced by [`REDACTED`]; borrowed when there
    /// is nothing to replace.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self.matcher() {
            Some(matcher) => replace(&matcher, text),
            None => Cow::Borrowed(text),
        }
    }

    /// `value` with secrets redacted from every string, object key and number (a number
    /// whose digits contain a secret becomes the string it redacts to).
    pub fn redact_json(&self, value: Value) -> Value {
        match self.matcher() {
            Some(matcher) => redact_value(&matcher, value),
            None => value,
        }
    }

    // The automaton is cloned out so redaction never holds the lock while scanning.
    fn matcher(&self) -> Option<Arc<AhoCorasick>> {
        {
            let secrets = self.inner.read().unwrap_or_else(PoisonError::into_inner);
            if !secrets.stale {
                return secrets.matcher.clone();
            }
        }
        let mut secrets = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        // Another thread may have rebuilt it between the two locks.
        if secrets.stale {
            secrets.rebuild();
        }
        secrets.matcher.clone()
    }
}

// Never print the values, only how many there are.
impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("secrets", &self.len())
            .finish()
    }
}

/// The forms of `secret` that are redacted; see the module documentation.
fn forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_string()];
    let json = serde_json::to_string(secret).expect("a string always serialises to JSON");
    forms.push(json[1..json.len() - 1].to_string());
    for uppercase in [false, true] {
        for short_controls in [true, false] {
            forms.push(ascii_json(secret, uppercase, short_controls));
        }
    }
    if secret.len() >= MIN_ENCODED_LEN {
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            forms.push(engine.encode(secret));
        }
    }
    forms
}

/// `text` as the inside of a JSON string by an encoder that writes ASCII only: `"` and `\`
/// escaped; every character outside printable ASCII (controls, DEL, non-ASCII) as `\uXXXX`
/// (UTF-16, so a surrogate pair beyond the BMP), except the controls with a short escape
/// (`\n`, `\t`, ...) when `short_controls`. Python's `json.dumps` writes
/// `ascii_json(text, false, true)`.
fn ascii_json(text: &str, uppercase: bool, short_controls: bool) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        let short = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' if short_controls => Some("\\n"),
            '\r' if short_controls => Some("\\r"),
            '\t' if short_controls => Some("\\t"),
            '\u{8}' if short_controls => Some("\\b"),
            '\u{c}' if short_controls => Some("\\f"),
            _ => None,
        };
        match short {
            Some(escape) => out.push_str(escape),
            None if (' '..='~').contains(&c) => out.push(c),
            None => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    if uppercase {
                        out.push_str(&format!("\\u{unit:04X}"));
                    } else {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
            }
        }
    }
    out
}

fn replace<'a>(matcher: &AhoCorasick, text: &'a str) -> Cow<'a, str> {
    if !matcher.is_match(text) {
        return Cow::Borrowed(text);
    }
    let mut redacted = String::with_capacity(text.len());
    matcher.replace_all_with(text, &mut redacted, |_, _, out| {
        out.push_str(REDACTED);
        true
    });
    Cow::Owned(redacted)
}

fn redact_value(matcher: &AhoCorasick, value: Value) -> Value {
    match value {
        Value::String(text) => match replace(matcher, &text) {
            Cow::Borrowed(_) => Value::String(text),
            Cow::Owned(redacted) => Value::String(redacted),
        },
        Value::Number(number) => {
            let digits = number.to_string();
            match replace(matcher, &digits) {
                Cow::Borrowed(_) => Value::Number(number),
                Cow::Owned(redacted) => Value::String(redacted),
            }
        }
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|item| redact_value(matcher, item))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, item)| {
                    (
                        replace(matcher, &key).into_owned(),
                        redact_value(matcher, item),
                    )
                })
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CANARY: &str = "canary-S3cr3t/value+42";

    fn redactor_with(secrets: &[&str]) -> Redactor {
        let redactor = Redactor::new();
        for secret in secrets {
            redactor.remember(secret);
        }
        redactor
    }

    #[test]
    fn nothing_remembered_leaves_text_borrowed() {
        let redactor = Redactor::new();
        assert!(matches!(
            redactor.redact("plain text"),
            Cow::Borrowed("plain text")
        ));
        assert!(redactor.is_empty());
    }

    #[test]
    fn redacts_the_value_wherever_it_occurs() {
        let redactor = redactor_with(&[CANARY]);
        let text = format!("token={CANARY}; again {CANARY}!");
        assert_eq!(
            redactor.redact(&text),
            "token=<redacted>; again <redacted>!"
        );
    }

    #[test]
    fn redacts_every_base64_form() {
        let redactor = redactor_with(&[CANARY]);
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            let encoded = engine.encode(CANARY);
            let redacted = redactor.redact(&format!("data: {encoded}\n")).into_owned();
            assert_eq!(redacted, "data: <redacted>\n", "form {encoded} leaked");
        }
    }

    #[test]
    fn padded_base64_is_redacted_whole_not_leaving_the_padding() {
        let secret = "abcde"; // base64 "YWJjZGU=" has padding
        let redactor = redactor_with(&[secret]);
        assert_eq!(redactor.redact("x YWJjZGU= y"), "x <redacted> y");
    }

    #[test]
    fn redacts_the_json_escaped_form() {
        let secret = "pa\"ss\\word\nline2";
        let redactor = redactor_with(&[secret]);
        let as_json = json!({ "password": secret }).to_string();
        let redacted = redactor.redact(&as_json).into_owned();
        assert_eq!(redacted, r#"{"password":"<redacted>"}"#);
    }

    #[test]
    fn redacts_the_ascii_only_json_forms_python_writes() {
        // What `json.dumps(secret)` (ensure_ascii) prints, checked against CPython.
        let cases = [
            ("pässwörd-CANARY-é", r"p\u00e4ssw\u00f6rd-CANARY-\u00e9"),
            ("key-🔑-canary", r"key-\ud83d\udd11-canary"),
            ("tab\tq\"uote\u{7f}ß", r#"tab\tq\"uote\u007f\u00df"#),
        ];
        for (secret, python) in cases {
            let redactor = redactor_with(&[secret]);
            let upper = python.replace(r"\u00e4", r"\u00E4").replace(r"\u00f6", r"\u00F6").replace(r"\u00e9", r"\u00E9")
                .replace(r"\ud83d\udd11", r"\uD83D\uDD11").replace(r"\u007f\u00df", r"\u007F\u00DF");
            for form in [python.to_string(), upper] {
                let text = format!("{{\"password\": \"{form}\"}}");
                assert_eq!(redactor.redact(&text), r#"{"password": "<redacted>"}"#, "form {form} leaked");
            }
        }
        // Controls as `\u00XX` instead of their short escapes, as some encoders write them.
        let redactor = redactor_with(&["line\nbreak-é"]);
        assert_eq!(redactor.redact(r"x line\u000abreak-\u00e9 y"), "x <redacted> y");
    }

    #[test]
    fn a_header_derived_from_a_secret_is_remembered_whole_and_by_token() {
        let redactor = redactor_with(&[CANARY]);
        let basic = STANDARD.encode(format!("svc:{CANARY}"));
        assert!(redactor.remember_derived(&format!("Basic {basic}")));
        // A server echoing the header, or just the token, leaks neither.
        assert_eq!(redactor.redact(&format!("auth: Basic {basic}")), "auth: <redacted>");
        assert_eq!(redactor.redact(&format!("token {basic}.")), "token <redacted>.");
        // ... nor the base64 of the token itself.
        assert_eq!(redactor.redact(&STANDARD.encode(&basic)), REDACTED);

        assert!(redactor.remember_derived(&format!("Bearer {CANARY}")));
        assert_eq!(redactor.redact(&format!("[Bearer {CANARY}]")), "[<redacted>]");

        // URL-safe, unpadded base64 of text holding the secret counts too.
        let url_safe = URL_SAFE_NO_PAD.encode(format!("{{\"k\":\"{CANARY}\"}}"));
        assert!(redactor.remember_derived(&format!("Token {url_safe}")));
        assert_eq!(redactor.redact(&url_safe), REDACTED);

        // Headers that carry no secret are not remembered.
        let before = redactor.len();
        for plain in ["application/json", "Basic c3ZjOnB1YmxpYw==", "gzip, deflate", ""] {
            assert!(!redactor.remember_derived(plain), "{plain}");
        }
        assert_eq!(redactor.len(), before);
        assert_eq!(redactor.redact("application/json"), "application/json");
    }

    #[test]
    fn short_secrets_are_not_followed_into_headers() {
        let redactor = redactor_with(&["abc"]);
        assert!(!redactor.remember_derived("Basic YWJj"));
        assert!(!redactor.remember_derived("text/abc"));
        assert!(!Redactor::new().remember_derived("Bearer x"));
    }

    #[test]
    fn short_values_are_redacted_as_written_but_not_as_base64() {
        let redactor = redactor_with(&["abc"]);
        assert_eq!(redactor.redact("xabcx"), "x<redacted>x");
        // base64("abc") = "YWJj": too likely to occur by chance to be worth mangling.
        assert_eq!(redactor.redact("YWJj"), "YWJj");
    }

    #[test]
    fn empty_value_is_ignored() {
        let redactor = redactor_with(&[""]);
        assert!(redactor.is_empty());
        assert_eq!(redactor.redact("anything"), "anything");
    }

    #[test]
    fn longest_overlapping_secret_wins() {
        let redactor = redactor_with(&["secret", "secret-extended"]);
        assert_eq!(
            redactor.redact("a secret-extended b secret c"),
            "a <redacted> b <redacted> c"
        );
    }

    #[test]
    fn redacts_json_keys_values_and_numbers() {
        let redactor = redactor_with(&[CANARY, "987654"]);
        let value = json!({
            "env": { CANARY: "x", "API_KEY": format!("Bearer {CANARY}") },
            "list": [CANARY, 1, true, null],
            "pin": 987654,
            "other": 12,
        });
        let redacted = redactor.redact_json(value);
        assert_eq!(
            redacted,
            json!({
                "env": { "<redacted>": "x", "API_KEY": "Bearer <redacted>" },
                "list": ["<redacted>", 1, true, null],
                "pin": "<redacted>",
                "other": 12,
            })
        );
        assert!(!redacted.to_string().contains(CANARY));
    }

    #[test]
    fn clones_share_remembered_secrets_across_threads() {
        let redactor = Redactor::new();
        let clone = redactor.clone();
        std::thread::spawn(move || clone.remember(CANARY))
            .join()
            .unwrap();
        assert_eq!(redactor.len(), 1);
        assert_eq!(redactor.redact(CANARY), REDACTED);
    }

    #[test]
    fn many_secrets_are_all_redacted() {
        let secrets: Vec<String> = (0..500).map(|i| format!("canary-{i:04}-value")).collect();
        let redactor = Redactor::new();
        for secret in &secrets {
            redactor.remember(secret);
        }
        let text = secrets.join(" | ");
        let redacted = redactor.redact(&text).into_owned();
        assert!(!redacted.contains("canary-"), "{redacted}");
        assert_eq!(redacted.matches(REDACTED).count(), 500);
    }

    #[test]
    fn debug_output_shows_no_values() {
        let redactor = redactor_with(&[CANARY]);
        let debug = format!("{redactor:?}");
        assert!(!debug.contains(CANARY));
        assert!(debug.contains("secrets: 1"));
    }
}
