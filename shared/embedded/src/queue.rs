//! Durable queues in SQLite with SQS's delivery rules: visibility timeout, receive
//! count, and dead-lettering once a message has been received `max_receives` times.

use super::db::{exec, one_row, Db};
use async_trait::async_trait;
use backend_core::ports::queue::Partial;
use backend_core::ports::{Delivery, Message, Queue, QueueError, QueueName};
use rusqlite::params;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Clone)]
pub struct SqliteQueue {
    db: Db,
    max_receives: u32,
}

impl SqliteQueue {
    pub fn new(db: Db, max_receives: u32) -> Self {
        Self { db, max_receives }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

fn unavailable(e: String) -> QueueError {
    QueueError::Unavailable(e)
}

#[async_trait]
impl Queue for SqliteQueue {
    async fn send_many(&self, queue: QueueName, msgs: &[Message]) -> Result<(), Partial> {
        if msgs.is_empty() {
            return Ok(());
        }
        let msgs = msgs.to_vec();
        self.db
            .call(move |c| {
                let tx = c.savepoint()?;
                let now = now_ms();
                for m in &msgs {
                    exec(
                        &tx,
                        "INSERT INTO queue_messages (queue, id, body, visible_at) VALUES (?1, ?2, ?3, ?4)",
                        params![queue.as_str(), m.id, m.body, now],
                    )?;
                }
                tx.commit()
            })
            .await
            // One transaction: none of them went out.
            .map_err(|e| Partial {
                sent: 0,
                error: unavailable(e),
            })
    }

    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        let max = max.clamp(1, 10);
        let max_receives = self.max_receives;
        let hide_ms = visibility.as_millis() as i64;
        self.db
            .call(move |c| {
                let tx = c.savepoint()?;
                let now = now_ms();
                let mut out = Vec::new();
                // Each pass starts after the last message seen, so a zero visibility
                // timeout cannot hand the same message out twice in one receive.
                let mut last_seq = 0i64;
                loop {
                    let candidates: Vec<(i64, String, String, u32)> = {
                        let mut stmt = tx.prepare_cached(
                            "SELECT seq, id, body, receive_count FROM queue_messages
                             WHERE queue = ?1 AND dead = 0 AND visible_at <= ?2 AND seq > ?4 ORDER BY seq LIMIT ?3",
                        )?;
                        let rows = stmt.query_map(params![queue.as_str(), now, (max - out.len()) as i64, last_seq], |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                        })?;
                        rows.collect::<rusqlite::Result<_>>()?
                    };
                    if candidates.is_empty() {
                        break;
                    }
                    for (seq, id, body, count) in candidates {
                        last_seq = seq;
                        if count >= max_receives {
                            exec(&tx, "UPDATE queue_messages SET dead = 1 WHERE seq = ?1", params![seq])?;
                            continue;
                        }
                        let receipt = format!("{seq}:{}", ulid::Ulid::new());
                        exec(
                            &tx,
                            "UPDATE queue_messages SET receive_count = receive_count + 1, visible_at = ?2, receipt = ?3 WHERE seq = ?1",
                            params![seq, now + hide_ms, receipt],
                        )?;
                        out.push(Delivery { receipt, id, body, receive_count: count + 1 });
                    }
                    if out.len() >= max {
                        break;
                    }
                }
                tx.commit()?;
                Ok(out)
            })
            .await
            .map_err(unavailable)
    }

    async fn ack_many(&self, queue: QueueName, receipts: &[String]) -> Result<(), QueueError> {
        // A receipt starts with its message's row, so an ack is a key lookup, not a
        // scan of the queue; one that names no row acks nothing, as in SQS.
        let rows: Vec<(i64, String)> = receipts
            .iter()
            .filter_map(|r| Some((r.split(':').next()?.parse().ok()?, r.clone())))
            .collect();
        if rows.is_empty() {
            return Ok(());
        }
        self.db
            .call(move |c| {
                let tx = c.savepoint()?;
                for (seq, receipt) in &rows {
                    exec(
                        &tx,
                        "DELETE FROM queue_messages WHERE seq = ?1 AND queue = ?2 AND receipt = ?3",
                        params![seq, queue.as_str(), receipt],
                    )?;
                }
                tx.commit()
            })
            .await
            .map_err(unavailable)
    }

    async fn dead_letters(&self, queue: QueueName) -> Result<Vec<Message>, QueueError> {
        self.db
            .call(move |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT id, body FROM queue_messages WHERE queue = ?1 AND dead = 1 ORDER BY seq",
                )?;
                let rows = stmt.query_map(params![queue.as_str()], |r| {
                    Ok(Message { id: r.get(0)?, body: r.get(1)? })
                })?;
                rows.collect()
            })
            .await
            .map_err(unavailable)
    }

    async fn dead_letter_count(&self, queue: QueueName) -> Result<usize, QueueError> {
        self.db
            .call(move |c| {
                one_row(
                    c,
                    "SELECT count(*) FROM queue_messages WHERE queue = ?1 AND dead = 1",
                    params![queue.as_str()],
                    |r| r.get::<_, i64>(0),
                )
            })
            .await
            .map(|n| n as usize)
            .map_err(unavailable)
    }

    async fn ping(&self) -> Result<(), QueueError> {
        self.db
            .call(|c| {
                one_row(c, "SELECT count(*) FROM queue_messages WHERE 0", [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .await
            .map(|_| ())
            .map_err(unavailable)
    }
}
