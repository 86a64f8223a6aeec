//! Test doubles of the ports, failing as a test tells them to.

use super::*;

/// A queue whose sends fail while `failing` is set (after `fail_after` more sends
/// succeeded): the fault the outbox exists for. Counts the sends that went out.
pub struct FlakyQueue {
    pub inner: Arc<dyn Queue>,
    pub failing: AtomicBool,
    fail_after: std::sync::atomic::AtomicUsize,
    pub sent: std::sync::atomic::AtomicUsize,
}

impl FlakyQueue {
    pub fn new(inner: Arc<dyn Queue>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            failing: AtomicBool::new(true),
            fail_after: Default::default(),
            sent: Default::default(),
        })
    }

    pub fn heal(&self) {
        self.failing.store(false, Ordering::SeqCst);
    }

    /// Lets `n` more sends through, then fails every one.
    pub fn fail_after(&self, n: usize) {
        self.fail_after.store(n, Ordering::SeqCst);
        self.failing.store(true, Ordering::SeqCst);
    }

    pub fn sent(&self) -> usize {
        self.sent.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Queue for FlakyQueue {
    async fn send_many(&self, queue: QueueName, msgs: &[Message]) -> Result<(), Partial> {
        // One at a time, so that a failure can fall in the middle of a batch.
        for (sent, msg) in msgs.iter().enumerate() {
            let failed = |error| Partial { sent, error };
            if self.failing.load(Ordering::SeqCst) {
                let left = self.fail_after.load(Ordering::SeqCst);
                if left == 0 {
                    return Err(failed(QueueError::Unavailable(
                        "injected send failure".into(),
                    )));
                }
                self.fail_after.store(left - 1, Ordering::SeqCst);
            }
            self.inner.send(queue, msg).await.map_err(failed)?;
            self.sent.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
    async fn receive(
        &self,
        q: QueueName,
        max: usize,
        vis: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        self.inner.receive(q, max, vis).await
    }
    async fn ack_many(&self, q: QueueName, receipts: &[String]) -> Result<(), QueueError> {
        self.inner.ack_many(q, receipts).await
    }
    async fn dead_letters(&self, q: QueueName) -> Result<Vec<Message>, QueueError> {
        self.inner.dead_letters(q).await
    }
    async fn dead_letter_count(&self, q: QueueName) -> Result<usize, QueueError> {
        self.inner.dead_letter_count(q).await
    }
    async fn ping(&self) -> Result<(), QueueError> {
        self.inner.ping().await
    }
}

use backend_core::ports::mail::{Mail, MailError, Mailer};
use backend_core::ports::queue::Partial;

/// A clock a test moves on: now, until told otherwise.
pub struct TestClock(std::sync::Mutex<time::OffsetDateTime>);

impl TestClock {
    pub fn new() -> Arc<Self> {
        Arc::new(Self(std::sync::Mutex::new(time::OffsetDateTime::now_utc())))
    }

    pub fn advance(&self, by: std::time::Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl backend_core::ports::Clock for TestClock {
    fn now(&self) -> time::OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

/// Notifications from `no-reply@example.com` to the operations list, and to the
/// migration consultants for migrations; Slack at `slack` if given.
pub fn notify_config(slack: Option<String>) -> backend_core::app::notify::NotifyConfig {
    use backend_core::domain::{Email, ServiceType};
    let mut consultants = std::collections::BTreeMap::new();
    consultants.insert(None, vec![Email::parse("ops@example.com").unwrap()]);
    consultants.insert(
        Some(ServiceType::Migration),
        vec![Email::parse("migrations@example.com").unwrap()],
    );
    backend_core::app::notify::NotifyConfig {
        from: Email::parse("no-reply@example.com").unwrap(),
        consultants,
        slack_webhook: slack,
        admin_base_url: "https://admin.example.com".into(),
        hooks: vec![],
    }
}

/// A mailer that records what it sent, failing as told.
#[derive(Default)]
pub struct RecordingMailer {
    pub sent: std::sync::Mutex<Vec<Mail>>,
    pub fail_next: std::sync::Mutex<Option<MailError>>,
    /// While set, every send fails for now (the mail service is down).
    pub down: AtomicBool,
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        if let Some(e) = self.fail_next.lock().unwrap().take() {
            return Err(e);
        }
        if self.down.load(Ordering::SeqCst) {
            return Err(MailError::Transient("the mail service is down".into()));
        }
        self.sent.lock().unwrap().push(mail.clone());
        Ok(())
    }
}

use backend_core::ports::{Item, ItemStore, Page, Query, StoreError, WriteOp};

/// An item store that counts the items its reads return: what a request costs in
/// read capacity, whatever adapter is underneath.
pub struct CountingStore {
    pub inner: Arc<dyn ItemStore>,
    read: std::sync::atomic::AtomicUsize,
    /// Every call, reads and writes: each is one request to the store's service.
    pub calls: std::sync::atomic::AtomicUsize,
}

impl CountingStore {
    pub fn new(inner: Arc<dyn ItemStore>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            read: Default::default(),
            calls: Default::default(),
        })
    }

    /// Items read since the last call.
    pub fn take(&self) -> usize {
        self.read.swap(0, Ordering::SeqCst)
    }

    fn count(&self, n: usize) {
        self.read.fetch_add(n, Ordering::SeqCst);
    }

    /// Calls since the last time asked.
    pub fn take_calls(&self) -> usize {
        self.calls.swap(0, Ordering::SeqCst)
    }

    fn call(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl ItemStore for CountingStore {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        self.call();
        let out = self.inner.get(pk, sk).await?;
        self.count(1);
        Ok(out)
    }
    async fn get_many(&self, keys: &[(String, String)]) -> Result<Vec<Option<Item>>, StoreError> {
        self.call();
        let out = self.inner.get_many(keys).await?;
        self.count(keys.len());
        Ok(out)
    }
    async fn write(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.call();
        self.inner.write(ops).await
    }
    async fn forget(&self, keys: &[(String, String)]) -> Result<(), StoreError> {
        self.inner.forget(keys).await
    }
    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        self.call();
        let out = self.inner.query(q).await?;
        // A page costs at least one read even when empty.
        self.count(out.items.len().max(1));
        Ok(out)
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.call();
        self.inner.ping().await
    }
}
