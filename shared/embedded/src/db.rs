//! A shared SQLite connection used from async code: one thread owns it and runs the
//! calls sent to it in turn, so a slow disk never stalls the runtime's worker
//! threads, and a busy moment queues calls for a thread that stays awake instead
//! of handing each to a pooled thread that waits on the connection's lock (which
//! cost more in thread switches than the statements themselves).
//!
//! Calls that queue up while one runs are committed together (group commit): each
//! runs in its own savepoint, so one that fails or panics undoes only itself, and
//! its answer is handed over only once the group's transaction is committed. A
//! commit writes every page it changed to the log and resets the page cache, so
//! under load one commit for many calls is most of the thread's time saved.
use std::path::Path;
use std::sync::mpsc;

/// What a grouped call leaves to do once its group is over: hand its answer over,
/// or the commit's error instead when the group could not be committed.
type Reply = Box<dyn FnOnce(Option<&str>) + Send>;

/// One call, run on the connection's thread.
enum Job {
    /// Run inside the group's transaction; writes take a savepoint of their own.
    Grouped(Box<dyn FnOnce(&mut rusqlite::Connection) -> Reply + Send>),
    /// Run with no transaction open (`VACUUM` cannot run inside one).
    Alone(Box<dyn FnOnce(&mut rusqlite::Connection) + Send>),
}

/// Calls committed together at most: enough that a busy moment costs a few commits,
/// few enough that the first call's answer is not held back long.
const GROUP_MAX: usize = 64;

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
            .spawn(move || serve(&mut conn, &calls))?;
        Ok(Self { jobs })
    }

    /// Runs `f` on the connection, committed with whatever calls queued beside it.
    /// A write takes a savepoint (`c.savepoint()`), never a transaction of its own.
    pub async fn call<T, F>(&self, f: F) -> Result<T, String>
    where
        T: Send + 'static,
        F: FnOnce(&mut rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.send(Job::Grouped(Box::new(move |c| {
            let out = f(c).map_err(|e| e.to_string());
            Box::new(move |failed: Option<&str>| {
                let _ = answer.send(match failed {
                    Some(e) => Err(e.to_string()),
                    None => out,
                });
            })
        })))?;
        answered
            .await
            .map_err(|_| "the database call panicked".to_string())?
    }

    /// Runs `f` on the connection with no transaction open.
    pub async fn call_alone<T, F>(&self, f: F) -> Result<T, String>
    where
        T: Send + 'static,
        F: FnOnce(&mut rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.send(Job::Alone(Box::new(move |c| {
            let _ = answer.send(f(c).map_err(|e| e.to_string()));
        })))?;
        answered
            .await
            .map_err(|_| "the database call panicked".to_string())?
    }

    fn send(&self, job: Job) -> Result<(), String> {
        self.jobs
            .send(job)
            .map_err(|_| "the database thread has stopped".to_string())
    }
}

/// The connection's thread: runs calls as they come, grouping those that queued up.
fn serve(conn: &mut rusqlite::Connection, calls: &mpsc::Receiver<Job>) {
    let mut held: Option<Job> = None;
    loop {
        let job = match held.take() {
            Some(job) => job,
            None => match calls.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        let first = match job {
            Job::Alone(f) => {
                // A call that panics has rolled its transaction back while unwinding;
                // the connection is consistent, so carry on with it.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn)));
                continue;
            }
            Job::Grouped(f) => f,
        };
        // IMMEDIATE takes the write lock up front, so a second process on the same
        // file cannot write between a call's read and its write. Should it not be
        // had, each call's savepoint is a transaction of its own.
        let grouped = conn.execute_batch("BEGIN IMMEDIATE").is_ok();
        let (mut replies, mut ran) = (Vec::new(), 0);
        let mut next = Some(first);
        while let Some(f) = next.take() {
            // A call that panics has rolled its savepoint back while unwinding, and
            // its answer's sender is gone with it: the caller hears that it panicked.
            if let Ok(reply) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn))) {
                replies.push(reply);
            }
            ran += 1;
            if ran < GROUP_MAX {
                match calls.try_recv() {
                    Ok(Job::Grouped(f)) => next = Some(f),
                    Ok(alone) => held = Some(alone),
                    Err(_) => {}
                }
            }
        }
        let failed = if grouped {
            conn.execute_batch("COMMIT").err().map(|e| {
                let _ = conn.execute_batch("ROLLBACK");
                e.to_string()
            })
        } else {
            None
        };
        for reply in replies {
            reply(failed.as_deref());
        }
    }
}
