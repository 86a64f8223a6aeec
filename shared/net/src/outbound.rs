//! Outbound HTTP with reqwest (rustls), behind an SSRF guard: only https, and the
//! host must resolve to public addresses only; the request then goes to exactly the
//! address that was checked, so a second DNS answer cannot point it elsewhere.
//! Redirects are not followed for the same reason. The dev server allows http and
//! private addresses, so hooks can point at a local receiver.

use async_trait::async_trait;
use backend_core::ports::outbound::{Outbound, OutboundError, Post};
use std::net::{IpAddr, SocketAddr};

#[derive(Clone)]
pub struct ReqwestOutbound {
    allow_private: bool,
}

impl ReqwestOutbound {
    /// The guarded client used in AWS.
    pub fn new() -> Self {
        Self {
            allow_private: false,
        }
    }

    /// For the dev server and tests: http and private addresses allowed.
    pub fn allowing_private() -> Self {
        Self {
            allow_private: true,
        }
    }
}

impl Default for ReqwestOutbound {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether an address is reachable on the public internet (not loopback, private,
/// link-local, metadata, shared, documentation, multicast or unspecified).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                || (seg[0] == 0x2001 && seg[1] == 0x0db8)
                || (seg[0] == 0x0064 && seg[1] == 0xff9b))
        }
    }
}

/// Checks `url` and returns the one address to connect to.
pub async fn vet(
    url: &str,
    allow_private: bool,
) -> Result<(reqwest::Url, SocketAddr), OutboundError> {
    let refuse = |why: String| OutboundError::Permanent(format!("refused {url:?}: {why}"));
    let parsed = reqwest::Url::parse(url).map_err(|e| refuse(e.to_string()))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_private => {}
        s => return Err(refuse(format!("scheme {s} is not allowed; use https"))),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(refuse("credentials in the URL are not allowed".into()));
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| refuse("no host".into()))?
        .trim_matches(['[', ']'])
        .to_string();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| OutboundError::Transient(format!("cannot resolve {host}: {e}")))?
        .collect();
    let first = *addrs
        .first()
        .ok_or_else(|| refuse("the host has no address".into()))?;
    if !allow_private {
        if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
            return Err(refuse(format!(
                "{host} resolves to a non-public address {}",
                bad.ip()
            )));
        }
    }
    Ok((parsed, first))
}

#[async_trait]
impl Outbound for ReqwestOutbound {
    async fn post(&self, req: &Post) -> Result<u16, OutboundError> {
        let (url, addr) = vet(&req.url, self.allow_private).await?;
        let host = url.host_str().unwrap_or_default().to_string();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "cloud-consulting-backend/",
                env!("CARGO_PKG_VERSION")
            ))
            .resolve(&host, addr)
            .build()
            .map_err(|e| OutboundError::Permanent(e.to_string()))?;
        let mut r = client
            .post(url)
            .timeout(req.timeout)
            .header("content-type", "application/json")
            .body(req.body.clone());
        for (k, v) in &req.headers {
            r = r.header(k, v);
        }
        let resp = r
            .send()
            .await
            .map_err(|e| OutboundError::Transient(e.to_string()))?;
        let status = resp.status().as_u16();
        match status {
            200..=299 => Ok(status),
            429 | 500..=599 => Err(OutboundError::Transient(format!("answered {status}"))),
            _ => Err(OutboundError::Permanent(format!("answered {status}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "192.0.0.8",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["1.1.1.1", "52.94.236.248", "2600:1f18::1"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
