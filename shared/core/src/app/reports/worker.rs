//! The report worker: a batch of `inquiry_created` events drafted into reports,
//! each exactly once: what the batch needs read at once, the drafts side by side,
//! their files stored, and their records written packed (or alone, reading afresh,
//! when a packed write is refused).

use super::*;

impl ReportService {
    /// Handles one queue message body. Safe to call again with the same message.
    pub async fn handle(&self, body: &str) -> Result<Outcome, AppError> {
        let mut outcomes = self.handle_all(&[body]).await;
        outcomes.pop().unwrap_or(Ok(Outcome::Ignored))
    }

    /// Handles a batch of message bodies, in one read for the lot of what they
    /// need (whether each report exists, its inquiry, the erasure's record, the
    /// inquiry's shelf), their drafts side by side, and the records in as few
    /// writes as hold them; outcomes in the batch's order. A write refused (a
    /// report of the same inquiry shelved meanwhile, a duplicate delivery, an
    /// erasure) is done again report by report, reading afresh.
    pub async fn handle_all(&self, bodies: &[&str]) -> Vec<Result<Outcome, AppError>> {
        let jobs: Vec<Result<Option<(DomainEvent, InquiryId)>, AppError>> =
            bodies.iter().map(|b| parse_job(b)).collect();
        let mut keys = Vec::new();
        for (event, inquiry) in jobs.iter().flatten().flatten() {
            let id = ReportId::for_event(&event.id);
            keys.push((
                records::report_pointer_pk(&id),
                REPORT_POINTER_SK.to_string(),
            ));
            keys.extend(erasure::live_keys(inquiry));
            keys.push((records::inquiry_pk(inquiry), REPORTS_SHELF_SK.to_string()));
        }
        let read = match records::get_all(self.deps.store.as_ref(), &keys).await {
            Ok(read) => read,
            Err(e) => {
                let why = e.to_string();
                return bodies
                    .iter()
                    .map(|_| Err(AppError::Unavailable(why.clone())))
                    .collect();
            }
        };
        let mut read = read.chunks(4);
        // Each job that is to be drafted: its event, inquiry and shelf as read.
        let mut outcomes: Vec<Option<Result<Outcome, AppError>>> = Vec::new();
        let mut todo = Vec::new();
        for (i, job) in jobs.into_iter().enumerate() {
            let (event, _) = match job {
                Err(e) => {
                    outcomes.push(Some(Err(e)));
                    continue;
                }
                Ok(None) => {
                    outcomes.push(Some(Ok(Outcome::Ignored)));
                    continue;
                }
                Ok(Some(job)) => job,
            };
            let Some([pointer, inquiry, fence, shelf]) = read.next() else {
                outcomes.push(Some(Ok(Outcome::Ignored)));
                continue;
            };
            let id = ReportId::for_event(&event.id);
            outcomes.push(
                match (pointer, erasure::live(inquiry.as_ref(), fence.as_ref())) {
                    (Some(_), _) => Some(Ok(Outcome::AlreadyDone(id))),
                    (None, Err(e)) => Some(Err(e)),
                    // Erased after the event was written: it is dropped, not delivered.
                    (None, Ok(None)) => Some(Ok(Outcome::Ignored)),
                    (None, Ok(Some(inquiry))) => {
                        todo.push((i, event, inquiry, shelf.clone()));
                        None
                    }
                },
            );
        }

        let drafted =
            crate::app::worker::each(&todo, crate::app::worker::BATCH_CONCURRENCY, |job| {
                self.draft(&job.1, &job.2)
            })
            .await;
        let mut units = Vec::new();
        let mut written = Vec::new();
        for ((i, _, _, shelf), drafted) in todo.iter().zip(drafted) {
            match drafted {
                Ok(d) => {
                    units.push(d.writes(Self::shelved(&d.report, shelf.as_ref())));
                    written.push((*i, d));
                }
                Err(e) => outcomes[*i] = Some(Err(e)),
            }
        }
        let store = self.deps.store.as_ref();
        for (batch, members) in counters::packed(&units) {
            let together = store.write(batch).await;
            for m in members {
                let (i, d) = &written[m];
                outcomes[*i] = Some(match &together {
                    Ok(()) => {
                        d.logged();
                        Ok(Outcome::Generated(d.report.id.clone()))
                    }
                    Err(_) => self.store_alone(d).await,
                });
            }
        }
        outcomes
            .into_iter()
            .map(|o| o.unwrap_or(Ok(Outcome::Ignored)))
            .collect()
    }

    /// Drafts the report of `event` on `inquiry` and stores its files; what is left
    /// is to write its records.
    async fn draft(&self, event: &DomainEvent, inquiry: &Inquiry) -> Result<Drafted, AppError> {
        let id = ReportId::for_event(&event.id);
        let started = Instant::now();
        let drafted = self.drafter.draft(inquiry).await;
        let generation_ms = started.elapsed().as_secs_f64() * 1000.0;

        let now = self.deps.clock.now();
        let at = rfc3339(now);
        // Unique per attempt: two workers racing on one message each write their own
        // files, and the record that wins points at the winner's.
        let attempt = self.deps.ulid().to_string().to_lowercase();
        let base = format!("{}/{id}-{attempt}", erasure::reports_folder(&inquiry.id));
        let report = Report {
            id: id.clone(),
            inquiry_id: inquiry.id.clone(),
            report_type: inquiry
                .services
                .first()
                .map_or("general", |s| s.report_type())
                .to_string(),
            title: title_for(inquiry),
            content: drafted.markdown,
            status: ReportStatus::Draft,
            generated_by: drafted.generated_by,
            reviewed_by: None,
            s3_key: format!("{base}.md"),
            created_at: at.clone(),
            updated_at: at.clone(),
        };
        // Blobs first: a record never points at a file that is not there.
        let html = crate::app::render::report_page(&report, inquiry);
        self.put(
            &report.s3_key,
            report.content.clone().into_bytes(),
            "text/markdown; charset=utf-8",
        )
        .await?;
        self.put(
            &format!("{base}.html"),
            html.into_bytes(),
            "text/html; charset=utf-8",
        )
        .await?;

        let generated = DomainEvent {
            id: DomainEvent::new_id(self.deps.ulid()),
            event_type: EventType::ReportGenerated,
            inquiry_id: inquiry.id.to_string(),
            occurred_at: at.clone(),
            correlation_id: event.correlation_id.clone(),
            payload: json!({"report_id": id, "generated_by": report.generated_by, "source_event_id": event.id}),
        };
        let outgoing = Outgoing::new(&self.deps, &generated, &[QueueName::Events]);
        let mut data = serde_json::to_value(&report).unwrap_or_default();
        data["generation_ms"] = json!(generation_ms);
        let sk = records::report_sk(&at, &id);
        let record = counters::mark(
            Item::new(records::inquiry_pk(&inquiry.id), &sk, data)
                .indexed(REPORTS_INDEX, format!("{at}#{id}")),
        );
        let tally = figures::report_tally(&report, &record.pk, generation_ms, now);
        let pointer = Item::new(
            records::report_pointer_pk(&id),
            REPORT_POINTER_SK,
            json!({"inquiry_id": inquiry.id, "sk": sk}),
        );
        Ok(Drafted {
            report,
            record,
            pointer,
            outgoing,
            tally,
            generation_ms,
        })
    }

    /// The write that puts `report` on its inquiry's shelf as read (`None`: no
    /// shelf): conditional on that shelf, so two reports written at once cannot
    /// drop each other. An inquiry stored before shelves existed gets its shelf
    /// when its records are written alone (`shelve`).
    fn shelved(report: &Report, shelf: Option<&Item>) -> WriteOp {
        let (mut reports, condition, version) = match shelf {
            Some(s) => match ReportRecords::shelf_of(s) {
                Ok(reports) => (reports, Condition::Version(s.version), s.version + 1),
                // Unreadable: a condition that cannot hold refuses the batch write,
                // and the report is written alone (which reports the shelf).
                Err(_) => (vec![], Condition::NotExists, 1),
            },
            // Missing (stored before shelves existed): refused the same way.
            None => (vec![], Condition::Exists, 1),
        };
        reports.retain(|r| r.id != report.id);
        reports.insert(0, report.clone());
        WriteOp::Put {
            item: ReportRecords::shelf_item(&report.inquiry_id, &reports, version),
            condition,
        }
    }

    /// Writes a drafted report's records on its own, reading its shelf afresh
    /// until the write holds; a pointer that exists means this one is done.
    async fn store_alone(&self, d: &Drafted) -> Result<Outcome, AppError> {
        let id = &d.report.id;
        let inquiry = &d.report.inquiry_id;
        for _ in 0..5 {
            let shelf = self.records.shelve(&d.report).await?;
            match self.deps.store.write(d.writes(shelf)).await {
                Ok(()) => {
                    d.logged();
                    return Ok(Outcome::Generated(id.clone()));
                }
                Err(StoreError::ConditionFailed) => {
                    if self.reported(id).await? {
                        return Ok(Outcome::AlreadyDone(id.clone()));
                    }
                    if erasure::is_erased(self.deps.store.as_ref(), inquiry).await? {
                        // The files went up before the erasure looked, or after it.
                        self.blobs
                            .delete_folder(&erasure::reports_folder(inquiry))
                            .await
                            .map_err(|e| AppError::Unavailable(e.to_string()))?;
                        return Ok(Outcome::Ignored);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::Conflict(
            "the inquiry's reports kept changing; the report is retried".into(),
        ))
    }

    /// Whether this report was written already (its pointer exists).
    async fn reported(&self, id: &ReportId) -> Result<bool, AppError> {
        let pointer = self
            .deps
            .store
            .get(&records::report_pointer_pk(id), REPORT_POINTER_SK)
            .await?;
        Ok(pointer.is_some())
    }

    /// Handles a delivery that the queue has made `receive_count` times. When the last
    /// allowed delivery fails too, a `report_failed` event tells the consultants to
    /// work from the inquiry alone; the message still goes to the dead-letter queue.
    pub async fn handle_attempt(
        &self,
        body: &str,
        receive_count: u32,
    ) -> Result<Outcome, AppError> {
        let mut outcomes = self.attempt_all(&[(body, receive_count)]).await;
        outcomes.pop().unwrap_or(Ok(Outcome::Ignored))
    }

    /// A received batch (each message's body and receive count) through
    /// `handle_all`, each message that failed on its last delivery given up.
    pub async fn attempt_all(&self, batch: &[(&str, u32)]) -> Vec<Result<Outcome, AppError>> {
        let bodies: Vec<&str> = batch.iter().map(|(b, _)| *b).collect();
        let outcomes = self.handle_all(&bodies).await;
        for ((body, receive_count), result) in batch.iter().zip(&outcomes) {
            if let Err(e) = result {
                if *receive_count >= crate::ports::queue::MAX_RECEIVES {
                    tracing::error!(error = %e, receive_count, "report job failed for good");
                    if let Err(e2) = self.give_up(body).await {
                        tracing::error!(error = %e2, "could not record the failed report job");
                    }
                }
            }
        }
        outcomes
    }

    async fn give_up(&self, body: &str) -> Result<(), AppError> {
        let Ok(source) = serde_json::from_str::<DomainEvent>(body) else {
            return Ok(()); // not an event: nobody to tell
        };
        let now = self.deps.clock.now();
        let failed = DomainEvent {
            // Derived from the source event, so a repeat is the same event to the ledger.
            id: format!("{}_report_failed", source.id),
            event_type: EventType::ReportFailed,
            inquiry_id: source.inquiry_id.clone(),
            occurred_at: rfc3339(now),
            correlation_id: source.correlation_id.clone(),
            payload: json!({"source_event_id": source.id}),
        };
        outbox::emit(&self.deps, &failed, &[QueueName::Events]).await
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), AppError> {
        self.blobs
            .put(
                key,
                Blob {
                    bytes,
                    content_type: content_type.into(),
                },
            )
            .await
            .map_err(|e| AppError::Unavailable(e.to_string()))
    }
}

/// A report drafted and its files stored, with the records still to write.
struct Drafted {
    report: Report,
    record: Item,
    pointer: Item,
    outgoing: Outgoing,
    tally: counters::Tally,
    generation_ms: f64,
}

impl Drafted {
    /// Its records as one batch, with `shelf` (the write that shelves it): the
    /// pointer and the record only where there are none, nothing of an inquiry
    /// whose erasure has begun, the `report_generated` event and the counts.
    fn writes(&self, shelf: WriteOp) -> Vec<WriteOp> {
        let mut ops = vec![
            WriteOp::Put {
                item: self.pointer.clone(),
                condition: Condition::NotExists,
            },
            WriteOp::Put {
                item: self.record.clone(),
                condition: Condition::NotExists,
            },
            shelf,
            records::not_erased(&self.report.inquiry_id),
        ];
        ops.extend(self.outgoing.writes());
        ops.extend(self.tally.writes());
        ops
    }

    fn logged(&self) {
        let r = &self.report;
        tracing::info!(inquiry_id = %r.inquiry_id, report_id = %r.id, generated_by = %r.generated_by, generation_ms = self.generation_ms, "report generated");
    }
}

/// The event of a message body and its inquiry; `None` for an event this worker
/// does not act on.
fn parse_job(body: &str) -> Result<Option<(DomainEvent, InquiryId)>, AppError> {
    let event: DomainEvent = serde_json::from_str(body).map_err(|e| {
        AppError::Validation([("message".to_string(), format!("not a domain event: {e}"))].into())
    })?;
    if event.event_type != EventType::InquiryCreated {
        return Ok(None);
    }
    let inquiry = InquiryId::parse(&event.inquiry_id).ok_or_else(|| {
        AppError::Validation([("inquiry_id".to_string(), "malformed".to_string())].into())
    })?;
    Ok(Some((event, inquiry)))
}

#[async_trait::async_trait]
impl crate::app::worker::QueueWork for ReportService {
    async fn work(&self, body: &str, receive_count: u32) -> Result<(), AppError> {
        self.handle_attempt(body, receive_count).await.map(|_| ())
    }

    async fn work_all(&self, batch: &[(&str, u32)]) -> Vec<Result<(), AppError>> {
        self.attempt_all(batch)
            .await
            .into_iter()
            .map(|r| r.map(|_| ()))
            .collect()
    }
}
