//! The work that runs in the background, on the relay's invocations in Lambda and
//! in the dev server's relay loop: a batch of the status-index backfill, one of the
//! counts' backfill and one of the address index's. Once all are done a pass costs
//! three reads.

use super::{AppError, Deps, InquiryService};
use serde::Serialize;

/// Inquiries moved out of the legacy index partition per pass.
const REINDEX_BATCH: usize = 100;

/// Records stored before the counts, read for counting per pass.
const COUNT_BATCH: usize = 200;

/// Inquiries filed under their address per pass.
const ADDRESS_BATCH: usize = 100;

/// What one pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PassOutcome {
    pub reindexed: usize,
    pub counted: usize,
    /// Inquiries the address index's backfill read.
    pub filed: usize,
}

#[derive(Clone)]
pub struct ScheduledPass {
    inquiries: InquiryService,
    deps: Deps,
}

impl ScheduledPass {
    pub fn new(deps: Deps) -> Self {
        Self {
            inquiries: InquiryService::new(deps.clone()),
            deps,
        }
    }

    pub async fn run(&self) -> Result<PassOutcome, AppError> {
        let reindexed = self.inquiries.reindex_legacy(REINDEX_BATCH).await?;
        let counted = super::figures::backfill(&self.deps, COUNT_BATCH).await?;
        let filed = super::addresses::backfill(&self.deps, ADDRESS_BATCH).await?;
        Ok(PassOutcome {
            reindexed,
            counted,
            filed,
        })
    }
}
