//! A batch of events handled at once: the hooks are listed once, every inquiry,
//! erasure record, ledger entry, confirmation cap and report shelf the batch
//! needs is read in two round trips, the effects run (each event's in turn, the
//! events side by side), and what they came to is written in as few batches as
//! hold it. A batch write that is refused (a duplicate delivery recorded an effect
//! first, an erasure began, a cap moved) is written again effect by effect, so one
//! refusal holds back no other effect's record.

use super::*;
use crate::app::limits::Window;
use crate::app::records::{RATE_SK, REPORTS_SHELF_SK};
use crate::app::worker::BATCH_CONCURRENCY;
use crate::app::{counters, erasure};
use crate::domain::report::Report;
use crate::ports::StoreError;
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::Mutex;

/// One message of a batch, as parsed.
struct Job {
    event: DomainEvent,
    inquiry: InquiryId,
    last: bool,
    /// A manual trigger (`POST /api/v1/hooks/trigger`) of one hook, or of the
    /// hooks only.
    only_hook: Option<String>,
    hooks_only: bool,
}

impl Job {
    fn parse(body: &str, receive_count: u32) -> Result<Self, AppError> {
        let event: DomainEvent = serde_json::from_str(body).map_err(|e| {
            AppError::Validation(
                [("message".to_string(), format!("not a domain event: {e}"))].into(),
            )
        })?;
        let inquiry = InquiryId::parse(&event.inquiry_id).ok_or_else(|| {
            AppError::Validation([("inquiry_id".to_string(), "malformed".to_string())].into())
        })?;
        let only_hook = event.payload["only_hook"].as_str().map(str::to_string);
        let hooks_only = only_hook.is_some() || event.payload["hooks_only"] == true;
        Ok(Self {
            inquiry,
            last: receive_count >= MAX_RECEIVES,
            only_hook,
            hooks_only,
            event,
        })
    }

    /// Whether any effect could follow: most events (a status change with no hook
    /// on it) have none, and cost no read of their inquiry.
    fn may_act(&self, hooks: &[Hook]) -> bool {
        let messaged = matches!(
            self.event.event_type,
            EventType::InquiryCreated | EventType::ReportGenerated | EventType::ReportFailed
        );
        self.hooks_only || messaged || hooks.iter().any(|h| h.event == self.event.event_type)
    }
}

enum Kind<'h> {
    Hook(&'h Hook),
    Prospect,
    Slack,
    Consultants,
}

/// An effect an event asks for.
struct Planned<'h> {
    action: String,
    channel: &'static str,
    kind: Kind<'h>,
}

/// The effects of `job` on `inquiry`, in the order they run.
fn plan<'h>(job: &Job, hooks: &'h [Hook], inquiry: &Inquiry, slack: bool) -> Vec<Planned<'h>> {
    let mut out: Vec<Planned<'h>> = hooks
        .iter()
        .filter(|h| match &job.only_hook {
            Some(id) => &h.id == id,
            None => h.matches(job.event.event_type, inquiry),
        })
        .map(|h| Planned {
            action: format!("hook:{}", h.id),
            channel: hook_channel(h),
            kind: Kind::Hook(h),
        })
        .collect();
    if job.hooks_only {
        return out;
    }
    let mut add = |action: &str, channel, kind| {
        out.push(Planned {
            action: action.to_string(),
            channel,
            kind,
        })
    };
    match job.event.event_type {
        EventType::InquiryCreated => {
            add("email:prospect", "email", Kind::Prospect);
            if slack {
                add("slack", "slack", Kind::Slack);
            }
        }
        EventType::ReportGenerated | EventType::ReportFailed => {
            add("email:consultants", "email", Kind::Consultants)
        }
        _ => {}
    }
    out
}

/// The confirmation caps of a batch's addresses, as read, and what the batch took
/// from each: a confirmation is taken before it is sent and given back if it was
/// not, so two events of one batch cannot both send the last one.
pub(super) struct Caps {
    now: i64,
    windows: Mutex<HashMap<String, (Window, u64)>>,
}

impl Caps {
    fn new(read: impl IntoIterator<Item = (String, Option<Item>)>, now: i64) -> Self {
        let windows = read
            .into_iter()
            .map(|(pk, item)| {
                let w = Window::of(item.as_ref(), now, CONFIRMATIONS_PER_ADDRESS);
                (pk, (w, 0))
            })
            .collect();
        Self {
            now,
            windows: Mutex::new(windows),
        }
    }

    /// Takes one confirmation for the address's cap; `false` once it is spent.
    pub(super) fn take(&self, pk: &str) -> bool {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let (window, taken) = windows
            .entry(pk.to_string())
            .or_insert_with(|| (Window::of(None, self.now, CONFIRMATIONS_PER_ADDRESS), 0));
        if window.used + *taken >= CONFIRMATIONS_PER_ADDRESS.max {
            return false;
        }
        *taken += 1;
        true
    }

    /// Gives back a confirmation taken and not sent.
    pub(super) fn give_back(&self, pk: &str) {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, taken)) = windows.get_mut(pk) {
            *taken = taken.saturating_sub(1);
        }
    }

    /// Each cap the batch took from, with how many and the write that counts them.
    fn writes(self) -> Vec<(String, u64, WriteOp)> {
        let windows = self.windows.into_inner().unwrap_or_else(|p| p.into_inner());
        windows
            .into_iter()
            .filter(|(_, (_, taken))| *taken > 0)
            .map(|(pk, (window, taken))| {
                let op = window.taking(&pk, taken, CONFIRMATIONS_PER_ADDRESS);
                (pk, taken, op)
            })
            .collect()
    }
}

/// A unit of the batch's writes, and whose it is.
enum Owner {
    /// An effect's record, of the batch's `usize`th message.
    Job(usize, ledger::Recorded),
    Cap {
        pk: String,
        taken: u64,
    },
}

impl Notifier {
    /// Handles a received batch (each message's body and receive count); returns,
    /// in the batch's order, how many effects of each ran this time.
    ///
    /// Every effect of an event is tried, each on its own: one that fails for now
    /// (a webhook down, the mailer throttled) holds back none of the others, and
    /// fails its message only after the rest ran, so the queue brings it back for
    /// that effect alone (the ledger skips what finished). On the last delivery the
    /// queue allows, an effect still failing is recorded as failed for good
    /// (counted in the figures, logged for the alarm) instead of taking the event to
    /// the dead-letter queue.
    pub async fn handle_all(&self, batch: &[(&str, u32)]) -> Vec<Result<usize, AppError>> {
        let jobs: Vec<Result<Job, AppError>> =
            batch.iter().map(|(b, c)| Job::parse(b, *c)).collect();
        let hooks = match self.hooks.all().await {
            Ok(hooks) => hooks,
            Err(e) => return jobs.iter().map(|_| Err(again(&e))).collect(),
        };
        let store = self.deps.store.as_ref();

        // First read: the inquiry and its erasure's record, for every event that may
        // act.
        // An event delivered twice in one batch is worked on once: the copy would
        // find the ledger as the first found it and repeat every effect.
        let mut seen = std::collections::HashSet::new();
        let acting: Vec<Option<&Job>> = jobs
            .iter()
            .map(|j| {
                j.as_ref()
                    .ok()
                    .filter(|j| seen.insert(j.event.id.as_str()) && j.may_act(&hooks))
            })
            .collect();
        let keys: Vec<(String, String)> = acting
            .iter()
            .flatten()
            .flat_map(|j| erasure::live_keys(&j.inquiry))
            .collect();
        let read = match records::get_all(store, &keys).await {
            Ok(read) => read,
            Err(e) => return jobs.iter().map(|_| Err(again(&e))).collect(),
        };
        let mut pairs = read.chunks(2);
        // Per message: its inquiry when it has effects to run; `None` when it has
        // none (no effect asked for, or the inquiry erased after the event).
        let inquiries: Vec<Result<Option<Inquiry>, AppError>> = acting
            .iter()
            .zip(&jobs)
            .map(|(acting, job)| match (acting, job) {
                (_, Err(e)) => Err(again(e)),
                (None, Ok(_)) => Ok(None),
                (Some(_), Ok(_)) => match pairs.next() {
                    Some([inquiry, fence]) => erasure::live(inquiry.as_ref(), fence.as_ref()),
                    _ => Ok(None),
                },
            })
            .collect();

        let slack = self.cfg.slack_webhook.is_some();
        let plans: Vec<Vec<Planned>> = jobs
            .iter()
            .zip(&inquiries)
            .map(|(job, inquiry)| match (job, inquiry) {
                (Ok(job), Ok(Some(inquiry))) => plan(job, &hooks, inquiry, slack),
                _ => vec![],
            })
            .collect();

        // Second read: which effects the ledger has, the caps of the addresses to
        // confirm, and the report shelves the consultants' e-mails quote.
        let mut keys: Vec<(String, String)> = Vec::new();
        let mut caps_read = Vec::new();
        let mut shelves_read = Vec::new();
        for ((job, inquiry), planned) in jobs.iter().zip(&inquiries).zip(&plans) {
            let (Ok(job), Ok(Some(inquiry))) = (job, inquiry) else {
                continue;
            };
            for p in planned {
                keys.push((
                    notification_pk(&job.event.id, &p.action),
                    NOTIFICATION_SK.into(),
                ));
                match p.kind {
                    Kind::Prospect => {
                        caps_read.push(records::mail_recipient_pk(inquiry.email.as_str()))
                    }
                    Kind::Consultants => shelves_read.push(inquiry.id.clone()),
                    _ => {}
                }
            }
        }
        let ledger_len = keys.len();
        keys.extend(caps_read.iter().map(|pk| (pk.clone(), RATE_SK.to_string())));
        keys.extend(
            shelves_read
                .iter()
                .map(|id| (records::inquiry_pk(id), REPORTS_SHELF_SK.to_string())),
        );
        let read = match records::get_all(store, &keys).await {
            Ok(read) => read,
            Err(e) => return jobs.iter().map(|_| Err(again(&e))).collect(),
        };
        let (ledger, rest) = read.split_at(ledger_len);
        let (caps_items, shelf_items) = rest.split_at(caps_read.len());
        let mut ledger = ledger.iter();
        let done: Vec<Vec<bool>> = plans
            .iter()
            .map(|planned| {
                planned
                    .iter()
                    .map(|_| matches!(ledger.next(), Some(Some(_))))
                    .collect()
            })
            .collect();
        let caps = Caps::new(
            caps_read.into_iter().zip(caps_items.iter().cloned()),
            self.deps.clock.now().unix_timestamp(),
        );
        let shelves: HashMap<&InquiryId, &Option<Item>> =
            shelves_read.iter().zip(shelf_items).collect();

        // The effects: each event's in turn, the events side by side. What they came
        // to is written as soon as it is in, the records of the events that finished
        // together packed into as few batches as hold them: a slow effect (a webhook
        // timing out) leaves no other event's effects unrecorded meanwhile, for a
        // redelivery to repeat.
        let started: Vec<_> = (0..jobs.len())
            .map(|i| {
                let (acting, inquiries, plans, done) = (&acting, &inquiries, &plans, &done);
                let (caps, shelves) = (&caps, &shelves);
                async move {
                    let (Some(job), Ok(Some(inquiry))) = (acting[i], &inquiries[i]) else {
                        return (i, Tally::default(), vec![]);
                    };
                    let (tally, recorded) = self
                        .run(job, inquiry, &plans[i], &done[i], caps, shelves)
                        .await;
                    (i, tally, recorded)
                }
            })
            .collect();
        let mut finished = futures::stream::iter(started)
            .buffer_unordered(BATCH_CONCURRENCY)
            .ready_chunks(BATCH_CONCURRENCY);
        let mut tallies: Vec<Tally> = jobs.iter().map(|_| Tally::default()).collect();
        while let Some(ready) = finished.next().await {
            let mut units = Vec::new();
            let mut owners = Vec::new();
            for (i, tally, recorded) in ready {
                tallies[i] = tally;
                for (unit, said) in recorded {
                    units.push(unit);
                    owners.push(Owner::Job(i, said));
                }
            }
            for (u, e) in self.write_units(units, &owners).await {
                if let Owner::Job(j, _) = &owners[u] {
                    tallies[*j].failed.get_or_insert(e);
                }
            }
        }
        drop(finished);

        // The caps last: counted once every confirmation of the batch went out.
        let (mut units, mut owners) = (Vec::new(), Vec::new());
        for (pk, taken, op) in caps.writes() {
            units.push(vec![op]);
            owners.push(Owner::Cap { pk, taken });
        }
        for (u, _) in self.write_units(units, &owners).await {
            if let Owner::Cap { pk, taken } = &owners[u] {
                // Sent is sent: the cap is counted again on its own, and a count that
                // raced past it changes nothing now.
                for _ in 0..*taken {
                    let counted = limits::take(
                        &self.deps,
                        pk,
                        CONFIRMATIONS_PER_ADDRESS,
                        "confirmations to one address",
                    )
                    .await;
                    if let Err(e) = counted {
                        tracing::info!(error = %e, "confirmation counted past the cap");
                    }
                }
            }
        }

        jobs.into_iter()
            .zip(inquiries)
            .zip(tallies)
            .map(|((job, inquiry), tally)| {
                job?;
                inquiry?;
                tally.outcome()
            })
            .collect()
    }

    /// The effects `planned` for one event that the ledger does not have, each on
    /// its own; what each came to, as units to write.
    async fn run(
        &self,
        job: &Job,
        inquiry: &Inquiry,
        planned: &[Planned<'_>],
        done: &[bool],
        caps: &Caps,
        shelves: &HashMap<&InquiryId, &Option<Item>>,
    ) -> (Tally, Vec<(Vec<WriteOp>, ledger::Recorded)>) {
        let attempt = Attempt {
            event: &job.event,
            last: job.last,
        };
        let mut tally = Tally::default();
        let mut units = Vec::new();
        for (p, done) in planned.iter().zip(done) {
            if *done {
                continue;
            }
            let outcome = match &p.kind {
                Kind::Hook(hook) => self.hook(hook, &job.event, inquiry).await,
                Kind::Prospect => self.prospect_confirmation(inquiry, caps).await,
                Kind::Slack => self.slack(inquiry).await,
                Kind::Consultants => match self.latest_report(inquiry, shelves).await {
                    Ok(report) => self.consultant_email(inquiry, report.as_ref()).await,
                    Err(e) => Err(e),
                },
            };
            match self.recorded(&attempt, &p.action, p.channel, outcome) {
                Ok(unit) => {
                    tally.add(Ok(true));
                    units.push(unit);
                }
                Err(e) => tally.add(Err(e)),
            }
        }
        (tally, units)
    }

    /// The inquiry's newest report, from its shelf as the batch read it (queried
    /// for an inquiry stored before shelves existed).
    async fn latest_report(
        &self,
        inquiry: &Inquiry,
        shelves: &HashMap<&InquiryId, &Option<Item>>,
    ) -> Result<Option<Report>, AppError> {
        let reports = match shelves.get(&inquiry.id) {
            Some(Some(shelf)) => ReportRecords::shelf_of(shelf)?,
            _ => self.reports.for_inquiry(&inquiry.id).await?,
        };
        Ok(reports.into_iter().next())
    }

    /// Writes the units packed into batches; a batch refused is written again unit
    /// by unit. A unit refused on its own was recorded by someone else (a duplicate
    /// delivery) or concerns an erased inquiry: nothing is lost. Returns the units
    /// that could not be written, with why.
    async fn write_units(
        &self,
        units: Vec<Vec<WriteOp>>,
        owners: &[Owner],
    ) -> Vec<(usize, AppError)> {
        let store = self.deps.store.as_ref();
        let mut failed = Vec::new();
        for (batch, members) in counters::packed(&units) {
            if store.write(batch).await.is_ok() {
                members.iter().for_each(|&i| logged(&owners[i]));
                continue;
            }
            for i in members {
                match store.write(units[i].clone()).await {
                    Ok(()) => logged(&owners[i]),
                    // Recorded by a duplicate delivery first, or the inquiry erased.
                    Err(StoreError::ConditionFailed) if matches!(owners[i], Owner::Job(..)) => {}
                    Err(e) => failed.push((i, e.into())),
                }
            }
        }
        failed
    }
}

fn logged(owner: &Owner) {
    if let Owner::Job(_, recorded) = owner {
        recorded.log();
    }
}

/// An error that stands for several messages: each gets its own.
fn again(e: &AppError) -> AppError {
    match e {
        AppError::Validation(fields) => AppError::Validation(fields.clone()),
        other => AppError::Unavailable(other.to_string()),
    }
}
