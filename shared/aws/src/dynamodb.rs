//! The item store on one DynamoDB table: `pk`/`sk` keys, the `gsi1` index on
//! `gsi1pk`/`gsi1sk`, a numeric `version`, TTL on `ttl`, and the item's fields as a
//! JSON string in `data` so both adapters store exactly the same document.

use async_trait::async_trait;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use backend_core::app::retry::RetryPolicy;
use backend_core::ports::store::{check_batch, check_keys, check_query, now_unix};
use backend_core::ports::{
    Condition, Cursor, Item, ItemStore, Page, Query, SkRange, StoreError, WriteOp,
};
use std::collections::HashMap;

pub const INDEX_NAME: &str = "gsi1";

/// The prefix of the attributes that hold an `Add`'s numbers.
const ADDED: &str = "n.";

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

type Attrs = HashMap<String, AttributeValue>;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn to_attrs(item: &Item) -> Attrs {
    let mut m = Attrs::new();
    m.insert("pk".into(), s(&item.pk));
    m.insert("sk".into(), s(&item.sk));
    if let (Some(p), Some(k)) = (&item.gsi1pk, &item.gsi1sk) {
        m.insert("gsi1pk".into(), s(p));
        m.insert("gsi1sk".into(), s(k));
    }
    m.insert("version".into(), n(item.version));
    if let Some(t) = item.expires_at {
        m.insert("ttl".into(), n(t));
    }
    m.insert("data".into(), s(&item.data.to_string()));
    m
}

/// An item from its attributes, as the table holds them (and its stream shows them).
pub fn item_of_attrs(m: &Attrs) -> Result<Item, StoreError> {
    from_attrs(m)
}

fn from_attrs(m: &Attrs) -> Result<Item, StoreError> {
    let get_s = |k: &str| m.get(k).and_then(|v| v.as_s().ok()).cloned();
    let get_n = |k: &str| {
        m.get(k)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok())
    };
    let bad = |what: &str| StoreError::Invalid(format!("stored item lacks {what}"));
    let mut data: serde_json::Value =
        serde_json::from_str(&get_s("data").ok_or_else(|| bad("data"))?)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
    // The numbers an `Add` keeps are attributes of their own (DynamoDB adds only to
    // those); they join the data under their names.
    for (name, v) in m {
        if let (Some(name), Ok(v)) = (name.strip_prefix(ADDED), v.as_n()) {
            if let (Some(obj), Ok(v)) = (data.as_object_mut(), v.parse::<i64>()) {
                obj.insert(name.to_string(), v.into());
            }
        }
    }
    Ok(Item {
        pk: get_s("pk").ok_or_else(|| bad("pk"))?,
        sk: get_s("sk").ok_or_else(|| bad("sk"))?,
        gsi1pk: get_s("gsi1pk"),
        gsi1sk: get_s("gsi1sk"),
        version: get_n("version").unwrap_or(0) as u64,
        expires_at: get_n("ttl"),
        data,
    })
}

/// A request the SDK's builders refuse (a field missing): the caller's mistake.
fn invalid(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Invalid(e.to_string())
}

fn key(pk: &str, sk: &str) -> Attrs {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

/// The condition expression, its names and values. Expired items count as absent,
/// because TTL deletion in DynamoDB can lag by days.
struct Cond {
    expr: Option<String>,
    names: HashMap<String, String>,
    values: Attrs,
}

fn condition(c: Condition, now: i64) -> Cond {
    let mut names = HashMap::new();
    let mut values = Attrs::new();
    let expr = match c {
        Condition::None => None,
        Condition::NotExists => {
            names.insert("#ttl".into(), "ttl".into());
            values.insert(":now".into(), n(now));
            Some(
                "attribute_not_exists(pk) OR (attribute_exists(#ttl) AND #ttl <= :now)".to_string(),
            )
        }
        Condition::Version(v) => {
            names.insert("#v".into(), "version".into());
            names.insert("#ttl".into(), "ttl".into());
            values.insert(":v".into(), n(v));
            values.insert(":now".into(), n(now));
            Some("#v = :v AND (attribute_not_exists(#ttl) OR #ttl > :now)".to_string())
        }
        Condition::Exists => {
            names.insert("#ttl".into(), "ttl".into());
            values.insert(":now".into(), n(now));
            Some("attribute_exists(pk) AND (attribute_not_exists(#ttl) OR #ttl > :now)".to_string())
        }
    };
    Cond {
        expr,
        names,
        values,
    }
}

/// The update of an `Add`: each number added in place, and the item's fixed
/// attributes set when the add makes it.
fn add_update(deltas: &[(String, i64)]) -> Cond {
    let mut names = HashMap::from([
        ("#d".to_string(), "data".to_string()),
        ("#v".to_string(), "version".to_string()),
    ]);
    let mut values = HashMap::from([(":empty".to_string(), s("{}")), (":one".to_string(), n(1))]);
    let mut adds = Vec::with_capacity(deltas.len());
    for (i, (name, delta)) in deltas.iter().enumerate() {
        names.insert(format!("#n{i}"), format!("{ADDED}{name}"));
        values.insert(format!(":n{i}"), n(delta));
        adds.push(format!("#n{i} :n{i}"));
    }
    Cond {
        expr: Some(format!(
            "SET #d = if_not_exists(#d, :empty), #v = if_not_exists(#v, :one) ADD {}",
            adds.join(", ")
        )),
        names,
        values,
    }
}

/// Sets a condition's expression, names and values on any of the SDK's request
/// builders (they share the methods, not a trait).
macro_rules! with_condition {
    ($builder:expr, $c:expr) => {{
        let c = $c;
        $builder
            .set_condition_expression(c.expr)
            .set_expression_attribute_names(non_empty(c.names))
            .set_expression_attribute_values(non_empty(c.values))
    }};
}

/// A transaction's part on one item by its key, under a condition, built.
macro_rules! keyed_on {
    ($builder:expr, $table:expr, $pk:expr, $sk:expr, $c:expr) => {
        with_condition!(
            $builder.table_name(&$table).set_key(Some(key(&$pk, &$sk))),
            $c
        )
        .build()
        .map_err(invalid)?
    };
}

fn non_empty<K, V>(m: HashMap<K, V>) -> Option<HashMap<K, V>> {
    (!m.is_empty()).then_some(m)
}

/// Why a transaction did not apply.
#[derive(Debug)]
enum Written {
    /// It met another transaction on an item; nothing was applied.
    Conflict,
    Failed(StoreError),
}

impl std::fmt::Display for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Written::Conflict => f.write_str("transaction conflict"),
            Written::Failed(e) => e.fmt(f),
        }
    }
}

impl Written {
    fn into_store_error(self) -> StoreError {
        match self {
            Written::Conflict => {
                StoreError::Unavailable("the transaction kept meeting others; try again".into())
            }
            Written::Failed(e) => e,
        }
    }
}

/// A cancelled transaction by its reasons: a failed condition is the caller's to
/// handle, even beside a conflict; a conflict alone is worth another try.
fn cancelled(reasons: &[aws_sdk_dynamodb::types::CancellationReason]) -> Written {
    let any = |code: &str| reasons.iter().any(|r| r.code() == Some(code));
    if any("ConditionalCheckFailed") {
        Written::Failed(StoreError::ConditionFailed)
    } else if any("TransactionConflict") {
        Written::Conflict
    } else {
        let codes: Vec<&str> = reasons.iter().filter_map(|r| r.code()).collect();
        Written::Failed(StoreError::Unavailable(format!(
            "transaction cancelled: {}",
            codes.join(", ")
        )))
    }
}

fn unavailable<E: std::error::Error>(e: E) -> StoreError {
    StoreError::Unavailable(DisplayErrorContext(e).to_string())
}

impl DynamoStore {
    pub fn new(client: Client, table: &str) -> Self {
        Self {
            client,
            table: table.to_string(),
        }
    }

    async fn write_one(&self, op: WriteOp, now: i64) -> Result<(), StoreError> {
        // The one send and the one reading of a failed condition that a put and a
        // delete share.
        macro_rules! conditional {
            ($request:expr, $c:expr) => {{
                with_condition!($request, $c)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| match e.into_service_error() {
                        e if e.is_conditional_check_failed_exception() => {
                            StoreError::ConditionFailed
                        }
                        e => unavailable(e),
                    })
            }};
        }
        match op {
            WriteOp::Put { item, condition: c } => conditional!(
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(to_attrs(&item))),
                condition(c, now)
            ),
            WriteOp::Delete {
                pk,
                sk,
                condition: c,
            } => conditional!(
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(key(&pk, &sk))),
                condition(c, now)
            ),
            WriteOp::Add { pk, sk, deltas } => {
                let u = add_update(&deltas);
                self.client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(key(&pk, &sk)))
                    .set_update_expression(u.expr)
                    .set_expression_attribute_names(Some(u.names))
                    .set_expression_attribute_values(Some(u.values))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(unavailable)
            }
            WriteOp::Count { .. } | WriteOp::Check { .. } => Err(StoreError::Invalid(
                "a count or a check is written in a transaction".into(),
            )),
        }
    }

    fn transact_item(&self, op: WriteOp, now: i64) -> Result<TransactWriteItem, StoreError> {
        Ok(match op {
            WriteOp::Put { item, condition: c } => {
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(to_attrs(&item)));
                let put = with_condition!(put, condition(c, now))
                    .build()
                    .map_err(invalid)?;
                TransactWriteItem::builder().put(put).build()
            }
            WriteOp::Delete {
                pk,
                sk,
                condition: c,
            } => {
                let del = keyed_on!(Delete::builder(), self.table, pk, sk, condition(c, now));
                TransactWriteItem::builder().delete(del).build()
            }
            WriteOp::Check {
                pk,
                sk,
                condition: c,
            } => {
                let check = keyed_on!(
                    ConditionCheck::builder(),
                    self.table,
                    pk,
                    sk,
                    condition(c, now)
                );
                TransactWriteItem::builder().condition_check(check).build()
            }
            WriteOp::Count {
                pk,
                sk,
                max,
                expires_at,
            } => {
                let update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(&pk, &sk)))
                    .update_expression(
                        "SET #v = if_not_exists(#v, :zero) + :one, #d = if_not_exists(#d, :empty), #ttl = :exp",
                    )
                    .condition_expression("attribute_not_exists(#v) OR #v < :max")
                    .expression_attribute_names("#v", "version")
                    .expression_attribute_names("#d", "data")
                    .expression_attribute_names("#ttl", "ttl")
                    .expression_attribute_values(":zero", n(0))
                    .expression_attribute_values(":one", n(1))
                    .expression_attribute_values(":empty", s("{}"))
                    .expression_attribute_values(":exp", n(expires_at))
                    .expression_attribute_values(":max", n(max))
                    .build()
                    .map_err(invalid)?;
                TransactWriteItem::builder().update(update).build()
            }
            WriteOp::Add { pk, sk, deltas } => {
                let u = add_update(&deltas);
                let update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(&pk, &sk)))
                    .set_update_expression(u.expr)
                    .set_expression_attribute_names(Some(u.names))
                    .set_expression_attribute_values(Some(u.values))
                    .build()
                    .map_err(invalid)?;
                TransactWriteItem::builder().update(update).build()
            }
        })
    }
}

#[async_trait]
impl ItemStore for DynamoStore {
    async fn get_many(&self, keys: &[(String, String)]) -> Result<Vec<Option<Item>>, StoreError> {
        check_keys(keys)?;
        if keys.is_empty() {
            return Ok(vec![]);
        }
        let mut found: HashMap<(String, String), Item> = HashMap::new();
        let mut pending = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys.iter().map(|(pk, sk)| key(pk, sk)).collect()))
                .consistent_read(true)
                .build()
                .map_err(invalid)?,
        );
        // DynamoDB may leave keys unprocessed (throttling, 16 MB); ask again for them.
        for _ in 0..10 {
            let Some(ask) = pending.take() else { break };
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, ask)
                .send()
                .await
                .map_err(unavailable)?;
            for m in out
                .responses()
                .and_then(|r| r.get(&self.table))
                .into_iter()
                .flatten()
            {
                let item = from_attrs(m)?;
                found.insert((item.pk.clone(), item.sk.clone()), item);
            }
            pending = out
                .unprocessed_keys()
                .and_then(|u| u.get(&self.table))
                .filter(|k| !k.keys().is_empty())
                .cloned();
        }
        if pending.is_some() {
            return Err(StoreError::Unavailable("keys left unprocessed".into()));
        }
        let now = now_unix();
        Ok(keys
            .iter()
            .map(|k| found.remove(k).filter(|i| i.is_live(now)))
            .collect())
    }

    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        match out.item() {
            Some(m) => {
                let item = from_attrs(m)?;
                Ok(item.is_live(now_unix()).then_some(item))
            }
            None => Ok(None),
        }
    }

    async fn write(&self, mut ops: Vec<WriteOp>) -> Result<(), StoreError> {
        check_batch(&ops)?;
        let now = now_unix();
        if ops.len() == 1 && !matches!(ops[0], WriteOp::Count { .. } | WriteOp::Check { .. }) {
            // A single write needs no transaction, which costs twice the capacity.
            return self.write_one(ops.remove(0), now).await;
        }
        let items = ops
            .into_iter()
            .map(|op| self.transact_item(op, now))
            .collect::<Result<Vec<_>, _>>()?;
        // A transaction that met another on an item (a counter shard, most often)
        // was cancelled whole and applied nothing: it is simply tried again.
        let conflict = RetryPolicy {
            attempts: 5,
            base_delay: std::time::Duration::from_millis(20),
            max_delay: std::time::Duration::from_millis(500),
        };
        conflict
            .run("a transaction that met another", |e| matches!(e, Written::Conflict), || async {
                self.client
                    .transact_write_items()
                    .set_transact_items(Some(items.clone()))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| match e.into_service_error() {
                        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(t) => {
                            cancelled(t.cancellation_reasons())
                        }
                        e => Written::Failed(unavailable(e)),
                    })
            })
            .await
            .map_err(Written::into_store_error)
    }

    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        check_query(q)?;
        let (part, sort) = if q.index {
            ("gsi1pk", "gsi1sk")
        } else {
            ("pk", "sk")
        };
        let mut names = HashMap::from([
            ("#p".to_string(), part.to_string()),
            ("#ttl".to_string(), "ttl".to_string()),
        ]);
        let mut values = HashMap::from([
            (":p".to_string(), s(&q.partition)),
            (":now".to_string(), n(now_unix())),
        ]);
        let key_expr = match &q.range {
            SkRange::All => "#p = :p".to_string(),
            SkRange::Prefix(prefix) => {
                names.insert("#s".into(), sort.into());
                values.insert(":a".into(), s(prefix));
                "#p = :p AND begins_with(#s, :a)".to_string()
            }
            SkRange::Between(a, b) => {
                names.insert("#s".into(), sort.into());
                values.insert(":a".into(), s(a));
                values.insert(":b".into(), s(b));
                "#p = :p AND #s BETWEEN :a AND :b".to_string()
            }
        };
        let mut start: Option<Attrs> = q.after.as_ref().map(|c| {
            let mut k = key(&c.pk, &c.sk);
            if q.index {
                k.insert("gsi1pk".into(), s(&q.partition));
                k.insert("gsi1sk".into(), s(c.gsi1sk.as_deref().unwrap_or_default()));
            }
            k
        });
        // Read one past the limit to know whether a next page exists; DynamoDB applies
        // its Limit before the TTL filter, so keep reading until enough survive.
        let want = q.limit + 1;
        let mut items = Vec::new();
        loop {
            let mut req = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(&key_expr)
                .filter_expression("attribute_not_exists(#ttl) OR #ttl > :now")
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(!q.newest_first)
                .limit((want - items.len()) as i32)
                .set_exclusive_start_key(start.take());
            // A partition's own records are read as written (an erasure must not miss
            // the last second's writes); a global index cannot be read consistently.
            req = match q.index {
                true => req.index_name(INDEX_NAME),
                false => req.consistent_read(true),
            };
            let out = req.send().await.map_err(unavailable)?;
            for m in out.items() {
                items.push(from_attrs(m)?);
            }
            match out.last_evaluated_key() {
                Some(k) if items.len() < want => start = Some(k.clone()),
                _ => break,
            }
        }
        let next = if items.len() > q.limit {
            items.truncate(q.limit);
            items.last().map(|i| Cursor::of(i, q.index))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.get("HEALTH", "HEALTH").await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::CancellationReason;

    fn reasons(codes: &[&str]) -> Vec<CancellationReason> {
        codes
            .iter()
            .map(|c| CancellationReason::builder().code(*c).build())
            .collect()
    }

    #[test]
    fn a_conflict_alone_is_tried_again_and_a_failed_condition_never() {
        assert!(matches!(
            cancelled(&reasons(&["None", "TransactionConflict"])),
            Written::Conflict
        ));
        assert!(matches!(
            cancelled(&reasons(&["TransactionConflict", "ConditionalCheckFailed"])),
            Written::Failed(StoreError::ConditionFailed)
        ));
        assert!(matches!(
            cancelled(&reasons(&["None", "ValidationError"])),
            Written::Failed(StoreError::Unavailable(_))
        ));
    }
}
