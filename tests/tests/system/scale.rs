//! A request's cost must not grow with the data: each admin read, the scrape and
//! chat history read the same number of items with ten times the inquiries (and
//! chat messages) stored: 50 and 500 on SQLite, 10 and 100 on DynamoDB (moto, whose
//! every transaction copies the whole table and its stream). Pages are small, so
//! that even the smaller store fills each one. The items are counted by a wrapper
//! around the item store, under the dev server's routes. Chat sessions that expired
//! days ago (40 and a fifth as many as the inquiries) are stored beside them.

use backend_core::app::chat::ChatService;
use backend_core::app::drafting::Drafter;
use backend_core::app::reports::ReportService;
use backend_core::app::worker::{Consumer, QueueWork, BATCH_CONCURRENCY};
use backend_core::app::{AppError, Deps, InquiryService};
use backend_core::domain::chat::SessionFields;
use backend_core::domain::{rfc3339, DomainEvent, EventType, InquiryStatus};
use backend_core::ports::clock::FixedClock;
use backend_core::ports::{Adapters, Clock, Message, QueueName};
use futures::StreamExt;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use system_tests::CountingStore;
use system_tests::{inquiry_body, spawn_app_on, ADMIN_USER, OTHER_ADMIN};
use time::OffsetDateTime;

/// The reads each request makes, by name.
type Costs = BTreeMap<&'static str, usize>;

/// Stores `n` inquiries (every third moved on to processing, every fifth with a
/// report) and a chat session of `n` messages, then makes each read once and
/// counts the items it read.
/// `concurrency`: seeding writes at once (moto's transactions are not safe side by
/// side: each copies the whole table).
async fn costs_with(adapters: Adapters, n: usize, concurrency: usize, at: OffsetDateTime) -> Costs {
    // Everything happens in one hour: the counts' buckets are the same in each run.
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(at));
    let counting = CountingStore::new(adapters.store.clone());
    let adapters = Adapters {
        store: counting.clone(),
        ..adapters
    };
    let app = spawn_app_on(adapters.clone(), clock.clone(), |c| {
        c.workers = false;
        // No scheduled pass during the counting.
        c.relay_every = Duration::from_secs(3600);
        c.chat.answers_per_admin.max = 1_000_000;
    })
    .await;
    let token = app.token().await;
    let deps = Deps::new(adapters.clone(), clock);
    let inquiries = InquiryService::new(deps.clone());
    let reports = ReportService::new(
        deps.clone(),
        adapters.blobs.clone().expect("a file store"),
        Arc::new(Drafter::template_only()),
    );
    let services = [
        "migration",
        "assessment",
        "optimization",
        "architecture_review",
    ];
    let stored: Vec<_> = futures::stream::iter(0..n)
        .map(|i| {
            let inquiries = inquiries.clone();
            async move {
                let mut body = inquiry_body();
                body["services"] = json!([services[i % services.len()]]);
                inquiries.submit(&body, None, "seed").await.unwrap().inquiry
            }
        })
        .buffered(concurrency)
        .collect()
        .await;
    futures::stream::iter(stored.iter().enumerate())
        .for_each_concurrent(concurrency, |(i, inq)| {
            let (inquiries, reports) = (inquiries.clone(), reports.clone());
            async move {
                if i % 3 == 0 {
                    inquiries
                        .change_status(&inq.id, InquiryStatus::Processing, None, "t", "c")
                        .await
                        .unwrap();
                }
                if i % 5 == 0 {
                    let event = DomainEvent {
                        id: DomainEvent::new_id(ulid::Ulid::new()),
                        event_type: EventType::InquiryCreated,
                        inquiry_id: inq.id.to_string(),
                        occurred_at: rfc3339(at),
                        correlation_id: "seed".into(),
                        payload: json!({}),
                    };
                    reports
                        .handle(&serde_json::to_string(&event).unwrap())
                        .await
                        .unwrap();
                }
            }
        })
        .await;
    let (s, v) = app
        .admin_post_json(
            "/api/v1/admin/simple-chat/messages",
            &token,
            &json!({"content": "hello"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let sessions = app
        .admin_json("/api/v1/admin/chat/sessions", &token)
        .await
        .1;
    let session = sessions["data"]["sessions"][0]["id"]
        .as_str()
        .expect("the chat's session")
        .to_string();
    for _ in 1..n / 2 {
        let (s, v) = app
            .admin_post_json(
                "/api/v1/admin/simple-chat/messages",
                &token,
                &json!({"content": "and then?", "session_id": session}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }

    // Sessions that expired days ago, one of them another admin's: the session
    // figures and listing must not read them. At least 40, so that every shard of
    // their count buckets is written in both runs (shards go by random ids) and
    // what is read differs only by what grows.
    let old_sessions = n / 5 + 40;
    let past: Arc<dyn Clock> = Arc::new(FixedClock(at - Duration::from_secs(3 * 24 * 3600)));
    let before = ChatService::new(Deps::new(adapters.clone(), past), None, Default::default());
    for i in 0..old_sessions {
        // Sessions belong to the token's subject.
        let user = format!("admin:{}", if i == 0 { OTHER_ADMIN } else { ADMIN_USER });
        before
            .create(&user, SessionFields::default())
            .await
            .unwrap();
    }

    // A filter on service or priority is applied to each record read, so that
    // listing reads in proportion to the page over the filter's share of the data,
    // not to the data: it is not among these.
    let reads: [(&'static str, String); 12] = [
        (
            "inquiries, first page",
            "/api/v1/admin/inquiries?limit=3".into(),
        ),
        (
            "inquiries, a later page",
            "/api/v1/admin/inquiries?limit=1&offset=2".into(),
        ),
        (
            "inquiries by status",
            "/api/v1/admin/inquiries?status=processing&limit=3".into(),
        ),
        ("inquiries, cursor page", "/api/v1/inquiries?limit=3".into()),
        ("reports", "/api/v1/admin/reports?limit=1".into()),
        ("metrics 90d", "/api/v1/admin/metrics?time_range=90d".into()),
        ("scrape", "/api/v1/metrics".into()),
        (
            "chat history",
            format!("/api/v1/admin/chat/sessions/{session}/history?limit=3"),
        ),
        (
            "chat messages",
            format!("/api/v1/admin/chat/messages?session_id={session}&limit=3"),
        ),
        ("chat metrics", "/api/v1/admin/chat/metrics".into()),
        (
            "chat sessions",
            "/api/v1/admin/chat/sessions?limit=1".into(),
        ),
        (
            "active chat sessions",
            "/api/v1/admin/chat/sessions?status=active&limit=1".into(),
        ),
    ];
    fill_every_shard(adapters.store.as_ref(), at).await;
    let mut costs = Costs::new();
    for (name, path) in reads {
        counting.take();
        let resp = app.admin_get(&path, &token).await;
        assert_eq!(resp.status(), 200, "{name}: {}", resp.text().await.unwrap());
        costs.insert(name, counting.take());
    }
    // The totals are right, so the reads are not cheap by being wrong.
    let (_, v) = app
        .admin_json("/api/v1/admin/inquiries?limit=1", &token)
        .await;
    assert_eq!(v["total"], n, "{v}");
    let (_, v) = app
        .admin_json("/api/v1/admin/inquiries?status=processing&limit=1", &token)
        .await;
    assert_eq!(v["total"], n.div_ceil(3), "{v}");
    let (_, v) = app
        .admin_json("/api/v1/admin/reports?limit=1", &token)
        .await;
    assert_eq!(v["total"], n.div_ceil(5), "{v}");
    let (_, v) = app
        .admin_json(
            &format!("/api/v1/admin/chat/sessions/{session}/history?limit=1"),
            &token,
        )
        .await;
    assert_eq!(v["data"]["stats"]["total_messages"], n, "{v}");
    let (_, v) = app.admin_json("/api/v1/admin/chat/metrics", &token).await;
    assert_eq!(v["data"]["total_sessions"], 1 + old_sessions, "{v}");
    assert_eq!(v["data"]["expired_sessions"], old_sessions, "{v}");
    assert_eq!(v["data"]["active_sessions"], 1, "{v}");
    let (_, v) = app
        .admin_json("/api/v1/admin/chat/sessions?status=expired&limit=1", &token)
        .await;
    assert_eq!(v["data"]["total_count"], old_sessions - 1, "{v}");
    costs
}

/// Puts an item on every shard of the count buckets of `at` (hour, day, month, all
/// time), as a store past its first handful of records has: with few records some
/// shards hold nothing yet, and reading a bucket then returns fewer items, which would
/// make the smaller store look costlier to read from than the larger one only by chance.
/// The four record keys fall on the four shards (FNV-1a, `counters::shard_of`); the
/// count they add has a name nothing reads.
async fn fill_every_shard(store: &dyn backend_core::ports::ItemStore, at: OffsetDateTime) {
    use backend_core::app::counters::Tally;
    for i in 0..4 {
        let mut tally = Tally::at(at, &format!("shard-fill-{i}"));
        tally.add("test:shard-fill", 1);
        store.write(tally.writes()).await.unwrap();
    }
}

async fn reads_do_not_grow_with_the_data(
    adapters: impl Fn() -> futures::future::BoxFuture<'static, Adapters>,
    concurrency: usize,
    n: usize,
) {
    let at = OffsetDateTime::now_utc();
    let small = costs_with(adapters().await, n, concurrency, at).await;
    let large = costs_with(adapters().await, 10 * n, concurrency, at).await;
    eprintln!(
        "items read per request, {n} and {} stored: {small:?} {large:?}",
        10 * n
    );
    assert_eq!(
        small,
        large,
        "items read with {n} and with {} stored",
        10 * n
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_reads_do_not_grow_with_the_data() {
    reads_do_not_grow_with_the_data(
        || Box::pin(async { system_tests::embedded_adapters() }),
        8,
        50,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_dynamodb_reads_do_not_grow_with_the_data() {
    // Fewer on moto, whose every transaction copies the whole table and its stream.
    reads_do_not_grow_with_the_data(|| Box::pin(system_tests::aws_adapters()), 1, 10).await;
}

/// Work that takes a while and records how many of its calls overlapped.
#[derive(Default)]
struct SlowWork {
    running: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl QueueWork for SlowWork {
    async fn work(&self, _body: &str, _count: u32) -> Result<(), AppError> {
        use std::sync::atomic::Ordering::SeqCst;
        let now = self.running.fetch_add(1, SeqCst) + 1;
        self.most.fetch_max(now, SeqCst);
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.running.fetch_sub(1, SeqCst);
        Ok(())
    }
}

/// The dev server's workers drain a batch concurrently, a bounded number at once,
/// rather than one message after another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workers_batch_is_worked_on_concurrently_and_bounded() {
    let adapters = system_tests::embedded_adapters();
    for i in 0..2 * BATCH_CONCURRENCY {
        let msg = Message {
            id: format!("m{i}"),
            body: "{}".into(),
        };
        adapters.queue.send(QueueName::Events, &msg).await.unwrap();
    }
    let consumer = Consumer {
        queue: adapters.queue.clone(),
        name: QueueName::Events,
        visibility: Duration::from_secs(60),
        idle: Duration::ZERO,
    };
    let work = SlowWork::default();
    let mut done = 0;
    while done < 2 * BATCH_CONCURRENCY {
        done += consumer.once(&work).await.unwrap();
    }
    let most = work.most.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(most, BATCH_CONCURRENCY, "messages worked on at once");
}

/// A worker's batch costs a few store calls, not a few per message: ten reports,
/// then the ten confirmations and the ten consultants' e-mails they lead to, each
/// batch of ten in about as many calls as a batch of one, with every effect done
/// once and recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workers_batch_costs_a_few_store_calls_not_a_few_per_message() {
    use backend_core::app::notify::Notifier;
    let adapters = system_tests::embedded_adapters();
    let counting = CountingStore::new(adapters.store.clone());
    let counted = Adapters {
        store: counting.clone(),
        ..adapters.clone()
    };
    let deps = Deps::new(counted.clone(), Arc::new(backend_core::ports::SystemClock));
    for i in 0..11 {
        let mut body = inquiry_body();
        body["email"] = json!(format!("prospect{i}@example.com"));
        InquiryService::new(deps.clone())
            .submit(&body, None, "c")
            .await
            .unwrap();
    }
    let reports = ReportService::new(
        deps.clone(),
        adapters.blobs.clone().expect("a file store"),
        Arc::new(Drafter::template_only()),
    );
    let mailer = Arc::new(system_tests::RecordingMailer::default());
    let notifier = Notifier::new(
        deps.clone(),
        mailer.clone(),
        Arc::new(backend_net::outbound::ReqwestOutbound::allowing_private()),
        system_tests::notify_config(None),
    );

    /// Works one received batch; returns its size and the store calls it cost.
    async fn work(
        work: &dyn QueueWork,
        adapters: &Adapters,
        counting: &CountingStore,
        queue: QueueName,
        max: usize,
    ) -> (usize, usize) {
        system_tests::relay(adapters).await;
        let batch = adapters
            .queue
            .receive(queue, max, Duration::from_secs(60))
            .await
            .unwrap();
        let items: Vec<(&str, u32)> = batch.iter().map(|d| (d.body.as_str(), 1)).collect();
        counting.take_calls();
        let outcomes = work.work_all(&items).await;
        let calls = counting.take_calls();
        assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
        let receipts: Vec<String> = batch.iter().map(|d| d.receipt.clone()).collect();
        adapters.queue.ack_many(queue, &receipts).await.unwrap();
        (batch.len(), calls)
    }

    let (one, one_report) = work(&reports, &adapters, &counting, QueueName::Reports, 1).await;
    let (ten, ten_reports) = work(&reports, &adapters, &counting, QueueName::Reports, 10).await;
    assert_eq!((one, ten), (1, 10));
    let (one, one_notice) = work(&notifier, &adapters, &counting, QueueName::Events, 1).await;
    let (ten, ten_created) = work(&notifier, &adapters, &counting, QueueName::Events, 10).await;
    assert_eq!((one, ten), (1, 10));
    let (ten, ten_generated) = work(&notifier, &adapters, &counting, QueueName::Events, 10).await;
    assert_eq!(ten, 10);
    eprintln!(
        "store calls: reports {one_report} for 1, {ten_reports} for 10; \
         notifications {one_notice} for 1, {ten_created} and {ten_generated} for 10"
    );
    // One read for the batch, then its records packed into batches of at most 25
    // operations (about three reports' or notifications' records each); a message
    // on its own cost about six calls before.
    assert!(
        one_report <= 2 && ten_reports <= 6,
        "reports cost {one_report} calls for one, {ten_reports} for ten"
    );
    // Notifications: the hooks, two reads, the records (written as their events
    // finish; here they finish together) and the confirmation caps.
    assert!(
        one_notice <= 5 && ten_created <= 8 && ten_generated <= 8,
        "notifications cost {one_notice} calls for one, {ten_created} and {ten_generated} for ten"
    );

    // Every effect once: 11 reports, 11 confirmations, 10 consultants' e-mails so
    // far (the eleventh's event is still queued), each recorded.
    let sent = mailer.sent.lock().unwrap().clone();
    let to_prospects = sent
        .iter()
        .filter(|m| m.to[0].as_str().starts_with("prospect"))
        .count();
    assert_eq!((sent.len(), to_prospects), (21, 11));
    let totals = backend_core::app::figures::totals(&deps).await.unwrap();
    let all_reports = backend_core::app::figures::report_name(None, None);
    assert_eq!(totals.get(&all_reports), 11);
    assert_eq!(totals.get("n:email:sent"), 21);
}

/// A deep offset page reads what it returns and at most a page more of each status
/// partition, not its whole depth from every partition: 410 pending and 410 in
/// processing, page 41 of 10.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deep_page_reads_its_depth_once() {
    let adapters = system_tests::embedded_adapters();
    let counting = CountingStore::new(adapters.store.clone());
    let clock: Arc<dyn Clock> = Arc::new(backend_core::ports::SystemClock);
    let svc = InquiryService::new(Deps::new(
        Adapters {
            store: counting.clone(),
            ..adapters
        },
        clock,
    ));
    let stored: Vec<_> = futures::stream::iter(0..820)
        .map(|_| {
            let svc = svc.clone();
            async move {
                svc.submit(&inquiry_body(), None, "seed")
                    .await
                    .unwrap()
                    .inquiry
            }
        })
        .buffered(8)
        .collect()
        .await;
    futures::stream::iter(stored.iter().step_by(2))
        .for_each_concurrent(8, |inq| {
            let svc = svc.clone();
            async move {
                svc.change_status(&inq.id, InquiryStatus::Processing, None, "t", "c")
                    .await
                    .unwrap();
            }
        })
        .await;
    counting.take();
    let page = svc.page(&Default::default(), 400, 10).await.unwrap();
    assert_eq!(page.len(), 10);
    let mut newest_first: Vec<_> = stored
        .iter()
        .map(|i| (i.created_at.clone(), i.id.to_string()))
        .collect();
    newest_first.sort_by(|a, b| b.cmp(a));
    let newest_first: Vec<String> = newest_first[400..410]
        .iter()
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(
        page.iter().map(|i| i.id.to_string()).collect::<Vec<_>>(),
        newest_first
    );
    let read = counting.take();
    // 410 returned or passed over, and at most one page of 100 more per partition.
    assert!(
        read <= 410 + 2 * 100,
        "{read} index entries read for a page at 400"
    );
}
