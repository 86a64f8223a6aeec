//! A shared SQLite connection used from async code: one thread owns it and runs the
//! calls sent to it in turn, so a slow disk never stalls the runtime's worker
//! threads, and a busy moment queues calls for a thread that stays awake instead
//! of handing each to a pooled thread that waits on the connection's lock (which
//! cost more in thread switches than the statements themselves).

use std::path::Path;
use std::sync::mpsc;

/// One call, run on the connection's thread.
type Job = Box<dyn FnOnce(&mut rusqlite::Connection) + Send>;

#[derive(Clone)]
pub struct Db {
    jobs: mpsc::Sender<Job>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    gsi1pk TEXT,
    gsi1sk TEXT,
    version INTEGER NOT NULL,
    expires_at INTEGER,
    data TEXT NOT NULL,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_gsi1 ON items (gsi1pk, gsi1sk, pk, sk) WHERE gsi1pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_expiry ON items (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    item TEXT
);
CREATE INDEX IF NOT EXISTS changes_at ON changes (at);
CREATE TABLE IF NOT EXISTS queue_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    visible_at INTEGER NOT NULL,
    receipt TEXT,
    dead INTEGER NOT NULL DEFAULT 0
);
-- In the order a receive hands messages out: it skips only the ones in flight at
-- the head. (An index led by the visibility time made every receive sort the whole
-- backlog.)
DROP INDEX IF EXISTS queue_visible;
CREATE INDEX IF NOT EXISTS queue_next ON queue_messages (queue, dead, seq, visible_at);
";

/// Runs one statement through the connection's statement cache: preparing the same
/// SQL again on every call cost more than running it.
pub fn exec(
    c: &rusqlite::Connection,
    sql: &str,
    p: impl rusqlite::Params,
) -> rusqlite::Result<usize> {
    c.prepare_cached(sql)?.execute(p)
}

/// The one row of a cached statement.
pub fn one_row<T>(
    c: &rusqlite::Connection,
    sql: &str,
    p: impl rusqlite::Params,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    c.prepare_cached(sql)?.query_row(p, f)
}

impl Db {
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let conn = rusqlite::Connection::open(path)?;
        Self::init(conn)
    }

    pub fn in_memory() -> anyhow::Result<Self> {
        Self::init(rusqlite::Connection::open_in_memory()?)
    }

    fn init(conn: rusqlite::Connection) -> anyhow::Result<Self> {
        // WAL with synchronous=NORMAL survives a killed process (the case the dev
        // server promises); only power loss can drop the last transactions.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // A deleted row is overwritten with zeros, not left in a free page: an erased
        // prospect's data must not be readable from the file afterwards.
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // A listing looks each index entry's item up in the table: with SQLite's
        // default 2 MB of cache those lookups went to the kernel for every page once
        // the file outgrew it. Pages are read through a memory map, and more of them
        // stay in the process.
        conn.pragma_update(None, "mmap_size", 1i64 << 30)?;
        conn.pragma_update(None, "cache_size", -65_536i64)?;
        conn.execute_batch(SCHEMA)?;
        let (jobs, calls) = mpsc::channel::<Job>();
        let mut conn = conn;
        // Ends when the last handle is dropped.
        std::thread::Builder::new()
            .name("sqlite".into())
            .spawn(move || {
                for job in calls {
                    // A call that panics has rolled its transaction back while
                    // unwinding; the connection is consistent, so carry on with it.
                    let _ =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut conn)));
                }
            })?;
        Ok(Self { jobs })
    }

    pub async fn call<T, F>(&self, f: F) -> Result<T, String>
    where
        T: Send + 'static,
        F: FnOnce(&mut rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |c| {
            let _ = answer.send(f(c).map_err(|e| e.to_string()));
        });
        self.jobs
            .send(job)
            .map_err(|_| "the database thread has stopped".to_string())?;
        answered
            .await
            .map_err(|_| "the database call panicked".to_string())?
    }
}
