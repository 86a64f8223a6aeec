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

/// Whether the allowance of the counter at `pk` is spent in the current window,
/// without taking from it: for an effect that should count only once it happened.
pub async fn spent(deps: &Deps, pk: &str, limit: WindowLimit) -> Result<bool, AppError> {
    let per = limit.per.as_secs().max(1) as i64;
    let now = deps.clock.now().unix_timestamp();
    Ok(deps.store.get(pk, RATE_SK).await?.is_some_and(|i| {
        let start = i.data["window_start"].as_i64().unwrap_or(now);
        now - start < per && i.data["used"].as_u64().unwrap_or(0) >= limit.max
    }))
}

/// Takes one from the allowance of the counter at `pk` in the current window;
/// refused (`AppError::RateLimited`, with the seconds until the window ends) once
/// `limit.max` were taken in it.
pub async fn take(deps: &Deps, pk: &str, limit: WindowLimit, what: &str) -> Result<(), AppError> {
    let per = limit.per.as_secs().max(1) as i64;
    for _ in 0..8 {
        let now = deps.clock.now().unix_timestamp();
        let current = deps.store.get(pk, RATE_SK).await?;
        let (start, used, condition, version) = match &current {
            Some(i) => {
                let start = i.data["window_start"].as_i64().unwrap_or(now);
                let used = i.data["used"].as_u64().unwrap_or(0);
                let (start, used) = if now - start >= per {
                    (now, 0)
                } else {
                    (start, used)
                };
                (start, used, Condition::Version(i.version), i.version + 1)
            }
            None => (now, 0, Condition::NotExists, 1),
        };
        if used >= limit.max {
            return Err(AppError::RateLimited {
                retry_after: (start + per - now).max(1) as u64,
                reason: format!("at most {} {what} per {per} seconds", limit.max),
            });
        }
        let mut item = Item::new(
            pk,
            RATE_SK,
            json!({"window_start": start, "used": used + 1}),
        )
        .expiring_at(start + per);
        item.version = version;
        match deps
            .store
            .write(vec![WriteOp::Put { item, condition }])
            .await
        {
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
