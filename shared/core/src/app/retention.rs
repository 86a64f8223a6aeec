//! Retention: a closed inquiry is kept for a configured number of days
//! (`RETENTION_DAYS`, off unless set), then erased by the same path an admin's
//! erasure takes (`erasure`), on behalf of `retention`.
//!
//! A sweep reads the closed inquiries' index partition oldest first (it is ordered
//! by creation, and an inquiry is created before it is closed, so every inquiry
//! closed before the cutoff was also created before it) and erases those whose last
//! change, their closing, is older than the cutoff. It reads at most the inquiries
//! it erases and those created before the cutoff but closed after it, which become
//! due within the retention period; a pass erases a bounded number.

use super::erasure::{Erasure, ErasureReason};
use super::records;
use super::{AppError, Deps};
use crate::domain::{rfc3339, Inquiry, InquiryStatus};
use crate::ports::{Query, SkRange};
use std::time::Duration;

/// Inquiries erased per sweep at most.
pub const SWEEP_BATCH: usize = 25;

/// Who the audit record names for an erasure by retention.
pub const RETENTION_ACTOR: &str = "retention";

#[derive(Clone)]
pub struct Retention {
    deps: Deps,
    erasure: Erasure,
    keep: Duration,
}

impl Retention {
    /// Erases closed inquiries `days` days after they closed, through `erasure`.
    pub fn new(deps: Deps, erasure: Erasure, days: u32) -> Self {
        Self {
            deps,
            erasure,
            keep: Duration::from_secs(u64::from(days) * 24 * 3600),
        }
    }

    /// Erases up to `SWEEP_BATCH` inquiries closed longer than the retention ago;
    /// returns how many.
    pub async fn sweep(&self) -> Result<usize, AppError> {
        let cutoff = rfc3339(self.deps.clock.now() - self.keep);
        // Created at or before the cutoff: every position up to it, whatever its id
        // (a position starts with its year's digits).
        let q = Query::index(records::inquiries_in(InquiryStatus::Closed))
            .range(SkRange::Between("0".into(), format!("{cutoff}~")))
            .limit(SWEEP_BATCH);
        let due = records::first(self.deps.store.as_ref(), &q, SWEEP_BATCH, |item| {
            let i: Inquiry = records::decode(&item, "inquiry")?;
            Ok((i.status == InquiryStatus::Closed && i.updated_at <= cutoff).then_some(i))
        })
        .await?;
        let days = self.keep.as_secs() / (24 * 3600);
        let reason = ErasureReason::parse(&format!("closed for more than {days} days"))
            .map_err(|e| AppError::Unavailable(format!("retention reason: {e}")))?;
        let mut erased = 0;
        for inquiry in &due {
            // One that cannot be erased now must not hold back the ones after it.
            match self
                .erasure
                .erase(&inquiry.id, RETENTION_ACTOR, &reason)
                .await
            {
                Ok(_) => erased += 1,
                Err(e) => {
                    tracing::warn!(inquiry_id = %inquiry.id, error = %e, "retention could not erase an inquiry; the next sweep tries again")
                }
            }
        }
        Ok(erased)
    }
}
