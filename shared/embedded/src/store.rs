//! The item store over SQLite, with DynamoDB's semantics: conditional batches in one
//! transaction, ordered key ranges, cursors, and TTL that hides expired items.

use super::db::{exec, one_row, Db};
use async_trait::async_trait;
use backend_core::ports::store::{check_batch, check_keys, check_query, now_unix};
use backend_core::ports::{
    Change, ChangeFeed, Condition, Cursor, FeedFilter, Item, ItemStore, Page, Query, SkRange,
    StoreError, WriteOp,
};
use rusqlite::{params, OptionalExtension, Row};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Clone)]
pub struct SqliteStore {
    db: Db,
    writes: Arc<AtomicU64>,
    feed: Arc<FeedFilter>,
}

impl SqliteStore {
    /// A store whose writes log the changes `feed` names.
    pub fn new(db: Db, feed: FeedFilter) -> Self {
        Self {
            db,
            writes: Arc::default(),
            feed: Arc::new(feed),
        }
    }
}

fn row_item(r: &Row<'_>) -> rusqlite::Result<Item> {
    let data: String = r.get(6)?;
    Ok(Item {
        pk: r.get(0)?,
        sk: r.get(1)?,
        gsi1pk: r.get(2)?,
        gsi1sk: r.get(3)?,
        version: r.get::<_, i64>(4)? as u64,
        expires_at: r.get(5)?,
        data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
    })
}

/// Every how many writes one purges expired items and old changes. The purge's
/// statement is compiled again each time it runs (its bound time decides whether
/// SQLite may use the partial expiry index), which cost more than the purge.
const PURGE_EVERY: u64 = 16;

/// Expired items (and old changes) one purge removes at most: more than the writes
/// between two purges make, so the purge keeps up, and few enough that a write
/// costs the same whatever the table holds.
const PURGE_MAX: i64 = 8 * PURGE_EVERY as i64;

const COLS: &str = "pk, sk, gsi1pk, gsi1sk, version, expires_at, data";

fn live_version(
    tx: &rusqlite::Connection,
    pk: &str,
    sk: &str,
    now: i64,
) -> rusqlite::Result<Option<u64>> {
    one_row(
        tx,
        "SELECT version FROM items WHERE pk = ?1 AND sk = ?2 AND (expires_at IS NULL OR expires_at > ?3)",
        params![pk, sk, now],
        |r| r.get::<_, i64>(0),
    )
    .optional()
    .map(|v| v.map(|v| v as u64))
}

fn holds(cond: Condition, current: Option<u64>) -> bool {
    match cond {
        Condition::None => true,
        Condition::NotExists => current.is_none(),
        Condition::Version(v) => current == Some(v),
        Condition::Exists => current.is_some(),
    }
}

/// Adds `deltas` to the numbers in the item's data, making the item when there is
/// none (an expired one counts as none); logs the change, when `logged`, from the
/// item it wrote.
fn add(
    tx: &rusqlite::Connection,
    pk: &str,
    sk: &str,
    deltas: &[(String, i64)],
    now: i64,
    logged: bool,
) -> rusqlite::Result<()> {
    let current: Option<(String, i64)> = one_row(
            tx,
            "SELECT data, version FROM items WHERE pk = ?1 AND sk = ?2 AND (expires_at IS NULL OR expires_at > ?3)",
            params![pk, sk, now],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (mut data, version) = match current {
        Some((d, v)) => (
            serde_json::from_str::<serde_json::Value>(&d).unwrap_or_default(),
            v,
        ),
        None => (serde_json::Value::Null, 1),
    };
    if !data.is_object() {
        data = serde_json::json!({});
    }
    for (name, delta) in deltas {
        let was = data[name.as_str()].as_i64().unwrap_or(0);
        data[name.as_str()] = serde_json::json!(was.saturating_add(*delta));
    }
    let data = data.to_string();
    exec(
        tx,
        &format!("INSERT OR REPLACE INTO items ({COLS}) VALUES (?1, ?2, NULL, NULL, ?3, NULL, ?4)"),
        params![pk, sk, version, data],
    )?;
    if !logged {
        return Ok(());
    }
    let written = Item {
        version: version as u64,
        ..Item::new(pk, sk, serde_json::Value::Null)
    };
    append_change(tx, pk, sk, now, Some(image(&written, &data)))
}

/// How long the feed keeps a change.
const FEED_KEEPS_SECS: i64 = 24 * 3600;

/// Appends the item at `pk`/`sk` as it now stands (`NULL` when gone) to the feed,
/// in the transaction that changed it.
fn log_change(tx: &rusqlite::Connection, pk: &str, sk: &str, now: i64) -> rusqlite::Result<()> {
    let item: Option<Item> = one_row(
        tx,
        &format!("SELECT {COLS} FROM items WHERE pk = ?1 AND sk = ?2"),
        params![pk, sk],
        row_item,
    )
    .optional()?;
    let image = item.map(|i| image(&i, &i.data.to_string()));
    append_change(tx, pk, sk, now, image)
}

/// Appends a change with the item's image as written (`None`: deleted).
fn append_change(
    tx: &rusqlite::Connection,
    pk: &str,
    sk: &str,
    now: i64,
    image: Option<String>,
) -> rusqlite::Result<()> {
    exec(
        tx,
        "INSERT INTO changes (at, pk, sk, item) VALUES (?1, ?2, ?3, ?4)",
        params![now, pk, sk, image],
    )?;
    Ok(())
}

/// The change log's image of an item, around its data already serialised: a put
/// logs the item in hand rather than reading it back and serialising it again.
fn image(i: &Item, data: &str) -> String {
    let text = |v: &Option<String>| serde_json::to_string(v).unwrap_or_else(|_| "null".into());
    format!(
        "{{\"gsi1pk\":{},\"gsi1sk\":{},\"version\":{},\"expires_at\":{},\"data\":{data}}}",
        text(&i.gsi1pk),
        text(&i.gsi1sk),
        i.version,
        i.expires_at.map_or("null".to_string(), |e| e.to_string()),
    )
}

fn item_of(pk: &str, sk: &str, v: &serde_json::Value) -> Item {
    Item {
        pk: pk.to_string(),
        sk: sk.to_string(),
        gsi1pk: v["gsi1pk"].as_str().map(str::to_string),
        gsi1sk: v["gsi1sk"].as_str().map(str::to_string),
        version: v["version"].as_u64().unwrap_or(0),
        expires_at: v["expires_at"].as_i64(),
        data: v["data"].clone(),
    }
}

/// The change log that every write appends to.
#[derive(Clone)]
pub struct SqliteFeed {
    db: Db,
}

impl SqliteFeed {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait]
impl ChangeFeed for SqliteFeed {
    async fn read(&self, after: Option<&str>, max: usize) -> Result<Vec<Change>, StoreError> {
        let after: i64 = match after {
            None => 0,
            Some(p) => p
                .parse()
                .map_err(|_| StoreError::Invalid(format!("not a feed position: {p:?}")))?,
        };
        let max = max.clamp(1, 1000) as i64;
        self.db
            .call(move |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT seq, pk, sk, item FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                )?;
                let rows = stmt.query_map(params![after, max], |r| {
                    let (seq, pk, sk, item): (i64, String, String, Option<String>) =
                        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
                    let item = item
                        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                        .map(|v| item_of(&pk, &sk, &v));
                    Ok(Change {
                        position: seq.to_string(),
                        pk,
                        sk,
                        item,
                    })
                })?;
                rows.collect()
            })
            .await
            .map_err(StoreError::Unavailable)
    }
}

#[async_trait]
impl ItemStore for SqliteStore {
    async fn get_many(&self, keys: &[(String, String)]) -> Result<Vec<Option<Item>>, StoreError> {
        check_keys(keys)?;
        let (keys, now) = (keys.to_vec(), now_unix());
        self.db
            .call(move |c| {
                let mut stmt = c.prepare_cached(&format!(
                    "SELECT {COLS} FROM items WHERE pk = ?1 AND sk = ?2 AND (expires_at IS NULL OR expires_at > ?3)"
                ))?;
                keys.iter()
                    .map(|(pk, sk)| stmt.query_row(params![pk, sk, now], row_item).optional())
                    .collect()
            })
            .await
            .map_err(StoreError::Unavailable)
    }

    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let (pk, sk, now) = (pk.to_string(), sk.to_string(), now_unix());
        self.db
            .call(move |c| {
                one_row(
                    c,
                    &format!("SELECT {COLS} FROM items WHERE pk = ?1 AND sk = ?2 AND (expires_at IS NULL OR expires_at > ?3)"),
                    params![pk, sk, now],
                    row_item,
                )
                .optional()
            })
            .await
            .map_err(StoreError::Unavailable)
    }

    async fn write(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        check_batch(&ops)?;
        let now = now_unix();
        let purge = self
            .writes
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(PURGE_EVERY);
        let feed = self.feed.clone();
        let applied = self
            .db
            .call(move |c| {
                let tx = c.savepoint()?;
                for op in &ops {
                    if let WriteOp::Count { pk, sk, max, expires_at } = op {
                        let count = live_version(&tx, pk, sk, now)?.unwrap_or(0);
                        if count >= *max {
                            return Ok(false); // dropping tx rolls back
                        }
                        exec(
                            &tx,
                            &format!("INSERT OR REPLACE INTO items ({COLS}) VALUES (?1, ?2, NULL, NULL, ?3, ?4, '{{}}')"),
                            params![pk, sk, (count + 1) as i64, expires_at],
                        )?;
                        if feed.carries(sk) {
                            log_change(&tx, pk, sk, now)?;
                        }
                        continue;
                    }
                    if let WriteOp::Add { pk, sk, deltas } = op {
                        add(&tx, pk, sk, deltas, now, feed.carries(sk))?;
                        continue;
                    }
                    let (pk, sk, cond) = match op {
                        WriteOp::Put { item, condition } => (&item.pk, &item.sk, *condition),
                        WriteOp::Delete { pk, sk, condition }
                        | WriteOp::Check { pk, sk, condition } => (pk, sk, *condition),
                        WriteOp::Count { .. } | WriteOp::Add { .. } => {
                            unreachable!("written above")
                        }
                    };
                    // A write without a condition needs no look at what is there.
                    if cond != Condition::None && !holds(cond, live_version(&tx, pk, sk, now)?) {
                        return Ok(false); // dropping tx rolls back
                    }
                    match op {
                        WriteOp::Put { item, .. } => {
                            let data = item.data.to_string();
                            exec(
                                &tx,
                                &format!("INSERT OR REPLACE INTO items ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
                                params![
                                    item.pk,
                                    item.sk,
                                    item.gsi1pk,
                                    item.gsi1sk,
                                    item.version as i64,
                                    item.expires_at,
                                    data
                                ],
                            )?;
                            if feed.carries(sk) {
                                append_change(&tx, pk, sk, now, Some(image(item, &data)))?;
                            }
                        }
                        WriteOp::Delete { pk, sk, .. } => {
                            exec(&tx, "DELETE FROM items WHERE pk = ?1 AND sk = ?2", params![pk, sk])?;
                            if feed.carries(sk) {
                                append_change(&tx, pk, sk, now, None)?;
                            }
                        }
                        WriteOp::Check { .. } | WriteOp::Count { .. } | WriteOp::Add { .. } => {}
                    }
                }
                if purge {
                    // Expired items are purged lazily, as DynamoDB's TTL does: a few at
                    // a time through the expiry index, so a write never scans the table.
                    exec(
                        &tx,
                        "DELETE FROM items WHERE (pk, sk) IN (SELECT pk, sk FROM items WHERE expires_at IS NOT NULL AND expires_at <= ?1 LIMIT ?2)",
                        params![now - 3600, PURGE_MAX],
                    )?;
                    // The feed keeps a day of changes, as a stream does.
                    exec(
                        &tx,
                        "DELETE FROM changes WHERE seq IN (SELECT seq FROM changes WHERE at <= ?1 ORDER BY at LIMIT ?2)",
                        params![now - FEED_KEEPS_SECS, PURGE_MAX],
                    )?;
                }
                tx.commit()?;
                Ok(true)
            })
            .await
            .map_err(StoreError::Unavailable)?;
        if applied {
            Ok(())
        } else {
            Err(StoreError::ConditionFailed)
        }
    }

    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        check_query(q)?;
        let q = q.clone();
        let now = now_unix();
        let (part_col, sort_col) = if q.index {
            ("gsi1pk", "gsi1sk")
        } else {
            ("pk", "sk")
        };
        // Ties on the index sort key are broken by the table key, as a stable order.
        let order_cols = if q.index { "gsi1sk, pk, sk" } else { "sk" };
        let dir = if q.newest_first { "DESC" } else { "ASC" };
        let cmp = if q.newest_first { "<" } else { ">" };

        let mut sql = format!(
            "SELECT {COLS} FROM items WHERE {part_col} = ? AND (expires_at IS NULL OR expires_at > ?)"
        );
        let mut args: Vec<String> = vec![q.partition.clone(), now.to_string()];
        match &q.range {
            SkRange::All => {}
            SkRange::Prefix(p) => {
                // substr comparison instead of LIKE: no escaping, and byte-exact like DynamoDB.
                sql.push_str(&format!(" AND substr({sort_col}, 1, length(?)) = ?"));
                args.push(p.clone());
                args.push(p.clone());
            }
            SkRange::Between(a, b) => {
                sql.push_str(&format!(" AND {sort_col} BETWEEN ? AND ?"));
                args.push(a.clone());
                args.push(b.clone());
            }
        }
        if let Some(c) = &q.after {
            if q.index {
                sql.push_str(&format!(" AND (gsi1sk, pk, sk) {cmp} (?, ?, ?)"));
                args.push(c.gsi1sk.clone().unwrap_or_default());
                args.push(c.pk.clone());
                args.push(c.sk.clone());
            } else {
                sql.push_str(&format!(" AND sk {cmp} ?"));
                args.push(c.sk.clone());
            }
        }
        let order = order_cols
            .split(", ")
            .map(|c| format!("{c} {dir}"))
            .collect::<Vec<_>>()
            .join(", ");
        sql.push_str(&format!(" ORDER BY {order} LIMIT {}", q.limit + 1));
        let limit = q.limit;
        let index = q.index;

        let mut items = self
            .db
            .call(move |c| {
                let mut stmt = c.prepare_cached(&sql)?;
                let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), row_item)?;
                rows.collect::<rusqlite::Result<Vec<Item>>>()
            })
            .await
            .map_err(StoreError::Unavailable)?;
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|i| Cursor::of(i, index))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn forget(&self, keys: &[(String, String)]) -> Result<(), StoreError> {
        let keys = serde_json::to_string(keys).unwrap_or_else(|_| "[]".into());
        self.db
            .call_alone(move |c| {
                // One pass over the day of changes the log keeps, for every key at once.
                exec(
                    c,
                    "DELETE FROM changes WHERE (pk, sk) IN \
                     (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?1))",
                    params![keys],
                )?;
                // Deleted rows are zeroed where they lay (secure_delete), but a page that
                // was rebuilt when rows moved between pages can keep an old copy in its
                // unused space: the file is rewritten from the live rows. Then the pages
                // that held them, which live on as frames of the write-ahead log, are
                // copied back and the log cut to nothing. An erasure is rare, and the dev
                // server's file small.
                c.execute_batch("VACUUM")?;
                c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            })
            .await
            .map_err(StoreError::Unavailable)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.db
            .call(|c| one_row(c, "SELECT 1", [], |r| r.get::<_, i64>(0)))
            .await
            .map(|_| ())
            .map_err(StoreError::Unavailable)
    }
}
