//! Fixed-window limits kept in the item store, so that they hold across
//! connections, routes and function instances alike: one counter item per subject,
//! taken with a conditional write, so concurrent requests cannot overshoot it.

use super::records::RATE_SK;
use super::{AppError, Deps};
use crate::ports::{Condition, Item, StoreError, WriteOp};
use serde_json::json;
use std::time::Duration;

/// At most `max` in any window of `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowLimit {
    pub max: u64,
    pub per: Duration,
}

/// A counter's current window as read: what a write that takes from it starts
/// from, and the condition that write holds at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub start: i64,
    pub used: u64,
    pub condition: Condition,
    pub version: u64,
}

impl Window {
    /// The window of the counter item as read (`None`: no counter yet) at `now`; a
    /// window that has ended starts again from nothing.
    pub fn of(current: Option<&Item>, now: i64, limit: WindowLimit) -> Self {
        let per = limit.per.as_secs().max(1) as i64;
        match current {
            Some(i) => {
                let start = i.data["window_start"].as_i64().unwrap_or(now);
                let used = i.data["used"].as_u64().unwrap_or(0);
                let (start, used) = if now - start >= per {
                    (now, 0)
                } else {
                    (start, used)
                };
                Self {
                    start,
                    used,
                    condition: Condition::Version(i.version),
                    version: i.version + 1,
                }
            }
            None => Self {
                start: now,
                used: 0,
                condition: Condition::NotExists,
                version: 1,
            },
        }
    }

    /// The write that takes `n` more from the window, at the version read.
    pub fn taking(&self, pk: &str, n: u64, limit: WindowLimit) -> WriteOp {
        let per = limit.per.as_secs().max(1) as i64;
        let mut item = Item::new(
            pk,
            RATE_SK,
            json!({"window_start": self.start, "used": self.used + n}),
        )
        .expiring_at(self.start + per);
        item.version = self.version;
        WriteOp::Put {
            item,
            condition: self.condition,
        }
    }
}

/// Takes one from the allowance of the counter at `pk` in the current window;
/// refused (`AppError::RateLimited`, with the seconds until the window ends) once
/// `limit.max` were taken in it.
pub async fn take(deps: &Deps, pk: &str, limit: WindowLimit, what: &str) -> Result<(), AppError> {
    let per = limit.per.as_secs().max(1) as i64;
    for _ in 0..8 {
        let now = deps.clock.now().unix_timestamp();
        let current = deps.store.get(pk, RATE_SK).await?;
        let window = Window::of(current.as_ref(), now, limit);
        if window.used >= limit.max {
            return Err(AppError::RateLimited {
                retry_after: (window.start + per - now).max(1) as u64,
                reason: format!("at most {} {what} per {per} seconds", limit.max),
            });
        }
        match deps.store.write(vec![window.taking(pk, 1, limit)]).await {
            Ok(()) => return Ok(()),
            Err(StoreError::ConditionFailed) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    // Still racing after several tries: many requests at once, which is what a
    // limit is for.
    Err(AppError::RateLimited {
        retry_after: 1,
        reason: format!("too many {what} at once"),
    })
}
