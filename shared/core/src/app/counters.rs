//! Counts kept beside the records, so that a figure costs a few reads whatever the
//! table holds.
//!
//! A write that stores something countable adds to named numbers (`Tally`) in the
//! same batch, as `Add`s: once per hour, day and month bucket of the record's time
//! and once to the all-time totals. Each bucket is `SHARDS` items and a write adds
//! to one of them, chosen by its record's key, so concurrent writes rarely touch
//! the same item (DynamoDB refuses a transaction that meets another on an item).
//! A range is read as the fewest whole buckets that cover it (`between`): at most
//! about 23 hours, 30 days, the months between, 30 days and 23 hours, each
//! `SHARDS` items, however many records the range holds.
//!
//! Records stored before the counts existed carry no mark (`is_counted`); the
//! scheduled pass counts them once (`Backfill`), marking each in the same batch.
//!
//! | record | `pk` | `sk` |
//! | --- | --- | --- |
//! | an hour's counts | `COUNTS#H` | `<YYYY-MM-DDTHH>#<shard>` |
//! | a day's counts | `COUNTS#D` | `<YYYY-MM-DD>#<shard>` |
//! | a month's counts | `COUNTS#M` | `<YYYY-MM>#<shard>` |
//! | every count ever | `COUNTS#T` | `<shard>` |
//! | the backfill's progress | `COUNTS#BACKFILL` | `STATE` |

use super::records;
use super::AppError;
use crate::ports::store::MAX_BATCH;
use crate::ports::{Item, ItemStore, Query, SkRange, WriteOp};
use serde_json::Value;
use std::collections::BTreeMap;
use time::{Date, Month, OffsetDateTime, Time, UtcOffset};

/// Items each bucket is spread over.
pub const SHARDS: u64 = 4;

/// The field that marks a record whose counts were added when it was written.
const MARK: &str = "_counted";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grain {
    Hour,
    Day,
    Month,
}

impl Grain {
    fn pk(self) -> &'static str {
        match self {
            Grain::Hour => "COUNTS#H",
            Grain::Day => "COUNTS#D",
            Grain::Month => "COUNTS#M",
        }
    }

    fn label(self, t: OffsetDateTime) -> String {
        let (y, m, d, h) = (t.year(), u8::from(t.month()), t.day(), t.hour());
        match self {
            Grain::Hour => format!("{y:04}-{m:02}-{d:02}T{h:02}"),
            Grain::Day => format!("{y:04}-{m:02}-{d:02}"),
            Grain::Month => format!("{y:04}-{m:02}"),
        }
    }

    /// The start of the bucket after the one starting at `t`.
    fn next(self, t: OffsetDateTime) -> OffsetDateTime {
        match self {
            Grain::Hour => t + time::Duration::HOUR,
            Grain::Day => t + time::Duration::DAY,
            Grain::Month => {
                let (y, m) = match t.month() {
                    Month::December => (t.year() + 1, Month::January),
                    m => (t.year(), m.next()),
                };
                at_midnight(Date::from_calendar_date(y, m, 1).unwrap_or(t.date()))
            }
        }
    }

    /// The start of the bucket holding `t`.
    fn floor(self, t: OffsetDateTime) -> OffsetDateTime {
        let t = t.to_offset(UtcOffset::UTC);
        match self {
            Grain::Hour => t.replace_time(Time::from_hms(t.hour(), 0, 0).unwrap_or(Time::MIDNIGHT)),
            Grain::Day => at_midnight(t.date()),
            Grain::Month => at_midnight(t.date().replace_day(1).unwrap_or(t.date())),
        }
    }
}

fn at_midnight(d: Date) -> OffsetDateTime {
    d.midnight().assume_utc()
}

const TOTALS_PK: &str = "COUNTS#T";
const BACKFILL_PK: &str = "COUNTS#BACKFILL";
const BACKFILL_SK: &str = "STATE";

/// FNV-1a: a stable spread of record keys over the shards.
fn shard_of(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    }) % SHARDS
}

/// What one write adds to the counts, at one time.
#[derive(Debug, Clone)]
pub struct Tally {
    at: OffsetDateTime,
    shard: u64,
    deltas: BTreeMap<String, i64>,
}

impl Tally {
    /// Counts in the buckets of `at`, on the shard of `record_key`.
    pub fn at(at: OffsetDateTime, record_key: &str) -> Self {
        Self {
            at: at.to_offset(UtcOffset::UTC),
            shard: shard_of(record_key),
            deltas: BTreeMap::new(),
        }
    }

    /// The same, at a record's RFC 3339 time (now when it does not parse).
    pub fn at_text(at: &str, record_key: &str, now: OffsetDateTime) -> Self {
        Self::at(parse_time(at).unwrap_or(now), record_key)
    }

    pub fn add(&mut self, name: impl Into<String>, delta: i64) -> &mut Self {
        *self.deltas.entry(name.into()).or_default() += delta;
        self
    }

    /// The same counts taken away: what removing the record they counted undoes.
    pub fn negated(mut self) -> Self {
        for d in self.deltas.values_mut() {
            *d = -*d;
        }
        self
    }

    /// The `Add`s for the batch: none when everything cancels out.
    pub fn writes(&self) -> Vec<WriteOp> {
        let deltas: Vec<(String, i64)> = self
            .deltas
            .iter()
            .filter(|(_, d)| **d != 0)
            .map(|(n, d)| (n.clone(), *d))
            .collect();
        if deltas.is_empty() {
            return vec![];
        }
        let shard = self.shard;
        let mut keys: Vec<(String, String)> = [Grain::Hour, Grain::Day, Grain::Month]
            .into_iter()
            .map(|g| (g.pk().to_string(), format!("{}#{shard}", g.label(self.at))))
            .collect();
        keys.push((TOTALS_PK.to_string(), shard.to_string()));
        keys.into_iter()
            .map(|(pk, sk)| WriteOp::Add {
                pk,
                sk,
                deltas: deltas.clone(),
            })
            .collect()
    }
}

/// `ops` with the `Add`s that meet on one item folded into one: a batch may touch
/// each item once (DynamoDB refuses a transaction that names one twice), and two
/// tallies of one batch often share a month bucket or the totals.
pub fn merged(ops: Vec<WriteOp>) -> Vec<WriteOp> {
    let mut out: Vec<WriteOp> = Vec::with_capacity(ops.len());
    for op in ops {
        let WriteOp::Add { pk, sk, deltas } = op else {
            out.push(op);
            continue;
        };
        let same = out.iter_mut().find_map(|o| match o {
            WriteOp::Add {
                pk: p,
                sk: s,
                deltas: d,
            } if *p == pk && *s == sk => Some(d),
            _ => None,
        });
        match same {
            Some(d) => {
                for (name, delta) in deltas {
                    match d.iter_mut().find(|(n, _)| *n == name) {
                        Some((_, v)) => *v += delta,
                        None => d.push((name, delta)),
                    }
                }
            }
            None => out.push(WriteOp::Add { pk, sk, deltas }),
        }
    }
    // Deltas that cancel out add nothing; an item left with none is not touched.
    out.retain_mut(|o| match o {
        WriteOp::Add { deltas, .. } => {
            deltas.retain(|(_, d)| *d != 0);
            !deltas.is_empty()
        }
        _ => true,
    });
    out
}

/// Units (writes that must apply together, such as a record and its counts)
/// packed into as few batches as hold them, each within `MAX_BATCH` and naming each
/// key once: the counts of a batch's units are folded into one `Add` per item, and a
/// check that two units share is made once. Each batch comes with the positions of
/// its units, so that a batch refused can be written again unit by unit.
pub fn packed(units: &[Vec<WriteOp>]) -> Vec<(Vec<WriteOp>, Vec<usize>)> {
    let mut out = Vec::new();
    let mut batch: Vec<WriteOp> = Vec::new();
    let mut members = Vec::new();
    for (i, unit) in units.iter().enumerate() {
        if unit.is_empty() {
            continue;
        }
        let mut joined = batch.clone();
        for op in unit.iter() {
            if !(matches!(op, WriteOp::Check { .. }) && joined.contains(op)) {
                joined.push(op.clone());
            }
        }
        let joined = merged(joined);
        let mut keys: Vec<(&str, &str)> = joined.iter().map(WriteOp::key).collect();
        keys.sort_unstable();
        let distinct = keys.windows(2).all(|w| w[0] != w[1]);
        if joined.len() <= MAX_BATCH && distinct {
            batch = joined;
        } else {
            if !batch.is_empty() {
                out.push((std::mem::take(&mut batch), std::mem::take(&mut members)));
            }
            batch = merged(unit.clone());
        }
        members.push(i);
    }
    if !batch.is_empty() {
        out.push((batch, members));
    }
    out
}

/// The start of the hour holding `t`: counts are read to the hour.
pub fn hour_start(t: OffsetDateTime) -> OffsetDateTime {
    Grain::Hour.floor(t)
}

/// The record as written with its counts: marked, so the backfill skips it.
pub fn mark(mut item: Item) -> Item {
    if let Some(o) = item.data.as_object_mut() {
        o.insert(MARK.into(), Value::Bool(true));
    }
    item
}

/// Whether a record's counts were added when it was written.
pub fn is_counted(item: &Item) -> bool {
    item.data[MARK] == Value::Bool(true)
}

pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// Named numbers summed over the items read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts(BTreeMap<String, i64>);

impl Counts {
    pub fn get(&self, name: &str) -> i64 {
        self.0.get(name).copied().unwrap_or(0)
    }

    /// Every name with this prefix, with the rest of its name.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, i64)> {
        self.0
            .range(prefix.to_string()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(move |(k, v)| (&k[prefix.len()..], *v))
    }

    fn absorb(&mut self, item: &Item) {
        if let Some(o) = item.data.as_object() {
            for (k, v) in o {
                if let Some(n) = v.as_i64() {
                    *self.0.entry(k.clone()).or_default() += n;
                }
            }
        }
    }

    fn merge(&mut self, other: Counts) {
        for (k, v) in other.0 {
            *self.0.entry(k).or_default() += v;
        }
    }
}

/// Every count ever: `SHARDS` items.
pub async fn totals(store: &dyn ItemStore) -> Result<Counts, AppError> {
    let mut out = Counts::default();
    for item in records::collect(store, &Query::table(TOTALS_PK)).await? {
        out.absorb(&item);
    }
    Ok(out)
}

/// The counts of the whole hours from the one holding `from` up to the one
/// holding `to`, both included.
pub async fn between(
    store: &dyn ItemStore,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<Counts, AppError> {
    let (a, b) = (
        Grain::Hour.floor(from),
        Grain::Hour.next(Grain::Hour.floor(to)),
    );
    let reads = cover(a, b)
        .into_iter()
        .map(|(g, first, end)| read_span(store, g, first, end));
    let mut out = Counts::default();
    for c in futures::future::try_join_all(reads).await? {
        out.merge(c);
    }
    Ok(out)
}

/// The buckets `[first, end)` of one grain, in one query.
async fn read_span(
    store: &dyn ItemStore,
    g: Grain,
    first: OffsetDateTime,
    end: OffsetDateTime,
) -> Result<Counts, AppError> {
    let last = Grain::floor(g, end - time::Duration::SECOND);
    let q = Query::table(g.pk())
        .range(SkRange::Between(
            format!("{}#", g.label(first)),
            format!("{}#~", g.label(last)),
        ))
        .limit(500);
    let mut out = Counts::default();
    for item in records::collect(store, &q).await? {
        out.absorb(&item);
    }
    Ok(out)
}

/// The fewest whole buckets that make up the hours `[a, b)`: hours up to the first
/// midnight, days up to the first of a month, months, then days and hours again.
fn cover(a: OffsetDateTime, b: OffsetDateTime) -> Vec<(Grain, OffsetDateTime, OffsetDateTime)> {
    let mut spans = Vec::new();
    let mut push = |g, x: OffsetDateTime, y: OffsetDateTime| {
        if x < y {
            spans.push((g, x, y));
        }
    };
    let ceil = |g: Grain, t: OffsetDateTime| {
        let f = g.floor(t);
        if f == t {
            t
        } else {
            g.next(f)
        }
    };
    let a_day = ceil(Grain::Day, a);
    let b_day = Grain::Day.floor(b);
    if a_day >= b_day {
        push(Grain::Hour, a, b);
        return spans;
    }
    push(Grain::Hour, a, a_day);
    let a_month = ceil(Grain::Month, a_day);
    let b_month = Grain::Month.floor(b_day);
    if a_month >= b_month {
        push(Grain::Day, a_day, b_day);
    } else {
        push(Grain::Day, a_day, a_month);
        push(Grain::Month, a_month, b_month);
        push(Grain::Day, b_month, b_day);
    }
    push(Grain::Hour, b_day, b);
    spans
}

/// One kind of record the backfill counts: where to walk them, and what each adds.
pub struct Source {
    pub name: &'static str,
    /// The index partitions holding them.
    pub partitions: Vec<String>,
    /// What one record adds (nothing for a record that is not this kind).
    pub tally: fn(&Item, OffsetDateTime) -> Option<Tally>,
    /// Items written beside the counted record that the counts' readers rely on.
    pub beside: fn(&Item) -> Vec<WriteOp>,
}

impl Source {
    /// The records of one index partition, with nothing written beside them.
    pub fn of_index(
        name: &'static str,
        index: &str,
        tally: fn(&Item, OffsetDateTime) -> Option<Tally>,
    ) -> Self {
        Self {
            name,
            partitions: vec![index.to_string()],
            tally,
            beside: |_| vec![],
        }
    }
}

/// Counts records stored before the counts existed, a batch per pass, remembering
/// where it stopped; once done it costs one read per pass.
pub struct Backfill<'a> {
    pub store: &'a dyn ItemStore,
    pub sources: Vec<Source>,
    pub now: OffsetDateTime,
}

/// Whether the backfill has counted every record stored before the counts.
pub async fn backfill_done(store: &dyn ItemStore) -> Result<bool, AppError> {
    let state = store.get(BACKFILL_PK, BACKFILL_SK).await?;
    Ok(state.is_some_and(|s| s.data["done"] == Value::Bool(true)))
}

impl Backfill<'_> {
    /// Counts up to `max` records; returns how many it counted (0 once done).
    pub async fn run(&self, max: usize) -> Result<usize, AppError> {
        let state = self.store.get(BACKFILL_PK, BACKFILL_SK).await?;
        let version = state.as_ref().map_or(0, |s| s.version);
        let data = state.map(|s| s.data).unwrap_or_default();
        if data["done"] == Value::Bool(true) {
            return Ok(0);
        }
        let mut at = data["at"].as_u64().unwrap_or(0) as usize;
        let mut cursor = data["cursor"]
            .as_str()
            .and_then(crate::ports::Cursor::decode);
        let mut counted = 0;
        let mut read = 0;
        let flat: Vec<(&Source, &String)> = self
            .sources
            .iter()
            .flat_map(|s| s.partitions.iter().map(move |p| (s, p)))
            .collect();
        while at < flat.len() && read < max {
            let (source, partition) = flat[at];
            let page = self
                .store
                .query(
                    &Query::index(partition.clone())
                        .limit((max - read).clamp(1, 100))
                        .after(cursor.take()),
                )
                .await?;
            read += page.items.len();
            for item in page.items {
                if is_counted(&item) {
                    continue;
                }
                let Some(tally) = (source.tally)(&item, self.now) else {
                    continue;
                };
                let beside = (source.beside)(&item);
                let mut ops = vec![WriteOp::Put {
                    condition: crate::ports::Condition::Version(item.version),
                    item: mark(item),
                }];
                ops.extend(beside);
                ops.extend(tally.writes());
                match self.store.write(ops).await {
                    Ok(()) => counted += 1,
                    // Rewritten meanwhile by a change that counted it.
                    Err(crate::ports::StoreError::ConditionFailed) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => at += 1,
            }
        }
        let done = at >= flat.len();
        let state = Item::new(
            BACKFILL_PK,
            BACKFILL_SK,
            serde_json::json!({
                "done": done,
                "at": at,
                "cursor": cursor.map(|c| c.encode()),
            }),
        );
        let condition = if version == 0 {
            crate::ports::Condition::NotExists
        } else {
            crate::ports::Condition::Version(version)
        };
        let mut state = state;
        state.version = version + 1;
        match self
            .store
            .write(vec![WriteOp::Put {
                item: state,
                condition,
            }])
            .await
        {
            // Another pass ran at once: its progress stands, the counting was safe.
            Ok(()) | Err(crate::ports::StoreError::ConditionFailed) => Ok(counted),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> OffsetDateTime {
        parse_time(s).unwrap()
    }

    fn labels(a: &str, b: &str) -> Vec<(Grain, String, String)> {
        cover(t(a), t(b))
            .into_iter()
            .map(|(g, x, y)| (g, g.label(x), g.label(g.floor(y - time::Duration::SECOND))))
            .collect()
    }

    #[test]
    fn adds_on_one_item_are_folded_into_one_and_cancelling_ones_dropped() {
        let add = |sk: &str, d: &[(&str, i64)]| WriteOp::Add {
            pk: "COUNTS#M".into(),
            sk: sk.into(),
            deltas: d.iter().map(|(n, v)| (n.to_string(), *v)).collect(),
        };
        let put = WriteOp::Delete {
            pk: "X".into(),
            sk: "Y".into(),
            condition: crate::ports::Condition::None,
        };
        let out = merged(vec![
            add("2026-11#1", &[("a", 1), ("b", -1)]),
            put.clone(),
            add("2026-11#1", &[("a", 2), ("b", 1), ("c", 1)]),
            add("2026-11#2", &[("a", -1)]),
            add("2026-11#2", &[("a", 1)]),
        ]);
        assert_eq!(out, vec![add("2026-11#1", &[("a", 3), ("c", 1)]), put]);
    }

    #[test]
    fn a_range_is_covered_by_the_fewest_whole_buckets() {
        use Grain::*;
        let s = |x: &str| x.to_string();
        assert_eq!(
            labels("2026-01-30T22:00:00Z", "2026-04-02T03:00:00Z"),
            vec![
                (Hour, s("2026-01-30T22"), s("2026-01-30T23")),
                (Day, s("2026-01-31"), s("2026-01-31")),
                (Month, s("2026-02"), s("2026-03")),
                (Day, s("2026-04-01"), s("2026-04-01")),
                (Hour, s("2026-04-02T00"), s("2026-04-02T02")),
            ]
        );
        assert_eq!(
            labels("2026-11-30T17:00:00Z", "2026-11-30T19:00:00Z"),
            vec![(Hour, s("2026-11-30T17"), s("2026-11-30T18"))]
        );
        assert_eq!(
            labels("2026-12-30T00:00:00Z", "2027-01-02T00:00:00Z"),
            vec![(Day, s("2026-12-30"), s("2027-01-01"))]
        );
        assert!(labels("2026-11-30T17:00:00Z", "2026-11-30T17:00:00Z").is_empty());
    }

    #[test]
    fn ninety_days_read_a_bounded_number_of_buckets() {
        let end = t("2026-11-30T18:00:00Z");
        let spans = cover(end - time::Duration::days(90), end);
        let buckets: i64 = spans
            .iter()
            .map(|(g, x, y)| match g {
                Grain::Hour => (*y - *x).whole_hours(),
                Grain::Day => (*y - *x).whole_days(),
                Grain::Month => 4,
            })
            .sum();
        assert!(buckets <= 23 + 31 + 4 + 31 + 23, "{buckets}");
    }

    #[test]
    fn a_write_adds_to_each_grain_on_one_shard_and_nothing_when_it_cancels() {
        let mut tally = Tally::at(t("2026-11-30T18:30:00Z"), "INQ#1");
        tally.add("a", 1).add("b", 1).add("b", -1);
        let writes = tally.writes();
        let keys: Vec<(String, String)> = writes
            .iter()
            .map(|w| match w {
                WriteOp::Add { pk, sk, deltas } => {
                    assert_eq!(deltas, &vec![("a".to_string(), 1)]);
                    (pk.clone(), sk.split('#').next().unwrap().to_string())
                }
                other => panic!("{other:?}"),
            })
            .collect();
        let shard = shard_of("INQ#1").to_string();
        assert_eq!(
            keys,
            vec![
                ("COUNTS#H".into(), "2026-11-30T18".into()),
                ("COUNTS#D".into(), "2026-11-30".into()),
                ("COUNTS#M".into(), "2026-11".into()),
                ("COUNTS#T".into(), shard),
            ]
        );
        let mut none = Tally::at(t("2026-11-30T18:30:00Z"), "INQ#1");
        none.add("a", 2).add("a", -2);
        assert!(none.writes().is_empty());
    }
}
