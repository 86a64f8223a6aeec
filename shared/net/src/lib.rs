//! Adapters over plain internet protocols that both sides use: outbound HTTPS POSTs
//! behind an SSRF guard (`outbound`: Slack, webhooks), and the MIME form of a mail
//! (`mime`), which SES sends raw and the dev server writes as `.eml` files.

pub mod mime;
pub mod outbound;

pub use outbound::ReqwestOutbound;
