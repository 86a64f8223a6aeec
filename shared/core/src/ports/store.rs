//! The item store: a DynamoDB-shaped single table that the embedded SQLite adapter
//! implements with the same semantics.
//!
//! Items live under a partition key `pk` and sort key `sk`, optionally in one global
//! index (`gsi1pk`/`gsi1sk`) for listings. Writes are all-or-nothing batches whose
//! conditions (create-once, optimistic `version`) are checked together. An item past
//! its `expires_at` is invisible at once, even before the store purges it, because
//! DynamoDB's TTL deletes lazily.

use async_trait::async_trait;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub pk: String,
    pub sk: String,
    pub gsi1pk: Option<String>,
    pub gsi1sk: Option<String>,
    /// Optimistic-lock counter; the caller sets the value to store.
    pub version: u64,
    /// Unix seconds after which the item no longer exists.
    pub expires_at: Option<i64>,
    pub data: Value,
}

impl Item {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>, data: Value) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
            gsi1pk: None,
            gsi1sk: None,
            version: 1,
            expires_at: None,
            data,
        }
    }

    pub fn indexed(mut self, gsi1pk: impl Into<String>, gsi1sk: impl Into<String>) -> Self {
        self.gsi1pk = Some(gsi1pk.into());
        self.gsi1sk = Some(gsi1sk.into());
        self
    }

    pub fn expiring_at(mut self, unix_seconds: i64) -> Self {
        self.expires_at = Some(unix_seconds);
        self
    }

    pub fn is_live(&self, now_unix: i64) -> bool {
        self.expires_at.is_none_or(|t| t > now_unix)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    None,
    /// No live item has this key.
    NotExists,
    /// A live item has this key at exactly this version.
    Version(u64),
    /// A live item has this key, at any version.
    Exists,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    Put {
        item: Item,
        condition: Condition,
    },
    Delete {
        pk: String,
        sk: String,
        condition: Condition,
    },
    /// Writes nothing: the batch holds only if `condition` holds for this item (a
    /// report written only while its inquiry is there to be erased with it).
    Check {
        pk: String,
        sk: String,
        condition: Condition,
    },
    /// Counts one more on a counter item (its `version` is the count), creating it
    /// at 1 with `expires_at` when there is none; the batch fails its condition when
    /// the counter already holds `max`. A limit kept this way rides in the batch of
    /// the write it limits, so it costs no call of its own.
    Count {
        pk: String,
        sk: String,
        max: u64,
        expires_at: i64,
    },
    /// Adds each delta to the named number in the item's `data` (a missing item or
    /// number starts at 0), with no condition: concurrent adds never conflict with
    /// each other, so a figure kept this way rides in the batch of the change it
    /// counts. Names are at most `MAX_ADD_NAME` bytes, at most `MAX_ADDS` per item.
    Add {
        pk: String,
        sk: String,
        deltas: Vec<(String, i64)>,
    },
}

impl WriteOp {
    /// The key of the item this operation is on.
    pub fn key(&self) -> (&str, &str) {
        match self {
            WriteOp::Put { item, .. } => (item.pk.as_str(), item.sk.as_str()),
            WriteOp::Delete { pk, sk, .. }
            | WriteOp::Check { pk, sk, .. }
            | WriteOp::Count { pk, sk, .. }
            | WriteOp::Add { pk, sk, .. } => (pk.as_str(), sk.as_str()),
        }
    }
}

/// Upper bound on the numbers one `Add` changes (DynamoDB caps an expression's size).
pub const MAX_ADDS: usize = 100;

/// Upper bound on the length of an `Add`'s name.
pub const MAX_ADD_NAME: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A condition in the batch did not hold; nothing was written.
    #[error("a write condition did not hold")]
    ConditionFailed,
    #[error("the item store is unavailable: {0}")]
    Unavailable(String),
    #[error("invalid request to the item store: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkRange {
    All,
    Prefix(String),
    /// Inclusive on both ends.
    Between(String, String),
}

/// Where a listing reads from and in which order.
#[derive(Debug, Clone)]
pub struct Query {
    /// `false` reads the table by `pk`; `true` reads the global index by `gsi1pk`.
    pub index: bool,
    pub partition: String,
    pub range: SkRange,
    pub newest_first: bool,
    pub limit: usize,
    pub after: Option<Cursor>,
}

impl Query {
    pub fn table(pk: impl Into<String>) -> Self {
        Self {
            index: false,
            partition: pk.into(),
            range: SkRange::All,
            newest_first: false,
            limit: 100,
            after: None,
        }
    }

    pub fn index(gsi1pk: impl Into<String>) -> Self {
        Self {
            index: true,
            ..Self::table(gsi1pk)
        }
    }

    pub fn range(mut self, r: SkRange) -> Self {
        self.range = r;
        self
    }

    pub fn descending(mut self) -> Self {
        self.newest_first = true;
        self
    }

    pub fn limit(mut self, n: usize) -> Self {
        self.limit = n;
        self
    }

    pub fn after(mut self, c: Option<Cursor>) -> Self {
        self.after = c;
        self
    }
}

/// An opaque position in a listing: the keys of the last item returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub pk: String,
    pub sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi1sk: Option<String>,
}

impl Cursor {
    pub fn of(item: &Item, index: bool) -> Self {
        Self {
            pk: item.pk.clone(),
            sk: item.sk.clone(),
            gsi1sk: if index { item.gsi1sk.clone() } else { None },
        }
    }

    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    /// `None` for anything `encode` did not produce.
    pub fn decode(s: &str) -> Option<Self> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Page {
    pub items: Vec<Item>,
    /// Present exactly when more items follow.
    pub next: Option<Cursor>,
}

#[async_trait]
pub trait ItemStore: Send + Sync {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError>;
    /// The live items at these keys, in the order asked (`None` where there is
    /// none), in one round trip: at most `MAX_GET_MANY` keys, each once.
    async fn get_many(&self, keys: &[(String, String)]) -> Result<Vec<Option<Item>>, StoreError>;
    /// Applies every operation or none. At most 25 operations, each on a different key.
    async fn write(&self, ops: Vec<WriteOp>) -> Result<(), StoreError>;
    async fn query(&self, q: &Query) -> Result<Page, StoreError>;
    /// A cheap round trip that proves the store answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Forgets what the store keeps of these deleted items beyond the items
    /// themselves (an erasure's last step): the embedded store's change log and the
    /// old pages that held them. DynamoDB keeps a stream's records for a day and
    /// nothing else, which no call can shorten.
    async fn forget(&self, keys: &[(String, String)]) -> Result<(), StoreError> {
        let _ = keys;
        Ok(())
    }
}

/// Upper bound on one batch, the smaller of DynamoDB's and a sane SQLite transaction.
pub const MAX_BATCH: usize = 25;

/// Upper bound on one `get_many`: DynamoDB's `BatchGetItem` limit.
pub const MAX_GET_MANY: usize = 100;

/// Refuses what `get_many` does not take, in every adapter alike.
pub fn check_keys(keys: &[(String, String)]) -> Result<(), StoreError> {
    if keys.len() > MAX_GET_MANY {
        return Err(StoreError::Invalid(format!(
            "a get_many takes at most {MAX_GET_MANY} keys, not {}",
            keys.len()
        )));
    }
    let mut sorted: Vec<&(String, String)> = keys.iter().collect();
    sorted.sort();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return Err(StoreError::Invalid("a key asked for twice".into()));
    }
    Ok(())
}

pub fn check_batch(ops: &[WriteOp]) -> Result<(), StoreError> {
    if ops.is_empty() || ops.len() > MAX_BATCH {
        return Err(StoreError::Invalid(format!(
            "a batch holds 1 to {MAX_BATCH} operations, not {}",
            ops.len()
        )));
    }
    let mut keys: Vec<(&str, &str)> = ops.iter().map(WriteOp::key).collect();
    for op in ops {
        if let WriteOp::Check {
            condition: Condition::None,
            ..
        } = op
        {
            return Err(StoreError::Invalid(
                "a check needs a condition to check".into(),
            ));
        }
        if let WriteOp::Add { deltas, .. } = op {
            let mut names: Vec<&str> = deltas.iter().map(|(n, _)| n.as_str()).collect();
            names.sort();
            if deltas.is_empty()
                || deltas.len() > MAX_ADDS
                || names.windows(2).any(|w| w[0] == w[1])
                || names.iter().any(|n| n.is_empty() || n.len() > MAX_ADD_NAME)
            {
                return Err(StoreError::Invalid(format!(
                    "an add changes 1 to {MAX_ADDS} distinct numbers named by 1 to {MAX_ADD_NAME} bytes"
                )));
            }
        }
    }
    keys.sort();
    if keys.windows(2).any(|w| w[0] == w[1]) {
        return Err(StoreError::Invalid("two operations on one key".into()));
    }
    Ok(())
}

/// DynamoDB refuses empty strings in key conditions and a BETWEEN whose lower bound
/// is above its upper; refuse them in every adapter.
pub fn check_query(q: &Query) -> Result<(), StoreError> {
    let bad_range = match &q.range {
        SkRange::All => false,
        SkRange::Prefix(p) => p.is_empty(),
        SkRange::Between(a, b) => a.is_empty() || b.is_empty() || a > b,
    };
    if q.partition.is_empty() || bad_range || q.limit == 0 {
        return Err(StoreError::Invalid(
            "empty key value, reversed range or zero limit in a query".into(),
        ));
    }
    Ok(())
}

pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
