//! Operational metrics: a Prometheus registry fed by the request middleware and read
//! at `/api/v1/metrics`, plus CloudWatch Embedded Metric Format lines when running in
//! Lambda (where a scrape would only see one instance).

use super::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use backend_core::app::figures::inquiry_name;
use backend_core::domain::{InquiryStatus, ServiceType};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::sync::{Arc, LazyLock};

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    inquiries: IntGaugeVec,
    reports: IntGaugeVec,
    reports_failed: prometheus::IntGauge,
    notifications: IntGaugeVec,
    chat_messages: IntGaugeVec,
}

pub static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let registry = Registry::new();
    let requests = IntCounterVec::new(
        Opts::new(
            "http_requests_total",
            "HTTP requests by route, method and status",
        ),
        &["route", "method", "status"],
    )
    .expect("valid metric");
    let latency = HistogramVec::new(
        HistogramOpts::new(
            "http_request_duration_seconds",
            "HTTP request latency by route and method",
        )
        .buckets(vec![
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        ]),
        &["route", "method"],
    )
    .expect("valid metric");
    let inquiries = IntGaugeVec::new(
        Opts::new("inquiries", "Stored inquiries by service and status"),
        &["service", "status"],
    )
    .expect("valid metric");
    let reports = IntGaugeVec::new(
        Opts::new(
            "reports_generated",
            "Stored reports by who drafted them (model or template)",
        ),
        &["drafted_by"],
    )
    .expect("valid metric");
    let reports_failed = prometheus::IntGauge::new(
        "reports_failed",
        "Report jobs that failed for good (in the reports dead-letter queue)",
    )
    .expect("valid metric");
    let notifications = IntGaugeVec::new(
        Opts::new("notifications", "Notification side effects by channel (email, slack, webhook) and status (sent, failed)"),
        &["channel", "status"],
    )
    .expect("valid metric");
    let chat_messages = IntGaugeVec::new(
        Opts::new(
            "chat_messages",
            "Stored chat messages by role (user, assistant)",
        ),
        &["role"],
    )
    .expect("valid metric");
    for c in [
        Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
        Box::new(latency.clone()),
        Box::new(inquiries.clone()),
        Box::new(reports.clone()),
        Box::new(reports_failed.clone()),
        Box::new(notifications.clone()),
        Box::new(chat_messages.clone()),
    ] {
        registry.register(c).expect("metric registered once");
    }
    Metrics {
        registry,
        requests,
        latency,
        inquiries,
        reports,
        reports_failed,
        notifications,
        chat_messages,
    }
});

/// Whether this process runs in Lambda, where EMF lines are the metrics channel.
static IN_LAMBDA: LazyLock<bool> =
    LazyLock::new(|| std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some());

pub fn observe(route: &str, method: &str, status: u16, seconds: f64) {
    let m = &*METRICS;
    m.requests
        .with_label_values(&[route, method, &status.to_string()])
        .inc();
    m.latency
        .with_label_values(&[route, method])
        .observe(seconds);
    if *IN_LAMBDA {
        println!(
            "{}",
            emf_line(
                route,
                method,
                status,
                seconds,
                time::OffsetDateTime::now_utc().unix_timestamp() * 1000
            )
        );
    }
}

/// One CloudWatch Embedded Metric Format record: latency and error count by route.
pub fn emf_line(route: &str, method: &str, status: u16, seconds: f64, now_ms: i64) -> String {
    serde_json::json!({
        "_aws": {
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{
                "Namespace": "CloudConsulting",
                "Dimensions": [["Route"]],
                "Metrics": [
                    {"Name": "Latency", "Unit": "Milliseconds"},
                    {"Name": "Errors", "Unit": "Count"},
                    {"Name": "ClientErrors", "Unit": "Count"}
                ]
            }]
        },
        "Route": format!("{method} {route}"),
        "Latency": seconds * 1000.0,
        "Errors": u8::from(status >= 500),
        "ClientErrors": u8::from((400..500).contains(&status)),
    })
    .to_string()
}

pub async fn prometheus(State(s): State<Arc<AppState>>) -> Response {
    let m = &*METRICS;
    // Business figures come from the counts at scrape time (a few items, whatever
    // the table holds), so every instance reports the same truth.
    match backend_core::app::figures::totals(&s.deps).await {
        Ok(c) => {
            let n = |name: &str| c.get(name);
            m.inquiries.reset();
            for svc in ServiceType::ALL {
                for st in InquiryStatus::ALL {
                    m.inquiries
                        .with_label_values(&[svc.id(), st.as_str()])
                        .set(n(&inquiry_name(Some(st), None, Some(svc))));
                }
            }
            for by in ["template", "model"] {
                m.reports
                    .with_label_values(&[by])
                    .set(n(&format!("r_by:{by}")));
            }
            m.notifications.reset();
            for (key, v) in c.with_prefix("n:") {
                if let Some((channel, status)) = key.split_once(':') {
                    m.notifications.with_label_values(&[channel, status]).set(v);
                }
            }
            for role in ["user", "assistant"] {
                m.chat_messages
                    .with_label_values(&[role])
                    .set(n(&format!("m:{role}")));
            }
        }
        Err(e) => tracing::warn!(error = %e, "business figures unavailable for the scrape"),
    }
    match s
        .deps
        .queue
        .dead_letter_count(backend_core::ports::QueueName::Reports)
        .await
    {
        Ok(n) => m.reports_failed.set(n as i64),
        Err(e) => tracing::warn!(error = %e, "dead-letter depth unavailable for the scrape"),
    }
    let mut buf = Vec::new();
    if TextEncoder::new()
        .encode(&m.registry.gather(), &mut buf)
        .is_err()
    {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        buf,
    )
        .into_response()
}
