//! The ledger: each side effect of an event is recorded under (event id, action)
//! once it succeeded or failed for good, so a redelivered event repeats nothing.
//! In the same batch the inquiry's own record of its notifications gets the
//! effect (to whom and what, for an e-mail), in its partition, where the export
//! reads it and the erasure removes it; the ledger keeps ids, times and outcomes.

use super::*;

impl Notifier {
    /// The ledger's record of an effect's outcome, with the inquiry's record of
    /// what was sent and the counts, as one unit to write; `None` when the effect
    /// failed for now and the event will come back for it. An effect failing for
    /// now on the event's last delivery is recorded as failed.
    pub(super) fn recorded(
        &self,
        attempt: &Attempt<'_>,
        action: &str,
        channel: &str,
        outcome: Result<Effect, AppError>,
    ) -> Result<(Vec<WriteOp>, Recorded), AppError> {
        let event = attempt.event;
        let pk = notification_pk(&event.id, action);
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(e) if attempt.last => {
                Effect::FailedForGood(format!("still failing on the last delivery: {e}"))
            }
            Err(e) => return Err(e),
        };
        let (status, detail, notice) = match outcome {
            Effect::Done(notice) => ("sent", None, notice),
            Effect::FailedForGood(why) => {
                let why = redacted(&why);
                tracing::warn!(event_id = %event.id, action, error = %why, "notification failed for good");
                ("failed", Some(why), None)
            }
            Effect::Skipped(why) => {
                let why = redacted(&why);
                tracing::info!(event_id = %event.id, action, reason = %why, "notification skipped");
                ("skipped", Some(why), None)
            }
        };
        let at = rfc3339(self.deps.clock.now());
        let item = Item::new(
            &pk,
            NOTIFICATION_SK,
            json!({"event_id": event.id, "inquiry_id": event.inquiry_id, "action": action, "channel": channel,
                   "status": status, "detail": detail, "at": at}),
        )
        .indexed(NOTIFICATIONS_INDEX, format!("{at}#{}#{action}", event.id));
        let tally = crate::app::figures::notification_tally(
            &at,
            &pk,
            channel,
            status,
            self.deps.clock.now(),
        );
        let mut ops = vec![WriteOp::Put {
            item: crate::app::counters::mark(item),
            condition: Condition::NotExists,
        }];
        ops.extend(tally.writes());
        if let Some(inquiry) = InquiryId::parse(&event.inquiry_id) {
            let sent = Item::new(
                records::inquiry_pk(&inquiry),
                records::notice_sk(&at, &event.id, action),
                json!({"event_id": event.id, "action": action, "channel": channel, "status": status,
                       "at": at, "recipients": notice.as_ref().map(|n| &n.recipients),
                       "subject": notice.as_ref().map(|n| &n.subject)}),
            );
            ops.push(WriteOp::Put {
                item: sent,
                condition: Condition::None,
            });
            // Nothing of an inquiry whose erasure has begun is recorded.
            ops.push(records::not_erased(&inquiry));
        }
        let recorded = Recorded {
            event_id: event.id.clone(),
            action: action.to_string(),
            status,
        };
        Ok((ops, recorded))
    }
}

/// What a ledger entry says, logged once it is written: the log line the stack's
/// metric filters count (`template.yaml`, EmailsSent and the failure alarms).
pub(super) struct Recorded {
    event_id: String,
    action: String,
    status: &'static str,
}

impl Recorded {
    pub(super) fn log(&self) {
        let Recorded {
            event_id,
            action,
            status,
        } = self;
        tracing::info!(%event_id, %action, %status, "notification recorded");
    }
}
