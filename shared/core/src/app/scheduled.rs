//! The work that runs on a schedule, once a minute in Lambda (`outbox-relay`) and in
//! the dev server's relay loop: the outbox relay, then a batch of the status-index
//! backfill and one of the counts' backfill.

use super::{AppError, Deps, InquiryService, OutboxRelay};
use serde::Serialize;
use std::time::Duration;

/// Inquiries moved out of the legacy index partition per pass.
const REINDEX_BATCH: usize = 100;

/// Records stored before the counts, read for counting per pass.
const COUNT_BATCH: usize = 200;

/// What one pass did; the scheduled function answers with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PassOutcome {
    pub sent: usize,
    pub reindexed: usize,
    pub counted: usize,
}

#[derive(Clone)]
pub struct ScheduledPass {
    relay: OutboxRelay,
    inquiries: InquiryService,
    deps: Deps,
}

impl ScheduledPass {
    /// `grace`: outbox entries younger than this are left to the request that wrote them.
    pub fn new(deps: Deps, grace: Duration) -> Self {
        Self {
            relay: OutboxRelay::new(deps.clone(), grace),
            inquiries: InquiryService::new(deps.clone()),
            deps,
        }
    }

    pub async fn run(&self) -> Result<PassOutcome, AppError> {
        let sent = self.relay.run_once().await?;
        let reindexed = self.inquiries.reindex_legacy(REINDEX_BATCH).await?;
        let counted = super::figures::backfill(&self.deps, COUNT_BATCH).await?;
        Ok(PassOutcome {
            sent,
            reindexed,
            counted,
        })
    }
}
