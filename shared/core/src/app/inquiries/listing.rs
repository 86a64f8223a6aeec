//! Reading inquiries: the cursor and offset listings, which merge the status
//! partitions of the index page by page, and the count, which comes from the
//! counters and reads records only where a date bound cuts an hour.

use super::{decode, InquiryService};
use crate::app::{counters, figures, records, AppError};
use crate::domain::{rfc3339, Inquiry, InquiryStatus, Priority, ServiceType};
use crate::ports::{Cursor, Item, Query, SkRange};
use std::collections::VecDeque;
use time::OffsetDateTime;

/// The first instant a `Created` lower bound admits: its time, or a date's midnight.
/// `None` for text no bound parser makes.
fn bound_start(bound: &str) -> Option<OffsetDateTime> {
    counters::parse_time(bound).or_else(|| Some(bound_date(bound)?.midnight().assume_utc()))
}

/// The last second a `Created` upper bound admits: its time, or a date's last second.
fn bound_end(bound: &str) -> Option<OffsetDateTime> {
    counters::parse_time(bound).or_else(|| {
        Some(bound_date(bound)?.next_day()?.midnight().assume_utc() - time::Duration::SECOND)
    })
}

fn bound_date(bound: &str) -> Option<time::Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(bound, &fmt).ok()
}

impl InquiryService {
    /// Newest first, `limit` at a time, continuing after `cursor`.
    pub async fn list(
        &self,
        f: &InquiryFilter,
        limit: usize,
        cursor: Option<Cursor>,
    ) -> Result<Listing, AppError> {
        // The cursor is a position in creation order, the same in every partition, so
        // an inquiry whose status changes during a walk is neither lost nor repeated.
        let below = cursor.and_then(|c| c.gsi1sk);
        let mut out = self
            .read(f, below.as_deref(), Some(limit.saturating_add(1)))
            .await?;
        let next = if out.len() > limit {
            out.truncate(limit);
            out.last().map(|(_, item)| Cursor::of(item, true).encode())
        } else {
            None
        };
        Ok(Listing {
            inquiries: out.into_iter().map(|(i, _)| i).collect(),
            next_cursor: next,
        })
    }

    /// The `limit` matching inquiries after the first `offset`, newest first: reads
    /// `offset + limit` matches and at most a page more of each index partition.
    pub async fn page(
        &self,
        f: &InquiryFilter,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Inquiry>, AppError> {
        let want = offset.saturating_add(limit);
        let out = self.read(f, None, Some(want)).await?;
        Ok(out.into_iter().skip(offset).map(|(i, _)| i).collect())
    }

    /// How many inquiries match: from the counts, reading records only for the
    /// part of an hour that a date bound cuts (so at most two hours of them).
    pub async fn count(&self, f: &InquiryFilter) -> Result<usize, AppError> {
        let store = self.deps.store.as_ref();
        let name = figures::inquiry_name(f.status, f.priority, f.service);
        let hour = time::Duration::HOUR;
        let second = time::Duration::SECOND;
        // Clocks of other instances may run a little ahead: count the next hour too.
        let horizon = self.deps.clock.now() + hour;
        let from = f.created.from.as_deref().map(bound_start);
        let to = f.created.to.as_deref().map(bound_end);
        let n = match (from, to) {
            (None, None) => counters::totals(store).await?.get(&name),
            // Not a bound this service wrote: count by reading (never from the API).
            (Some(None), _) | (_, Some(None)) => self.read(f, None, None).await?.len() as i64,
            (Some(Some(a)), None) => {
                let next = counters::hour_start(a) + hour;
                self.edge(f, a, next - second).await?
                    + counters::between(store, next, horizon).await?.get(&name)
            }
            (None, Some(Some(b))) => {
                let next = counters::hour_start(b) + hour;
                let after = self.edge(f, b + second, next - second).await?
                    + counters::between(store, next, horizon).await?.get(&name);
                counters::totals(store).await?.get(&name) - after
            }
            (Some(Some(a)), Some(Some(b))) if a > b => 0,
            (Some(Some(a)), Some(Some(b)))
                if counters::hour_start(a) == counters::hour_start(b) =>
            {
                self.edge(f, a, b).await?
            }
            (Some(Some(a)), Some(Some(b))) => {
                let (first, last) = (counters::hour_start(a) + hour, counters::hour_start(b));
                let mut n = self.edge(f, a, first - second).await? + self.edge(f, last, b).await?;
                if first < last {
                    n += counters::between(store, first, last - hour)
                        .await?
                        .get(&name);
                }
                n
            }
        };
        Ok(n.max(0) as usize)
    }

    /// The matching inquiries created within `[a, b]` (to the second), counted by
    /// reading them: a part of an hour.
    async fn edge(
        &self,
        f: &InquiryFilter,
        a: OffsetDateTime,
        b: OffsetDateTime,
    ) -> Result<i64, AppError> {
        if a > b {
            return Ok(0);
        }
        let within = InquiryFilter {
            created: Created {
                from: Some(rfc3339(a)),
                to: Some(rfc3339(b)),
            },
            ..f.clone()
        };
        Ok(self.read(&within, None, None).await?.len() as i64)
    }

    /// Up to `want` inquiries matching `f` (all when `None`), newest first, created
    /// before the index position `below`. The partitions the filter needs are
    /// merged page by page, so what is read is what is returned and at most one
    /// page more of each partition, not `want` of every partition.
    async fn read(
        &self,
        f: &InquiryFilter,
        below: Option<&str>,
        want: Option<usize>,
    ) -> Result<Vec<(Inquiry, Item)>, AppError> {
        let page = want.map_or(500, |w| w.clamp(1, 100));
        let want = want.unwrap_or(usize::MAX);
        let mut lanes: Vec<Lane> = f
            .partitions()
            .iter()
            .filter_map(|p| f.query(p, below))
            .map(|q| Lane {
                query: q.limit(page),
                ready: VecDeque::new(),
                spent: false,
            })
            .collect();
        // The partitions are read side by side once; after that only the one a
        // match was taken from needs its next match.
        futures::future::try_join_all(lanes.iter_mut().map(|l| self.fill(l, f, below))).await?;
        let mut out = Vec::new();
        while out.len() < want {
            let newest = lanes
                .iter_mut()
                .filter(|l| !l.ready.is_empty())
                .max_by(|a, b| a.head().cmp(&b.head()));
            let Some(lane) = newest else { break };
            out.extend(lane.ready.pop_front());
            if out.len() < want {
                self.fill(lane, f, below).await?;
            }
        }
        Ok(out)
    }

    /// Reads a partition's next pages until it has a match ready or is spent.
    async fn fill(
        &self,
        lane: &mut Lane,
        f: &InquiryFilter,
        below: Option<&str>,
    ) -> Result<(), AppError> {
        while lane.ready.is_empty() && !lane.spent {
            let page = self.deps.store.query(&lane.query).await?;
            for item in page.items {
                // The range is inclusive; the cursor's own inquiry was listed already.
                if below.is_some() && item.gsi1sk.as_deref() == below {
                    continue;
                }
                // Filters other than status and date run on each item.
                let inq = decode(&item)?;
                if f.matches(&inq) {
                    lane.ready.push_back((inq, item));
                }
            }
            match page.next {
                Some(next) => lane.query.after = Some(next),
                None => lane.spent = true,
            }
        }
        Ok(())
    }
}

/// A page of inquiries and where the next one starts.
#[derive(Debug, Clone)]
pub struct Listing {
    pub inquiries: Vec<Inquiry>,
    pub next_cursor: Option<String>,
}

/// Listing filters; the bounds apply to `created_at` (inclusive, UTC).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InquiryFilter {
    pub status: Option<InquiryStatus>,
    pub service: Option<ServiceType>,
    pub priority: Option<Priority>,
    pub created: Created,
}

/// Bounds on `created_at`, inclusive: RFC 3339 text, compared as text, since every
/// stored timestamp is UTC and `Z`-suffixed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Created {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// One index partition in the merge: its query (after the last page read) and the
/// matches read but not yet taken.
struct Lane {
    query: Query,
    ready: VecDeque<(Inquiry, Item)>,
    spent: bool,
}

impl Lane {
    /// The index position of the next match.
    fn head(&self) -> Option<&str> {
        self.ready
            .front()
            .and_then(|(_, item)| item.gsi1sk.as_deref())
    }
}

impl InquiryFilter {
    /// The index partitions that can hold a match: the filter's status, or every
    /// status, and the legacy partition.
    fn partitions(&self) -> Vec<String> {
        let statuses = match self.status {
            Some(s) => vec![s],
            None => InquiryStatus::ALL.to_vec(),
        };
        statuses
            .into_iter()
            .map(records::inquiries_in)
            .chain([records::LEGACY_INQUIRIES.to_string()])
            .collect()
    }

    /// One partition's date range, newest first, up to the index position `below`;
    /// `None` when the range is empty (DynamoDB refuses a reversed BETWEEN).
    fn query(&self, partition: &str, below: Option<&str>) -> Option<Query> {
        // Timestamps start with a digit, so "0" is below all of them (a key
        // condition may not hold an empty string in DynamoDB).
        let from = self.created.from.clone().unwrap_or_else(|| "0".to_string());
        // '~' sorts after every character of an id, so the bound includes its whole second.
        let to = self
            .created
            .to
            .as_ref()
            .map_or_else(|| "~".to_string(), |t| format!("{t}~"));
        let to = match below {
            Some(b) if b < to.as_str() => b.to_string(),
            _ => to,
        };
        (from <= to).then(|| {
            Query::index(partition)
                .range(SkRange::Between(from, to))
                .descending()
        })
    }

    fn matches(&self, i: &Inquiry) -> bool {
        self.status.is_none_or(|s| i.status == s)
            && self.priority.is_none_or(|p| i.priority == p)
            && self.service.is_none_or(|s| i.services.contains(&s))
    }
}
