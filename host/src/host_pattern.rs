//! One pattern of a host grant (`fetch.hosts`, `http.hosts`, and any later grant that names
//! network peers): which host, and optionally which port, a plugin may reach.
//!
//! | pattern | matches |
//! |---|---|
//! | `api.example.com` | that host, any port |
//! | `api.example.com:8443` | that host, port 8443 only |
//! | `*.example.com` | any subdomain of `example.com` (not `example.com` itself), any port |
//! | `*.example.com:443` | any subdomain, port 443 only |
//! | `10.0.0.5`, `10.0.0.5:5432` | an IPv4 address, any port or that port |
//! | `[::1]`, `[::1]:5432` (or bare `::1`) | an IPv6 address, any port or that port |
//!
//! Host names compare without regard to case; IPv6 addresses compare as addresses
//! (`[0::1]` is `[::1]`). The port a request is checked with is the URL's own, else its
//! scheme's default (80, 443); a request with no port (an object-store bucket) matches
//! only patterns without one.

use std::fmt;
use std::net::Ipv6Addr;

/// The grammar, for error messages.
pub const SYNTAX: &str = "write HOST or HOST:PORT (`api.example.com`, `*.example.com`, `127.0.0.1:8765`, IPv6 as `[::1]:5432`)";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    host: Host,
    /// `None`: any port.
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    /// A name or an IPv4 address, lowercase.
    Exact(String),
    /// `*.domain`: the domain, lowercase (a match needs at least one more label).
    Subdomains(String),
    V6(Ipv6Addr),
}

impl HostPattern {
    /// Parse one pattern; the error says what is wrong with it (the caller names the key).
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let text = pattern.trim();
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (address, after) = rest.split_once(']').ok_or_else(|| format!("`{pattern}` opens `[` but never closes it; {SYNTAX}"))?;
            let address: Ipv6Addr = address.parse().map_err(|_| format!("`{pattern}`: `{address}` is not an IPv6 address; {SYNTAX}"))?;
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':').ok_or_else(|| format!("`{pattern}`: unexpected `{after}` after `]`; {SYNTAX}"))?),
            };
            (Host::V6(address), port)
        } else if let Ok(address) = text.parse::<Ipv6Addr>() {
            (Host::V6(address), None)
        } else {
            let (host, port) = match text.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (text, None),
            };
            let host = host.to_ascii_lowercase();
            if host.contains(':') {
                return Err(format!("`{pattern}` has more than one `:`; an IPv6 address with a port is written in brackets; {SYNTAX}"));
            }
            let host = match host.strip_prefix("*.") {
                Some(domain) => Host::Subdomains(checked_name(pattern, domain)?.to_string()),
                None => Host::Exact(checked_name(pattern, &host)?.to_string()),
            };
            (host, port)
        };
        let port = match port {
            None => None,
            Some(port) => Some(
                port.parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| format!("`{pattern}`: the port `{port}` is not a number from 1 to 65535; {SYNTAX}"))?,
            ),
        };
        Ok(HostPattern { host, port })
    }

    /// Whether a request to `host` (a name, an IPv4 address, or an IPv6 address with or
    /// without brackets) on `port` (`None`: no port, as for a bucket) is allowed.
    pub fn matches(&self, host: &str, port: Option<u16>) -> bool {
        if self.port.is_some_and(|granted| port != Some(granted)) {
            return false;
        }
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        match &self.host {
            Host::V6(granted) => host.parse::<Ipv6Addr>().is_ok_and(|asked| asked == *granted),
            Host::Exact(granted) => host.eq_ignore_ascii_case(granted),
            Host::Subdomains(domain) => {
                let host = host.to_ascii_lowercase();
                host.strip_suffix(domain.as_str()).is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.'))
            }
        }
    }
}

/// `name` when it can be a host name or IPv4 address (no `*` left, no `/`, `@`, spaces, not empty).
fn checked_name<'a>(pattern: &str, name: &'a str) -> Result<&'a str, String> {
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if valid { Ok(name) } else { Err(format!("`{pattern}` is not a host pattern; {SYNTAX}")) }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Exact(name) => write!(f, "{name}")?,
            Host::Subdomains(domain) => write!(f, "*.{domain}")?,
            Host::V6(address) => write!(f, "[{address}]")?,
        }
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => Ok(()),
        }
    }
}

/// Every pattern of the grant at `key` (`plugins.x.http.hosts`) parsed, or an error naming
/// the key, the pattern and the fix.
pub fn parse_all(key: &str, patterns: &[String]) -> anyhow::Result<Vec<HostPattern>> {
    patterns.iter().map(|pattern| HostPattern::parse(pattern).map_err(|problem| anyhow::anyhow!("{key}: {problem}"))).collect()
}

/// Whether any of `patterns` allows `host` on `port`; a pattern that does not parse allows
/// nothing (policy loading refuses such patterns first).
pub fn any_matches(patterns: &[String], host: &str, port: Option<u16>) -> bool {
    patterns.iter().filter_map(|pattern| HostPattern::parse(pattern).ok()).any(|pattern| pattern.matches(host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(pattern: &str, host: &str, port: Option<u16>) -> bool {
        HostPattern::parse(pattern).unwrap().matches(host, port)
    }

    #[test]
    fn a_host_alone_matches_any_port_and_a_port_only_that_port() {
        assert!(allows("127.0.0.1", "127.0.0.1", Some(8765)));
        assert!(allows("127.0.0.1", "127.0.0.1", Some(22)));
        assert!(allows("127.0.0.1", "127.0.0.1", None));
        assert!(allows("127.0.0.1:8765", "127.0.0.1", Some(8765)));
        assert!(!allows("127.0.0.1:8765", "127.0.0.1", Some(22)));
        assert!(!allows("127.0.0.1:8765", "127.0.0.1", None), "a bucket has no port");
        assert!(!allows("127.0.0.1:8765", "127.0.0.2", Some(8765)));
        assert!(allows("API.example.com:443", "api.EXAMPLE.com", Some(443)));
    }

    #[test]
    fn wildcards_match_subdomains_only() {
        assert!(allows("*.corp.net", "a.corp.net", Some(1)));
        assert!(allows("*.corp.net", "a.b.CORP.net", None));
        assert!(!allows("*.corp.net", "corp.net", None));
        assert!(!allows("*.corp.net", "evilcorp.net", None));
        assert!(!allows("*.corp.net", ".corp.net", None));
        assert!(allows("*.corp.net:5432", "db.corp.net", Some(5432)));
        assert!(!allows("*.corp.net:5432", "db.corp.net", Some(5433)));
        assert!(!allows("example.com", "evil-example.com", None));
        assert!(!allows("example.com", "example.com.evil.org", None));
    }

    #[test]
    fn ipv6_is_written_in_brackets_and_compared_as_an_address() {
        assert!(allows("[::1]:5432", "::1", Some(5432)));
        assert!(allows("[::1]:5432", "[::1]", Some(5432)));
        assert!(!allows("[::1]:5432", "::1", Some(5433)));
        assert!(allows("[0:0::1]", "[::1]", Some(80)));
        assert!(allows("::1", "::1", Some(80)));
        assert!(!allows("[::1]", "::2", Some(80)));
        assert!(!allows("[::1]", "localhost", Some(80)));
        assert_eq!(HostPattern::parse("[0:0::1]:80").unwrap().to_string(), "[::1]:80");
    }

    #[test]
    fn bad_patterns_say_what_is_wrong() {
        for (pattern, says) in [
            ("127.0.0.1:http", "the port `http` is not a number"),
            ("host:0", "the port `0`"),
            ("host:70000", "the port `70000`"),
            ("host:", "the port ``"),
            ("[::1", "never closes"),
            ("[::1]5432", "after `]`"),
            ("[nope]:1", "not an IPv6 address"),
            ("::1:5432:x", "more than one `:`"),
            ("", "not a host pattern"),
            ("*", "not a host pattern"),
            ("a*.example.com", "not a host pattern"),
            ("https://example.com", "is not a number"),
        ] {
            let error = HostPattern::parse(pattern).unwrap_err();
            assert!(error.contains(says) && error.contains("HOST:PORT"), "{pattern:?}: {error}");
        }
        let error = parse_all("plugins.x.http.hosts", &["ok.org".into(), "a:b".into()]).unwrap_err();
        assert!(error.to_string().starts_with("plugins.x.http.hosts: `a:b`"), "{error}");
    }
}
