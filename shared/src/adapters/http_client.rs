//! Outbound HTTP with reqwest (rustls). Redirects are not followed: a webhook that
//! redirects could otherwise lead the request past the address checks.

use crate::ports::outbound::{Outbound, OutboundError, Post};
use async_trait::async_trait;

#[derive(Clone)]
pub struct ReqwestOutbound {
    client: reqwest::Client,
}

impl ReqwestOutbound {
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "cloud-consulting-backend/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .unwrap_or_default();
        Self { client }
    }
}

impl Default for ReqwestOutbound {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Outbound for ReqwestOutbound {
    async fn post(&self, req: &Post) -> Result<u16, OutboundError> {
        let mut r = self
            .client
            .post(&req.url)
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
