//! An e-mail address that has been checked once, at the edge.
//!
//! The rules are the practical subset that mail providers accept (RFC 5321 sizes,
//! dot-atom local part, a domain of DNS labels with an alphabetic top level), not the
//! full RFC 5322 grammar: quoted local parts and IP-literal domains are refused
//! because no prospect types them and they are a common injection vector.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Email(String);

const MAX_LEN: usize = 254;
const MAX_LOCAL: usize = 64;

impl Email {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("is required");
        }
        if s.chars().count() > MAX_LEN {
            return Err("must be at most 254 characters");
        }
        let (local, domain) = s.rsplit_once('@').ok_or("must be a valid e-mail address")?;
        if valid_local(local) && valid_domain(domain) {
            Ok(Self(s.to_string()))
        } else {
            Err("must be a valid e-mail address")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn valid_local(local: &str) -> bool {
    const SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-.";
    !local.is_empty()
        && local.len() <= MAX_LOCAL
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || SPECIALS.contains(c))
}

fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || domain.len() > 253 {
        return false;
    }
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    let tld = labels[labels.len() - 1];
    labels.iter().all(label_ok) && tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic())
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Email {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Email::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in [
            "jane@example.com",
            "jane.doe+quotes@sub.example.co.uk",
            "o'brien@example.ie",
            "  padded@example.com  ",
            "x@a-b.io",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(Email::parse(" a@b.io ").unwrap().as_str(), "a@b.io");
    }

    #[test]
    fn refuses_malformed_addresses() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "jane@",
            "jane@localhost",
            "jane@example",
            "jane@example.c",
            "jane@exa mple.com",
            "jane@-example.com",
            "jane@example-.com",
            ".jane@example.com",
            "jane.@example.com",
            "ja..ne@example.com",
            "jane@example..com",
            "jane@[127.0.0.1]",
            "\"jane\"@example.com",
            "jane@example.123",
            "<script>@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn enforces_lengths() {
        let local = "a".repeat(65);
        assert!(Email::parse(&format!("{local}@example.com")).is_err());
        let long = format!("{}@{}.com", "a".repeat(60), "b".repeat(200));
        assert_eq!(
            Email::parse(&long).unwrap_err(),
            "must be at most 254 characters"
        );
    }
}
