//! Business figures over a time window, measured from the records each pipeline
//! writes: inquiries, report records (`data.generation_ms` is the drafting time)
//! and notification records (one per side effect: `data.channel` is `email`,
//! `slack` or `webhook`, `data.status` is `sent` or `failed`).

use super::records::{self, NOTIFICATIONS_INDEX, REPORTS_INDEX};
use super::{AppError, Deps, InquiryFilter, InquiryService};
use crate::domain::{rfc3339, InquiryStatus, ServiceType};
use crate::ports::{Item, Query, SkRange};
use std::collections::BTreeMap;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Figures {
    pub total_inquiries: usize,
    pub reports_generated: usize,
    pub emails_sent: usize,
    /// Sent over attempted (sent and failed for good) as a percentage, 0 to 100 (the
    /// dashboard prints it with a `%`); 0 when none was attempted.
    pub email_delivery_rate: f64,
    pub avg_report_gen_time_ms: f64,
    pub inquiries_by_service: BTreeMap<&'static str, usize>,
    pub inquiries_by_status: BTreeMap<&'static str, usize>,
}

/// The items of one index partition from `since` (a position, compared as text) on.
pub async fn indexed_since(
    deps: &Deps,
    partition: &str,
    since: &str,
) -> Result<Vec<Item>, AppError> {
    let q = Query::index(partition)
        .range(SkRange::Between(since.to_string(), "~".into()))
        .limit(500);
    records::collect(deps.store.as_ref(), &q).await
}

pub async fn figures(
    deps: &Deps,
    inquiries: &InquiryService,
    since: OffsetDateTime,
) -> Result<Figures, AppError> {
    let since = rfc3339(since);
    let filter = InquiryFilter {
        created: super::inquiries::Created {
            from: Some(since.clone()),
            to: None,
        },
        ..Default::default()
    };
    let (all, reports, notes) = tokio::try_join!(
        inquiries.matching(&filter),
        indexed_since(deps, REPORTS_INDEX, &since),
        indexed_since(deps, NOTIFICATIONS_INDEX, &since),
    )?;

    let mut by_service: BTreeMap<&'static str, usize> =
        ServiceType::ALL.iter().map(|s| (s.id(), 0)).collect();
    let mut by_status: BTreeMap<&'static str, usize> =
        InquiryStatus::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    for i in &all {
        for s in &i.services {
            *by_service.entry(s.id()).or_default() += 1;
        }
        *by_status.entry(i.status.as_str()).or_default() += 1;
    }
    let gen_times: Vec<f64> = reports
        .iter()
        .filter_map(|r| r.data["generation_ms"].as_f64())
        .collect();
    let emails = notes.iter().filter(|n| n.data["channel"] == "email");
    let (sent, failed) = emails.fold((0, 0), |(s, f), n| match n.data["status"].as_str() {
        Some("sent") => (s + 1, f),
        Some("failed") => (s, f + 1),
        _ => (s, f),
    });
    Ok(Figures {
        total_inquiries: all.len(),
        reports_generated: reports.len(),
        emails_sent: sent,
        email_delivery_rate: if sent + failed == 0 {
            0.0
        } else {
            100.0 * sent as f64 / (sent + failed) as f64
        },
        avg_report_gen_time_ms: if gen_times.is_empty() {
            0.0
        } else {
            gen_times.iter().sum::<f64>() / gen_times.len() as f64
        },
        inquiries_by_service: by_service,
        inquiries_by_status: by_status,
    })
}

/// Every notification record, counted by (channel, status): the hook deliveries
/// are the `webhook` channel.
pub async fn notification_counts(
    deps: &Deps,
) -> Result<BTreeMap<(String, String), usize>, AppError> {
    let mut out = BTreeMap::new();
    for n in indexed_since(deps, NOTIFICATIONS_INDEX, "0").await? {
        let key = (
            n.data["channel"].as_str().unwrap_or("unknown").to_string(),
            n.data["status"].as_str().unwrap_or("unknown").to_string(),
        );
        *out.entry(key).or_default() += 1;
    }
    Ok(out)
}
