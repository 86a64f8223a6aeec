//! Test doubles of the ports, failing as a test tells them to.

use super::*;

/// A queue whose sends fail while `failing` is set: the fault the outbox exists for.
pub struct FlakyQueue {
    pub inner: Arc<dyn Queue>,
    pub failing: AtomicBool,
}

impl FlakyQueue {
    pub fn new(inner: Arc<dyn Queue>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            failing: AtomicBool::new(true),
        })
    }

    pub fn heal(&self) {
        self.failing.store(false, Ordering::SeqCst);
    }
}

#[async_trait]
impl Queue for FlakyQueue {
    async fn send(&self, queue: QueueName, msg: &Message) -> Result<(), QueueError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(QueueError::Unavailable("injected send failure".into()));
        }
        self.inner.send(queue, msg).await
    }
    async fn receive(
        &self,
        q: QueueName,
        max: usize,
        vis: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        self.inner.receive(q, max, vis).await
    }
    async fn ack(&self, q: QueueName, receipt: &str) -> Result<(), QueueError> {
        self.inner.ack(q, receipt).await
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
}

impl CountingStore {
    pub fn new(inner: Arc<dyn ItemStore>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            read: Default::default(),
        })
    }

    /// Items read since the last call.
    pub fn take(&self) -> usize {
        self.read.swap(0, Ordering::SeqCst)
    }

    fn count(&self, n: usize) {
        self.read.fetch_add(n, Ordering::SeqCst);
    }
}

#[async_trait]
impl ItemStore for CountingStore {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self.inner.get(pk, sk).await?;
        self.count(1);
        Ok(out)
    }
    async fn get_many(&self, keys: &[(String, String)]) -> Result<Vec<Option<Item>>, StoreError> {
        let out = self.inner.get_many(keys).await?;
        self.count(keys.len());
        Ok(out)
    }
    async fn write(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.inner.write(ops).await
    }
    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        let out = self.inner.query(q).await?;
        // A page costs at least one read even when empty.
        self.count(out.items.len().max(1));
        Ok(out)
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}
