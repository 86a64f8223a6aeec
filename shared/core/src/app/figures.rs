//! Business figures, read from the counts (`counters`) that each pipeline adds to
//! as it writes: what each kind of record counts is spelled here, beside the
//! reading, so the two cannot drift apart.
//!
//! | name | counted when | of |
//! | --- | --- | --- |
//! | `i:<status>:<priority>:<service>` (`*` for any) | an inquiry is stored or changes status | inquiries, at their creation time |
//! | `r:<status>:<type>` (`*` for any), `r_us`, `r_by:<template or model>` | a report is stored | reports, their drafting time (µs) |
//! | `n:<channel>:<status>` | a side effect is recorded | notifications (`webhook` is the hooks) |
//! | `m:<role>`, `m_ms`, `m_ms_n` | a chat message is stored | messages, answer latency |
//! | `cs:<status>`, `cu:<admin>:<status>` | a chat session is stored, changes, or is deleted | sessions, at their expiry time, by stored status, all and per admin |

use super::counters::{self, Counts, Source, Tally};
use super::records;
use super::{AppError, Deps};
use crate::domain::chat::{ChatMessage, ChatSession};
use crate::domain::report::{Report, TEMPLATE_AUTHOR};
use crate::domain::{Inquiry, InquiryStatus, Priority, ServiceType};
use crate::ports::{Condition, Item, WriteOp};
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

/// The count of the inquiries with these traits (`None`: any).
pub fn inquiry_name(
    status: Option<InquiryStatus>,
    priority: Option<Priority>,
    service: Option<ServiceType>,
) -> String {
    format!(
        "i:{}:{}:{}",
        status.map_or("*", InquiryStatus::as_str),
        priority.map_or("*", Priority::as_str),
        service.map_or("*", ServiceType::id)
    )
}

/// Adds (`sign` 1) or takes away (-1) one inquiry in every count it belongs to:
/// each combination of its status, priority and services, or any.
pub fn count_inquiry(t: &mut Tally, i: &Inquiry, sign: i64) {
    for status in [Some(i.status), None] {
        for priority in [Some(i.priority), None] {
            for service in i.services.iter().copied().map(Some).chain([None]) {
                t.add(inquiry_name(status, priority, service), sign);
            }
        }
    }
}

/// The counts a new inquiry adds, at its creation.
pub fn inquiry_tally(i: &Inquiry, now: OffsetDateTime) -> Tally {
    let mut t = Tally::at_text(&i.created_at, &records::inquiry_pk(&i.id), now);
    count_inquiry(&mut t, i, 1);
    t
}

/// The count of the reports with this status and type (`None`: any).
pub fn report_name(status: Option<&str>, report_type: Option<&str>) -> String {
    format!("r:{}:{}", status.unwrap_or("*"), report_type.unwrap_or("*"))
}

/// The counts a stored report adds: its listing's filters, who drafted it, and
/// how long that took.
pub fn report_tally(report: &Report, key: &str, generation_ms: f64, now: OffsetDateTime) -> Tally {
    let mut t = Tally::at_text(&report.created_at, key, now);
    let by = if report.generated_by == TEMPLATE_AUTHOR {
        "template"
    } else {
        "model"
    };
    count_report(&mut t, report, 1);
    t.add("r_us", (generation_ms * 1000.0).round() as i64)
        .add(format!("r_by:{by}"), 1);
    t
}

/// Adds (`sign` 1) or takes away (-1) one report in the counts its listing's
/// filters read: by status and type, or any.
pub fn count_report(t: &mut Tally, report: &Report, sign: i64) {
    let status = report.status.as_str();
    for s in [Some(status), None] {
        for ty in [Some(report.report_type.as_str()), None] {
            t.add(report_name(s, ty), sign);
        }
    }
}

/// The counts a recorded side effect adds.
pub fn notification_tally(
    at: &str,
    key: &str,
    channel: &str,
    status: &str,
    now: OffsetDateTime,
) -> Tally {
    let mut t = Tally::at_text(at, key, now);
    t.add(format!("n:{channel}:{status}"), 1);
    t
}

/// The counts a stored chat message adds (`key`: its record's).
pub fn message_tally(m: &ChatMessage, key: &str, now: OffsetDateTime) -> Tally {
    let role = serde_json::to_value(m.role).unwrap_or_default();
    let mut t = Tally::at_text(&m.created_at, key, now);
    t.add(format!("m:{}", role.as_str().unwrap_or_default()), 1);
    if let Some(ms) = m.metadata["latency_ms"].as_i64() {
        t.add("m_ms", ms).add("m_ms_n", 1);
    }
    t
}

/// The name of one admin's session counts: a short digest, since names are short
/// and usernames need not be.
fn admin_key(user: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(user.as_bytes())[..8])
}

/// The session counts by stored status: every admin's, or one admin's.
pub fn session_name(user: Option<&str>, status: &str) -> String {
    match user {
        None => format!("cs:{status}"),
        Some(u) => format!("cu:{}:{status}", admin_key(u)),
    }
}

/// A chat session counted (`delta` 1) or uncounted (-1) at the hour it expires:
/// which hours lie behind the clock says how many have expired.
pub fn session_tally(s: &ChatSession, delta: i64, now: OffsetDateTime) -> Tally {
    let status = s.status.as_str();
    let mut t = Tally::at_text(&s.expires_at, &records::chat_session_pk(&s.id), now);
    t.add(session_name(None, status), delta)
        .add(session_name(Some(&s.user_id), status), delta);
    t
}

/// The kinds of record counted, for the backfill of those stored before the counts.
pub fn sources() -> Vec<Source> {
    let inquiry = |item: &Item, now| {
        let i: Inquiry = serde_json::from_value(item.data.clone()).ok()?;
        Some(inquiry_tally(&i, now))
    };
    let report = |item: &Item, now| {
        let r: Report = serde_json::from_value(item.data.clone()).ok()?;
        let ms = item.data["generation_ms"].as_f64().unwrap_or(0.0);
        Some(report_tally(&r, &item.pk, ms, now))
    };
    let note = |item: &Item, now| {
        let d = &item.data;
        Some(notification_tally(
            d["at"].as_str()?,
            &item.pk,
            d["channel"].as_str()?,
            d["status"].as_str()?,
            now,
        ))
    };
    let message = |item: &Item, now| {
        let m: ChatMessage = serde_json::from_value(item.data.clone()).ok()?;
        Some(message_tally(&m, &item.pk, now))
    };
    let session = |item: &Item, now| {
        let s: ChatSession = serde_json::from_value(item.data.clone()).ok()?;
        Some(session_tally(&s, 1, now))
    };
    let expiry = |item: &Item| {
        serde_json::from_value::<ChatSession>(item.data.clone())
            .map(|s| {
                vec![WriteOp::Put {
                    item: records::chat_expiry_entry(&s, item.expires_at),
                    condition: Condition::None,
                }]
            })
            .unwrap_or_default()
    };
    vec![
        Source {
            partitions: InquiryStatus::ALL
                .iter()
                .map(|s| records::inquiries_in(*s))
                .chain([records::LEGACY_INQUIRIES.to_string()])
                .collect(),
            ..Source::of_index("inquiries", records::LEGACY_INQUIRIES, inquiry)
        },
        Source::of_index("reports", records::REPORTS_INDEX, report),
        Source::of_index("notifications", records::NOTIFICATIONS_INDEX, note),
        Source::of_index("chat messages", records::CHAT_MESSAGES_INDEX, message),
        Source {
            name: "chat sessions",
            partitions: vec![records::CHAT_SESSIONS_INDEX.into()],
            tally: session,
            beside: expiry,
        },
    ]
}

/// Counts up to `max` records stored before the counts existed (0 once done).
pub async fn backfill(deps: &Deps, max: usize) -> Result<usize, AppError> {
    counters::Backfill {
        store: deps.store.as_ref(),
        sources: sources(),
        now: deps.clock.now(),
    }
    .run(max)
    .await
}

/// The figures of the whole hours from the one holding `since` to now.
pub async fn figures(deps: &Deps, since: OffsetDateTime) -> Result<Figures, AppError> {
    let c = counters::between(deps.store.as_ref(), since, deps.clock.now()).await?;
    let n = |name: &str| c.get(name).max(0) as usize;
    let inquiries_by_service = ServiceType::ALL
        .iter()
        .map(|s| (s.id(), n(&inquiry_name(None, None, Some(*s)))))
        .collect();
    let inquiries_by_status = InquiryStatus::ALL
        .iter()
        .map(|s| (s.as_str(), n(&inquiry_name(Some(*s), None, None))))
        .collect();
    let (sent, failed) = (n("n:email:sent"), n("n:email:failed"));
    let reports = n(&report_name(None, None));
    Ok(Figures {
        total_inquiries: n(&inquiry_name(None, None, None)),
        reports_generated: reports,
        emails_sent: sent,
        email_delivery_rate: if sent + failed == 0 {
            0.0
        } else {
            100.0 * sent as f64 / (sent + failed) as f64
        },
        avg_report_gen_time_ms: if reports == 0 {
            0.0
        } else {
            c.get("r_us") as f64 / 1000.0 / reports as f64
        },
        inquiries_by_service,
        inquiries_by_status,
    })
}

/// Every count ever (the scrape's business gauges).
pub async fn totals(deps: &Deps) -> Result<Counts, AppError> {
    counters::totals(deps.store.as_ref()).await
}
