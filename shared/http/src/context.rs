//! Per-request context: a request id (from `x-request-id`, which the Lambda entry
//! point sets to the invocation's id, or new) and a correlation id (from
//! `x-correlation-id`, or the request id) that travels on into queue messages.
//! Both are echoed in the response and stamped on every log line of the request.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;
use tracing::Instrument;

pub const REQUEST_ID: &str = "x-request-id";
pub const CORRELATION_ID: &str = "x-correlation-id";

/// The caller's address: the dev server's peer, or API Gateway's `sourceIp`.
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: String,
    pub correlation_id: String,
}

/// A header value usable as an id: 1 to 128 characters of `[A-Za-z0-9._:-]`.
fn usable_id(v: Option<&HeaderValue>) -> Option<String> {
    let s = v?.to_str().ok()?;
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    ok.then(|| s.to_string())
}

pub async fn request_context(mut req: Request, next: Next) -> Response {
    let request_id =
        usable_id(req.headers().get(REQUEST_ID)).unwrap_or_else(|| ulid::Ulid::new().to_string());
    let correlation_id =
        usable_id(req.headers().get(CORRELATION_ID)).unwrap_or_else(|| request_id.clone());
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        correlation_id = %correlation_id,
        method = %req.method(),
        path = %req.uri().path(),
    );
    if req.extensions().get::<ClientIp>().is_none() {
        let peer = req
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        if let Some(ip) = peer {
            req.extensions_mut().insert(ClientIp(ip));
        }
    }
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().to_string();
    req.extensions_mut().insert(RequestContext {
        request_id: request_id.clone(),
        correlation_id: correlation_id.clone(),
    });
    let started = Instant::now();
    let mut resp = next.run(req).instrument(span.clone()).await;
    let status = resp.status().as_u16();
    super::metrics::observe(&route, &method, status, started.elapsed().as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            status,
            latency_us = started.elapsed().as_micros() as u64,
            "request finished"
        )
    });
    let h = resp.headers_mut();
    for (name, value) in [(REQUEST_ID, request_id), (CORRELATION_ID, correlation_id)] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    resp
}
