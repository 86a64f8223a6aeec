//! Fills a dev server's data directory for the scale benchmark (`make bench-scale`):
//! inquiries submitted through the same use case the public route calls (every
//! third moved on to processing, every tenth with a template report), one chat
//! session of many messages for one admin, the change feed relayed and the counts'
//! backfill walked, so that a dev server started on the directory finds a settled
//! store, as one that has been running for a while would.

use backend_core::app::chat::{ChatConfig, ChatService, NoSink};
use backend_core::app::drafting::Drafter;
use backend_core::app::limits::WindowLimit;
use backend_core::app::reports::ReportService;
use backend_core::app::{counters, figures, Deps, FeedRelay, InquiryService};
use backend_core::domain::chat::{SessionFields, SessionId};
use backend_core::domain::{rfc3339, DomainEvent, EventType, InquiryStatus, ServiceType};
use backend_core::ports::SystemClock;
use futures::StreamExt;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// What to store.
pub struct Seed {
    pub inquiries: usize,
    pub messages: usize,
    /// The admin the chat session belongs to (a token's subject, `admin:<username>`).
    pub chat_user: String,
}

/// Stores `seed` in `data_dir` and returns the chat session's id.
pub async fn seed(data_dir: &Path, seed: &Seed) -> anyhow::Result<SessionId> {
    let adapters = backend_embedded::open(data_dir, backend_core::app::outbox::feed_filter())?;
    let blobs = adapters
        .blobs
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no file store"))?;
    let feed = adapters
        .feed
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no change feed"))?;
    let deps = Deps::new(adapters, Arc::new(SystemClock));
    let inquiries = InquiryService::new(deps.clone());
    let reports = ReportService::new(deps.clone(), blobs, Arc::new(Drafter::template_only()));

    futures::stream::iter(0..seed.inquiries)
        .map(|i| {
            let (inquiries, reports) = (inquiries.clone(), reports.clone());
            async move { one_inquiry(&inquiries, &reports, i).await }
        })
        .buffer_unordered(8)
        .for_each(|r| {
            if let Err(e) = r {
                eprintln!("seeding an inquiry failed: {e}");
            }
            futures::future::ready(())
        })
        .await;

    let chat = ChatService::new(
        deps.clone(),
        None,
        ChatConfig {
            template_pause: Duration::ZERO,
            answers_per_admin: WindowLimit {
                max: u64::MAX,
                per: Duration::from_secs(60),
            },
            ..ChatConfig::default()
        },
    );
    let session = chat
        .create(&seed.chat_user, SessionFields::default())
        .await?;
    for i in 0..seed.messages.div_ceil(2) {
        let question = format!("What would a migration of {i} servers take?");
        chat.answer(&session, &question, None, &NoSink).await?;
    }

    // What a dev server's relay loop would have done by now: the outbox entries
    // reach the queues, and the counts' backfill has walked what it must (here all
    // of it is counted already), so it does not run beside the measurements.
    let relay = FeedRelay::new(deps.clone(), feed);
    while relay.run_once().await?.more {}
    while !counters::backfill_done(deps.store.as_ref()).await? {
        figures::backfill(&deps, 10_000).await?;
    }
    Ok(session.id)
}

async fn one_inquiry(
    inquiries: &InquiryService,
    reports: &ReportService,
    i: usize,
) -> anyhow::Result<()> {
    let service = ServiceType::ALL[i % ServiceType::ALL.len()];
    let body = json!({
        "name": "Seed Prospect",
        "email": format!("seed{i}@example.com"),
        "company": "Seed Co",
        "services": [service.id()],
        "message": "We run forty virtual machines on premises and want a plan.",
    });
    let inquiry = inquiries.submit(&body, None, "seed").await?.inquiry;
    if i.is_multiple_of(3) {
        inquiries
            .change_status(&inquiry.id, InquiryStatus::Processing, None, "seed", "seed")
            .await?;
    }
    if i.is_multiple_of(10) {
        let event = DomainEvent {
            id: DomainEvent::new_id(ulid::Ulid::new()),
            event_type: EventType::InquiryCreated,
            inquiry_id: inquiry.id.to_string(),
            occurred_at: rfc3339(time::OffsetDateTime::now_utc()),
            correlation_id: "seed".into(),
            payload: json!({}),
        };
        reports.handle(&serde_json::to_string(&event)?).await?;
    }
    Ok(())
}
